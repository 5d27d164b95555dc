# shellcheck shell=bash
# stats.sh — RESULT-line helpers shared by the bench scripts (sourced, not run).
#   field KEY LINE        prints the value of KEY=value in LINE (space-separated pairs)
#   values KEY LINE...    prints KEY's value from each LINE, space-separated
#   median                reads numbers (spaces or newlines) on stdin, prints their median

field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" <<<"$2"; }
values() { local k=$1; shift; for r in "$@"; do field "$k" "$r"; done | tr '\n' ' '; }
median() { tr ' ' '\n' | awk NF | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
