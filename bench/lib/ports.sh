# shellcheck shell=bash
# ports.sh — loopback port helpers shared by the bench scripts (sourced, not run).
#   port_free PORT            true when nothing listens on 127.0.0.1:PORT
#   pick_port                 prints a free port in 20000..59999
#   pick_listen_port          prints a free port below the ephemeral range (which
#                             a run of many short connections fills with
#                             TIME-WAIT sockets that make bind() fail)
#   wait_listen PORT PID WHAT waits up to 30 s for PORT to listen while PID lives

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 40000))
    if port_free "$p"; then echo "$p"; return; fi
  done
  echo "no free port" >&2; exit 1
}
pick_listen_port() {
  local low p
  low=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  ((low > 10000)) || low=32768
  for _ in $(seq 50); do
    p=$((10000 + RANDOM % (low - 10000)))
    if port_free "$p" && ! ss -Htan "( sport = :$p )" 2>/dev/null | grep -q .; then echo "$p"; return; fi
  done
  echo "no free port" >&2; exit 1
}
wait_listen() { # port, pid, what
  for _ in $(seq 300); do
    if ! port_free "$1"; then return 0; fi
    if ! kill -0 "$2" 2>/dev/null; then echo "$3 exited before listening" >&2; return 1; fi
    sleep 0.1
  done
  echo "$3 did not listen on $1 within 30 s" >&2; return 1
}
