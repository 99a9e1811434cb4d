#!/usr/bin/python3
"""Pseudo-terminals under the built-in default profile, on both backends: a program that makes
one (Python's pty, script(1)) works as natively, a terminal the session was given can be
reopened by name, and a terminal of someone else (the user's other windows) can be neither
opened nor written: its reader gets none of the session's bytes."""
import os
import select
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from session_lib import GUARDIAN, check, exit_with_results, run_env, scratch_root  # noqa: E402

root = scratch_root("guardian-pty.")
env = run_env(root, root)
PY = "/usr/bin/python3"

MAKE = ("import os\n"
        "m, s = os.openpty()\n"
        "name = os.ttyname(s)\n"
        "os.write(s, b'ping\\n')\n"
        "got = os.read(m, 64)\n"
        "print(name.rstrip('0123456789'), got)\n")

REOPEN = ("import os\n"
          "name = os.ttyname(0)\n"
          "fd = os.open(name, os.O_RDWR | os.O_NOCTTY)\n"
          "os.write(fd, b'to my own terminal\\n')\n"
          "print('reopened', os.path.samestat(os.fstat(fd), os.fstat(0)))\n")

OTHER = ("import os, sys\n"
         "name = sys.argv[1]\n"
         "for how in (os.O_WRONLY, os.O_RDWR):\n"
         "    try:\n"
         "        fd = os.open(name, how | os.O_NOCTTY)\n"
         "        os.write(fd, b'INJECTED\\n')\n"
         "        print('opened')\n"
         "    except PermissionError:\n"
         "        print('refused')\n"
         "m, s = os.openpty()\n"  # holding a terminal of its own changes nothing for others
         "try:\n"
         "    os.open(name, os.O_WRONLY | os.O_NOCTTY)\n"
         "    print('opened')\n"
         "except PermissionError:\n"
         "    print('refused')\n")


def run(argv, stdin=subprocess.DEVNULL):
    return subprocess.run(argv, env=env, cwd=root, stdin=stdin, capture_output=True, timeout=60)


native = run([PY, "-c", MAKE])
native_script = run(["script", "-qc", "echo hello; tty", "/dev/null"])
for mode in ([], ["--backend", "ptrace"]):
    tag = " ".join(mode) or "seccomp"
    r = run([GUARDIAN, "run", *mode, "--", PY, "-c", MAKE])
    check(r.returncode == 0 and r.stdout == native.stdout,
          f"{tag}: a pty made under the default profile carries bytes as natively",
          f"{r.returncode} {r.stdout!r} vs {native.stdout!r} {r.stderr.decode()[-300:]}")
    r = run([GUARDIAN, "run", *mode, "--", "script", "-qc", "echo hello; tty", "/dev/null"])
    lines = r.stdout.decode().replace("\r", "").split("\n")
    nlines = native_script.stdout.decode().replace("\r", "").split("\n")
    check(r.returncode == 0 and lines[0] == nlines[0] == "hello" and
          lines[1].startswith("/dev/pts/") and nlines[1].startswith("/dev/pts/"),
          f"{tag}: script(1) runs a command on a new terminal as natively",
          f"{r.returncode} {lines} vs {nlines} {r.stderr.decode()[-300:]}")

    # A terminal the session was given (stdin) may be reopened by name.
    m, s = os.openpty()
    r = run([GUARDIAN, "run", *mode, "--", PY, "-c", REOPEN], stdin=s)
    os.close(s)
    check(r.returncode == 0 and r.stdout == b"reopened True\n",
          f"{tag}: the terminal the session was given reopens by name",
          f"{r.returncode} {r.stdout!r} {r.stderr.decode()[-300:]}")
    os.close(m)

    # Someone else's terminal: neither opened nor written.
    m, s = os.openpty()
    other = os.ttyname(s)
    r = run([GUARDIAN, "run", *mode, "--", PY, "-c", OTHER, other])
    got = b""
    while select.select([m], [], [], 0.2)[0]:
        got += os.read(m, 4096)
    os.close(s)
    os.close(m)
    check(r.stdout == b"refused\nrefused\nrefused\n" and b"INJECTED" not in got,
          f"{tag}: another terminal ({other}) cannot be opened by the session",
          f"{r.returncode} {r.stdout!r} read {got!r} {r.stderr.decode()[-300:]}")

exit_with_results()
