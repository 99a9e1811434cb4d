# Shared helpers for the supervisor's integration tests (sourced, POSIX sh).
# Needs: GUARDIAN (the binary). Gives: $G, $T (a fresh temp dir removed on exit), $P (a
# permissive profile: read everything, write only under $T, exec anything), and helpers.
set -u
G=${GUARDIAN:?GUARDIAN must name the guardian binary}
T=$(mktemp -d "${TMPDIR:-/tmp}/guardian-it.XXXXXX")
chmod 755 "$T"
trap 'rm -rf "$T"' EXIT
# BACKEND=ptrace|seccomp (meson registers the run_* and attack tests once per backend):
# every `$G run` gets --backend $BACKEND, and RUN_ARGS (e.g. --no-landlock, to show what the
# supervisor alone stops), through a wrapper that execs (same pid).
# OUTER=1 runs each `$G run` inside an outer guardian in complain mode, which lets
# everything through: what the inner one (under an outer filter) stops by itself.
if [ -n "${BACKEND:-}${RUN_ARGS:-}${OUTER:-}" ]; then
  outer=
  [ -n "${OUTER:-}" ] && outer="$G run --mode complain -p default --no-landlock --"
  cat >"$T/guardian-backend" <<SH
#!/bin/sh
if [ "\$1" = run ]; then shift; exec $outer "$G" run --backend "${BACKEND:-auto}" ${RUN_ARGS:-} "\$@"; fi
exec "$G" "\$@"
SH
  chmod 755 "$T/guardian-backend"
  G=$T/guardian-backend
fi
P=$T/allow.yaml
cat >"$P" <<YAML
version: 1
name: it-permissive
files:
  read: ["/**"]
  write: ["$T/**", "/dev/null", "/dev/tty", "/dev/ptmx", "/dev/pts/**"]
exec:
  allow: ["/**"]
YAML
fails=0
# check NAME EXPECTED ACTUAL
check() {
  if [ "$2" = "$3" ]; then echo "ok   $1"; else echo "FAIL $1: expected [$2], got [$3]"; fails=$((fails + 1)); fi
}
finish() {
  [ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
  exit 0
}
# The decision engine is always built in (kept for the scripts that ask).
have_engine() { true; }
# Makes $T/ws and $T/reuse.yaml: a profile named $1 on base that lets the session write
# $T/ws, run program $2 and bind any port of 127.0.0.1 (the port-sharing attacks).
loopback_bind_profile() {
  mkdir "$T/ws"
  cat >"$T/reuse.yaml" <<YAML
version: 1
name: $1
extends: [base]
files:
  write: ["$T/ws/**"]
exec:
  allow: ["$2"]
network:
  bind: ["127.0.0.1:*"]
YAML
}
# Waits up to 10 s for file $1, which a helper process writes once it is ready; else says
# that $2 did not start and fails the test.
await_file() {
  n=0
  while [ ! -f "$1" ]; do
    n=$((n + 1)); [ "$n" -gt 100 ] && { echo "$2 did not start"; exit 1; }; sleep 0.1
  done
}
# Waits up to $2 tenths of a second for pid $1 to disappear; true if it did.
gone_within() {
  n=0
  while kill -0 "$1" 2>/dev/null; do
    n=$((n + 1)); [ "$n" -gt "$2" ] && return 1; sleep 0.1
  done
  return 0
}
