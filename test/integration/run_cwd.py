#!/usr/bin/python3
"""Relative paths follow the working directory under guardian as natively, while guardian
keeps each thread's cwd text between calls: after chdir and fchdir, in a thread that chdirs
for the whole process, in a thread with its own cwd (unshare CLONE_FS), in a forked child,
across exec, and after the program renames the directory it is in. Each step opens and
stats a relative name whose contents tell the directories apart; guardian's output must be
native's. Env: GUARDIAN, BACKEND (optional: ptrace)."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from session_lib import GUARDIAN, check, exit_with_results, python_profile, require_supervision, \
    run_env, scratch_root

BACKEND = os.environ.get("BACKEND", "")

PROBE = r'''
import ctypes, errno, os, sys, threading
def show(what):
    for name in ("here", "sub/here"):
        try:
            with open(name) as f:
                got = f.read().strip()
        except OSError as e:
            got = errno.errorcode.get(e.errno, e.errno)
        try:
            size = os.stat(name).st_size
        except OSError as e:
            size = errno.errorcode.get(e.errno, e.errno)
        print(what, name, got, size, flush=True)
show("start")
os.chdir("../b"); show("chdir b")
os.chdir(".."); show("chdir ..")
fd = os.open("a", os.O_RDONLY | os.O_DIRECTORY)
os.fchdir(fd); show("fchdir a")
os.close(fd)
t = threading.Thread(target=lambda: os.chdir("../b")); t.start(); t.join()
show("thread chdir b")
libc = ctypes.CDLL(None, use_errno=True)
def own_cwd():
    if libc.unshare(0x200) != 0:  # CLONE_FS: this thread's cwd is its own from here
        print("unshare failed", flush=True)
        return
    os.chdir("../a"); show("own cwd in thread")
t = threading.Thread(target=own_cwd); t.start(); t.join()
show("main after own cwd thread")
pid = os.fork()
if pid == 0:
    os.chdir("../a"); show("child chdir a"); os._exit(0)
os.waitpid(pid, 0)
show("parent after child")
os.rename("../b", "../moved"); show("after renaming cwd")
os.rename("../moved", "../b"); show("after renaming back")
sys.stdout.flush()
os.execv("/bin/sh", ["sh", "-c", "cat here; cd ../a && cat here sub/here"])
'''


def fixture(root):
    for d, text in (("a", "in-a"), ("b", "in-b")):
        os.makedirs(os.path.join(root, d, "sub"))
        with open(os.path.join(root, d, "here"), "w") as f:
            f.write(text + "\n")
        with open(os.path.join(root, d, "sub", "here"), "w") as f:
            f.write(text + "-sub-longer\n")
    return root


root = scratch_root("guardian-cwd-")
env = run_env(root, root)
native_dir = fixture(os.path.join(root, "native"))
guarded_dir = fixture(os.path.join(root, "guarded"))
profile = python_profile(root, "cwd", guarded_dir, ["/usr/bin/cat"])
backend = ["--backend", BACKEND] if BACKEND else []
require_supervision([GUARDIAN, "run", *backend, "-p", profile, "--", "/usr/bin/true"],
                    cwd=root, env=env)
native = subprocess.run(["/usr/bin/python3", "-c", PROBE], cwd=os.path.join(native_dir, "a"),
                        capture_output=True, text=True, env=env, timeout=60)
under = subprocess.run([GUARDIAN, "run", *backend, "-p", profile, "--", "/usr/bin/python3", "-c",
                        PROBE], cwd=os.path.join(guarded_dir, "a"), capture_output=True,
                       text=True, env=env, timeout=120)
check(native.returncode == 0 and len(native.stdout.splitlines()) == 25,
      "the probe runs natively", native.stderr[-300:])
check(under.returncode == 0, f"the probe runs under guardian (status {under.returncode})",
      under.stderr[-300:])
nl, gl = native.stdout.splitlines(), under.stdout.splitlines()
for a, b in zip(nl, gl):
    check(a == b, f"same as native: {a!r}", f"guardian: {b!r}")
check(len(nl) == len(gl), f"as many lines as native ({len(nl)} vs {len(gl)})")
subprocess.run(["rm", "-rf", root])
exit_with_results()
