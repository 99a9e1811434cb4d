#!/bin/sh
# Runs test/attacks/proc_tty_sigio in a terminal whose session leader (the user's shell's
# part) runs it in the background, then in the foreground (given the terminal, as a shell
# with job control does). Once it says SIGIO-READY the user types a line. The shell must
# live; in the foreground guardian must end the session itself (the command's status,
# session_end in the audit log), not be killed. Natively the background attack kills the
# shell; else it shows nothing here and the test is skipped (77).
. "$(dirname "$0")/run_lib.sh"
attack=${1:?usage: run_tty_sigio.sh ATTACK_EXE}
under_leader() {
  mode=$1; shift
  /usr/bin/python3 - "$mode" "$@" <<'PY'
import os, pty, signal, subprocess, sys, time
mode = sys.argv[1]
pid, fd = pty.fork()
if pid == 0:
    signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    p = subprocess.Popen(sys.argv[2:], process_group=0)
    if mode == "fg":
        os.tcsetpgrp(0, p.pid)
    rc = p.wait()
    os.tcsetpgrp(0, os.getpgrp())
    print("attack status %d" % rc)
    print("shell: alive")
    os._exit(0)
out = b""
typed = False
while True:
    try:
        d = os.read(fd, 4096)
    except OSError:
        break
    if not d:
        break
    out += d
    if not typed and b"SIGIO-READY" in out:
        time.sleep(0.2)
        os.write(fd, b"x\n")
        typed = True
_, st = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace").replace("\r", ""))
if os.WIFSIGNALED(st):
    print("shell: killed by signal %d" % os.WTERMSIG(st))
PY
}
native=$(under_leader bg "$attack")
echo "native, background: $native"
guarded=$(under_leader bg "$G" run -p "$P" -a "$T/audit.jsonl" -- "$attack")
echo "guardian, background: $guarded"
check "the shell outside the session lives" "shell: alive" "$(echo "$guarded" | grep '^shell:')"
check "the terminal's owner is no group of the shell's" "" "$(echo "$guarded" | grep TAKEN)"
check "the audit log has the refusal" yes "$(grep -q '"decision":"deny"' "$T/audit.jsonl" && echo yes || echo no)"
guarded=$(under_leader fg "$G" run -p "$P" -a "$T/audit-fg.jsonl" -- "$attack")
echo "guardian, foreground: $guarded"
check "in the foreground guardian ends with the command's status" "attack status 0" "$(echo "$guarded" | grep '^attack status')"
check "and writes the session's end" yes "$(grep -q '"event":"session_end"' "$T/audit-fg.jsonl" && echo yes || echo no)"
[ "$fails" -eq 0 ] || finish
case $native in *"shell: killed"*) ;; *) echo "the attack does nothing natively here"; exit 77 ;; esac
finish
