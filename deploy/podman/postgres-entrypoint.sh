#!/bin/bash
# Entrypoint of deploy/podman/postgres.Containerfile: on an empty PGDATA, initdb with the superuser's password from
# POSTGRES_PASSWORD_FILE (never from the environment), TCP logins by scram-sha-256 from anywhere, then a
# socket-only server runs /docker-entrypoint-initdb.d/*.sh (as the upstream image does) and stops; then the server
# runs in the foreground with the given arguments ("postgres -c ...").
set -euo pipefail
: "${PGDATA:?}" "${POSTGRES_USER:=postgres}"
export POSTGRES_USER
if [[ ! -s $PGDATA/PG_VERSION ]]; then
  [[ -r ${POSTGRES_PASSWORD_FILE:-} ]] || { echo "postgres-entrypoint: POSTGRES_PASSWORD_FILE unreadable" >&2; exit 1; }
  mkdir -p "$PGDATA" && chmod 700 "$PGDATA"
  # shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is a list of options
  initdb --username="$POSTGRES_USER" --pwfile="$POSTGRES_PASSWORD_FILE" ${POSTGRES_INITDB_ARGS:-} >/dev/null
  printf '\nhost all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
  printf "listen_addresses = '*'\n" >>"$PGDATA/postgresql.auto.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w -s start
  for f in /docker-entrypoint-initdb.d/*.sh; do
    [[ -f $f ]] || continue
    echo "postgres-entrypoint: running $f" >&2
    bash "$f"
  done
  pg_ctl -D "$PGDATA" -m fast -w -s stop
fi
[[ ${1:-} == postgres ]] && shift
exec postgres "$@"
