#!/usr/bin/env bash
# The B-Commerce seed's load check with its full figures: N concurrent users x M quote calculations each
# (POST /api/v1/quotes/calculate, validated at the gateway, then forwarded to the sample quote service), with hey.
# The suite asserts the 100 x 10 case (> 95 % success, mean < 1 s); this prints the distribution behind it.
# Everything listens on 127.0.0.1; each run is bounded by its request count and a timeout.
set -euo pipefail
cd "$(dirname "$0")/.."

SCENARIOS=${LOAD_SCENARIOS:-"100x10 100x100"}
OUT=bench/results
LOGS="$OUT/logs"
mkdir -p "$LOGS"

. bench/lib.sh
install_missing hey:hey python3:python3
build_release Gateway.Api/Gateway.Api.csproj samples/Upstreams/Upstreams.csproj

UP=$(freeport); GW=$(freeport)
dotnet samples/Upstreams/bin/Release/net10.0/Upstreams.dll --service quotes --port "$UP" >"$LOGS/load-upstream.log" 2>&1 &
pids+=($!)
wait_ready "http://127.0.0.1:$UP/health"
# The shipped SmartEnvios config; the quotes limit (100/min per client) would refuse a load test from one address.
env Urls="http://127.0.0.1:$GW" JWT_SECRET=bench-secret-0123456789abcdef0123456789 Serilog__MinimumLevel__Default=Warning \
  Gateway__Routes__quote-calculate__RateLimitPolicy= Gateway__Clusters__quote-service__Destinations__quotes-1__Address="http://127.0.0.1:$UP" \
  dotnet Gateway.Api/bin/Release/net10.0/Gateway.Api.dll >"$LOGS/load-gateway.log" 2>&1 &
pids+=($!)
wait_ready "http://127.0.0.1:$GW/health/live"

BODY='{"zip_code_start":"01310-100","zip_code_end":"20040-002","volumes":[{"quantity":1,"weight":2.5,"height":10,"width":20,"length":30}],"amount":150}'
URL="http://127.0.0.1:$GW/api/v1/quotes/calculate"
# Warm-up, so the first scenario does not measure the JIT.
timeout 60 hey -n 2000 -c 50 -m POST -T application/json -d "$BODY" "$URL" >/dev/null

{
  echo "Concurrent users x requests each, POST /api/v1/quotes/calculate through the gateway (hey, 2 cores shared with the upstream)."
  echo
  echo "| users x requests | requests | success | req/s | mean ms | p50 ms | p95 ms | p99 ms | max ms |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
} >"$OUT/load.md"
for scenario in $SCENARIOS; do
  users=${scenario%x*}; each=${scenario#*x}
  echo "scenario $scenario"
  csv="$LOGS/load-$scenario.csv"
  started=$(date +%s.%N)
  timeout 300 hey -n $((users * each)) -c "$users" -m POST -T application/json -d "$BODY" -o csv "$URL" >"$csv"
  ended=$(date +%s.%N)
  python3 - "$csv" "$scenario" "$started" "$ended" >>"$OUT/load.md" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
ms = sorted(float(r["response-time"]) * 1000 for r in rows)
ok = sum(1 for r in rows if r["status-code"] == "200")
def pct(p): return ms[min(len(ms) - 1, int(round(p / 100 * len(ms))) - 1)]
elapsed = float(sys.argv[4]) - float(sys.argv[3])
print(f"| {sys.argv[2]} | {len(rows)} | {100 * ok / len(rows):.1f} % | {len(rows) / elapsed:.0f} | {statistics.mean(ms):.1f} | "
      f"{pct(50):.1f} | {pct(95):.1f} | {pct(99):.1f} | {ms[-1]:.1f} |")
EOF
done
cat "$OUT/load.md"
