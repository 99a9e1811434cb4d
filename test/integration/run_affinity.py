#!/usr/bin/python3
"""A program's CPU affinity is its own under guardian: emulated opens (ADDFD) briefly hold
the opening thread on the supervisor's CPU, and must give it back exactly. A program that
keeps the default mask, one that narrows it, and threads with different masks each open
files in a loop under guardian; afterwards every thread sees the mask it set, as natively.
Env: GUARDIAN."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from session_lib import GUARDIAN, check, exit_with_results, require_supervision, run_env, \
    scratch_root, skip

cpus = sorted(os.sched_getaffinity(0))
if len(cpus) < 2:
    skip("one CPU: nothing to narrow")
root = scratch_root("guardian-affinity-")
target = os.path.join(root, "data.txt")
with open(target, "w") as f:
    f.write("x\n")

PROGRAM = r"""
import os, sys, threading
target, cpus = sys.argv[1], sorted(os.sched_getaffinity(0))
seen = {}
def opener(name, mask):
    if mask is not None:
        os.sched_setaffinity(0, mask)
    want = os.sched_getaffinity(0)
    for _ in range(1500):
        with open(target) as f:
            f.read()
    after = os.sched_getaffinity(0)
    seen[name] = ("same" if after == want else "CHANGED") + ":" + ",".join(map(str, sorted(after)))
opener("default", None)
opener("narrowed", {cpus[-1]})
os.sched_setaffinity(0, set(cpus))
threads = [threading.Thread(target=opener, args=(f"thread{i}", {cpus[i % len(cpus)]}))
           for i in range(2)]
threads.append(threading.Thread(target=opener, args=("thread-all", set(cpus))))
for t in threads: t.start()
for t in threads: t.join()
print("start=" + ",".join(map(str, cpus)), " ".join(f"{k}={v}" for k, v in sorted(seen.items())))
"""

profile = os.path.join(root, "p.yaml")
with open(profile, "w") as f:
    f.write(f"version: 1\nname: affinity\nextends: [base]\nfiles:\n  read: [\"{root}/**\"]\n"
            f"exec:\n  allow: [\"/usr/bin/python3*\"]\n")
env = run_env(root, root)
require_supervision([GUARDIAN, "run", "-p", profile, "--", "/usr/bin/true"], cwd=root, env=env)
native = subprocess.run(["/usr/bin/python3", "-c", PROGRAM, target], capture_output=True,
                        text=True, env=env)
for args in (["--no-preload"], []):
    under = subprocess.run([GUARDIAN, "run", "-p", profile] + args +
                           ["--", "/usr/bin/python3", "-c", PROGRAM, target],
                           capture_output=True, text=True, env=env, cwd=root)
    what = " ".join(args) or "default"
    check(under.returncode == 0, f"{what}: the program ran (status {under.returncode}, "
                                 f"stderr {under.stderr.strip()[-300:]!r})")
    check(under.stdout == native.stdout and "CHANGED" not in under.stdout,
          f"{what}: every thread keeps its own mask, as natively "
          f"({under.stdout.strip()!r} vs {native.stdout.strip()!r})")
exit_with_results()
