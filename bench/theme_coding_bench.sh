#!/usr/bin/env bash
# Bulk theme coding at consultation scale (issue 17):
#   bench/theme_coding_bench.sh [responses]     (default 18,500)
# dorset-engagement-synth bulk-loads N SYNTHETIC responses with 8 themes, dorset-engagement
# serves them (plaintext, auth none, either engine: DORSET_BENCH_DATABASE as the other scenarios),
# and dorsetctl times PreviewThemeCoding, then preview + ApplyThemeCoding, of three keyword rules.
# ENGAGEMENT_BENCH_BUILD picks the build (default: a Release build in build/engagement-release).
set -euo pipefail
cd "$(dirname "$0")/.."
responses=${1:-18500}
build=${ENGAGEMENT_BENCH_BUILD:-build/engagement-release}
if [[ -z "${ENGAGEMENT_BENCH_BUILD:-}" ]]; then
  source scripts/lib/configure.sh
  configure_build "$build" -DCMAKE_BUILD_TYPE=Release
fi
nice cmake --build "$build" -j "$(nproc)" --target dorset-engagement dorset-engagement-synth \
  dorsetctl >/dev/null
source bench/lib/common.sh
port=$((50371 + port_offset))
database_flags engagement_coding
"$build/services/engagement/dorset-engagement-synth" --data_dir="$tmp/eng" "${db[@]}" \
  --activity=synthetic-coding --count="$responses" --themes=8 --seed=7 >/dev/null
"$build/services/engagement/dorset-engagement" "${common[@]}" --grpc_listen=127.0.0.1:$port \
  --ops_listen=127.0.0.1:$((port + 100)) --data_dir="$tmp/eng" "${db[@]}" &
pids+=($!)
wait_ready $((port + 100))
rules='synthetic-theme-1=travel|transport;synthetic-theme-2=staffing;synthetic-theme-3=community hospital'
ctl() { "$build/cli/dorsetctl" engagement code-themes synthetic-coding --rules="$rules" \
  --target=127.0.0.1:$port "$@"; }
echo "== $responses SYNTHETIC responses, engine: $database"
start=$(date +%s.%N)
ctl >"$tmp/preview.json"
mid=$(date +%s.%N)
ctl --apply >"$tmp/apply.json"
end=$(date +%s.%N)
echo "preview: $(grep -o '"responsesToChange":"[0-9]*"' "$tmp/preview.json")"
echo "applied: $(grep -o '"responsesChanged":"[0-9]*"' "$tmp/apply.json")"
printf 'preview %.2f s; preview + apply %.2f s\n' "$(echo "$mid - $start" | bc)" \
  "$(echo "$end - $mid" | bc)"
