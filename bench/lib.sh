# Shared by the bench scripts (sourced): package installs, free ports, readiness, and ending what a script started.

. "$(dirname "${BASH_SOURCE[0]}")/../scripts/install-missing.sh"

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

wait_until() { # command... -> returns once the command succeeds; gives up (exit 1) after 200 tries 0.1 s apart
  for _ in $(seq 1 200); do "$@" && return 0; sleep 0.1; done
  echo "not ready: $*" >&2; exit 1
}

wait_ready() { wait_until curl -fs -o /dev/null "$1"; } # url
