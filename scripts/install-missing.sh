# Sourced by test.sh and bench/lib.sh: installs Debian packages for the tools that are not on PATH.
install_missing() { # tool:package ...
  local need=() tool_pkg
  for tool_pkg in "$@"; do command -v "${tool_pkg%%:*}" >/dev/null || need+=("${tool_pkg##*:}"); done
  [ ${#need[@]} -eq 0 ] && return 0
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "Installing ${need[*]}..."
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
}
