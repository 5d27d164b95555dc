# shellcheck shell=bash
# cpu.sh — CPU time from /proc, in clock ticks (sourced, not run). The shell twin of
# bench/src/proc_cpu.rs: a process tree's CPU is utime + stime of the process and its
# live descendants, plus cutime + cstime (what its reaped children used).
#   clk_tck               prints CLK_TCK (ticks per second, usually 100)
#   tree_ticks PID...     prints the summed CPU ticks of each PID's process tree
#                         (a PID that is gone counts 0)
#   sys_busy_ticks        prints the machine's busy ticks over all CPUs since boot
#                         (/proc/stat: user, nice, system, irq, softirq; not idle,
#                         iowait or steal)

clk_tck() { getconf CLK_TCK; }

# Fields after the command name (which may hold spaces): state is $1, ppid $2,
# utime $12, stime $13, cutime $14, cstime $15.
_stat_rest() { local s; s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1; echo "${s##*) }"; }

_children() { cat /proc/"$1"/task/*/children 2>/dev/null | tr ' ' '\n' | awk NF; }

tree_ticks() {
  local total=0 pid rest seen=" " queue
  for pid in "$@"; do
    rest=$(_stat_rest "$pid") || continue
    total=$((total + $(awk '{ print $14 + $15 }' <<<"$rest")))
    queue=("$pid")
    while ((${#queue[@]})); do
      local p=${queue[0]}; queue=("${queue[@]:1}")
      [[ $seen == *" $p "* ]] && continue
      seen+="$p "
      rest=$(_stat_rest "$p") || continue
      total=$((total + $(awk '{ print $12 + $13 }' <<<"$rest")))
      local c
      for c in $(_children "$p"); do queue+=("$c"); done
    done
  done
  echo "$total"
}

sys_busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat; }
