# The bench's processes and targets, shared by run.sh and profile.sh (source after lib.sh; they need LOGS and OUT).
# Every process started is recorded in pids, so lib.sh's cleanup ends it.

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
mint_bench_token() { # sets JWT_SECRET and TOKEN: an HS256 token the bench gateways accept, valid for 2 hours
  JWT_SECRET=bench-secret-0123456789abcdef0123456789
  local now header payload
  now=$(date +%s)
  header=$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)
  payload=$(printf '{"iss":"smartenvios","aud":"smartenvios-api","sub":"bench","iat":%s,"nbf":%s,"exp":%s,"jti":"bench-%s"}' "$now" "$now" $((now + 7200)) "$now" | b64url)
  TOKEN="$header.$payload.$(printf '%s.%s' "$header" "$payload" | openssl dgst -sha256 -hmac "$JWT_SECRET" -binary | b64url)"
}

upstream() { # ports (comma-separated) -> one quotes process listening on each: the instances of a cluster
  dotnet samples/Upstreams/bin/Release/net10.0/Upstreams.dll --service quotes --port "$1" --debug-endpoints >"$LOGS/upstream.log" 2>&1 &
  pids+=($!)
  for port in ${1//,/ }; do wait_ready "http://127.0.0.1:$port/health"; done
}

redis_server() { # -> REDIS_PORT: a Redis of the bench's own on loopback, nothing persisted
  REDIS_PORT=$(freeport)
  # No snapshots and no append-only file, so nothing lands in its working folder, the logs' one.
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no --dir "$LOGS" </dev/null >"$LOGS/redis.log" 2>&1 &
  pids+=($!)
  wait_until redis_answers "$REDIS_PORT"
}
redis_answers() { redis-cli -p "$1" ping 2>/dev/null | grep -q PONG; } # port

EXTRA_ENV=()
gateway() { # name port destinations...   (plus EXTRA_ENV)
  local name=$1 port=$2; shift 2
  # The shipped SmartEnvios config, its quotes rate limit off (YARP has none), plus one authenticated bench route.
  local env=(Urls="http://127.0.0.1:$port" JWT_SECRET=$JWT_SECRET Serilog__MinimumLevel__Default=Warning
             Gateway__Routes__quotes__RateLimitPolicy= Gateway__Clusters__quote-service__HealthCheck__Interval=00:00:05
             Gateway__Routes__authbench__Path='/bench/auth/{**rest}' Gateway__Routes__authbench__ClusterId=quote-service
             Gateway__Routes__authbench__Methods__0=GET Gateway__Routes__authbench__Authorization=Authenticated
             Gateway__Routes__authbench__Transform__PathRemovePrefix=/bench/auth "${EXTRA_ENV[@]}")
  local i=1
  for address in "$@"; do env+=("Gateway__Clusters__quote-service__Destinations__quotes-${i}__Address=$address"); i=$((i + 1)); done
  env "${env[@]}" dotnet Gateway.Api/bin/Release/net10.0/Gateway.Api.dll >"$LOGS/$name.log" 2>&1 &
  pids+=($!)
  echo $! >"$OUT/$name.pid"
  wait_ready "http://127.0.0.1:$port/health/live"
}

yarp() { # port upstream -> the YARP baseline
  UPSTREAM="$2" Urls="http://127.0.0.1:$1" dotnet bench/YarpBaseline/bin/Release/net10.0/YarpBaseline.dll >"$LOGS/yarp.log" 2>&1 &
  pids+=($!); echo $! >"$OUT/yarp.pid"
  wait_ready "http://127.0.0.1:$1/health/live"
}

otlp_sink() { # -> TRACED_ENV: a gateway's environment for everything on, exporting to a local receiver (OTLP_RECEIVER)
  local port; port=$(freeport)
  node bench/otlp-receiver.js "$port" >"$LOGS/otlp-receiver.log" 2>&1 &
  pids+=($!)
  OTLP_RECEIVER="http://127.0.0.1:$port"
  wait_until curl -fs -o /dev/null "$OTLP_RECEIVER/counts"
  # Every trace sampled and exported over OTLP, metrics, an access-log line per request.
  TRACED_ENV=(OTEL_EXPORTER_OTLP_ENDPOINT="$OTLP_RECEIVER" OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf OTEL_TRACES_SAMPLER=always_on
              Serilog__MinimumLevel__Default=Information Serilog__MinimumLevel__Override__Microsoft=Warning Serilog__MinimumLevel__Override__System=Warning)
}

otlp_delivery() { # traced gateway's URL -> the receiver's counts (a JSON line), then the gateway's /metrics text
  # The log sink sends every 2 s and the trace exporter every 5 s once the load stops: the receiver's counts are
  # final when they have not moved for 6 s (given up after 60 s, and the counts are then reported as they are).
  local last= now steady=0
  for _ in $(seq 1 60); do
    now=$(curl -fs "$OTLP_RECEIVER/counts")
    if [ "$now" = "$last" ]; then steady=$((steady + 1)); else steady=0; last=$now; fi
    [ "$steady" -ge 6 ] && break
    sleep 1
  done
  echo "$now"
  curl -fs "${1%%/api/*}/metrics"
}

# start_targets TARGET... starts what the named targets need and fills URL (what wrk loads), HDR (a header a
# target's requests carry), PARTNER (the run a target is paired with, when not the plain gateway) and PROCESS
# (whose pid file in $OUT serves it: the authenticated route is one of gateway's, the rate-limited ones of
# gateway-redis's). Needs JWT_SECRET and TOKEN (mint_bench_token).
declare -A URL HDR PARTNER PROCESS
header_args() { # target -> the header option its requests need, if any (for curl and wrk)
  if [ -n "${HDR[$1]:-}" ]; then printf '%s\n' -H "${HDR[$1]}"; fi
}
start_targets() {
  local wanted=" $* " P target
  # One upstream process for every target; the three-instance cluster is three of its ports, so the comparison
  # with the single instance measures the gateway's balancing, not three processes fighting over two cores.
  U1=$(freeport); U2=$(freeport); U3=$(freeport); upstream "$U1,$U2,$U3"
  URL[direct]="http://127.0.0.1:$U1/quotes/_debug/hello"
  if [[ $wanted == *" gateway "* || $wanted == *" gateway-auth "* ]]; then
    P=$(freeport); gateway gateway "$P" "http://127.0.0.1:$U1"
    URL[gateway]="http://127.0.0.1:$P/api/v1/quotes/_debug/hello"
    # Same process: a route that validates an HS256 token and checks its revocation on every request.
    URL[gateway-auth]="http://127.0.0.1:$P/bench/auth/quotes/_debug/hello"; HDR[gateway-auth]="Authorization: Bearer $TOKEN"
    PROCESS[gateway]=gateway; PROCESS[gateway-auth]=gateway
  fi
  if [[ $wanted == *" gateway-rl-"* || $wanted == *" gateway-redis "* ]]; then
    redis_server
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
    for target in gateway-redis gateway-rl-exact gateway-rl-approx gateway-rl-sliding; do PROCESS[$target]=gateway-redis; done
  fi
  if [[ $wanted == *" gateway-traced "* ]]; then
    otlp_sink
    EXTRA_ENV=("${TRACED_ENV[@]}")
    P=$(freeport); gateway gateway-traced "$P" "http://127.0.0.1:$U1"; EXTRA_ENV=()
    URL[gateway-traced]="http://127.0.0.1:$P/api/v1/quotes/_debug/hello"; PROCESS[gateway-traced]=gateway-traced
  fi
  if [[ $wanted == *" yarp "* ]]; then
    P=$(freeport); yarp "$P" "http://127.0.0.1:$U1"
    URL[yarp]="http://127.0.0.1:$P/api/v1/quotes/_debug/hello"; PROCESS[yarp]=yarp
  fi
  if [[ $wanted == *" gateway-3x "* ]]; then
    P=$(freeport); gateway gateway-3x "$P" "http://127.0.0.1:$U1" "http://127.0.0.1:$U2" "http://127.0.0.1:$U3"
    URL[gateway-3x]="http://127.0.0.1:$P/api/v1/quotes/_debug/hello"; PROCESS[gateway-3x]=gateway-3x
  fi
}
