#!/usr/bin/env bash
# Where each compared target's CPU goes, per request: perf samples the proxy process on CPU (cpu-clock, no call
# graphs) while wrk loads it, and bench/cpuprofile.py splits the samples by the managed assembly (named through
# the JIT's perf map), native library or kernel they fall in. run.sh says how fast; this says where the
# difference is. Pairs as run.sh judges them (by default gateway vs YARP, authenticated vs anonymous route, full
# telemetry vs plain; PROFILE_PAIRS takes any of run.sh's proxy targets, e.g. gateway-rl-approx:gateway-redis).
# Everything listens on 127.0.0.1; every load run is bounded by -d and a timeout.
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
. bench/targets.sh
install_missing wrk:wrk perf:linux-perf redis-server:redis-server redis-cli:redis-tools node:nodejs openssl:openssl
mint_bench_token
build_release Gateway.Api/Gateway.Api.csproj samples/Upstreams/Upstreams.csproj bench/YarpBaseline/YarpBaseline.csproj

# The JIT writes /tmp/perf-<pid>.map naming each compiled method. With W^X on, JIT code runs from a double-mapped
# memfd that perf does not match against that map, so it is off here for every process alike.
export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0

targets=$(tr ' :' '\n\n' <<<"$PAIRS" | awk 'NF && !seen[$0]++')
start_targets $targets
for target in $targets; do
  [ -n "${PROCESS[$target]:-}" ] || { echo "$target is not a proxy target this script can profile" >&2; exit 1; }
done
wrk_command() { # target seconds -> WRK, a bounded load run
  local extra; mapfile -t extra < <(header_args "$1")
  WRK=(timeout $(($2 + 30)) wrk -t2 -c"$CONNECTIONS" -d"${2}s" "${extra[@]}" "${URL[$1]}")
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

echo "Warming up (${WARMUP}s per target)..."
for target in $targets; do wrk_command "$target" "$WARMUP"; "${WRK[@]}" >/dev/null; done

RUNS="$PROFILES/runs.csv"
echo "target,round,requests,proc_ticks,data" >"$RUNS"
# The host's speed drifts over tens of seconds, so the targets take turns, the order reversed every other
# round, and each target's samples and requests are summed over its rounds.
for round in $(seq 1 "$ROUNDS"); do
  order=$targets; (( round % 2 )) || order=$(tac <<<"$targets")
  for target in $order; do
    echo "round $round, profiling $target, $CONNECTIONS connections, ${DURATION}s"
    data="$PROFILES/$target.$round.perf.data"; pid=$(cat "$OUT/${PROCESS[$target]}.pid")
    wrk_command "$target" "$DURATION"
    for attempt in 1 2; do # perf on this VM now and then ends without writing its data; one more try
      before=$(ticks "$pid")
      # perf records the process for as long as the wrk command runs.
      text=$(perf record -q -e cpu-clock -F "$FREQ" -p "$pid" -o "$data" -- "${WRK[@]}" 2>/dev/null) || text=
      after=$(ticks "$pid")
      [ -n "$text" ] && perf report -i "$data" --stdio -q >/dev/null 2>&1 && break
      echo "  perf did not record $target; again" >&2
    done
    echo "$target,$round,$(awk '/requests in/ {print $1}' <<<"$text"),$((after - before)),$data" >>"$RUNS"
  done
done

python3 bench/cpuprofile.py "$FREQ" "$PAIRS" "$RUNS" | tee "$OUT/profile.md"
