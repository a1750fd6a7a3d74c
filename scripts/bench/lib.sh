# Shared helpers for scripts/bench/* (sourced, not run). Everything stays on 127.0.0.1.
# Each script sets BENCH_NAME before sourcing, and gets:
#   $BENCH_TMP           a temp dir removed at exit
#   bench_spawn VAR cmd… start a background process, remember its pid (killed at exit)
#   sreda_start / sreda_api / sreda_new_live_event   a private sreda on free ports
#   proc_cpu_ticks PID…  utime+stime of the processes (all threads), in clock ticks
#   proc_rss_kib PID…    VmRSS summed, KiB

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
BENCH_TMP=$(mktemp -d "/tmp/sreda-bench-${BENCH_NAME:-x}.XXXXXX")
BENCH_PIDS=()
CLK_TCK=$(getconf CLK_TCK)

bench_log() { echo "[$BENCH_NAME] $*" >&2; }
bench_die() { echo "[$BENCH_NAME] error: $*" >&2; exit 1; }

bench_cleanup() {
  local pid i
  # Newest first; TERM, then KILL whatever is left after ~3 s.
  for ((i=${#BENCH_PIDS[@]}-1; i>=0; i--)); do kill -TERM "${BENCH_PIDS[i]}" 2>/dev/null || true; done
  for _ in $(seq 30); do
    local alive=0
    for pid in "${BENCH_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for pid in "${BENCH_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "${BENCH_KEEP:-}" ]; then bench_log "kept $BENCH_TMP"; else rm -rf "$BENCH_TMP"; fi
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# bench_spawn VAR command… — runs the command in the background; VAR gets its pid.
bench_spawn() {
  local __var=$1; shift
  "$@" &
  local pid=$!
  BENCH_PIDS+=("$pid")
  printf -v "$__var" '%s' "$pid"
}

# bench_stop PID — TERM, wait up to 5 s, then KILL.
bench_stop() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# bench_need_pkgs CMD:PKG… — installs the Debian packages whose command/file is missing.
bench_need_pkgs() {
  local missing=() item what pkg
  for item in "$@"; do
    what=${item%%:*}; pkg=${item#*:}
    if [[ "$what" == /* ]]; then [ -e "$what" ] && continue; else command -v "$what" >/dev/null && continue; fi
    missing+=("$pkg")
  done
  [ ${#missing[@]} = 0 ] && return 0
  bench_log "installing ${missing[*]}"
  if ! apt-get install -y --no-install-recommends "${missing[@]}" >"$BENCH_TMP/apt.log" 2>&1; then
    apt-get update >>"$BENCH_TMP/apt.log" 2>&1 || true
    apt-get install -y --no-install-recommends "${missing[@]}" >>"$BENCH_TMP/apt.log" 2>&1 ||
      { cat "$BENCH_TMP/apt.log" >&2; bench_die "could not install ${missing[*]}"; }
  fi
}

# The server binary: $SREDA_BIN, or the release preset's build (built when missing).
bench_sreda_bin() {
  SREDA_BIN=${SREDA_BIN:-build/release/server/sreda}
  if [ ! -x "$SREDA_BIN" ]; then
    bench_log "building $SREDA_BIN (cmake --preset release)"
    cmake --preset release >/dev/null && cmake --build --preset release -j"$(nproc)" --target sreda >/dev/null ||
      bench_die "build failed"
  fi
  [ -x "$SREDA_BIN" ] || bench_die "no server binary at $SREDA_BIN"
}

proc_cpu_ticks() {
  local total=0 pid rest
  for pid in "$@"; do
    [ -r "/proc/$pid/stat" ] || continue
    rest=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null) || continue
    # after "pid (comm) ": state=1 … utime=12 stime=13
    set -- $rest
    total=$((total + ${12} + ${13}))
  done
  echo "$total"
}

proc_rss_kib() {
  local total=0 pid v
  for pid in "$@"; do
    v=$(awk '/^VmRSS:/{print $2}' "/proc/$pid/status" 2>/dev/null || true)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}

# Children of a pid (nginx workers).
proc_children() { ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' ' | tr '\n' ' '; }

# sreda_start — starts a private sreda; sets SREDA_PID HTTP_PORT RTMP_PORT SREDA_PASS.
sreda_start() {
  bench_sreda_bin
  local data=$BENCH_TMP/sreda-data
  mkdir -p "$data"
  SREDA_PASS=bench-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
  : >"$BENCH_TMP/sreda.log"
  SREDA_ADMIN_PASSWORD=$SREDA_PASS bench_spawn SREDA_PID "$SREDA_BIN" --data-dir "$data" --listen 127.0.0.1 \
    --http-port 0 --rtmp-port 0 --srt-port 0 --static-dir player-web/public --log-level "${SREDA_LOG_LEVEL:-info}" \
    2>"$BENCH_TMP/sreda.log"
  local line=
  for _ in $(seq 200); do
    line=$(grep -o 'listening: http=[0-9]* rtmp=[0-9]* srt=[0-9]*' "$BENCH_TMP/sreda.log" | head -1 || true)
    [ -n "$line" ] && break
    kill -0 "$SREDA_PID" 2>/dev/null || { cat "$BENCH_TMP/sreda.log" >&2; bench_die "sreda exited at start"; }
    sleep 0.1
  done
  [ -n "$line" ] || { tail -20 "$BENCH_TMP/sreda.log" >&2; bench_die "sreda did not log its ports"; }
  HTTP_PORT=$(sed 's/.*http=\([0-9]*\).*/\1/' <<<"$line")
  RTMP_PORT=$(sed 's/.*rtmp=\([0-9]*\).*/\1/' <<<"$line")
  SREDA_TOKEN=$(curl -sf -m 5 -X POST "http://127.0.0.1:$HTTP_PORT/api/login" \
    -d "{\"username\":\"admin\",\"password\":\"$SREDA_PASS\"}" | jq -r .token) || bench_die "login failed"
  [ -n "$SREDA_TOKEN" ] && [ "$SREDA_TOKEN" != null ] || bench_die "login gave no token"
}

# sreda_api METHOD PATH [JSON] — prints the JSON answer (fails on HTTP errors).
sreda_api() {
  curl -sS -f -m 10 -X "$1" "http://127.0.0.1:$HTTP_PORT$2" -H "Authorization: Bearer $SREDA_TOKEN" \
    ${3:+-d "$3"}
}

# sreda_new_live_event NAME — a studio and an event that may go live now; sets STREAM_KEY EVENT_ID.
sreda_new_live_event() {
  local studio starts ends
  studio=$(sreda_api POST /api/studios "{\"name\":\"$1\"}") || bench_die "could not create a studio"
  STREAM_KEY=$(jq -r .stream_key <<<"$studio")
  starts=$(date -u -d '+2 minutes' +%Y-%m-%dT%H:%M:%SZ)
  ends=$(date -u -d '+3 hours' +%Y-%m-%dT%H:%M:%SZ)
  EVENT_ID=$(sreda_api POST /api/events "{\"title\":\"$1\",\"category\":\"concert\",\"studio_id\":$(jq .id <<<"$studio"),\"starts_at\":\"$starts\",\"ends_at\":\"$ends\"}" |
    jq -r .id) || bench_die "could not create an event"
}

# Percent/ratio helpers (awk does the floating point).
fdiv() { awk -v a="$1" -v b="$2" -v f="${3:-%.3f}" 'BEGIN{ if (b == 0) print "n/a"; else printf f "\n", a / b }'; }
