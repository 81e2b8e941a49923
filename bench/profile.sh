#!/usr/bin/env bash
# Where each compared target's CPU goes, per request: perf samples the proxy process on CPU (cpu-clock, no call
# graphs) while wrk loads it, and bench/cpuprofile.py splits the samples by the managed assembly (named through
# the JIT's perf map), native library or kernel they fall in. run.sh says how fast; this says where the
# difference is. Pairs as run.sh judges them: gateway vs YARP, authenticated vs anonymous route, full telemetry
# vs plain. Everything listens on 127.0.0.1; every load run is bounded by -d and a timeout.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${PROFILE_DURATION:-8}
WARMUP=${PROFILE_WARMUP:-20}
CONNECTIONS=${PROFILE_CONNECTIONS:-256}
FREQ=${PROFILE_FREQ:-999}
ROUNDS=${PROFILE_ROUNDS:-3}
PAIRS=${PROFILE_PAIRS:-"gateway:yarp gateway-auth:gateway gateway-traced:gateway"}
OUT=bench/results
LOGS="$OUT/logs"
PROFILES="$OUT/profiles"
mkdir -p "$LOGS" "$PROFILES"
rm -f "$OUT"/*.pid

. bench/lib.sh
install_missing wrk:wrk perf:linux-perf node:nodejs openssl:openssl
mint_bench_token
build_release Gateway.Api/Gateway.Api.csproj samples/Upstreams/Upstreams.csproj bench/YarpBaseline/YarpBaseline.csproj

# The JIT writes /tmp/perf-<pid>.map naming each compiled method. With W^X on, JIT code runs from a double-mapped
# memfd that perf does not match against that map, so it is off here for every process alike.
export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0

U=$(freeport); upstream "$U"
declare -A URL HDR PID
P=$(freeport); gateway gateway "$P" "http://127.0.0.1:$U"
URL[gateway]="http://127.0.0.1:$P/api/v1/quotes/_debug/hello"; PID[gateway]=$(cat "$OUT/gateway.pid")
URL[gateway-auth]="http://127.0.0.1:$P/bench/auth/quotes/_debug/hello"; PID[gateway-auth]=${PID[gateway]}
HDR[gateway-auth]="Authorization: Bearer $TOKEN"
if [[ " $PAIRS " == *yarp* ]]; then
  P=$(freeport); yarp "$P" "http://127.0.0.1:$U"
  URL[yarp]="http://127.0.0.1:$P/api/v1/quotes/_debug/hello"; PID[yarp]=$(cat "$OUT/yarp.pid")
fi
if [[ " $PAIRS " == *gateway-traced* ]]; then
  otlp_sink
  EXTRA_ENV=("${TRACED_ENV[@]}")
  P=$(freeport); gateway gateway-traced "$P" "http://127.0.0.1:$U"; EXTRA_ENV=()
  URL[gateway-traced]="http://127.0.0.1:$P/api/v1/quotes/_debug/hello"; PID[gateway-traced]=$(cat "$OUT/gateway-traced.pid")
fi

targets=$(tr ' :' '\n\n' <<<"$PAIRS" | awk 'NF && !seen[$0]++')
load() { # target seconds
  local extra=(); [ -n "${HDR[$1]:-}" ] && extra=(-H "${HDR[$1]}")
  timeout $(($2 + 30)) wrk -t2 -c"$CONNECTIONS" -d"${2}s" "${extra[@]}" "${URL[$1]}"
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

echo "Warming up (${WARMUP}s per target)..."
for target in $targets; do load "$target" "$WARMUP" >/dev/null; done

RUNS="$PROFILES/runs.csv"
echo "target,round,requests,proc_ticks,data" >"$RUNS"
# The host's speed drifts over tens of seconds, so the targets take turns, the order reversed every other
# round, and each target's samples and requests are summed over its rounds.
for round in $(seq 1 "$ROUNDS"); do
  order=$targets; (( round % 2 )) || order=$(tac <<<"$targets")
  for target in $order; do
    echo "round $round, profiling $target, $CONNECTIONS connections, ${DURATION}s"
    data="$PROFILES/$target.$round.perf.data"
    for attempt in 1 2; do # perf on this VM now and then ends without writing its data; one more try
      before=$(ticks "${PID[$target]}")
      # perf records the process for as long as the wrk command runs.
      text=$(perf record -q -e cpu-clock -F "$FREQ" -p "${PID[$target]}" -o "$data" -- bash -c "$(declare -f load); $(declare -p URL HDR CONNECTIONS); load $target $DURATION" 2>/dev/null) || text=
      after=$(ticks "${PID[$target]}")
      [ -n "$text" ] && perf report -i "$data" --stdio -q >/dev/null 2>&1 && break
      echo "  perf did not record $target; again" >&2
    done
    echo "$target,$round,$(awk '/requests in/ {print $1}' <<<"$text"),$((after - before)),$data" >>"$RUNS"
  done
done

python3 bench/cpuprofile.py "$FREQ" "$PAIRS" "$RUNS" | tee "$OUT/profile.md"
