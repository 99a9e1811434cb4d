#!/usr/bin/python3
"""A program's opens are seen by the rest of the system as natively: a file watcher
(inotify, as editors, build tools and `tail -f` use) sees each open and each create once,
not once more for a look guardian makes on the program's behalf. Counted from outside the
session for `cat` reading a file and `sh` creating one (each the session's only process,
whose allowed opens guardian leaves to the kernel) and compared with the same runs natively;
and a reader outside the session waiting on a FIFO that such a process writes.
Env: GUARDIAN, BACKEND (optional: ptrace)."""
import ctypes
import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from session_lib import GUARDIAN, check, exit_with_results, python_profile, require_supervision, \
    run_env, scratch_root, skip

BACKEND = os.environ.get("BACKEND", "")
IN_OPEN, IN_CLOSE_WRITE, IN_CLOSE_NOWRITE, IN_CREATE = 0x20, 0x08, 0x10, 0x100
NAMES = {IN_OPEN: "open", IN_CLOSE_WRITE: "close-write", IN_CLOSE_NOWRITE: "close-nowrite",
         IN_CREATE: "create"}

libc = ctypes.CDLL(None, use_errno=True)


def events(directory, argv, cwd, env):
    """Runs argv; returns the inotify events on `directory`'s entries as (kind, name)."""
    fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
    if fd < 0:
        skip("no inotify here")
    mask = IN_OPEN | IN_CLOSE_WRITE | IN_CLOSE_NOWRITE | IN_CREATE
    if libc.inotify_add_watch(fd, directory.encode(), mask) < 0:
        skip("cannot watch " + directory)
    p = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    got = []
    try:
        while True:
            try:
                buf = os.read(fd, 65536)
            except BlockingIOError:
                break
            off = 0
            while off < len(buf):
                _wd, m, _cookie, n = struct.unpack_from("iIII", buf, off)
                name = buf[off + 16:off + 16 + n].split(b"\0", 1)[0].decode()
                off += 16 + n
                for bit, kind in NAMES.items():
                    if m & bit:
                        got.append((kind, name))
    finally:
        os.close(fd)
    return p, got


root = scratch_root("guardian-open-events-")
env = run_env(root, root)
profile = python_profile(root, "open-events", root, ["/usr/bin/cat", "/usr/bin/sh"])
backend = ["--backend", BACKEND] if BACKEND else []
require_supervision([GUARDIAN, "run", *backend, "-p", profile, "--", "/usr/bin/true"],
                    cwd=root, env=env)
for where in ("native", "guarded"):
    os.makedirs(os.path.join(root, where))
    with open(os.path.join(root, where, "watched"), "w") as f:
        f.write("contents\n")

cases = [("cat reads a file", ["/usr/bin/cat", "watched"]),
         ("sh creates a file", ["/usr/bin/sh", "-c", ": > made"]),
         ("sh truncates a file", ["/usr/bin/sh", "-c", ": > watched"])]
for what, argv in cases:
    nd, gd = os.path.join(root, "native"), os.path.join(root, "guarded")
    np, ne = events(nd, argv, nd, env)
    gp, ge = events(gd, [GUARDIAN, "run", *backend, "-p", profile, "--", *argv], gd, env)
    check(np.returncode == 0, f"{what}: runs natively", np.stderr[-300:])
    check(gp.returncode == 0, f"{what}: runs under guardian (status {gp.returncode})",
          gp.stderr[-300:])
    check(ne == ge, f"{what}: a watcher sees the same events as natively ({ne})",
          f"guardian: {ge}")

# A FIFO's other end sees one open too: a reader outside the session, waiting, gets what
# the session's only process writes (a look of guardian's that opened the FIFO for
# writing and closed it was an EOF to that reader, which then left, and the program's own
# open then waited for a reader that never came).
fifo = os.path.join(root, "guarded", "fifo")
os.mkfifo(fifo)
reader = subprocess.Popen(["/usr/bin/cat", fifo], stdout=subprocess.PIPE, text=True)
try:
    w = subprocess.run([GUARDIAN, "run", *backend, "-p", profile, "--", "/usr/bin/sh", "-c",
                        "echo through the fifo > fifo"], cwd=os.path.join(root, "guarded"),
                       env=env, capture_output=True, text=True, timeout=20)
    check(w.returncode == 0, f"the writer under guardian is done (status {w.returncode})",
          w.stderr[-300:])
except subprocess.TimeoutExpired:
    check(False, "the writer under guardian is done (it waited for ever)")
try:
    got, _ = reader.communicate(timeout=20)
except subprocess.TimeoutExpired:
    reader.kill()
    got, _ = reader.communicate()
check(got == "through the fifo\n", "the reader outside got what the session wrote", repr(got))

subprocess.run(["rm", "-rf", root])
exit_with_results()
