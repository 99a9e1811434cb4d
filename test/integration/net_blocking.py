#!/usr/bin/python3
"""Emulated sends block as natively (issue 9): guardian sends datagrams with a destination
itself, and a tracee's blocking socket must wait when the receiver's queue is full instead
of failing with EAGAIN, honour SO_SNDTIMEO, and never hold up the session's end.

A python3 sender under guardian sends unix datagrams (sendto with a path, and sendmsg) to a
receiver of ours that starts reading only after a pause; the same program runs natively.

Env: GUARDIAN; BACKEND=ptrace to run under the ptrace backend."""
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from session_lib import GUARDIAN, check, failures  # noqa: E402 (the test's own directory)

BACKEND = os.environ.get("BACKEND", "")


SENDER = r'''
import socket, sys, time
path, count, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
if mode == "timeout":
    s.settimeout(None)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, b"\x00\x00\x00\x00\x00\x00\x00\x00\x20\xa1\x07\x00\x00\x00\x00\x00")
sent, t0 = 0, time.monotonic()
try:
    for i in range(count):
        data = (b"%06d" % i) + b"x" * 2000
        if i % 2: s.sendmsg([data], [], 0, path)
        else: s.sendto(data, path)
        sent += 1
    print("sent", sent, "ok")
except OSError as e:
    print("sent", sent, type(e).__name__, e.errno, round(time.monotonic() - t0, 2))
'''


def receiver(path, delay, got, stop):
    r = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    r.bind(path)
    r.settimeout(0.2)
    got.append("ready")
    stop.wait(delay)
    while not stop.is_set():
        try:
            got.append(r.recv(4096)[:6])
            time.sleep(0.002)  # slower than the sender: its queue stays full
        except socket.timeout:
            pass
    r.close()


def run(tmp, profile, argv, native, timeout_opt=None):
    if native:
        cmd = argv
    else:
        cmd = [GUARDIAN, "run"] + (["--backend", BACKEND] if BACKEND else []) + ["-p", profile]
        cmd += ["--timeout", timeout_opt] if timeout_opt else []
        cmd += ["--"] + argv
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    return p, time.monotonic() - t0


def scenario(tmp, profile, name, count, mode, delay, native, timeout_opt=None):
    path = os.path.join(tmp, f"{name}-{'n' if native else 'g'}.sock")
    got, stop = [], threading.Event()
    th = threading.Thread(target=receiver, args=(path, delay, got, stop), daemon=True)
    th.start()
    while not got:
        time.sleep(0.01)
    sender = os.path.join(tmp, "sender.py")
    p, took = run(tmp, profile, ["/usr/bin/python3", sender, path, str(count), mode], native, timeout_opt)
    time.sleep(0.3)
    stop.set()
    th.join()
    return p, took, got[1:]


def main():
    tmp = os.path.realpath(tempfile.mkdtemp(prefix="guardian-blk-"))
    with open(os.path.join(tmp, "sender.py"), "w") as f:
        f.write(SENDER)
    profile = os.path.join(tmp, "p.yaml")
    with open(profile, "w") as f:
        f.write(f"""version: 1
extends: [base]
files:
  read: ["{tmp}/**"]
exec:
  allow: ["/usr/bin/python3*"]
network:
  connect: ["unix:{tmp}/*.sock"]
""")
    # 1. A receiver that reads only after 1 s: the sender's blocking sends wait, then all go.
    n, _, ngot = scenario(tmp, profile, "slow", 300, "block", 1.0, True)
    g, gtook, ggot = scenario(tmp, profile, "slow", 300, "block", 1.0, False)
    check(n.stdout.strip() == "sent 300 ok", "natively: every blocking send waits and succeeds", n.stdout + n.stderr)
    check(g.stdout.strip() == "sent 300 ok", "under guardian: the same, no EAGAIN",
          f"{g.returncode} {g.stdout} {g.stderr}")
    check(len(ggot) == 300 and ggot == sorted(ggot), "the receiver got every datagram, in order",
          f"{len(ggot)} received")
    check(gtook >= 0.9, "the sender really waited for the receiver", gtook)
    # 2. SO_SNDTIMEO 0.5 s and a receiver that never reads: EAGAIN after the timeout.
    n, _, _ = scenario(tmp, profile, "tmo", 300, "timeout", 1000, True)
    g, _, _ = scenario(tmp, profile, "tmo", 300, "timeout", 1000, False)
    nf, gf = n.stdout.split(), g.stdout.split()
    check(len(nf) == 5 and nf[2] == "BlockingIOError" and float(nf[4]) >= 0.45,
          "natively: SO_SNDTIMEO ends the wait with EAGAIN", n.stdout)
    check(len(gf) == 5 and gf[:4] == nf[:4] and float(gf[4]) >= 0.45,
          "under guardian: the same count, error and wait", f"{g.stdout} {g.stderr} vs {n.stdout}")
    # 3. A sender blocked for good does not hold the session's end: --timeout ends it.
    g, took, _ = scenario(tmp, profile, "stuck", 300, "block", 1000, False, timeout_opt="2s")
    check(g.returncode == 124 and took < 10, "a sender blocked for good ends with the time limit",
          f"status {g.returncode} after {took:.1f}s: {g.stderr}")


main()
if failures:
    print(f"{len(failures)} failure(s)")
    sys.exit(1)
