# Shared by the bench/*.sh scenarios (source it after `cd` to the repository root):
# a temporary directory and server pids cleaned up on exit, the flags every benchmarked server
# runs with (plaintext, no auth, no rate limit, quiet logs, no drain) and wait_ready.
tmp=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
common=(--plaintext=true --auth=none --rate_limit_per_second=0 --log_level=warn --drain_seconds=0)

wait_ready() {  # wait_ready <ops port>: polls /readyz until it answers 200 (30 s at most)
  for _ in $(seq 1 3000); do
    curl -sf "http://127.0.0.1:$1/readyz" >/dev/null 2>&1 && return 0
    sleep 0.01
  done
  echo "server on ops port $1 did not become ready" >&2
  return 1
}
