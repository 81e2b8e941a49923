#!/usr/bin/env bash
# One-command demo: builds, starts SmartEnvios' sample upstreams and the gateway (in-memory stores, no Redis),
# prints where to reach it, and stops everything on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")"

GATEWAY_PORT=${GATEWAY_PORT:-5000}
SAMPLES_BASE_PORT=${SAMPLES_BASE_PORT:-5100}
CONFIGURATION=${CONFIGURATION:-Release}
QUOTES_PORT=$((SAMPLES_BASE_PORT + 1))
TRACKING_PORT=$((SAMPLES_BASE_PORT + 2))
CONTRACTS_PORT=$((SAMPLES_BASE_PORT + 3))
RUN_DIR=.run
mkdir -p "$RUN_DIR"

command -v dotnet >/dev/null || { echo "run.sh needs the .NET 10 SDK (dotnet) on PATH" >&2; exit 1; }

# SmartEnvios' services share an HS256 secret; the demo makes one up unless JWT_SECRET is given.
JWT_SECRET=${JWT_SECRET:-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')}
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
mint_token() { # sub roles-json -> a one-hour HS256 token for the demo's contracts route
  local now header payload signature
  now=$(date +%s)
  header=$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)
  payload=$(printf '{"iss":"smartenvios","aud":"smartenvios-api","sub":"%s","roles":%s,"iat":%s,"nbf":%s,"exp":%s,"jti":"demo-%s"}' \
    "$1" "$2" "$now" "$now" $((now + 3600)) "$now" | b64url)
  signature=$(printf '%s.%s' "$header" "$payload" | openssl dgst -sha256 -hmac "$JWT_SECRET" -binary | b64url)
  printf '%s.%s.%s' "$header" "$payload" "$signature"
}

echo "Building (${CONFIGURATION})..."
dotnet build Gateway.Api/Gateway.Api.csproj -c "$CONFIGURATION" -nologo -v quiet
dotnet build samples/Upstreams/Upstreams.csproj -c "$CONFIGURATION" -nologo -v quiet

pids=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "Stopped."
}
trap stop INT TERM EXIT

dotnet "samples/Upstreams/bin/${CONFIGURATION}/net10.0/Upstreams.dll" --service all --base-port "$SAMPLES_BASE_PORT" --debug-endpoints \
  > "$RUN_DIR/upstreams.log" 2>&1 &
pids+=($!)

# `env` because bash cannot assign variable names that contain '-'.
env Urls="http://127.0.0.1:${GATEWAY_PORT}" JWT_SECRET="$JWT_SECRET" \
  Gateway__Clusters__quote-service__Destinations__quotes-1__Address="http://127.0.0.1:${QUOTES_PORT}" \
  Gateway__Clusters__tracking-service__Destinations__tracking-1__Address="http://127.0.0.1:${TRACKING_PORT}" \
  Gateway__Clusters__contract-service__Destinations__contracts-1__Address="http://127.0.0.1:${CONTRACTS_PORT}" \
  dotnet "Gateway.Api/bin/${CONFIGURATION}/net10.0/Gateway.Api.dll" > "$RUN_DIR/gateway.log" 2>&1 &
pids+=($!)

wait_for() { # url name
  for _ in $(seq 1 150); do
    curl -fs -o /dev/null "$1" && return 0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || { echo "$2 exited; see $RUN_DIR/" >&2; exit 1; }; done
    sleep 0.2
  done
  echo "$2 did not become ready at $1; see $RUN_DIR/" >&2; exit 1
}
wait_for "http://127.0.0.1:${QUOTES_PORT}/health" "sample upstreams"
wait_for "http://127.0.0.1:${GATEWAY_PORT}/health/live" "gateway"

GW="http://127.0.0.1:${GATEWAY_PORT}"
TOKEN=$(mint_token demo-customer '["customer"]')
cat <<TXT

Gateway: ${GW}   (upstreams: quotes :${QUOTES_PORT}, tracking :${TRACKING_PORT}, contracts :${CONTRACTS_PORT}; logs in ${RUN_DIR}/)

Try:
  curl -s -X POST ${GW}/api/v1/quotes/calculate -H 'Content-Type: application/json' \\
       -d '{"zip_code_start":"01310-100","zip_code_end":"20040-002","volumes":[{"quantity":1,"weight":2.5,"height":10,"width":20,"length":30}],"amount":150}'
  TOKEN=${TOKEN}
  curl -s -X POST ${GW}/api/v1/contracts -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' \\
       -d '{"quote_service_id":"correios-pac","customer_id":"c-1","type":"standard","freightContentStatement":{}}'
  curl -s -X POST ${GW}/api/v1/tracking -H 'Content-Type: application/json' -d '{"trackingCode":"SE0000000001BR"}'

The whole freight flow in one call (quote -> contract -> confirm -> tracking):
  curl -s -X POST ${GW}/api/v1/flows/freight -H "Authorization: Bearer \$TOKEN" -H "Idempotency-Key: demo-1" -H 'Content-Type: application/json' \\
       -d '{"zip_code_start":"01310-100","zip_code_end":"20040-002","volumes":[{"quantity":1,"weight":2.5,"height":10,"width":20,"length":30}],"amount":150,"customer_id":"c-1","selection":"cheapest"}'

Ctrl-C stops everything.
TXT
wait -n "${pids[@]}" || true
