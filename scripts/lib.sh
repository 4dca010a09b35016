# Shared helpers for ./run, ./test and bench/run. Sourced, not executed.

# Installs the pinned Azurite from infra/package-lock.json when missing or out of date.
ensure_azurite_installed() {
  local infra="$root/infra"
  if [ ! -x "$infra/node_modules/.bin/azurite" ] || [ "$infra/package-lock.json" -nt "$infra/node_modules/.package-lock.json" ]; then
    echo "Installing Azurite (npm ci in infra/)..."
    (cd "$infra" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# Builds the web console (console/ -> console/dist, which the host's build copies beside it) when its sources are
# newer than the build: npm ci when the lock changed, then npm run build (type check and bundle).
ensure_console_built() {
  local console="$root/console"
  if [ ! -d "$console/node_modules" ] || [ "$console/package-lock.json" -nt "$console/node_modules/.package-lock.json" ]; then
    echo "Installing the console's packages (npm ci in console/)..."
    (cd "$console" && npm ci --no-audit --no-fund --loglevel=error)
  fi
  if [ ! -f "$console/dist/index.html" ] || [ -n "$(find "$console/src" "$console/public" "$console/index.html" "$console/package.json" \
      "$console/package-lock.json" "$console/vite.config.ts" "$console/tsconfig.app.json" -newer "$console/dist/index.html" -print -quit)" ]; then
    echo "Building the console (npm run build in console/)..."
    (cd "$console" && npm run build --silent) >/dev/null || { (cd "$console" && npm run build); return 1; }
  fi
}

# The browser tests drive Debian's chromium; installed with apt-get when missing (as root, or with sudo).
ensure_chromium() {
  [ -n "${CHROMIUM_PATH:-}" ] && [ -x "$CHROMIUM_PATH" ] && return 0
  command -v chromium >/dev/null 2>&1 && return 0
  echo "Installing chromium for the browser tests (apt-get)..."
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null \
    || { echo "chromium could not be installed; install it (apt-get install chromium) or set CHROMIUM_PATH" >&2; return 1; }
}

# The tests build wheels and venvs with a real python3 that has venv and pip.
ensure_test_python() {
  if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    echo "python3 with venv and ensurepip is required (apt-get install python3-venv)" >&2
    exit 1
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_for_port PORT SECONDS: true once 127.0.0.1:PORT accepts a connection. SECONDS may be a fraction
# (0.1 = a single probe); bash arithmetic is integer-only, so count 0.2 s probes instead of comparing times.
wait_for_port() {
  local port=$1 tries i
  tries=$(awk -v s="$2" 'BEGIN { t = int(s * 5); print (t < 1 ? 1 : t) }')
  for ((i = 0; i < tries; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    if ((i + 1 < tries)); then sleep 0.2; fi
  done
  return 1
}

# Stops processes and all their descendants: TERM to every one of them at once, then KILL whatever is still
# alive after a grace period (STOP_GRACE_SECONDS, default 10), so a slow shutdown cannot leave anything behind.
kill_tree() {
  local queue=("$@") all=() pid i alive
  while [ ${#queue[@]} -gt 0 ]; do
    pid=${queue[0]}; queue=("${queue[@]:1}")
    kill -0 "$pid" 2>/dev/null || continue
    all+=("$pid")
    queue+=($(pgrep -P "$pid" 2>/dev/null || true))
  done
  [ ${#all[@]} -gt 0 ] || return 0
  kill -TERM "${all[@]}" 2>/dev/null || true
  for ((i = 0; i < ${STOP_GRACE_SECONDS:-10} * 10; i++)); do
    alive=""
    for pid in "${all[@]}"; do
      # A zombie has exited; only its parent's wait is missing.
      if kill -0 "$pid" 2>/dev/null && [ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" != "Z" ]; then alive=1; break; fi
    done
    [ -n "$alive" ] || return 0
    sleep 0.1
  done
  echo "Still running after ${STOP_GRACE_SECONDS:-10} s; killing: ${all[*]}" >&2
  kill -KILL "${all[@]}" 2>/dev/null || true
}

# Prints one closing line over every test assembly (.trx) and the console's suites (JUnit .xml):
# "N passed, N failed, N skipped".
summarize_trx() {
  python3 - "$1" <<'PY'
import sys, glob, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
passed = failed = skipped = 0
for f in glob.glob(sys.argv[1] + "/*.trx"):
    c = ET.parse(f).getroot().find("t:ResultSummary/t:Counters", ns)
    if c is None: continue
    passed += int(c.get("passed", 0)); failed += int(c.get("failed", 0)) + int(c.get("error", 0)) + int(c.get("timeout", 0))
    skipped += int(c.get("notExecuted", 0))
for f in glob.glob(sys.argv[1] + "/*.xml"):
    r = ET.parse(f).getroot()
    tests, bad = int(r.get("tests", 0)), int(r.get("failures", 0)) + int(r.get("errors", 0))
    skip = int(r.get("skipped", 0)) or sum(len(c.findall("skipped")) for c in r.iter("testcase"))
    passed += tests - bad - skip; failed += bad; skipped += skip
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
}
