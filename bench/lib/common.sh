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
# requestId the prefix then {{seq}} (a new idempotency key each call; bench/loadgen/loadgen.cc).
posting_scheme='plans/dorset-stp/programmes/managing-demand/schemes/rightcare'
posting_request_json() {
  printf '{"requestId":"%s{{seq}}","posting":{"scheme":"%s","financialYear":"2020-21","month":6,"kind":2,"amount":{"pence":"1"},"reason":"%s"}}' \
    "$1" "$posting_scheme" "${2:-bench}"
}
# GetReport over the seed plan, month 6 of 2020-21.
report_request_json='{"name":"plans/dorset-stp/report","financialYear":"2020-21","month":6}'
