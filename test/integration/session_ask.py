#!/usr/bin/python3
"""on_deny: ask, answered by a test client over --ask-socket and by a human on a terminal
(a pseudo-terminal here), with the effects checked on a file the profile does not allow:
  once         the file is read; the next read is asked again
  always       both reads pass with one question; the overlay (--ask-save) passes
               `guardian profile check` and a later run with it reads the file unasked
  deny         the read fails, the secret does not come out
  deny-always  both reads fail with one question; the overlay has the deny rule
  timeout      no answer: denied
  held         while one thread is held, the rest of the session runs on
  terminal     the prompt on /dev/tty shows the request; "o" allows it
Env: GUARDIAN. Exit 77 when guardian cannot supervise here."""
import json
import os
import pty
import select
import socket
import subprocess
import threading
import time

from session_lib import GUARDIAN, check, exit_with_results, require_supervision, run_env, scratch_root

root = scratch_root("guardian-ask-")
work, tmp, outside = (os.path.join(root, d) for d in ("work", "tmp", "outside"))
for d in (work, tmp, outside):
    os.mkdir(d)
SECRET = os.path.join(outside, "secret.txt")
with open(SECRET, "w") as f:
    f.write("ASK-SECRET-7\n")
PROFILE = os.path.join(root, "p.yaml")
with open(PROFILE, "w") as f:
    f.write("version: 1\nextends: [default]\non_deny: ask\n")
env = run_env(root, tmp)

p = require_supervision([GUARDIAN, "run", "-p", PROFILE, "--", "true"], cwd=work, env=env)
check(p.returncode == 0, f"plain run with the ask profile ({p.returncode}, {p.stderr.strip()!r})")


class Client(threading.Thread):
    """Connects to the ask socket and answers each request with answer(request) -> verdict
    (None: do not answer)."""

    def __init__(self, path, answer):
        super().__init__(daemon=True)
        self.path, self.answer = path, answer
        self.requests, self.resolved, self.errors = [], [], []

    def run(self):
        deadline = time.monotonic() + 15
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        while True:
            try:
                s.connect(self.path)
                break
            except OSError:
                if time.monotonic() > deadline:
                    return
                time.sleep(0.02)
        f = s.makefile("rw")
        for line in f:
            m = json.loads(line)
            if m["type"] == "request":
                self.requests.append(m)
                v = self.answer(m)
                if v:
                    f.write(json.dumps({"id": m["id"], "verdict": v}) + "\n")
                    f.flush()
            elif m["type"] == "resolved":
                self.resolved.append(m)
            elif m["type"] == "error":
                self.errors.append(m)


def ask_run(name, answer, cmd, extra=(), run_env=None):
    sock = os.path.join(root, name + ".sock")
    c = Client(sock, answer)
    c.start()
    p = subprocess.run([GUARDIAN, "run", "-p", PROFILE, "--ask-socket", sock, *extra, "--"] + cmd,
                       cwd=work, env=run_env or env, capture_output=True, text=True, timeout=60)
    c.join(5)
    return p, c


# once
p, c = ask_run("once", lambda m: "once", ["sh", "-c", f"cat {SECRET}; cat {SECRET}"])
check(p.returncode == 0 and p.stdout.count("ASK-SECRET-7") == 2, f"once: both reads pass ({p.stdout!r})")
check(len([r for r in c.requests if r.get("path") == SECRET]) == 2,
      "once: each read was asked (once does not stick)")
if c.requests:
    r = c.requests[0]
    check(r.get("path") == SECRET and r.get("op") == "read" and r.get("category") == "file",
          f"once: request names the file and the operation ({r})")
    check(r.get("exe", "").endswith("/cat") and r.get("argv") == ["cat", SECRET] and r.get("pid", 0) > 0,
          "once: request names the process and its argv")
    check(isinstance(r.get("id"), int) and r.get("syscall", "").startswith("open"), "once: id and syscall")

# always, saved
overlay = os.path.join(root, "overlay.yaml")
p, c = ask_run("always", lambda m: "always", ["sh", "-c", f"cat {SECRET}; cat {SECRET}"],
               ["--ask-save", overlay])
check(p.returncode == 0 and p.stdout.count("ASK-SECRET-7") == 2, f"always: both reads pass ({p.returncode}, {p.stdout!r})")
check(len([r for r in c.requests if r.get("path") == SECRET]) == 1, "always: asked once")
check(os.path.exists(overlay), "always: the overlay was written")
pc = subprocess.run([GUARDIAN, "profile", "check", overlay], capture_output=True, text=True, timeout=30)
check(pc.returncode == 0, f"always: the overlay passes profile check ({pc.stdout}{pc.stderr})")
p2 = subprocess.run([GUARDIAN, "run", "-p", overlay, "--", "cat", SECRET], cwd=work, env=env,
                    capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
check(p2.returncode == 0 and "ASK-SECRET-7" in p2.stdout, f"always: a later run with the overlay reads it ({p2.stderr.strip()!r})")

# deny
p, c = ask_run("deny", lambda m: "deny", ["cat", SECRET])
check(p.returncode != 0 and "ASK-SECRET-7" not in p.stdout, "deny: the secret did not come out")
check("Permission denied" in p.stderr, f"deny: cat saw EACCES ({p.stderr.strip()!r})")

# deny-always
overlay2 = os.path.join(root, "overlay2.yaml")
p, c = ask_run("denyalways", lambda m: "deny-always", ["sh", "-c", f"cat {SECRET}; cat {SECRET}"],
               ["--ask-save", overlay2])
check("ASK-SECRET-7" not in p.stdout and p.stderr.count("Permission denied") == 2, "deny-always: both reads fail")
check(len([r for r in c.requests if r.get("path") == SECRET]) == 1, "deny-always: asked once")
pc = subprocess.run([GUARDIAN, "profile", "check", overlay2], capture_output=True, text=True, timeout=30)
check(pc.returncode == 0 and SECRET in open(overlay2).read(), "deny-always: the overlay has the rule and is valid")

# timeout
t_env = dict(env, GUARDIAN_ASK_TIMEOUT="1s")
t0 = time.monotonic()
p, c = ask_run("timeout", lambda m: None, ["cat", SECRET], run_env=t_env)
check(p.returncode != 0 and "ASK-SECRET-7" not in p.stdout, "timeout: denied without an answer")
check(time.monotonic() - t0 < 15, "timeout: bounded")
check(any(r.get("by") == "timeout" for r in c.resolved), "timeout: the client saw it resolved by timeout")

# held: the rest of the session runs on while one read waits for its answer
marker = os.path.join(work, "marker")


def answer_after_marker(m):
    deadline = time.monotonic() + 10
    while not os.path.exists(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    return "once"


p, c = ask_run("held", answer_after_marker,
               ["sh", "-c", f"cat {SECRET} & sleep 0.3; touch {marker}; wait"])
check(os.path.exists(marker), "held: another process ran while the read was held")
check("ASK-SECRET-7" in p.stdout, "held: and the held read went through once answered")

# terminal, through a pseudo-terminal
pid, fd = pty.fork()
if pid == 0:
    os.chdir(work)
    os.execve(GUARDIAN, [GUARDIAN, "run", "-p", PROFILE, "--", "cat", SECRET], env)
buf = b""
deadline = time.monotonic() + 20
answered = False
while time.monotonic() < deadline:
    r, _, _ = select.select([fd], [], [], 0.2)
    if not r:
        continue
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    buf += chunk
    if not answered and b"al[w]ays?" in buf:
        os.write(fd, b"o\n")
        answered = True
_, st = os.waitpid(pid, 0)
text = buf.decode(errors="replace")
check(f"wants to read {SECRET}" in text and "syscall: open" in text, "terminal: the prompt shows the request")
check(answered and "ASK-SECRET-7" in text, "terminal: 'o' allowed the read")
check(os.waitstatus_to_exitcode(st) == 0, "terminal: cat exited 0")

exit_with_results()
