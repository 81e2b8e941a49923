#!/usr/bin/env bash
# The whole suite on a fresh machine: installs what the tests need when it is missing, builds, runs every test.
set -euo pipefail
cd "$(dirname "$0")"

command -v dotnet >/dev/null || { echo "test.sh needs the .NET 10 SDK (dotnet) on PATH" >&2; exit 1; }

# Debian packages the integration tests start for real (never mocks): install only what is missing.
. scripts/install-missing.sh
install_missing redis-server:redis-server redis-cli:redis-tools prometheus:prometheus node:nodejs npm:npm

# The real OIDC provider the suite starts (versions pinned in testinfra/package-lock.json).
if [ ! -d testinfra/node_modules ] || [ testinfra/package-lock.json -nt testinfra/node_modules/.package-lock.json ]; then
  (cd testinfra && npm ci --no-audit --no-fund --loglevel=error)
fi

CONFIGURATION=${CONFIGURATION:-Release}
dotnet build Gateway.sln -c "$CONFIGURATION" -nologo -v quiet
# The bench-only projects are outside the solution; built here so a change to what they use fails CI, not the
# next bench run.
for project in bench/YarpBaseline/YarpBaseline.csproj bench/ResilienceCost/ResilienceCost.csproj; do
  dotnet build "$project" -c "$CONFIGURATION" -nologo -v quiet
done

log=$(mktemp)
set +e
dotnet test Gateway.sln -c "$CONFIGURATION" --no-build -nologo --logger "console;verbosity=normal" "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# One plain closing line for CI: "N passed, N failed".
# awk alone: a grep finding no "Failed:" line would end the script under pipefail.
passed=$(awk '/^ *Passed: +[0-9]+/ {s+=$2} END {print s+0}' "$log")
failed=$(awk '/^ *Failed: +[0-9]+/ {s+=$2} END {print s+0}' "$log")
# CI keeps only the tail of the output, so the failures are repeated here, just above the closing line:
# each failed test's name, its error message and the top of its stack trace.
if [ "$failed" -gt 0 ]; then
  echo "Failed tests:"
  awk '/^\{"@t"/ {next}
       /^ +Failed [A-Za-z]/ {show=1; stack=0}
       show && /^ +Stack Trace:/ {stack=1; left=6}
       show && stack && left-- <= 0 {show=0}
       show && /^ +(Passed|Skipped) [A-Za-z]/ {show=0}
       show {print}' "$log" | cut -c1-400 | head -n 120
fi
rm -f "$log"
echo "${passed} passed, ${failed} failed"
exit "$status"
