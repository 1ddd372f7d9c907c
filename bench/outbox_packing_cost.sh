#!/usr/bin/env bash
# The audit outbox's forms on SQLite by instructions an event (issue 16, session 25): a row per
# event (before), one packed blob a group (runtime/audit/outbox_packing.h), one JSON array a group
# moved by json_each. Builds bench/lib/outbox_packing_cost.cc against the system's SQLite, runs
# each form under callgrind and prints the group transactions' and the trail's moves' Ir an event.
#   bench/outbox_packing_cost.sh [groups] [events a group]     (default 2000 groups of 10)
set -euo pipefail
cd "$(dirname "$0")/.."
groups=${1:-2000}
size=${2:-10}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
g++ -std=c++20 -O2 -g -o "$tmp/cost" bench/lib/outbox_packing_cost.cc -lsqlite3
echo "| form | write Ir an event | move Ir an event | both |"
echo "| --- | ---: | ---: | ---: |"
for form in rows blob json; do
  mkdir "$tmp/$form"
  valgrind --tool=callgrind --callgrind-out-file="$tmp/$form.out" "$tmp/cost" "$form" "$tmp/$form" \
    "$groups" "$size" >"$tmp/$form.log" 2>&1 || { cat "$tmp/$form.log" >&2; exit 1; }
  callgrind_annotate --inclusive=yes "$tmp/$form.out" 2>/dev/null |
    awk -v form="$form" -v n=$((groups * size)) '
      /WriteGroups\(/ && !w { gsub(",", "", $1); w = $1 }
      /MoveAll\(/ && !m { gsub(",", "", $1); m = $1 }
      END { printf "| %s | %.0f | %.0f | %.0f |\n", form, w / n, m / n, (w + m) / n }'
  grep -h "events in the trail" "$tmp/$form.log" >&2
done
