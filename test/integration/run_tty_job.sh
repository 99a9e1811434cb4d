#!/bin/sh
# Runs test/attacks/proc_tty_job under a terminal's session leader (the user's shell's
# part) that also runs a background job of its own (a `sleep` in a process group of its
# own, as a shell with job control makes one): the job must not be stopped or signalled by
# the session, which joins its group to have the terminal signal it. Natively the attack
# stops the job; else it shows nothing here and the test is skipped (77).
. "$(dirname "$0")/run_lib.sh"
attack=${1:?usage: run_tty_job.sh ATTACK_EXE}
under_leader() {
  /usr/bin/python3 - "$@" <<'PY'
import os, pty, subprocess, sys, time
pid, fd = pty.fork()
if pid == 0:
    # The shell's part: the terminal's session leader, with a background job.
    job = subprocess.Popen(["sleep", "30"], process_group=0)
    env = dict(os.environ, ATTACK_GROUP_VICTIM=str(job.pid))
    rc = subprocess.call(sys.argv[1:], env=env)
    time.sleep(0.3)
    with open("/proc/%d/stat" % job.pid) as f:
        state = f.read().rsplit(")", 1)[1].split()[0]
    print("attack status %d" % rc)
    print("job: %s" % ("stopped" if state in "Tt" else "running" if state in "RS" else state))
    job.kill()
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
os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace").replace("\r", ""))
PY
}
native=$(under_leader "$attack")
echo "native: $native"
guarded=$(under_leader "$G" run -p "$P" -a "$T/audit.jsonl" -- "$attack")
echo "guardian: $guarded"
check "the background job outside the session runs on" "job: running" "$(echo "$guarded" | grep '^job:')"
check "the session did not join the job's group" "attack status 0" "$(echo "$guarded" | grep '^attack status')"
check "the audit log has the refusal" yes "$(grep -q '"decision":"deny"' "$T/audit.jsonl" && echo yes || echo no)"
[ "$fails" -eq 0 ] || finish
case $native in *"job: stopped"*) ;; *) echo "the attack does nothing natively here"; exit 77 ;; esac
finish
