#!/usr/bin/env bash
# The project's one test command (README, .ci/run): restores, builds and runs every test project,
# then prints a plain "N passed, N failed" line counted from the TRX results.
set -uo pipefail
cd "$(dirname "$0")/.."

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

dotnet build ActorVpn.sln -c Release -warnaserror -nologo -v quiet
build=$?
if [ $build -ne 0 ]; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit $build
fi

dotnet test ActorVpn.sln -c Release --no-build -nologo \
  --logger "trx" --results-directory "$results" \
  --blame-hang-timeout 5m -- xunit.parallelizeTestCollections=true
status=$?

passed=0; failed=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters"); f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
done
if [ $status -ne 0 ] && [ $failed -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed"
exit $status
