#!/usr/bin/env bash
# Upstream direct vs this gateway vs a YARP baseline (and the gateway over a three-instance cluster), in one run:
# interleaved rounds with wrk at fixed connection counts; medians, ratios to YARP, each proxy's peak RSS.
# Everything listens on 127.0.0.1 and every load run is bounded by -d and a timeout.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${BENCH_ROUNDS:-3}
DURATION=${BENCH_DURATION:-5}
WARMUP=${BENCH_WARMUP:-10}
CONNECTIONS=${BENCH_CONNECTIONS:-"32 256"}
TARGETS=${BENCH_TARGETS:-"direct gateway yarp gateway-3x gateway-auth gateway-rl-exact gateway-rl-approx gateway-rl-sliding gateway-traced"}
OUT=bench/results
mkdir -p "$OUT"
RAW="$OUT/raw.csv"
LOGS="$OUT/logs"
mkdir -p "$LOGS"
rm -f "$OUT"/*.pid

. bench/lib.sh
install_missing wrk:wrk redis-server:redis-server redis-cli:redis-tools node:nodejs npm:npm openssl:openssl
[ -d testinfra/node_modules ] || (cd testinfra && npm ci --no-audit --no-fund --loglevel=error)

mint_bench_token

build_release Gateway.Api/Gateway.Api.csproj samples/Upstreams/Upstreams.csproj bench/YarpBaseline/YarpBaseline.csproj

# One upstream process for every target; the three-instance cluster is three of its ports, so the comparison
# with the single instance measures the gateway's balancing, not three processes fighting over two cores.
U1=$(freeport); U2=$(freeport); U3=$(freeport); upstream "$U1,$U2,$U3"
declare -A URL
URL[direct]="http://127.0.0.1:$U1/quotes/_debug/hello"
declare -A HDR
declare -A PARTNER # the run each compared target is paired with, when not the plain gateway
if [[ " $TARGETS " == *" gateway "* || " $TARGETS " == *" gateway-auth "* ]]; then
  P=$(freeport); gateway gateway "$P" "http://127.0.0.1:$U1"
  URL[gateway]="http://127.0.0.1:$P/api/v1/quotes/_debug/hello"
  # Same process: a route that validates an HS256 token and checks its revocation on every request.
  URL[gateway-auth]="http://127.0.0.1:$P/bench/auth/quotes/_debug/hello"; HDR[gateway-auth]="Authorization: Bearer $TOKEN"
fi
if [[ " $TARGETS " == *" gateway-rl-"* ]]; then
  REDIS_PORT=$(freeport); REDIS_DIR=$(mktemp -d)
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no --dir "$REDIS_DIR" </dev/null >"$LOGS/redis.log" 2>&1 &
  pids+=($!)
  until redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; do sleep 0.05; done
  # Rate-limited copies of the quotes route on Redis, a limit never reached: exact (one script call per request,
  # fixed window), approximate (batches of 1000 permits), and exact on the seed's sliding log, which with a limit
  # never reached keeps every request of the minute in one sorted set (hundreds of thousands of members, far
  # more than any real per-client limit holds). Each is compared with the same route without a limit in the
  # same process (like the authenticated route): a pair then differs only by the limiter.
  EXTRA_ENV=(Gateway__Redis__Configuration="127.0.0.1:$REDIS_PORT"
    Gateway__RateLimiting__Policies__bench-exact__PermitLimit=1000000000 Gateway__RateLimiting__Policies__bench-exact__Mode=Exact
    Gateway__RateLimiting__Policies__bench-exact__Algorithm=FixedWindow
    Gateway__RateLimiting__Policies__bench-sliding__PermitLimit=1000000000 Gateway__RateLimiting__Policies__bench-sliding__Mode=Exact
    Gateway__RateLimiting__Policies__bench-sliding__Algorithm=SlidingWindow
    Gateway__Routes__rlsliding__Path='/bench/sliding/{**rest}' Gateway__Routes__rlsliding__ClusterId=quote-service Gateway__Routes__rlsliding__Methods__0=GET
    Gateway__Routes__rlsliding__Transform__PathRemovePrefix=/bench/sliding Gateway__Routes__rlsliding__RateLimitPolicy=bench-sliding
    Gateway__RateLimiting__Policies__bench-approx__PermitLimit=1000000000 Gateway__RateLimiting__Policies__bench-approx__Mode=Approximate
    Gateway__RateLimiting__Policies__bench-approx__BatchSize=1000 Gateway__RateLimiting__Policies__bench-approx__Algorithm=FixedWindow
    Gateway__Routes__rlexact__Path='/bench/exact/{**rest}' Gateway__Routes__rlexact__ClusterId=quote-service Gateway__Routes__rlexact__Methods__0=GET
    Gateway__Routes__rlexact__Transform__PathRemovePrefix=/bench/exact Gateway__Routes__rlexact__RateLimitPolicy=bench-exact
    Gateway__Routes__rlapprox__Path='/bench/approx/{**rest}' Gateway__Routes__rlapprox__ClusterId=quote-service Gateway__Routes__rlapprox__Methods__0=GET
    Gateway__Routes__rlapprox__Transform__PathRemovePrefix=/bench/approx Gateway__Routes__rlapprox__RateLimitPolicy=bench-approx
    Gateway__Routes__rlnone__Path='/bench/unlimited/{**rest}' Gateway__Routes__rlnone__ClusterId=quote-service Gateway__Routes__rlnone__Methods__0=GET
    Gateway__Routes__rlnone__Transform__PathRemovePrefix=/bench/unlimited)
  P=$(freeport); gateway gateway-redis "$P" "http://127.0.0.1:$U1"; EXTRA_ENV=()
  URL[gateway-redis]="http://127.0.0.1:$P/bench/unlimited/quotes/_debug/hello"
  PARTNER[gateway-rl-exact]=gateway-redis; PARTNER[gateway-rl-approx]=gateway-redis; PARTNER[gateway-rl-sliding]=gateway-redis
  URL[gateway-rl-exact]="http://127.0.0.1:$P/bench/exact/quotes/_debug/hello"
  URL[gateway-rl-approx]="http://127.0.0.1:$P/bench/approx/quotes/_debug/hello"
  URL[gateway-rl-sliding]="http://127.0.0.1:$P/bench/sliding/quotes/_debug/hello"
fi
if [[ " $TARGETS " == *" gateway-traced "* ]]; then
  otlp_sink
  EXTRA_ENV=("${TRACED_ENV[@]}")
  P=$(freeport); gateway gateway-traced "$P" "http://127.0.0.1:$U1"; EXTRA_ENV=()
  URL[gateway-traced]="http://127.0.0.1:$P/api/v1/quotes/_debug/hello"
fi
if [[ " $TARGETS " == *" yarp "* ]]; then
  P=$(freeport); yarp "$P" "http://127.0.0.1:$U1"
  URL[yarp]="http://127.0.0.1:$P/api/v1/quotes/_debug/hello"
fi
if [[ " $TARGETS " == *" gateway-3x "* ]]; then
  P=$(freeport); gateway gateway-3x "$P" "http://127.0.0.1:$U1" "http://127.0.0.1:$U2" "http://127.0.0.1:$U3"
  URL[gateway-3x]="http://127.0.0.1:$P/api/v1/quotes/_debug/hello"
fi

wrk_args() { # target -> wrk's header option, if the target needs one
  if [ -n "${HDR[$1]:-}" ]; then printf '%s\n' -H "${HDR[$1]}"; fi
}
partners=$(printf '%s\n' "${PARTNER[@]}" | sort -u | tr '\n' ' ')
for target in $TARGETS $partners; do
  mapfile -t extra < <(wrk_args "$target")
  curl -fs "${extra[@]}" "${URL[$target]}" >/dev/null || { echo "$target does not answer ${URL[$target]}" >&2; exit 1; }
done

redis_calls() { [ -n "${REDIS_PORT:-}" ] && redis-cli -p "$REDIS_PORT" info commandstats | awk -F'[=,:]' '/^cmdstat_(evalsha|eval|evalsha_ro):/ {s+=$3} END {print s+0}' || echo 0; }
: >"$OUT/redis.csv"
run_wrk() { # target conns round pair (the target this run is paired with, or -)
  local text before after requests
  mapfile -t extra < <(wrk_args "$1")
  before=$(redis_calls)
  text=$(timeout $((DURATION + 30)) wrk -t2 -c"$2" -d"${DURATION}s" --latency "${extra[@]}" "${URL[$1]}")
  after=$(redis_calls)
  requests=$(awk '/requests in/ {print $1}' <<<"$text")
  [[ "$1" == gateway-rl-* ]] && echo "$1,$2,$((after - before)),$requests" >>"$OUT/redis.csv"
  python3 bench/report.py parse "$1" "$2" "$3" "$4" <<<"$text" >>"$RAW"
}

# Long enough for tiered JIT to finish on every target (the gateway has more code to tier up than YARP;
# a 3 s warm-up measured its JIT, not its steady state). Same warm-up for all targets.
echo "Warming up (${WARMUP}s per target per connection count)..."
for conns in $CONNECTIONS; do
  for target in $TARGETS $partners; do
    mapfile -t extra < <(wrk_args "$target")
    timeout $((WARMUP + 30)) wrk -t2 -c"$conns" -d"${WARMUP}s" "${extra[@]}" "${URL[$target]}" >/dev/null
  done
done

echo "target,conns,round,pair,rps,p50_ms,p99_ms,non2xx" >"$RAW"
# Every compared target runs right next to a run of its partner (the plain gateway, or the same process's
# unlimited route for a rate-limited one), the pair's order alternating from round to round, and a ratio is
# judged on the median of its pairs. The machine's speed drifts over tens of seconds (other tenants of the
# host), so a ratio of runs taken a minute apart measured the drift as much as the difference.
paired=(); gateway_paired=
for target in $TARGETS; do
  [[ "$target" != gateway && "$target" != direct && ( -n "${PARTNER[$target]:-}" || " $TARGETS " == *" gateway "* ) ]] && paired+=("$target")
  [[ " ${paired[*]} " == *" $target "* && -z "${PARTNER[$target]:-}" ]] && gateway_paired=1
done
started=$(date +%s)
for round in $(seq 1 "$ROUNDS"); do
  for conns in $CONNECTIONS; do
    for target in $TARGETS; do
      if [[ " ${paired[*]} " == *" $target "* ]]; then
        partner=${PARTNER[$target]:-gateway}
        echo "round $round, $conns connections, $partner and $target"
        if (( round % 2 )); then
          run_wrk "$partner" "$conns" "$round" "$target"; run_wrk "$target" "$conns" "$round" "$target"
        else
          run_wrk "$target" "$conns" "$round" "$target"; run_wrk "$partner" "$conns" "$round" "$target"
        fi
      elif [[ "$target" != gateway || -z "$gateway_paired" ]]; then
        echo "round $round, $conns connections, $target"
        run_wrk "$target" "$conns" "$round" -
      fi
    done
  done
done

: >"$OUT/rss.csv"
for name in gateway yarp gateway-3x gateway-redis gateway-traced; do
  # Only processes of this run: a pid file left by an earlier run with other targets names nothing alive.
  [ -f "$OUT/$name.pid" ] && [ -r "/proc/$(cat "$OUT/$name.pid")/status" ] &&
    echo "$name,$(awk '/VmHWM/ {print $2}' "/proc/$(cat "$OUT/$name.pid")/status")" >>"$OUT/rss.csv"
done

python3 bench/report.py table "$RAW" "$OUT/rss.csv" "$ROUNDS" "$DURATION" "$(nproc)" "$OUT/redis.csv" | tee "$OUT/latest.md"
echo "(took $(( $(date +%s) - started )) s of measurement; raw rounds in $RAW)"
