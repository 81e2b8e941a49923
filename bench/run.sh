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
TARGETS=${BENCH_TARGETS:-"direct gateway yarp gateway-3x"}
OUT=bench/results
mkdir -p "$OUT"
RAW="$OUT/raw.csv"
LOGS="$OUT/logs"
mkdir -p "$LOGS"

if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >/dev/null
fi

echo "Building (Release)..."
for project in Gateway.Api/Gateway.Api.csproj samples/Upstreams/Upstreams.csproj bench/YarpBaseline/YarpBaseline.csproj; do
  dotnet build "$project" -c Release -nologo -v quiet >/dev/null
done

freeport() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'; }
pids=()
cleanup() { for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done; for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

wait_ready() { # url
  for _ in $(seq 1 200); do curl -fs -o /dev/null "$1" && return 0; sleep 0.1; done
  echo "not ready: $1" >&2; exit 1
}

upstream() { # port -> starts one quotes instance
  dotnet samples/Upstreams/bin/Release/net10.0/Upstreams.dll --service quotes --port "$1" --debug-endpoints >"$LOGS/upstream-$1.log" 2>&1 &
  pids+=($!)
  wait_ready "http://127.0.0.1:$1/health"
}

gateway() { # name port destinations...
  local name=$1 port=$2; shift 2
  local env=(Urls="http://127.0.0.1:$port" JWT_SECRET=bench-secret-0123456789abcdef0123456789 Serilog__MinimumLevel__Default=Warning
             Gateway__Routes__quotes__RateLimitPolicy= Gateway__Clusters__quote-service__HealthCheck__Interval=00:00:05)
  local i=1
  for address in "$@"; do env+=("Gateway__Clusters__quote-service__Destinations__quotes-${i}__Address=$address"); i=$((i + 1)); done
  env "${env[@]}" dotnet Gateway.Api/bin/Release/net10.0/Gateway.Api.dll >"$LOGS/$name.log" 2>&1 &
  pids+=($!)
  echo $! >"$OUT/$name.pid"
  wait_ready "http://127.0.0.1:$port/health/live"
}

U1=$(freeport); upstream "$U1"
declare -A URL
URL[direct]="http://127.0.0.1:$U1/quotes/_debug/hello"
if [[ " $TARGETS " == *" gateway "* ]]; then P=$(freeport); gateway gateway "$P" "http://127.0.0.1:$U1"; URL[gateway]="http://127.0.0.1:$P/api/v1/quotes/_debug/hello"; fi
if [[ " $TARGETS " == *" yarp "* ]]; then
  P=$(freeport)
  UPSTREAM="http://127.0.0.1:$U1" Urls="http://127.0.0.1:$P" dotnet bench/YarpBaseline/bin/Release/net10.0/YarpBaseline.dll >"$LOGS/yarp.log" 2>&1 &
  pids+=($!); echo $! >"$OUT/yarp.pid"
  wait_ready "http://127.0.0.1:$P/health/live"
  URL[yarp]="http://127.0.0.1:$P/api/v1/quotes/_debug/hello"
fi
if [[ " $TARGETS " == *" gateway-3x "* ]]; then
  U2=$(freeport); upstream "$U2"; U3=$(freeport); upstream "$U3"
  P=$(freeport); gateway gateway-3x "$P" "http://127.0.0.1:$U1" "http://127.0.0.1:$U2" "http://127.0.0.1:$U3"
  URL[gateway-3x]="http://127.0.0.1:$P/api/v1/quotes/_debug/hello"
fi

for target in $TARGETS; do curl -fs "${URL[$target]}" >/dev/null || { echo "$target does not answer ${URL[$target]}" >&2; exit 1; }; done

run_wrk() { # target conns round
  local text
  text=$(timeout $((DURATION + 30)) wrk -t2 -c"$2" -d"${DURATION}s" --latency "${URL[$1]}")
  python3 bench/report.py parse "$1" "$2" "$3" <<<"$text" >>"$RAW"
}

# Long enough for tiered JIT to finish on every target (the gateway has more code to tier up than YARP;
# a 3 s warm-up measured its JIT, not its steady state). Same warm-up for all targets.
echo "Warming up (${WARMUP}s per target per connection count)..."
for conns in $CONNECTIONS; do
  for target in $TARGETS; do timeout $((WARMUP + 30)) wrk -t2 -c"$conns" -d"${WARMUP}s" "${URL[$target]}" >/dev/null; done
done

echo "target,conns,round,rps,p50_ms,p99_ms,non2xx" >"$RAW"
started=$(date +%s)
for round in $(seq 1 "$ROUNDS"); do
  for conns in $CONNECTIONS; do
    for target in $TARGETS; do
      echo "round $round, $conns connections, $target"
      run_wrk "$target" "$conns" "$round"
    done
  done
done

: >"$OUT/rss.csv"
for name in gateway yarp gateway-3x; do
  [ -f "$OUT/$name.pid" ] && echo "$name,$(awk '/VmHWM/ {print $2}' "/proc/$(cat "$OUT/$name.pid")/status")" >>"$OUT/rss.csv"
done

python3 bench/report.py table "$RAW" "$OUT/rss.csv" "$ROUNDS" "$DURATION" "$(nproc)" | tee "$OUT/latest.md"
echo "(took $(( $(date +%s) - started )) s of measurement; raw rounds in $RAW)"
