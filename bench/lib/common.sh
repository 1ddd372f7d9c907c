# Shared by the bench/*.sh scenarios (source it after `cd` to the repository root):
# a temporary directory and server pids cleaned up on exit, the flags every benchmarked server
# runs with (plaintext, no auth, no rate limit, quiet logs, no drain), wait_ready, and the storage
# engine the services run on:
#   DORSET_BENCH_DATABASE=sqlite     (default) each store a SQLite file under its --data_dir
#   DORSET_BENCH_DATABASE=postgres   a PostgreSQL 15 cluster of the run's own under $tmp (started by
#                                    scripts/lib/run-postgres.sh, as `DORSET_RUN_DATABASE=postgres
#                                    scripts/run` starts it), one database and role per store
# A scenario asks for its stores' flags with `database_flags <store>` (sets the array db) and puts
# "${db[@]}" on the server's command line; on SQLite db is empty.
tmp=$(mktemp -d)
pids=()
database=${DORSET_BENCH_DATABASE:-sqlite}
case $database in
  sqlite | postgres) ;;
  *) echo "DORSET_BENCH_DATABASE must be sqlite or postgres (got '$database')" >&2; exit 2 ;;
esac
pg_started=
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "$pg_started" ]; then pg_stop >/dev/null 2>&1 || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# database_flags <store>: db=(--database=... --database_password_file=...) for the store's own
# PostgreSQL database (made on first use), or db=() on SQLite.
db=()
database_flags() {
  db=()
  [ "$database" = postgres ] || return 0
  if [ -z "$pg_started" ]; then
    var=$tmp/var
    mkdir -p "$var/log" "$var/secrets"
    [ "$(id -u)" -eq 0 ] && chmod 755 "$tmp" "$var"  # the postgres user must reach var/postgres
    DORSET_RUN_PG_PORT=${DORSET_BENCH_PG_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}
    source scripts/lib/run-postgres.sh
    pg_services=()
    pg_start >/dev/null
    pg_started=1
  fi
  pg_services=("$1")
  pg_start >/dev/null
  db=(--database="$(pg_url "$1")" --database_password_file="$var/secrets/postgres-$1.password")
}
# DORSET_BENCH_PORT_OFFSET: added to every fixed port of the scenarios (gRPC and ops), to move them
# off another run's on the same machine, or below the ephemeral range (e.g. -30000): bench/both_engines.sh.
port_offset=${DORSET_BENCH_PORT_OFFSET:-0}
common=(--plaintext=true --auth=none --rate_limit_per_second=0 --log_level=warn --drain_seconds=0)

wait_ready() {  # wait_ready <ops port>: polls /readyz until it answers 200 (30 s at most)
  for _ in $(seq 1 3000); do
    curl -sf "http://127.0.0.1:$1/readyz" >/dev/null 2>&1 && return 0
    sleep 0.01
  done
  echo "server on ops port $1 did not become ready" >&2
  return 1
}

# The write and the read the finance scenarios drive, one spelling for every script:
# posting_request_json <requestId prefix> [reason] prints a CreatePostingRequest's JSON for the
# loadgen, 1p of underspend on the seed plan's RightCare scheme in month 6 of 2020-21, its
# requestId the prefix then {{seq}} (a new idempotency key each call; bench/loadgen/loadgen.cc), or
# {{uuid}} with DORSET_BENCH_REQUEST_IDS=uuid (below).
posting_scheme='plans/dorset-stp/programmes/managing-demand/schemes/rightcare'
# DORSET_BENCH_REQUEST_IDS=uuid makes every scenario's requestIds (postings and responses) random-
# looking UUIDs after the prefix (the loadgen's {{uuid}}), as real clients send, instead of
# increasing numbers that always land on the request records' last index page.
request_id_hole='{{seq}}'
[[ "${DORSET_BENCH_REQUEST_IDS:-seq}" == uuid ]] && request_id_hole='{{uuid}}'
posting_request_json() {
  printf '{"requestId":"%s'"$request_id_hole"'","posting":{"scheme":"%s","financialYear":"2020-21","month":6,"kind":2,"amount":{"pence":"1"},"reason":"%s"}}' \
    "$1" "$posting_scheme" "${2:-bench}"
}
# The engagement write the response scenarios drive: open_survey <dorsetctl> <target> <activity>
# opens a SYNTHETIC survey with the themes access and cost; response_request_json <activity>
# <requestId prefix> prints a CreateResponseRequest's JSON for it, one theme, a locality per slot.
open_survey() {
  local ctl=$1 target=$2 activity=$3 theme
  "$ctl" engagement create-activity --id="$activity" --kind=SURVEY \
    --title="[SYNTHETIC] $activity survey" --target="$target" >/dev/null
  for theme in access cost; do
    "$ctl" engagement create-theme "$activity" --id=$theme --display_name="$theme" --target="$target" >/dev/null
  done
  "$ctl" engagement open "$activity" --target="$target" >/dev/null
}
response_request_json() {
  printf '{"parent":"activities/%s","requestId":"%s'"$request_id_hole"'","response":{"channel":"CHANNEL_ONLINE","sentiment":"SENTIMENT_OPPOSED","text":"[SYNTHETIC] %s response {{seq}}","themes":["activities/%s/themes/access"],"locality":"localities/%s-{{slot}}"}}' \
    "$1" "$2" "$1" "$1" "$1"
}
# GetReport over the seed plan, month 6 of 2020-21.
report_request_json='{"name":"plans/dorset-stp/report","financialYear":"2020-21","month":6}'

# The per-thread and whole-machine CPU of a window, one spelling for the *_threads.sh scripts and
# pg_statements.sh. Take a snapshot before and after the window, then print the difference:
#   server_threads <pid> >"$tmp/threads0"; head -1 /proc/stat >"$tmp/stat0"   ...window...
#   machine_share "$tmp/stat0" "$tmp/stat1"
#   thread_shares "$tmp/threads0" "$tmp/threads1" <window ns> [calls in the window]
server_threads() {  # tid comm on-cpu-ns runnable-ns switches, per thread of process $1
  local task
  for task in /proc/$1/task/*; do
    echo "$(basename "$task") $(tr ' ' _ <"$task/comm") $(cat "$task/schedstat")"
  done
}
machine_share() {  # the machine's time by state between two `head -1 /proc/stat` snapshots
  cat "$1" "$2" | awk 'NR == 1 { for (i = 2; i <= NF; i++) a[i] = $i }
    NR == 2 { t = 0; for (i = 2; i <= NF; i++) { d[i] = $i - a[i]; t += d[i] }
      printf "machine: user %.0f%%  system %.0f%%  idle %.0f%%  iowait %.0f%%  softirq %.0f%%  steal %.0f%%\n",
        100 * (d[2] + d[3]) / t, 100 * d[4] / t, 100 * d[5] / t, 100 * d[6] / t, 100 * d[8] / t, 100 * d[9] / t }'
}
thread_shares() {  # each thread on a CPU >= 1 % of the window; with calls, its share of a call too
  join <(sort "$1") <(sort "$2") | awk -v window="$3" -v calls="${4:-0}" '{
    run = 100 * ($7 - $3) / window; wait = 100 * ($8 - $4) / window
    if (run < 1) next
    printf "  %-8s %-16s on a CPU %5.1f %%  runnable %5.1f %%  blocked %5.1f %%  switches %d",
      $1, $2, run, wait, 100 - run - wait, $9 - $5
    if (calls > 0) printf "  (%.1f us, %.2f switches a call)", ($7 - $3) / 1000 / calls, ($9 - $5) / calls
    printf "\n" }'
}
