#!/usr/bin/env bash
# `DORSET_RUN_DATABASE=postgres scripts/run` for real (issue 12 item 6), on free ports and a var/ of its
# own, from the build under test (DORSET_RUN_BUILD: no install, no build):
#   1. it starts a local PostgreSQL 15 and the whole stack and says it is running;
#   2. one database and one role per service, each password in a 0600 file; a role cannot open
#      another service's database; no password in any log or in the script's output;
#   3. a finance posting written and read back with dorsetctl is a row of dorset_finance; the summary
#      names each service's store as its database shows it (PostgreSQL once ported, else SQLite);
#   4. SIGTERM stops everything and PostgreSQL with it (exit 0, ports free);
#   5. a second start on the same var/ reuses the cluster (the posting is still there) and a Ctrl-C
#      (SIGINT to the whole process group, as a terminal sends it) stops it all again.
# Usage: run_postgres_test.sh <build dir> <source dir>
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
pg_bin=${DORSET_POSTGRES_BIN:-/usr/lib/postgresql/15/bin}
if [ ! -x "$pg_bin/initdb" ]; then
  echo "PostgreSQL 15 missing ($pg_bin): scripts/lib/install-deps.sh installs it"
  [ "${CI:-}" = true ] && exit 1
  exit 77
fi
tmp=$(mktemp -d)
[ "$(id -u)" -eq 0 ] && chmod 755 "$tmp"  # the postgres user must reach var/ inside it
run_pid=
cleanup() {
  if [ -n "$run_pid" ]; then kill -KILL -- "-$run_pid" 2>/dev/null || true; fi
  if [ -f "$tmp/var/postgres/data/postmaster.pid" ]; then
    kill -KILL "$(head -1 "$tmp/var/postgres/data/postmaster.pid")" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  trap - ERR
  echo "FAIL: $*" >&2
  for f in "$tmp"/run*.out "$tmp"/var/log/*.log; do
    [ -f "$f" ] && { echo "--- $f" >&2; tail -25 "$f" >&2; }
  done
  exit 1
}
trap 'fail "unexpected error at line $LINENO"' ERR
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Three consecutive free ports (scripts/run gives registry, finance and engagement base, base+1, base+2).
free_base() {
  python3 - <<'PY'
import random, socket
for _ in range(200):
    base = random.randint(20000, 40000)
    socks = []
    try:
        for p in range(base, base + 3):
            s = socket.socket(); s.bind(("127.0.0.1", p)); socks.append(s)
        print(base); break
    except OSError:
        pass
    finally:
        for s in socks: s.close()
PY
}
pg_port=$(free_port)
export DORSET_RUN_DATABASE=postgres DORSET_RUN_BUILD=$build DORSET_RUN_VAR=$tmp/var \
  DORSET_RUN_PG_PORT=$pg_port DORSET_RUN_REDIS_PORT=$(free_port) DORSET_RUN_GRPC_PORT=$(free_base) \
  DORSET_RUN_OPS_PORT=$(free_base) DORSET_RUN_GATEWAY_PORT=$(free_port) DORSET_RUN_CONSOLE_PORT=$(free_port)
owner=()
[ "$(id -u)" -eq 0 ] && owner=(runuser -u postgres --)
sql() {  # sql <database> <query>: as the superuser over the cluster's socket
  "${owner[@]}" "$pg_bin/psql" -X -At -h "$tmp/var/postgres/run" -p "$pg_port" -U postgres -d "$1" -c "$2"
}

start_run() {  # start_run <output file>: scripts/run in its own process group, waits until it is up
  set -m
  "$src/scripts/run" >"$1" 2>&1 &
  run_pid=$!
  set +m
  for _ in $(seq 1 600); do
    grep -qs "Press Ctrl-C to stop" "$1" && return 0
    kill -0 "$run_pid" 2>/dev/null || fail "scripts/run exited before it was up"
    sleep 0.2
  done
  fail "scripts/run was not up within 120 s"
}
wait_stopped() {  # wait_stopped <what>: scripts/run exits 0 and leaves nothing running
  local rc=0
  for _ in $(seq 1 300); do kill -0 "$run_pid" 2>/dev/null || break; sleep 0.2; done
  kill -0 "$run_pid" 2>/dev/null && fail "$1: scripts/run still running after 60 s"
  wait "$run_pid" || rc=$?
  [ "$rc" = 0 ] || fail "$1: scripts/run exited $rc"
  "${owner[@]}" "$pg_bin/pg_ctl" -D "$tmp/var/postgres/data" status >/dev/null 2>&1 &&
    fail "$1: PostgreSQL still running"
  [ -f "$tmp/var/postgres/data/postmaster.pid" ] && fail "$1: postmaster.pid left behind"
  for port in $pg_port $DORSET_RUN_REDIS_PORT $DORSET_RUN_GRPC_PORT $((DORSET_RUN_GRPC_PORT + 1)) \
    $((DORSET_RUN_GRPC_PORT + 2)) $DORSET_RUN_OPS_PORT; do
    python3 -c "import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(('127.0.0.1',$port))==0)" ||
      fail "$1: port $port still answers"
  done
  run_pid=
}

# 1. Up.
start_run "$tmp/run1.out"
grep -q "PostgreSQL 15 on 127.0.0.1:$pg_port" "$tmp/run1.out" || fail "the summary does not name PostgreSQL"
echo "ok: DORSET_RUN_DATABASE=postgres scripts/run is up (PostgreSQL on $pg_port)"

# 2. One database and role per service, passwords in 0600 files, nowhere else.
for svc in registry finance engagement; do
  file=$tmp/var/secrets/postgres-$svc.password
  [ "$(stat -c %a "$file")" = 600 ] || fail "$file mode $(stat -c %a "$file"), want 600"
  [ "$(sql postgres "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'dorset_$svc'")" = "dorset_$svc" ] ||
    fail "database dorset_$svc is not owned by role dorset_$svc"
  [ "$(sql postgres "SELECT rolsuper OR rolcreatedb OR rolcreaterole FROM pg_roles WHERE rolname = 'dorset_$svc'")" = f ] ||
    fail "role dorset_$svc has more than it needs"
  pw=$(head -1 "$file")
  if grep -rqF -- "$pw" "$tmp/var/log" "$tmp/run1.out"; then fail "the $svc password is in a log or the output"; fi
done
# The finance role with its own password: its database yes, the registry's no (REVOKE ... FROM PUBLIC).
as_finance() {
  PGPASSWORD=$(head -1 "$tmp/var/secrets/postgres-finance.password") "$pg_bin/psql" -X -At \
    -h 127.0.0.1 -p "$pg_port" -U dorset_finance -d "$1" -c "SELECT 1" 2>&1
}
[ "$(as_finance dorset_finance)" = 1 ] || fail "dorset_finance cannot open its database: $(as_finance dorset_finance)"
other=$(as_finance dorset_registry || true)
grep -q "permission denied for database" <<<"$other" || fail "dorset_finance opened dorset_registry: $other"
PGPASSWORD=wrong "$pg_bin/psql" -X -h 127.0.0.1 -p "$pg_port" -U dorset_finance -d dorset_finance \
  -c "SELECT 1" >/dev/null 2>&1 && fail "a wrong password was accepted over TCP"
echo "ok: one database and role per service; passwords only in their 0600 files"

# 3. A finance write and read through the API, stored in PostgreSQL.
export DORSETCTL_TOKEN=$(cat "$tmp/var/secrets/admin.token")
export DORSETCTL_FINANCE=127.0.0.1:$((DORSET_RUN_GRPC_PORT + 1))
ctl() { "$build/cli/dorsetctl" "$@"; }
ctl finance schemes >"$tmp/schemes"
scheme=$(grep -m1 -oE 'plans/[a-z0-9/-]*rightcare[a-z0-9/-]*' "$tmp/schemes" || true)
[ -n "$scheme" ] || fail "RightCare scheme not found"
ctl finance post --scheme="$scheme" --year=2017-18 --month=6 --kind=actual --amount=4321.09 \
  --reason="run on postgres" --request_id=run-postgres-1 >/dev/null || fail "post"
ctl finance postings --node="$scheme" --year=2017-18 --kind=actual --csv >"$tmp/postings"
grep -q "run-postgres-1" "$tmp/postings" || fail "the posting is not read back: $(cat "$tmp/postings")"
[ "$(sql dorset_finance "SELECT amount_pence FROM posting WHERE request_id = 'run-postgres-1'")" = 432109 ] ||
  fail "the posting is not a row of dorset_finance"
# The summary names each service's store as it is: PostgreSQL when its database holds its migrations
# (finance and the registry are ported; engagement says SQLite until its port lands).
for svc in registry finance engagement; do
  if [ "$(sql "dorset_$svc" "SELECT to_regclass('public.schema_migrations') IS NOT NULL")" = t ]; then
    grep -q "$svc: database dorset_$svc" "$tmp/run1.out" || fail "the summary does not put $svc on PostgreSQL"
    echo "ok: $svc runs on PostgreSQL (dorset_$svc)"
  else
    [ "$svc" != finance ] || fail "finance did not migrate dorset_finance"
    grep -q "$svc: not on the storage lane yet" "$tmp/run1.out" || fail "the summary misstates $svc's store"
    echo "ok: $svc not on the storage lane yet: accepted --database and kept SQLite"
  fi
done
echo "ok: finance posting written and read with dorsetctl, stored in dorset_finance"

# 4. SIGTERM to scripts/run stops the services and PostgreSQL.
kill -TERM "$run_pid"
wait_stopped "SIGTERM"
grep -q "PostgreSQL stopped" "$tmp/run1.out" || fail "no 'PostgreSQL stopped' after SIGTERM"
echo "ok: SIGTERM stopped the stack and PostgreSQL"

# 5. Again on the same var/: the cluster is reused, the posting is still there; Ctrl-C stops it.
start_run "$tmp/run2.out"
grep -q "creating the PostgreSQL cluster" "$tmp/run2.out" && fail "the second start made a new cluster"
ctl finance postings --node="$scheme" --year=2017-18 --kind=actual --csv >"$tmp/postings"
grep -q "run-postgres-1" "$tmp/postings" || fail "the posting is gone after a restart"
kill -INT -- "-$run_pid"
wait_stopped "Ctrl-C"
echo "ok: restarted on the same cluster with the posting kept; Ctrl-C stopped everything"
