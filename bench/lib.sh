# Shared by the bench scripts (sourced): package installs, free ports, readiness, and ending what a script started.

install_missing() { # tool:package ...  -> apt-get installs the packages whose tool is not on PATH
  local need=() tool_pkg
  for tool_pkg in "$@"; do command -v "${tool_pkg%%:*}" >/dev/null || need+=("${tool_pkg##*:}"); done
  [ ${#need[@]} -eq 0 ] && return 0
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
}

build_release() { # project ...
  echo "Building (Release)..."
  local project
  for project in "$@"; do dotnet build "$project" -c Release -nologo -v quiet >/dev/null; done
}

freeport() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'; }

# Only processes this script started, by PID, on any exit.
pids=()
cleanup() { for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done; for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

wait_ready() { # url
  for _ in $(seq 1 200); do curl -fs -o /dev/null "$1" && return 0; sleep 0.1; done
  echo "not ready: $1" >&2; exit 1
}

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
mint_bench_token() { # sets JWT_SECRET and TOKEN: an HS256 token the bench gateways accept, valid for 2 hours
  JWT_SECRET=bench-secret-0123456789abcdef0123456789
  local now header payload
  now=$(date +%s)
  header=$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)
  payload=$(printf '{"iss":"smartenvios","aud":"smartenvios-api","sub":"bench","iat":%s,"nbf":%s,"exp":%s,"jti":"bench-%s"}' "$now" "$now" $((now + 7200)) "$now" | b64url)
  TOKEN="$header.$payload.$(printf '%s.%s' "$header" "$payload" | openssl dgst -sha256 -hmac "$JWT_SECRET" -binary | b64url)"
}

# The bench's processes (need LOGS and OUT set by the caller). Each is recorded in pids, so cleanup ends it.
upstream() { # ports (comma-separated) -> one quotes process listening on each: the instances of a cluster
  dotnet samples/Upstreams/bin/Release/net10.0/Upstreams.dll --service quotes --port "$1" --debug-endpoints >"$LOGS/upstream.log" 2>&1 &
  pids+=($!)
  for port in ${1//,/ }; do wait_ready "http://127.0.0.1:$port/health"; done
}

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

otlp_sink() { # -> TRACED_ENV: a gateway's environment for everything on, exporting to a local receiver
  # The receiver accepts and discards (an empty protobuf answer is a valid export response): the cost measured
  # is the gateway's, not a collector's decoding on the same two cores.
  local port; port=$(freeport)
  node -e "require('http').createServer((q,s)=>{q.resume();q.on('end',()=>{s.setHeader('content-type','application/x-protobuf');s.end();});}).listen($port,'127.0.0.1')" >"$LOGS/otlp-receiver.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do curl -fs -o /dev/null -X POST "http://127.0.0.1:$port/v1/traces" && break; sleep 0.1; done
  # Every trace sampled and exported over OTLP, metrics, an access-log line per request.
  TRACED_ENV=(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$port" OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf OTEL_TRACES_SAMPLER=always_on
              Serilog__MinimumLevel__Default=Information Serilog__MinimumLevel__Override__Microsoft=Warning Serilog__MinimumLevel__Override__System=Warning)
}
