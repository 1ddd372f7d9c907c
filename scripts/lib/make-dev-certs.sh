#!/usr/bin/env bash
# make-dev-certs.sh <dir>: a local CA and a server certificate for 127.0.0.1/localhost (for
# DORSET_RUN_TLS=1). Made once; never use these outside a developer's machine.
set -euo pipefail
dir=$1
[ -f "$dir/server.pem" ] && exit 0
mkdir -p "$dir"
cd "$dir"
openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=Dorset Digital local CA" \
  -keyout ca.key -out ca.pem 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr 2>/dev/null
printf "subjectAltName=DNS:localhost,IP:127.0.0.1\n" > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 825 \
  -extfile server.ext -out server.pem 2>/dev/null
chmod 600 ca.key server.key
