#!/bin/sh
# Runs a test/attacks program that attacks the terminal the session shares with the user's
# shell: guardian runs as the child of a session leader holding a pseudo-terminal (the
# shell's part), and the leader must live. Natively the attack must kill the leader, else it
# shows nothing here (not root) and the test is skipped (77).
. "$(dirname "$0")/run_lib.sh"
attack=${1:?usage: run_tty_attack.sh ATTACK_EXE}
under_leader() {
  /usr/bin/python3 - "$@" <<'PY'
import os, pty, subprocess, sys, time
pid, fd = pty.fork()
if pid == 0:
    # The shell's part: the terminal's session leader, guardian (or the attack) its child.
    subprocess.call(sys.argv[1:])
    time.sleep(0.5)
    os._exit(0)
out = b""
while True:
    try:
        d = os.read(fd, 4096)
    except OSError:
        break
    if not d:
        break
    out += d
_, st = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
print("leader:", "killed by signal %d" % os.WTERMSIG(st) if os.WIFSIGNALED(st) else "lived")
PY
}
native=$(under_leader "$attack")
echo "native: $native"
guarded=$(under_leader "$G" run -p "$P" -a "$T/audit.jsonl" -- "$attack")
echo "guardian: $guarded"
check "the terminal's session leader outside the session lives" "leader: lived" "$(echo "$guarded" | tail -n 1)"
check "no hangup was accepted" "" "$(echo "$guarded" | grep accepted)"
[ "$fails" -eq 0 ] || finish
case $native in *"leader: killed"*) ;; *) echo "the hangup does nothing natively here"; exit 77 ;; esac
finish
