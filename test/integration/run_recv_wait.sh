#!/bin/sh
# After a run of notifications with nothing else happening, the seccomp supervisor waits in
# the listener's own RECV (no poll), and a watcher thread interrupts that wait when anything
# else needs it. Each case first makes hundreds of intercepted calls (a quiet run), then
# needs an event served while no notification comes: a process start (ptrace stops), a
# --timeout timer, a SIGTERM to guardian, a child's exit that its parent waits for. Were an
# event not to end the wait, the session would hang (the test's timeout) or run past its
# limit. Each is repeated, the quiet run's length varied.
. "$(dirname "$0")/run_lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || { echo "skip: no /usr/bin/python3"; exit 77; }

for n in 40 300 2000; do
  # A process started after the quiet run (fork and exec: ptrace stops the supervisor must
  # answer while nothing else notifies), and its exit, which the shell waits for.
  out=$("$G" run -p "$P" -- /bin/sh -c "i=0; while [ \$i -lt $n ]; do [ -e /nonexistent ]; i=\$((i+1)); done; /bin/echo spawned-$n; /bin/true && echo waited-$n" 2>&1)
  check "spawn after $n quiet calls" "spawned-$n
waited-$n" "$out"

  # --timeout after the quiet run, the command then asleep: the timer must end it.
  start=$(date +%s)
  "$G" run -p "$P" --timeout 2s -- "$PY" -c "
import os, time
for _ in range($n): os.path.exists('/nonexistent')
time.sleep(60)" >/dev/null 2>&1
  st=$?
  took=$(( $(date +%s) - start ))
  check "timeout after $n quiet calls: status" 124 "$st"
  [ "$took" -lt 20 ] || check "timeout after $n quiet calls: ended in time" "<20 s" "${took} s"

  # SIGTERM to guardian after the quiet run, the command asleep: forwarded at once.
  "$G" run -p "$P" -- "$PY" -c "
import os, time
for _ in range($n): os.path.exists('/nonexistent')
print('quiet', flush=True)
time.sleep(60)" >"$T/out.$n" 2>&1 &
  g=$!
  i=0
  while [ $i -lt 100 ] && ! grep -q quiet "$T/out.$n" 2>/dev/null; do sleep 0.1; i=$((i+1)); done
  sleep 0.3
  start=$(date +%s)
  kill -TERM $g
  wait $g
  st=$?
  took=$(( $(date +%s) - start ))
  check "SIGTERM after $n quiet calls: status" 143 "$st"
  [ "$took" -lt 20 ] || check "SIGTERM after $n quiet calls: ended in time" "<20 s" "${took} s"

  # A child that exits after the quiet run while its parent waits (the parent learns of the
  # exit only once the supervisor has reaped the traced child).
  out=$("$G" run -p "$P" -- "$PY" -c "
import os, time
for _ in range($n): os.path.exists('/nonexistent')
pid = os.fork()
if pid == 0:
    time.sleep(0.2)
    os._exit(7)
print('child', os.waitpid(pid, 0)[1] >> 8)" 2>&1)
  check "child exit after $n quiet calls" "child 7" "$out"
done
finish
