#!/bin/sh
# Runs test/attacks/proc_tty_fg in a terminal whose session leader (the user's shell's
# part) runs a background job (a `sleep` in a group of its own) and gives the terminal to
# the command's group, as a shell with job control does. Once the attack says FG-READY the
# user types ^C, meant for the command: the job outside the session must run on. Natively
# the attack makes the job the foreground and ^C ends it; else it shows nothing here and
# the test is skipped (77).
. "$(dirname "$0")/run_lib.sh"
attack=${1:?usage: run_tty_fg.sh ATTACK_EXE}
under_leader() {
  /usr/bin/python3 - "$@" <<'PY'
import os, pty, signal, subprocess, sys, time
pid, fd = pty.fork()
if pid == 0:
    signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    job = subprocess.Popen(["sleep", "30"], process_group=0)
    env = dict(os.environ, ATTACK_GROUP_VICTIM=str(job.pid))
    p = subprocess.Popen(sys.argv[1:], env=env, process_group=0)
    os.tcsetpgrp(0, p.pid)
    rc = p.wait()
    os.tcsetpgrp(0, os.getpgrp())
    time.sleep(0.3)
    try:
        with open("/proc/%d/stat" % job.pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        state = "gone"
    print("attack status %d" % rc)
    print("job: %s" % ("running" if state in "RS" else "ended" if state in "Zgone" else state))
    job.kill()
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
    if not typed and b"FG-READY" in out:
        time.sleep(0.2)
        os.write(fd, b"\x03")  # ^C
        typed = True
os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace").replace("\r", ""))
PY
}
native=$(under_leader "$attack")
echo "native: $native"
guarded=$(under_leader "$G" run -p "$P" -a "$T/audit.jsonl" -- "$attack")
echo "guardian: $guarded"
check "the background job outside the session runs on" "job: running" "$(echo "$guarded" | grep '^job:')"
check "the terminal's foreground did not move to it" "" "$(echo "$guarded" | grep MOVED)"
check "the audit log has the refusal" yes "$(grep -q '"decision":"deny"' "$T/audit.jsonl" && echo yes || echo no)"
[ "$fails" -eq 0 ] || finish
case $native in *"job: ended"*) ;; *) echo "the attack does nothing natively here"; exit 77 ;; esac
finish
