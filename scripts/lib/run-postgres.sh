#!/usr/bin/env bash
# The local PostgreSQL 15 of `DORSET_RUN_DATABASE=postgres scripts/run` (sourced by scripts/run).
#
# One cluster under var/postgres (data in var/postgres/data, its unix socket in var/postgres/run, its
# log in var/log/postgres.log), listening on 127.0.0.1:$DORSET_RUN_PG_PORT (default 5439, so a
# system PostgreSQL on 5432 is left alone). One database and one role per service (dorset_registry,
# dorset_finance, dorset_engagement), each role the owner of its database only, with a password in
# var/secrets/postgres-<service>.password (mode 0600) that the service reads through
# --database_password_file. As root the cluster runs as the `postgres` user.
#
# Access: TCP from 127.0.0.1 needs a password (scram-sha-256); the unix socket trusts whoever can
# reach it, and only the cluster's owner (and root) can: the socket directory is mode 0700.
#
#   pg_start      initdb on first use, start the server (in its own session, so a Ctrl-C on the
#                 terminal reaches scripts/run, which stops the services first), make the roles,
#                 passwords and databases that are missing
#   pg_stop       pg_ctl stop -m fast (waits until the server is down)
#   pg_url SVC    the service's database URI (no password)
#   pg_psql ...   psql as the superuser over the socket (for scripts and people)

pg_bin=${DORSET_POSTGRES_BIN:-/usr/lib/postgresql/15/bin}
pg_port=${DORSET_RUN_PG_PORT:-5439}
pg_dir=$var/postgres
pg_data=$pg_dir/data
pg_sock=$pg_dir/run
pg_services=(registry finance engagement)

# Runs a PostgreSQL program as the cluster's owner: the postgres user when we are root.
pg_owner=()
[ "$(id -u)" -eq 0 ] && pg_owner=(runuser -u postgres --)
pg_as_owner() { "${pg_owner[@]}" "$@"; }

pg_psql() {
  pg_as_owner "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$pg_sock" -p "$pg_port" -U postgres "$@"
}

pg_url() {
  echo "postgres://dorset_$1@127.0.0.1:$pg_port/dorset_$1?sslmode=disable&application_name=dorset-$1"
}

pg_start() {
  if [ ! -x "$pg_bin/initdb" ]; then
    echo "PostgreSQL 15 is missing ($pg_bin/initdb): scripts/lib/install-deps.sh installs postgresql-15" >&2
    return 1
  fi
  mkdir -p "$pg_dir"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$pg_dir"
    if ! runuser -u postgres -- test -x "$var"; then
      echo "the postgres user cannot reach $var (a parent directory is not searchable by others);" \
        "clone the repository somewhere it can reach, or run scripts/run as a normal user" >&2
      return 1
    fi
  fi
  chmod 700 "$pg_dir"
  pg_as_owner mkdir -p "$pg_sock"
  pg_as_owner chmod 700 "$pg_sock"
  if [ ! -f "$pg_data/PG_VERSION" ]; then
    echo "== creating the PostgreSQL cluster in var/postgres/data (first start)"
    pg_as_owner "$pg_bin/initdb" -D "$pg_data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
      --encoding=UTF8 --locale=C.UTF-8 >"$var/log/postgres-initdb.log" 2>&1 || {
      echo "initdb failed; see var/log/postgres-initdb.log" >&2
      return 1
    }
  fi
  touch "$var/log/postgres.log"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$var/log/postgres.log"
  if pg_as_owner "$pg_bin/pg_ctl" -D "$pg_data" status >/dev/null 2>&1; then
    echo "== PostgreSQL is already running on var/postgres/data (left from an earlier run); using it"
  else
    echo "== starting PostgreSQL 15 on 127.0.0.1:$pg_port (data var/postgres/data, log var/log/postgres.log)"
    # setsid: the server gets no SIGINT from the terminal; scripts/run stops it after the services.
    setsid -w "${pg_owner[@]}" "$pg_bin/pg_ctl" -D "$pg_data" -l "$var/log/postgres.log" -w -t 60 -s \
      -o "-c listen_addresses=127.0.0.1 -p $pg_port -c unix_socket_directories=$pg_sock -c unix_socket_permissions=0700" \
      start </dev/null || {
      echo "PostgreSQL did not start; see var/log/postgres.log" >&2
      return 1
    }
  fi
  local svc pw
  for svc in "${pg_services[@]}"; do
    local file=$var/secrets/postgres-$svc.password
    if [ ! -s "$file" ]; then
      (umask 077 && openssl rand -hex 24 >"$file")
    fi
    chmod 600 "$file"
    pw=$(head -n1 "$file")
    # The SQL goes on stdin, never on a command line (which any local user can read in ps). Setting the
    # password on every start keeps the role in step with its file (delete the file for a new one).
    pg_psql -d postgres -f - <<SQL
SELECT format('CREATE ROLE %I LOGIN', 'dorset_$svc')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'dorset_$svc') \gexec
ALTER ROLE dorset_$svc LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '$pw';
SELECT format('CREATE DATABASE %I OWNER %I', 'dorset_$svc', 'dorset_$svc')
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'dorset_$svc') \gexec
REVOKE ALL ON DATABASE dorset_$svc FROM PUBLIC;
SQL
  done
}

pg_stop() {
  if pg_as_owner "$pg_bin/pg_ctl" -D "$pg_data" status >/dev/null 2>&1; then
    pg_as_owner "$pg_bin/pg_ctl" -D "$pg_data" -m fast -w -t 60 -s stop || true
    echo "== PostgreSQL stopped"
  fi
}

# Which services keep their data in their PostgreSQL database: a service on the storage lane records
# its migrations in schema_migrations there. The others accept --database (a shared setting of
# runtime/config) but still open their SQLite store under var/<service>.
pg_service_on_lane() {
  [ "$(pg_psql -d "dorset_$1" -At -c "SELECT to_regclass('public.schema_migrations') IS NOT NULL")" = t ]
}
