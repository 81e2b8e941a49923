#!/usr/bin/env bash
# An exact rate limit under overload: one gateway, a route limited to PERMITS requests per minute in a real Redis
# (fixed window, exact mode), loaded by wrk at connection counts far past what two cores serve, so requests queue
# longer than the Redis call's 250 ms timeout. A limit that held admits exactly PERMITS requests, refuses the rest
# with 429, and counts no Redis error (a timed-out call would fail open and admit more).
# Everything listens on 127.0.0.1; each run is bounded by -d and a timeout.
set -euo pipefail
cd "$(dirname "$0")/.."

PERMITS=${OVERLOAD_PERMITS:-100000}
DURATION=${OVERLOAD_DURATION:-10}
CONNECTIONS=${OVERLOAD_CONNECTIONS:-"1000 3000 6000"}
OUT=bench/results
LOGS="$OUT/logs"
mkdir -p "$LOGS"

. bench/lib.sh
. bench/targets.sh
install_missing wrk:wrk redis-server:redis-server redis-cli:redis-tools openssl:openssl
mint_bench_token
build_release Gateway.Api/Gateway.Api.csproj samples/Upstreams/Upstreams.csproj
# wrk holds one descriptor per connection.
ulimit -n "$(ulimit -Hn)"

redis_server
UP=$(freeport); upstream "$UP"
EXTRA_ENV=(Gateway__Redis__Configuration="127.0.0.1:$REDIS_PORT"
  Gateway__RateLimiting__Policies__overload__PermitLimit="$PERMITS" Gateway__RateLimiting__Policies__overload__Mode=Exact
  Gateway__RateLimiting__Policies__overload__Algorithm=FixedWindow Gateway__RateLimiting__Policies__overload__Window=00:01:00
  Gateway__Routes__overload__Path='/bench/overload/{**rest}' Gateway__Routes__overload__ClusterId=quote-service
  Gateway__Routes__overload__Methods__0=GET Gateway__Routes__overload__Transform__PathRemovePrefix=/bench/overload
  Gateway__Routes__overload__RateLimitPolicy=overload)
GW=$(freeport); gateway gateway-overload "$GW" "http://127.0.0.1:$UP"
URL="http://127.0.0.1:$GW/bench/overload/quotes/_debug/hello"

counts() { # -> "admitted refused other store_errors" from the gateway's own metrics, for the overload route
  curl -fs "http://127.0.0.1:$GW/metrics" | awk '
    /^gateway_requests_total\{.*route="overload"/ { n = $NF; if ($0 ~ /status_code="200"/) a += n; else if ($0 ~ /status_code="429"/) r += n; else o += n }
    /^gateway_store_errors_total/ { e += $NF }
    END { printf "%d %d %d %d\n", a, r, o, e }'
}
settled_counts() { # the metrics once two reads a second apart agree (the scrape endpoint caches its answer briefly)
  local last now
  last=$(counts)
  for _ in $(seq 1 20); do sleep 1; now=$(counts); [ "$now" = "$last" ] && break; last=$now; done
  echo "$last"
}

echo "Warming up..."
timeout 60 wrk -t2 -c64 -d10s "$URL" >/dev/null

{
  echo "Exact fixed-window limit of $PERMITS per minute on Redis, wrk -t2 -d${DURATION}s at each connection count, a fresh window per run."
  echo
  echo "| conns | requests | admitted (200) | refused (429) | other | Redis errors | p50 ms | p99 ms | limit held |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|---|"
} >"$OUT/overload.md"
failed=0
for conns in $CONNECTIONS; do
  echo "$conns connections"
  redis-cli -p "$REDIS_PORT" flushall >/dev/null
  read -r a0 r0 o0 e0 < <(settled_counts)
  text=$(timeout $((DURATION + 60)) wrk -t2 -c"$conns" -d"${DURATION}s" --timeout 10s --latency "$URL")
  read -r a1 r1 o1 e1 < <(settled_counts)
  admitted=$((a1 - a0)); refused=$((r1 - r0)); other=$((o1 - o0)); errors=$((e1 - e0))
  held=yes
  if [ "$admitted" -ne "$PERMITS" ] || [ "$errors" -ne 0 ] || [ "$refused" -eq 0 ]; then held=NO; failed=1; fi
  # The bench's own wrk parser: target,conns,round,pair,rps,p50_ms,p99_ms,non2xx.
  IFS=, read -r _ _ _ _ _ p50 p99 _ < <(python3 bench/report.py parse overload "$conns" 1 - <<<"$text")
  printf '| %s | %s | %s | %s | %s | %s | %.0f | %.0f | %s |\n' "$conns" "$(awk '/requests in/ {print $1}' <<<"$text")" \
    "$admitted" "$refused" "$other" "$errors" "$p50" "$p99" "$held" >>"$OUT/overload.md"
done
cat "$OUT/overload.md"
exit "$failed"
