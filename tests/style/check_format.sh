#!/usr/bin/env bash
# Checks that every C++ file of ours is formatted as the one .clang-format (Google) says, so style is never a
# review topic. Prints the files that differ and how to fix them. Missing clang-format: skip (77), or a failure
# under CI=true.
#   tests/style/check_format.sh <source root>
set -euo pipefail
root=${1:?usage: check_format.sh <source root>}
cd "$root"

if ! command -v clang-format >/dev/null; then
  if [ "${CI:-}" = true ]; then
    echo "clang-format is missing (scripts/lib/install-deps.sh installs it)" >&2
    exit 1
  fi
  echo "clang-format is missing: skipped" >&2
  exit 77
fi

# Our code only: generated code lives in build trees, and third-party code is not vendored.
mapfile -t files < <(find runtime services tests tools bench cli fuzz libs client gateway console \
  -type f \( -name '*.cc' -o -name '*.h' \) -not -path '*/build/*' 2>/dev/null | sort)
if [ ${#files[@]} -eq 0 ]; then
  echo "no C++ files found under $root" >&2
  exit 1
fi

# One clang-format process for all files (one per file took ~90 s of the suite): each file that
# differs is named in a "<file>:<line>:<col>: error:" line.
status=0
report=$(clang-format --style=file --dry-run --Werror "${files[@]}" 2>&1) || status=$?
mapfile -t bad < <(grep -oE '^[^:]+\.(cc|h):[0-9]+:[0-9]+: error' <<<"$report" | cut -d: -f1 | sort -u)
if [ "$status" -ne 0 ] && [ ${#bad[@]} -eq 0 ]; then
  echo "clang-format failed without naming a file:" >&2
  echo "$report" >&2
  exit 1
fi
if [ ${#bad[@]} -gt 0 ]; then
  echo "${#bad[@]} of ${#files[@]} files are not clang-formatted; fix with:" >&2
  echo "  clang-format -i ${bad[*]}" >&2
  exit 1
fi
echo "all ${#files[@]} C++ files are clang-formatted ($(clang-format --version))"
