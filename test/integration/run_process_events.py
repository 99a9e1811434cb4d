#!/usr/bin/python3
"""The audit log's process events (spec §3 `process`: spawn, exec, exit) are complete and
right for a program that forks, spawns, runs threads that fork and exit at once, and execs
from a thread that is not the leader: one spawn per child process with its real parent,
none for threads; every exec with the image loaded; every exit with its status; in order
per process. The tracer resumes tasks before it writes these records and skips questions
to the kernel it can answer from its table, so this is what must not change.
Env: GUARDIAN, BACKEND (optional: ptrace)."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from session_lib import GUARDIAN, check, exit_with_results, python_profile, require_supervision, \
    run_env, scratch_root

BACKEND = os.environ.get("BACKEND", "")

PROBE = r'''
import os, subprocess, sys, threading
out = open(sys.argv[1], "w")
def say(*a):
    print(*a, file=out, flush=True)
say("root", os.getpid())
pid = os.fork()
if pid == 0:
    os._exit(3)
os.waitpid(pid, 0)
say("forked", pid, 3)
p = subprocess.Popen(["/usr/bin/true"])
p.wait()
say("spawned", p.pid, 0)
tids = []
def short():
    tids.append(threading.get_native_id())
ts = [threading.Thread(target=short) for _ in range(8)]
for t in ts: t.start()
for t in ts: t.join()
say("threads", *tids)
def fork_in_thread():
    tids.append(threading.get_native_id())
    c = os.fork()
    if c == 0:
        os.execv("/bin/sh", ["sh", "-c", "exit 5"])
    os.waitpid(c, 0)
    say("thread-forked", c, 5, threading.get_native_id())
t = threading.Thread(target=fork_in_thread); t.start(); t.join()
def exec_in_thread():
    say("exec-thread", threading.get_native_id())
    out.close()
    os.execv("/usr/bin/true", ["true"])
threading.Thread(target=exec_in_thread).start()
threading.Event().wait(30)
'''

root = scratch_root("guardian-procev-")
env = run_env(root, root)
profile = python_profile(root, "procev", root, ["/usr/bin/true"])
backend = ["--backend", BACKEND] if BACKEND else []
require_supervision([GUARDIAN, "run", *backend, "-p", profile, "--", "/usr/bin/true"],
                    cwd=root, env=env)
log, facts = os.path.join(root, "audit.jsonl"), os.path.join(root, "facts")
r = subprocess.run([GUARDIAN, "run", *backend, "-p", profile, "--no-preload", "-a", log, "--",
                    "/usr/bin/python3", "-c", PROBE, facts], cwd=root, env=env,
                   capture_output=True, text=True, timeout=120)
check(r.returncode == 0, f"the probe runs under guardian (status {r.returncode})", r.stderr[-300:])

known = {}
for line in open(facts):
    w = line.split()
    known.setdefault(w[0], []).append([int(x) for x in w[1:]])
rootpid = known["root"][0][0]
forked, spawned = known["forked"][0], known["spawned"][0]
tforked = known["thread-forked"][0]
exec_tid = known["exec-thread"][0][0]
threads = set(known["threads"][0]) | {tforked[2], exec_tid}

events = [json.loads(l) for l in open(log)]
procs = [e for e in events if e.get("event") == "process"]
by_pid = {}
for e in procs:
    by_pid.setdefault(e["pid"], []).append(e)

rw0 = next((e["exe"] for e in by_pid.get(rootpid, []) if e["what"] == "exec"), None)
children = {forked[0]: forked[1], spawned[0]: spawned[1], tforked[0]: tforked[1]}
spawns = {e["pid"]: e for e in procs if e["what"] == "spawn"}
check(set(spawns) == set(children), f"one spawn per child process {sorted(children)}",
      f"got spawns of {sorted(spawns)}")
for pid in children:
    s = spawns.get(pid, {})
    check(s.get("ppid") == rootpid, f"spawn of {pid}: parent is the root {rootpid}",
          json.dumps(s))
check(not (threads & set(spawns)), "no spawn record for a thread", f"threads {sorted(threads)}")

def whats(pid):
    return [(e["what"], e.get("exe"), e.get("status")) for e in by_pid.get(pid, [])]

fw = whats(forked[0])
check([w[0] for w in fw] == ["spawn", "exit"] and fw[0][1] == rw0 and fw[1][2] == 3,
      f"forked child: spawn ({rw0}), exit 3, no exec", str(fw))
check([w[0] for w in whats(spawned[0])] == ["spawn", "exec", "exit"] and
      whats(spawned[0])[1][1] == "/usr/bin/true" and whats(spawned[0])[2][2] == 0,
      "spawned /usr/bin/true: spawn, exec /usr/bin/true, exit 0", str(whats(spawned[0])))
check([w[0] for w in whats(tforked[0])] == ["spawn", "exec", "exit"] and
      whats(tforked[0])[1][1] == "/usr/bin/dash" and whats(tforked[0])[2][2] == 5,
      "child forked by a thread: spawn, exec /usr/bin/dash, exit 5", str(whats(tforked[0])))
rw = whats(rootpid)
check([w[0] for w in rw] == ["exec", "exec", "exit"] and rw[0][1].startswith("/usr/bin/python3")
      and rw[1][1] == "/usr/bin/true" and rw[2][2] == 0,
      "root: exec python, exec /usr/bin/true from a thread (under the leader's pid), exit 0",
      str(rw))
check(exec_tid != rootpid, "the exec was made by a thread other than the leader")
for pid, evs in by_pid.items():
    seqs = [e["seq"] for e in evs]
    check(seqs == sorted(seqs), f"records of {pid} in order", str(seqs))
subprocess.run(["rm", "-rf", root])
exit_with_results()
