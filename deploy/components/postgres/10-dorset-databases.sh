#!/bin/bash
# Run once by the official postgres image's entrypoint on an empty data directory (components/postgres,
# compose.postgres.yaml): for each service a role dorset_<service> owning a database dorset_<service> that no
# other role may open, with the password from /etc/dorset/database/<service>/password (that service's Secret).
# The SQL goes to psql on stdin, so no password is on a command line. DORSET_DATABASE_PASSWORDS moves the
# password directory (for trying the script against a local server).
set -euo pipefail
for svc in registry finance engagement; do
  pw=$(head -n1 "${DORSET_DATABASE_PASSWORDS:-/etc/dorset/database}/$svc/password")
  psql -v ON_ERROR_STOP=1 -X -q --username "$POSTGRES_USER" --dbname postgres <<SQL
CREATE ROLE dorset_$svc LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '$pw';
CREATE DATABASE dorset_$svc OWNER dorset_$svc;
REVOKE ALL ON DATABASE dorset_$svc FROM PUBLIC;
SQL
done
