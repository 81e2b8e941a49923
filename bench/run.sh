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
. bench/targets.sh
install_missing wrk:wrk redis-server:redis-server redis-cli:redis-tools node:nodejs openssl:openssl

mint_bench_token

build_release Gateway.Api/Gateway.Api.csproj samples/Upstreams/Upstreams.csproj bench/YarpBaseline/YarpBaseline.csproj

start_targets $TARGETS

paired=(); partners=; gateway_paired= # gateway_paired: the plain gateway runs only as a partner, not on its own too
for target in $TARGETS; do
  partner=${PARTNER[$target]:-gateway}
  if [[ $target != gateway && $target != direct && -n "${URL[$partner]:-}" ]]; then
    paired+=("$target")
    if [ "$partner" = gateway ]; then gateway_paired=1; fi
    [[ " $TARGETS $partners " == *" $partner "* ]] || partners+="$partner "
  fi
done
for target in $TARGETS $partners; do
  mapfile -t extra < <(header_args "$target")
  curl -fs "${extra[@]}" "${URL[$target]}" >/dev/null || { echo "$target does not answer ${URL[$target]}" >&2; exit 1; }
done

redis_calls() { [ -n "${REDIS_PORT:-}" ] && redis-cli -p "$REDIS_PORT" info commandstats | awk -F'[=,:]' '/^cmdstat_(evalsha|eval|evalsha_ro):/ {s+=$3} END {print s+0}' || echo 0; }
: >"$OUT/redis.csv"
run_wrk() { # target conns round pair (the target this run is paired with, or -)
  local text before after requests
  mapfile -t extra < <(header_args "$1")
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
    mapfile -t extra < <(header_args "$target")
    timeout $((WARMUP + 30)) wrk -t2 -c"$conns" -d"${WARMUP}s" "${extra[@]}" "${URL[$target]}" >/dev/null
  done
done

echo "target,conns,round,pair,rps,p50_ms,p99_ms,non2xx" >"$RAW"
# Every compared target runs right next to a run of its partner (the plain gateway, or the same process's
# unlimited route for a rate-limited one), the pair's order alternating from round to round, and a ratio is
# judged on the median of its pairs. The machine's speed drifts over tens of seconds (other tenants of the
# host), so a ratio of runs taken a minute apart measured the drift as much as the difference.
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
for name in $(printf '%s\n' "${PROCESS[@]}" | sort -u); do
  echo "$name,$(awk '/VmHWM/ {print $2}' "/proc/$(cat "$OUT/$name.pid")/status")" >>"$OUT/rss.csv"
done

: >"$OUT/exports.txt"
if [ -n "${URL[gateway-traced]:-}" ]; then
  echo "Waiting for the traced gateway's last exports..."
  otlp_delivery "${URL[gateway-traced]}" >"$OUT/exports.txt"
fi

python3 bench/report.py table "$RAW" "$OUT/rss.csv" "$ROUNDS" "$DURATION" "$(nproc)" "$OUT/redis.csv" "$OUT/exports.txt" | tee "$OUT/latest.md"
echo "(took $(( $(date +%s) - started )) s of measurement; raw rounds in $RAW)"
