#!/usr/bin/python3
"""The Landlock envelope holds on its own: with a supervisor that allows every request
(guardian-test-allow-all, built only with -Dtest_supervisor_allow_all=true), escape attempts
that stay outside the envelope of the `default` profile still fail, checked by real effect.
Each attempt is also run with --no-landlock as a control: it must then succeed, which shows
the supervisor really let it through and only the kernel stopped it.

Env: GUARDIAN_ALLOW_ALL (the test executable, or empty), ATTACKS (dir of ll_* programs).
Exit 77 when the build lacks the option or the kernel lacks Landlock (or the needed ABI)."""
import ctypes
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

GUARDIAN = os.environ.get("GUARDIAN_ALLOW_ALL", "")
ATTACKS = os.environ["ATTACKS"]
failures = []


def skip(why):
    print("SKIP:", why)
    sys.exit(77)


def landlock_abi():
    libc = ctypes.CDLL(None, use_errno=True)
    v = libc.syscall(444, None, 0, 1)  # landlock_create_ruleset(NULL, 0, VERSION)
    return v if v > 0 else 0


def check(cond, what, detail=""):
    print(("ok   " if cond else "FAIL ") + what + (f"\n     {detail}" if detail and not cond else ""))
    if not cond:
        failures.append(what)


if not GUARDIAN:
    skip("built without -Dtest_supervisor_allow_all=true (meson configure BUILD -Dtest_supervisor_allow_all=true)")
ABI = landlock_abi()
if ABI == 0:
    skip("kernel without Landlock")

root = os.path.realpath(tempfile.mkdtemp(prefix="guardian-ll-"))
work, tmpdir, home, secret_dir = (os.path.join(root, d) for d in ("work", "tmp", "home", "secret"))
for d in (work, tmpdir, home, secret_dir):
    os.mkdir(d)
secret = os.path.join(secret_dir, "key")
with open(secret, "w") as f:
    f.write("TOPSECRET-42\n")
env = {"PATH": "/usr/bin:/bin", "HOME": home, "TMPDIR": tmpdir, "LANG": "C"}


def guardian(args, landlock=True, timeout=60):
    cmd = [GUARDIAN, "run", "-p", "default"] + ([] if landlock else ["--no-landlock"]) + ["--"] + args
    return subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=timeout)


def attack(name):
    return os.path.join(ATTACKS, name)


# The fixture must really lie outside the envelope (else the test would prove nothing).
shown = subprocess.run([GUARDIAN, "profile", "envelope", "default"], cwd=work, env=env,
                       capture_output=True, text=True)
check(shown.returncode == 0, "guardian profile envelope default works", shown.stderr)
covering = []
for line in shown.stdout.splitlines():
    parts = line.split()
    if len(parts) >= 2 and len(parts[0]) == 3 and set(parts[0]) <= set("rwx-"):
        if (secret_dir + "/").startswith(parts[1].rstrip("/") + "/"):
            covering.append(parts[1])
check(not covering, f"the fixture {secret_dir} lies outside every envelope entry", f"covered by {covering}")

try:
    # 1. Read a file outside every read prefix.
    r = guardian([attack("ll_read"), secret])
    check("TOPSECRET" not in r.stdout and r.returncode != 0, f"read outside the envelope refused ({r.stderr.strip()})")
    c = guardian([attack("ll_read"), secret], landlock=False)
    check("TOPSECRET" in c.stdout, "control: without Landlock the allow-all supervisor lets the read through")

    # 2. Write outside every write prefix.
    target = os.path.join(secret_dir, "planted")
    r = guardian([attack("ll_write"), target])
    check(not os.path.exists(target) and r.returncode != 0, "write outside the envelope refused")
    c = guardian([attack("ll_write"), target], landlock=False)
    check(os.path.exists(target), "control: without Landlock the write happens")

    # 3. Execute a program outside every exec prefix (default runs /usr/bin, /bin and what
    # the project builds in the current directory and TMPDIR, not a program elsewhere).
    marker = os.path.join(work, "ran")
    planted = os.path.join(secret_dir, "evil.sh")
    with open(planted, "w") as f:
        f.write(f"#!/bin/sh\necho ran > {marker}\n")
    os.chmod(planted, 0o755)
    r = guardian([attack("ll_exec"), planted])
    check(not os.path.exists(marker) and "Permission denied" in r.stderr, "exec outside exec prefixes refused")
    c = guardian([attack("ll_exec"), planted], landlock=False)
    check(os.path.exists(marker), "control: without Landlock the planted program runs")

    if ABI >= 4:
        # 4. TCP connect to a port no rule allows.
        got = []
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(4)
        srv.settimeout(0.2)
        port = srv.getsockname()[1]
        stop = threading.Event()

        def serve():
            while not stop.is_set():
                try:
                    conn, _ = srv.accept()
                    got.append(conn.recv(100))
                    conn.close()
                except OSError:
                    pass

        t = threading.Thread(target=serve)
        t.start()
        r = guardian([attack("ll_connect"), str(port)])
        time.sleep(0.3)
        check(not got and r.returncode != 0, f"TCP connect to port {port} refused")
        c = guardian([attack("ll_connect"), str(port)], landlock=False)
        time.sleep(0.5)
        check(len(got) == 1, "control: without Landlock the connection arrives")
        stop.set()
        t.join()
        srv.close()

    if ABI >= 6:
        # 5. Signal a process outside the session.
        sleeper = subprocess.Popen(["sleep", "60"])
        r = guardian([attack("ll_kill"), str(sleeper.pid)])
        time.sleep(0.2)
        check(sleeper.poll() is None and r.returncode != 0, "signal to an outside process refused by the kernel")
        c = guardian([attack("ll_kill"), str(sleeper.pid)], landlock=False)
        try:
            sleeper.wait(timeout=5)
        except subprocess.TimeoutExpired:
            sleeper.kill()
        check(sleeper.returncode is not None and sleeper.returncode < 0, "control: without Landlock the signal lands")

        # 6. Connect to an abstract unix socket made outside the session.
        name = f"guardian-ll-{os.getpid()}"
        us = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        us.bind("\0" + name)
        us.listen(4)
        us.settimeout(1.0)
        r = guardian([attack("ll_abstract"), name])
        check(r.returncode != 0, "abstract unix socket outside the session unreachable")
        c = guardian([attack("ll_abstract"), name], landlock=False)
        try:
            conn, _ = us.accept()
            conn.close()
            arrived = True
        except OSError:
            arrived = False
        check(arrived, "control: without Landlock the abstract connection arrives")
        us.close()
finally:
    shutil.rmtree(root, ignore_errors=True)

print(f"{len(failures)} failed")
sys.exit(1 if failures else 0)
