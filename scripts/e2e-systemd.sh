#!/usr/bin/env bash
# Real systemd end to end for `openclaw gateway install|start|stop|restart|status|uninstall` and
# `openclaw doctor`: boot a Debian tree (built here with debootstrap, cached) in systemd-nspawn,
# bind the compiled binary in as /usr/local/bin/openclaw, and drive it as an operator would.
#
#   sudo scripts/e2e-systemd.sh                 # builds dist/openclaw first if it is missing
#
# Environment:
#   OPENCLAW_E2E_BINARY   binary to test (default: dist/openclaw)
#   OPENCLAW_E2E_CACHE    where the Debian tree is kept between runs (default: /var/tmp/openclaw-e2e-systemd)
#   OPENCLAW_E2E_SUITE    Debian suite for debootstrap (default: bookworm)
#   OPENCLAW_E2E_MIRROR   debootstrap mirror (default: debootstrap's own default)
#
# Needs root, systemd-nspawn (apt: systemd-container), debootstrap and nsenter (util-linux).
# When something is missing it prints `SKIP: <reason>` and exits 77. Every wait is bounded.
# Last line: `e2e-systemd: N passed, N failed`; exit 1 when anything failed.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${OPENCLAW_E2E_BINARY:-$ROOT/dist/openclaw}"
CACHE="${OPENCLAW_E2E_CACHE:-/var/tmp/openclaw-e2e-systemd}"
SUITE="${OPENCLAW_E2E_SUITE:-bookworm}"
MIRROR="${OPENCLAW_E2E_MIRROR:-}"
MACHINE="openclaw-e2e-$$"
TOKEN='e2e tok $HOME "q" x'   # spaces, $ and quotes: proves the env file reaches the gateway unchanged
PORT=18789

passed=0
failed=0
say() { printf '[e2e-systemd] %s\n' "$*" >&2; }
pass() { passed=$((passed + 1)); say "PASS $1"; }
fail() { failed=$((failed + 1)); say "FAIL $1${2:+ ($2)}"; }
skip() { say "SKIP: $*"; echo "SKIP: $*"; exit 77; }

[[ "$(id -u)" == 0 ]] || skip "needs root (systemd-nspawn and debootstrap)"
for tool in systemd-nspawn debootstrap nsenter timeout; do
  command -v "$tool" >/dev/null || skip "$tool not installed (apt: systemd-container, debootstrap, util-linux, coreutils)"
done

if [[ ! -x "$BIN" ]]; then
  say "building $BIN"
  (cd "$ROOT" && bun scripts/build.ts >/dev/null) || { say "build failed"; say "e2e-systemd: 0 passed, 1 failed"; echo "e2e-systemd: 0 passed, 1 failed"; exit 1; }
fi

# --- the Debian tree (cached) ------------------------------------------------------------------
PACKAGES="systemd,systemd-sysv,dbus,libpam-systemd,procps"
# The tree's name carries the package list, so changing it builds a fresh tree.
TREE="$CACHE/$SUITE-$(printf '%s' "$PACKAGES" | cksum | cut -d' ' -f1)"
if [[ ! -f "$TREE/.complete" ]]; then
  say "debootstrap $SUITE into $TREE (once; cached afterwards)"
  rm -rf "$TREE"
  mkdir -p "$CACHE"
  t0=$SECONDS
  if ! timeout 900 debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$TREE" ${MIRROR:+"$MIRROR"} >"$CACHE/debootstrap.log" 2>&1; then
    tail -n 20 "$CACHE/debootstrap.log" >&2
    skip "debootstrap failed (no network to the Debian mirror?); log: $CACHE/debootstrap.log"
  fi
  # No console login prompt, no network setup to wait for.
  ln -sf /dev/null "$TREE/etc/systemd/system/console-getty.service"
  ln -sf /dev/null "$TREE/etc/systemd/system/getty@.service"
  touch "$TREE/.complete"
  say "debootstrap took $((SECONDS - t0)) s"
fi

# --- boot ----------------------------------------------------------------------------------------
LOG="$(mktemp "${TMPDIR:-/tmp}/openclaw-e2e-systemd.XXXXXX")"
NSPAWN_PID=""
cleanup() {
  if [[ -n "$NSPAWN_PID" ]] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
    kill -TERM "$NSPAWN_PID" 2>/dev/null   # nspawn powers the container off
    for _ in $(seq 1 100); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$NSPAWN_PID" 2>/dev/null
  fi
  rm -f "$LOG"
}
trap cleanup EXIT

say "booting $TREE (volatile overlay) as $MACHINE"
systemd-nspawn -D "$TREE" --volatile=overlay --register=no --keep-unit -M "$MACHINE" \
  --bind-ro="$BIN":/usr/local/bin/openclaw -b >"$LOG" 2>&1 </dev/null &
NSPAWN_PID=$!

# The container's PID 1 is the nspawn child running `systemd` in its own PID namespace (nspawn
# forks short-lived helpers first, so wait for that one).
LEADER=""
for _ in $(seq 1 150); do
  cand="$(ps --ppid "$NSPAWN_PID" -o pid=,comm= 2>/dev/null | awk '$2 == "systemd" { print $1; exit }')"
  if [[ -n "$cand" && "$(readlink "/proc/$cand/ns/pid" 2>/dev/null)" != "$(readlink /proc/self/ns/pid)" ]]; then
    LEADER="$cand"
    break
  fi
  kill -0 "$NSPAWN_PID" 2>/dev/null || break
  sleep 0.2
done
if [[ -z "$LEADER" ]]; then
  tail -n 30 "$LOG" >&2
  skip "systemd-nspawn did not start a container here (see the log above)"
fi

ct() { timeout 120 nsenter -t "$LEADER" -m -u -i -n -p -- /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }
as_pi() { ct runuser -u pi -- /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/home/pi XDG_RUNTIME_DIR=/run/user/1000 LANG=C.UTF-8 "$@"; }
port_open() { ct bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
prop() { ct systemctl show -p "$2" --value "$1"; }
contains() { grep -qF -- "$2" <<<"$1"; }
wait_for() { # wait_for <seconds> <command...>
  local deadline=$((SECONDS + $1)); shift
  while ((SECONDS < deadline)); do "$@" && return 0; sleep 0.3; done
  "$@"
}

# PID 1 exists before its bus does: until /run/systemd/private is there, systemctl fails at once
# ("Failed to connect to bus"), so retry; once connected, --wait blocks until boot has finished.
state=""
boot_deadline=$((SECONDS + 90))
while ((SECONDS < boot_deadline)); do
  state="$(ct systemctl is-system-running --wait 2>/dev/null || true)"
  [[ "$state" == running || "$state" == degraded ]] && break
  kill -0 "$NSPAWN_PID" 2>/dev/null || break
  sleep 0.3
done
[[ "$state" == running || "$state" == degraded ]] && pass "container booted (systemd: $state)" || fail "container booted" "$state"

# --- install --system ---------------------------------------------------------------------------
unit=/etc/systemd/system/openclaw-gateway.service
out="$(ct openclaw gateway install --system --token "$TOKEN" 2>&1)"; rc=$?
say "install --system:"; printf '%s\n' "$out" | sed 's/^/    /' >&2
[[ $rc == 0 ]] && contains "$out" "Installed systemd system service: $unit" && contains "$out" "Enabled and started openclaw-gateway.service: running (pid" \
  && pass "install --system installs, enables, starts and verifies" || fail "install --system" "exit $rc"
[[ "$(ct stat -c %a "$unit")" == 644 && "$(ct stat -c %a /etc/openclaw/gateway.env)" == 600 ]] && pass "unit 0644, env file 0600" || fail "file modes"
ct test -f "$unit" && ! ct grep -qF "e2e tok" "$unit" && pass "no secret in the unit" || fail "secret inline in the unit (or no unit)"
[[ "$(prop openclaw-gateway.service ActiveState)" == active && "$(prop openclaw-gateway.service UnitFileState)" == enabled ]] && pass "systemd: active and enabled" || fail "systemd state"
pid1="$(prop openclaw-gateway.service MainPID)"
uid="$(ct awk '/^Uid:/{print $2}' "/proc/$pid1/status")"
[[ -n "$uid" && "$uid" != 0 ]] && pass "runs as a DynamicUser (uid $uid), not root" || fail "DynamicUser" "uid=$uid"
ct test -f "$unit" && ! ct grep -q MemoryDenyWriteExecute "$unit" && pass "no MemoryDenyWriteExecute" || fail "MemoryDenyWriteExecute present (or no unit)"

# The gateway took the token from the 0600 env file, exactly (spaces, $ and quotes intact).
out="$(ct openclaw gateway call health --url "ws://127.0.0.1:$PORT" --token "$TOKEN" --json 2>&1)"
contains "$out" '"ok": true' && pass "health RPC with the token from the env file" || fail "health with env-file token" "$out"
out="$(ct openclaw gateway call health --url "ws://127.0.0.1:$PORT" --token "e2e tok" --json 2>&1)"
contains "$out" "AUTH_TOKEN_MISMATCH" && pass "a different token is rejected" || fail "wrong token rejected" "$out"

out="$(ct openclaw gateway install --system --token "$TOKEN" 2>&1)"; rc=$?
[[ $rc == 0 ]] && contains "$out" "Gateway service already enabled and running (pid $pid1, port $PORT)" && pass "second install is a verified no-op" || fail "idempotent install" "$out"

# --- status ---------------------------------------------------------------------------------------
svc=(env OPENCLAW_STATE_DIR=/var/lib/openclaw)
out="$(ct "${svc[@]}" openclaw gateway status --token "$TOKEN" 2>&1)"
say "gateway status:"; printf '%s\n' "$out" | sed 's/^/    /' >&2
contains "$out" "Service: systemd (enabled)" && contains "$out" "Service file: $unit" && contains "$out" "Runtime: running (pid $pid1, state active, sub running)" \
  && contains "$out" "Connectivity probe: ok" && pass "status: service, runtime and probe" || fail "status (service view)"
out="$(ct openclaw gateway status --no-probe 2>&1)"
contains "$out" "Config (service): /var/lib/openclaw/openclaw.json" && contains "$out" "Root cause: CLI and service are using different config paths" \
  && pass "status from root's own config names the service's config and the mismatch" || fail "status config mismatch" "$out"
out="$(ct "${svc[@]}" openclaw doctor --json 2>&1)"
if contains "$out" '"checksRun"' && ! grep -qE '"severity": "(error|warning)"' <<<"$out"; then pass "doctor: no errors or warnings on a healthy install"; else fail "doctor on a healthy install" "$out"; fi

# `gateway --force` never kills a gateway that the service supervises (the unit name matches).
out="$(ct openclaw gateway run --force --port $PORT 2>&1)"; rc=$?
[[ $rc == 1 ]] && contains "$out" "it is the gateway run by the installed service openclaw-gateway.service" && [[ "$(prop openclaw-gateway.service MainPID)" == "$pid1" ]] \
  && pass "gateway --force refuses to kill the service's gateway" || fail "--force vs service" "exit $rc: $out"

# --- kill -9: systemd restarts it -------------------------------------------------------------------
ct kill -9 "$pid1"
restarted() { local p; p="$(prop openclaw-gateway.service MainPID)"; [[ "$p" != 0 && "$p" != "$pid1" ]] && port_open $PORT; }
if wait_for 30 restarted; then pass "kill -9: systemd restarted it (pid $pid1 → $(prop openclaw-gateway.service MainPID), NRestarts=$(prop openclaw-gateway.service NRestarts))"; else fail "restart after kill -9"; fi
pid2="$(prop openclaw-gateway.service MainPID)"
out="$(ct "${svc[@]}" openclaw gateway status --no-probe 2>&1)"
contains "$out" "Runtime: running (pid $pid2, state active, sub running, 1 restarts)" && pass "status shows the new pid and the restart" || fail "status after kill -9" "$(grep Runtime <<<"$out")"

# --- restart / stop / start ---------------------------------------------------------------------------
out="$(ct openclaw gateway restart 2>&1)"; rc=$?
pid3="$(prop openclaw-gateway.service MainPID)"
[[ $rc == 0 ]] && contains "$out" "Restarted systemd service: openclaw-gateway.service (pid $pid2 → $pid3, port $PORT)." && port_open $PORT \
  && pass "restart: new pid, port answers, says so" || fail "restart" "$out"
out="$(ct openclaw gateway stop 2>&1)"; rc=$?
[[ $rc == 0 ]] && contains "$out" "Stopped systemd service: openclaw-gateway.service (port $PORT closed)." && [[ "$(prop openclaw-gateway.service ActiveState)" == inactive ]] && ! port_open $PORT \
  && pass "stop: inactive, port closed" || fail "stop" "$out"
out="$(ct "${svc[@]}" openclaw gateway status --no-probe 2>&1)"
contains "$out" "Runtime: stopped (state inactive, sub dead" && contains "$out" "Service is loaded but not running" && pass "status after stop is truthful" || fail "status after stop" "$out"
out="$(ct openclaw gateway stop 2>&1)"; [[ $? == 0 ]] && contains "$out" "Gateway service already stopped." && pass "stop again: no-op" || fail "stop idempotent" "$out"
out="$(ct openclaw gateway start 2>&1)"; rc=$?
[[ $rc == 0 ]] && contains "$out" "Started systemd service: openclaw-gateway.service (pid" && port_open $PORT && pass "start" || fail "start" "$out"

# --- an invalid config with a last-known-good copy is restored at start ----------------------------------
cfg=/var/lib/openclaw/openclaw.json
ct cp "$cfg" "$cfg.bak"
ct bash -c "printf '{ gateway: { mode: \"local\", port: \"nope\" } }' > $cfg"   # keeps the file's owner
out="$(ct openclaw gateway restart 2>&1)"; rc=$?
[[ $rc == 0 ]] && port_open $PORT && ct bash -c "ls $cfg.clobbered.* >/dev/null 2>&1" && ! ct grep -q nope "$cfg" \
  && pass "invalid config with a last-known-good copy: restored at start, the bad file kept as .clobbered" || fail "last-known-good restore" "$out"

# --- without a last-known-good copy: exit 78 is not restarted; doctor --fix restores the config ------
ct bash -c "printf '{ gateway: { mode: \"local\", port: \"nope\" } }' > $cfg"
ct rm -f "$cfg.last-good"
out="$(ct openclaw gateway restart 2>&1)"; rc=$?
sleep 7   # longer than RestartSec=5: a restart would have happened by now
[[ $rc == 1 ]] && contains "$out" "Exit code 78" && [[ "$(prop openclaw-gateway.service ExecMainStatus)" == 78 && "$(prop openclaw-gateway.service ActiveState)" != active ]] \
  && pass "invalid config: exit 78, reported, not restarted (RestartPreventExitStatus=78)" || fail "exit 78 handling" "$out / $(prop openclaw-gateway.service ActiveState)"
out="$(ct "${svc[@]}" openclaw doctor 2>&1)"
contains "$out" "[error] config/valid" && contains "$out" "openclaw doctor --fix restores $cfg.bak" && pass "doctor names the broken config and the fix" || fail "doctor finding" "$out"
out="$(ct "${svc[@]}" openclaw doctor --fix 2>&1)"; rc=$?
[[ $rc == 0 ]] && contains "$out" "Fixed config/valid: restored $cfg from $cfg.bak" && pass "doctor --fix restores the config" || fail "doctor --fix" "$out"
owner="$(ct stat -c %u "$cfg")"
[[ "$owner" == "$uid" ]] && pass "the restored config still belongs to the service user (uid $owner)" || fail "owner after fix" "uid $owner, want $uid"
out="$(ct openclaw gateway start 2>&1)"; [[ $? == 0 ]] && port_open $PORT && pass "starts again after the fix" || fail "start after fix" "$out"

# --- a config the service user cannot read (a root edit that replaced it root:root 0600) ---------------
ct chown root:root "$cfg" && ct chmod 600 "$cfg"
out="$(ct "${svc[@]}" openclaw doctor --json 2>&1)"
contains "$out" '"checkId": "service/config-unreadable"' && contains "$out" "cannot read $cfg (owner root (uid 0), gid 0, mode 0600)" \
  && pass "doctor: the service user (uid $uid) cannot read a root-owned 0600 config" || fail "doctor: unreadable config" "$out"
out="$(ct "${svc[@]}" openclaw doctor --fix 2>&1)"; rc=$?
[[ $rc == 0 ]] && contains "$out" "Fixed service/config-unreadable: chown $uid:" && [[ "$(ct stat -c %u "$cfg")" == "$uid" && "$(ct stat -c %a "$cfg")" == 600 ]] \
  && pass "doctor --fix gives the config back to the service user, mode kept" || fail "doctor --fix: unreadable config" "$out"
out="$(ct openclaw gateway restart 2>&1)"; [[ $? == 0 ]] && port_open $PORT && pass "restarts with the config readable again" || fail "restart after the ownership fix" "$out"

# --- a user unit is refused while the system unit owns the name ---------------------------------------
ct useradd -m -u 1000 -s /bin/bash pi && ct loginctl enable-linger pi
wait_for 20 ct test -S /run/user/1000/systemd/private || true
out="$(as_pi openclaw gateway install --port 18790 2>&1)"; rc=$?
[[ $rc == 1 ]] && contains "$out" "System systemd unit $unit already owns this gateway unit name." && ! ct test -e /home/pi/.config/systemd/user/openclaw-gateway.service \
  && pass "user install refused while a system unit owns the name" || fail "user-vs-system refusal" "$out"

# --- uninstall leaves nothing behind --------------------------------------------------------------------
out="$(ct openclaw gateway uninstall 2>&1)"; rc=$?
say "uninstall:"; printf '%s\n' "$out" | sed 's/^/    /' >&2
gone=1
for f in "$unit" /etc/openclaw/gateway.env /etc/systemd/system/multi-user.target.wants/openclaw-gateway.service; do ct test -e "$f" && gone=0 && say "left behind: $f"; done
ct pgrep -f "openclaw gateway" >/dev/null && gone=0 && say "a gateway process is still running"
[[ $rc == 0 && $gone == 1 && "$(prop openclaw-gateway.service LoadState)" == not-found ]] && ! port_open $PORT \
  && pass "uninstall: no unit, env file, wants link, process or listener left" || fail "uninstall" "$out"
out="$(ct openclaw gateway uninstall 2>&1)"; [[ $? == 0 ]] && contains "$out" "Systemd service not found at /root/.config/systemd/user/openclaw-gateway.service or $unit" && pass "uninstall again: no-op" || fail "uninstall idempotent" "$out"

# --- a user unit for pi (linger on) ---------------------------------------------------------------------
out="$(as_pi openclaw gateway install --port 18790 2>&1)"; rc=$?
say "user install:"; printf '%s\n' "$out" | sed 's/^/    /' >&2
[[ $rc == 0 ]] && contains "$out" "Installed systemd user service: /home/pi/.config/systemd/user/openclaw-gateway.service" && port_open 18790 \
  && pass "user unit for pi: installed and listening on 18790" || fail "user install" "$out"
out="$(as_pi openclaw gateway status 2>&1)"
contains "$out" "Service: systemd (enabled)" && contains "$out" "Connectivity probe: ok" && pass "user status: enabled, probe ok" || fail "user status" "$out"
out="$(as_pi openclaw gateway restart 2>&1)"; [[ $? == 0 ]] && contains "$out" "Restarted systemd service" && pass "user restart" || fail "user restart" "$out"
out="$(as_pi openclaw gateway uninstall 2>&1)"; rc=$?
[[ $rc == 0 ]] && ! ct test -e /home/pi/.config/systemd/user/openclaw-gateway.service && ! port_open 18790 && pass "user uninstall" || fail "user uninstall" "$out"

say "e2e-systemd: $passed passed, $failed failed"
echo "e2e-systemd: $passed passed, $failed failed"
[[ $failed == 0 ]]
