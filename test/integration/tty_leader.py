#!/usr/bin/python3
"""Runs a command under a terminal's session leader, the user's shell's part, as the
run_tty_*.sh attack tests need it: a pseudo-terminal whose child is the session leader, the
command its child.

usage: tty_leader.py [--job] [--own-group] [--fg] [--termios] [--type MARKER=TEXT] -- CMD...

  --job        the leader also runs a background job (`sleep 30` in a process group of its
               own, as a shell with job control makes one); its pid goes to the command as
               ATTACK_GROUP_VICTIM, and its state is reported after the command ends.
  --own-group  the command runs in a process group of its own (a background job).
  --fg         ... and is given the terminal (tcsetpgrp), as a shell does for a foreground
               job; the leader takes it back afterwards.
  --type M=T   when the terminal shows M, the user types T (Python escapes: \\x03 is ^C).
  --termios    after the command, "termios: same" or "termios: changed": the terminal's
               settings against those it had before the command.

Prints the terminal's output (carriage returns removed), with the leader's lines
"attack status N" and, with --job, "job: running|stopped|ended|STATE"; then the leader's own
fate: "leader: lived" or "leader: killed by signal N".
"""
import argparse, os, pty, signal, subprocess, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("--job", action="store_true")
ap.add_argument("--own-group", action="store_true")
ap.add_argument("--fg", action="store_true")
ap.add_argument("--termios", action="store_true")
ap.add_argument("--type", default="")
ap.add_argument("cmd", nargs="+")
a = ap.parse_args()

pid, fd = pty.fork()
if pid == 0:
    if a.own_group or a.fg:
        signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    env = dict(os.environ)
    job = None
    if a.job:
        job = subprocess.Popen(["sleep", "30"], process_group=0)
        env["ATTACK_GROUP_VICTIM"] = str(job.pid)
    if a.termios:
        import termios
        before = termios.tcgetattr(0)
    p = subprocess.Popen(a.cmd, env=env, process_group=0 if (a.own_group or a.fg) else None)
    if a.fg:
        os.tcsetpgrp(0, p.pid)
    rc = p.wait()
    if a.fg:
        os.tcsetpgrp(0, os.getpgrp())
    time.sleep(0.5)
    print("attack status %d" % rc)
    if a.termios:
        print("termios: %s" % ("same" if termios.tcgetattr(0) == before else "changed"))
    if job:
        try:
            with open("/proc/%d/stat" % job.pid) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            state = "gone"
        names = {"R": "running", "S": "running", "T": "stopped", "t": "stopped",
                 "Z": "ended", "gone": "ended"}
        print("job: %s" % names.get(state, state))
        job.kill()
    sys.stdout.flush()
    os._exit(0)

marker, _, text = a.type.partition("=")
marker = marker.encode()
text = text.encode().decode("unicode_escape").encode("latin-1")
out = b""
typed = not marker
while True:
    try:
        d = os.read(fd, 4096)
    except OSError:
        break
    if not d:
        break
    out += d
    if not typed and marker in out:
        time.sleep(0.2)
        os.write(fd, text)
        typed = True
_, st = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace").replace("\r", ""))
print("leader:", "killed by signal %d" % os.WTERMSIG(st) if os.WIFSIGNALED(st) else "lived")
