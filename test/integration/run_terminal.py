#!/usr/bin/python3
"""The terminal passes through `guardian run`: an interactive python3 REPL on a
pseudo-terminal reads input, prints results and exits with its status."""
import os, pty, select, sys, tempfile, time

G = os.environ["GUARDIAN"]
tmp = tempfile.mkdtemp(prefix="guardian-tty.")
env = {"PATH": "/usr/bin:/bin", "HOME": tmp, "TMPDIR": tmp, "TERM": "xterm", "LANG": "C",
       "PYTHONSTARTUP": ""}
pid, fd = pty.fork()
if pid == 0:
    os.chdir(tmp)
    os.execve(G, [G, "run", "--", "/usr/bin/python3", "-q", "-i"], env)
out = b""

def pump(seconds, until=None):
    global out
    end = time.time() + seconds
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                out += os.read(fd, 4096)
            except OSError:
                return
        if until and until in out:
            return

pump(10, b">>> ")
os.write(fd, b"print(6*7, __import__('os').isatty(0))\n")
pump(5, b"42 True")
os.write(fd, b"exit(3)\n")
pump(5)
_, st = os.waitpid(pid, 0)
fails = 0
for ok, what in [(b">>> " in out, "the REPL prompted"),
                 (b"42 True" in out, "it read a line and stdin is a terminal"),
                 (os.waitstatus_to_exitcode(st) == 3, "its exit status came through")]:
    print(("ok   " if ok else "FAIL ") + what)
    fails += not ok
if fails:
    print(out[-400:])
sys.exit(1 if fails else 0)
