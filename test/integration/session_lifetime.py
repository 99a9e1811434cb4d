#!/usr/bin/python3
"""No process of the session survives `guardian run`, however it ends: the command exits
normally, a limit ends it, guardian gets SIGINT (as from Ctrl-C sent by a process), or guardian
gets SIGTERM. Each session leaves behind a double-forked daemon (setsid, parent exited) and a
background child; afterwards no process with the session's marker may be alive.

Usage: session_lifetime.py [--unprivileged]  (as `nobody`: no cgroup, the process table and
the subreaper do the work). Env: GUARDIAN."""
import os
import signal
import subprocess
import time

from session_lib import GUARDIAN, UNPRIV, check, exit_with_results, require_supervision, run_env, \
    scratch_root, unprivileged_prefix

root = scratch_root("guardian-life-", shared=True)
env = run_env(root, root)
prefix = unprivileged_prefix()


def marked(marker):
    """Pids whose command line carries the marker (a sleep duration no one else uses)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
            with open(f"/proc/{d}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in args and state != "Z":
            out.append(int(d))
    return out


def session_script(marker, tail):
    # A daemon: double fork + setsid, its parent gone, so it is re-parented away from the
    # command. A background child. Then `tail` (how the command itself goes on).
    return (f"(setsid sleep {marker} >/dev/null 2>&1 &); "
            f"sleep {marker} & "
            f"echo started; {tail}")


def start(marker, opts, tail):
    return subprocess.Popen(prefix + [GUARDIAN, "run"] + opts +
                            ["--", "sh", "-c", session_script(marker, tail)],
                            cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=default_signals, start_new_session=True)


def default_signals():
    # A test runner may start us with SIGINT ignored (background jobs of a shell), and the
    # command would inherit that: give it what a terminal session has.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)


def wait_started(p, marker):
    line = p.stdout.readline()
    deadline = time.monotonic() + 10
    # One look decides: a second one could miss a helper for a moment (a process's cmdline
    # reads empty while exec replaces its memory, as setsid's child becomes sleep).
    found = marked(marker)
    while len(found) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
        found = marked(marker)
    ok = line == "started\n" and len(found) >= 2
    if not ok:  # say what was seen: a flaky start must be diagnosable from the CI log
        status = p.poll()
        err = p.stderr.read()[-500:] if status is not None else ""
        print(f"# not started: first line {line!r}, helpers {found}, "
              f"guardian status {status}, stderr {err!r}", flush=True)
    return ok


def finish(p, what, marker, status_ok, limit=15):
    try:
        out, err = p.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        check(False, f"{what}: guardian returned in time")
    left = marked(marker)
    check(status_ok(p.returncode), f"{what}: exit status {p.returncode}")
    check(not left, f"{what}: no process of the session survives (left: {left})")
    for pid in left:  # do not leak them into the next tests
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


p = require_supervision(prefix + [GUARDIAN, "run", "--", "true"], cwd=root, env=env)
check(p.returncode == 0, f"plain run works (status {p.returncode}, stderr {p.stderr.strip()!r})")

# Markers unique to this run: another run of this test at the same time (a second build
# tree, a parallel CI job) must not count as our survivors.
base = 3000 + 10 * (os.getpid() % 90000) + (5 if UNPRIV else 0)

# 1. The command exits normally, its daemon and background child still running.
m = str(base + 1)
p = start(m, [], "sleep 1; exit 3")  # long enough to see both helpers alive
check(wait_started(p, m), "normal: session started")
finish(p, "normal", m, lambda s: s == 3)

# 2. A limit ends it. The limit leaves the session time to start its helpers even on a loaded
#    CI machine (unprivileged start-up there once took longer than a 1 s limit).
m = str(base + 2)
p = start(m, ["--timeout", "4"], "sleep 30")
check(wait_started(p, m), "limit: session started")
finish(p, "wall limit", m, lambda s: s == 124)

# 3. Ctrl-C: SIGINT to the foreground process group (guardian and the command, as a terminal
#    sends it); the command dies of it, guardian kills the rest.
# The command execs sleep: dash itself, waiting for a foreground job, lets a SIGINT that
# comes at some moments go (natively 14 of 100 such runs did not end under load).
m = str(base + 3)
p = start(m, [], f"exec sleep {m}0")
check(wait_started(p, m), "Ctrl-C: session started")
os.killpg(p.pid, signal.SIGINT)
finish(p, "Ctrl-C (SIGINT to the process group)", m, lambda s: s == 128 + signal.SIGINT)

# 3b. SIGINT to guardian alone (kill -INT): forwarded to the command, as natively.
m = str(base + 5)
p = start(m, [], f"exec sleep {m}0")
check(wait_started(p, m), "SIGINT: session started")
p.send_signal(signal.SIGINT)
finish(p, "SIGINT to guardian", m, lambda s: s == 128 + signal.SIGINT)

# 4. SIGTERM to guardian, with a command that ignores SIGTERM: SIGKILL after the grace.
m = str(base + 4)
p = start(m, [], f"trap '' TERM; sleep {m}0; sleep {m}0")
check(wait_started(p, m), "SIGTERM: session started")
t0 = time.monotonic()
p.send_signal(signal.SIGTERM)
finish(p, "SIGTERM to guardian", m, lambda s: s != 0)
check(time.monotonic() - t0 < 8, "SIGTERM to guardian: ended within the grace period")

exit_with_results()
