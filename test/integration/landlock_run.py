#!/usr/bin/python3
"""Ordinary programs (sh, python3, gcc, git, a terminal program) still run under the built-in
profiles with the Landlock envelope on: same output and status as with --no-landlock and as
natively. Also: the audit log's session_start records the envelope, and `guardian profile
envelope` shows and checks the envelope of each built-in profile (base, default, node, python).

Env: GUARDIAN. Exit 77 when the kernel has no Landlock."""
import ctypes
import json
import os
import shutil
import subprocess
import sys
import tempfile

GUARDIAN = os.environ["GUARDIAN"]
failures = []


def check(cond, what, detail=""):
    print(("ok   " if cond else "FAIL ") + what + (f"\n     {detail}" if detail and not cond else ""))
    if not cond:
        failures.append(what)


libc = ctypes.CDLL(None, use_errno=True)
ABI = max(libc.syscall(444, None, 0, 1), 0)  # landlock_create_ruleset(NULL, 0, VERSION)
if ABI == 0:
    print("SKIP: kernel without Landlock")
    sys.exit(77)

root = os.path.realpath(tempfile.mkdtemp(prefix="guardian-llrun-"))
work, tmpdir, home = (os.path.join(root, d) for d in ("work", "tmp", "home"))
for d in (work, tmpdir, home):
    os.mkdir(d)
env = {"PATH": "/usr/bin:/bin", "HOME": home, "TMPDIR": tmpdir, "LANG": "C", "TERM": "dumb"}


def run(argv, profile="default", landlock=True, audit=None, native=False, timeout=120):
    if native:
        cmd = argv
    else:
        cmd = [GUARDIAN, "run", "-p", profile]
        cmd += [] if landlock else ["--no-landlock"]
        cmd += ["-a", audit] if audit else []
        cmd += ["--"] + argv
    return subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=timeout)


def same_three_ways(name, argv, profile="default"):
    """Runs natively, under guardian with and without Landlock; compares stdout and status."""
    n = run(argv, native=True)
    a = run(argv, profile)
    b = run(argv, profile, landlock=False)
    check(n.returncode == 0, f"{name}: runs natively", n.stderr)
    check((a.stdout, a.returncode) == (n.stdout, n.returncode),
          f"{name}: same output and status with Landlock as natively",
          f"native={n.returncode} {n.stdout!r}; guardian={a.returncode} {a.stdout!r} {a.stderr!r}")
    check((a.stdout, a.returncode) == (b.stdout, b.returncode),
          f"{name}: same output and status with and without Landlock",
          f"with={a.returncode} {a.stderr!r}; without={b.returncode} {b.stderr!r}")


try:
    # --- ordinary programs -------------------------------------------------------------
    same_three_ways("sh", ["sh", "-c", "echo hi; head -1 /etc/os-release; echo x > out.txt; "
                           "mkdir -p d/e && mv out.txt d/e/ && cat d/e/out.txt && rm -r d; "
                           "t=$(mktemp) && echo y > $t && cat $t && rm $t; ls /dev/null"])
    same_three_ways("python3", ["/usr/bin/python3", "-c",
                                "import json, os, subprocess, sys, tempfile, sqlite3, ssl\n"
                                "print(json.dumps({'pid': os.getpid() > 0, 'cpus': os.cpu_count() > 0}))\n"
                                "print(subprocess.run(['echo', 'child'], capture_output=True, text=True).stdout, end='')\n"
                                "with tempfile.NamedTemporaryFile('w') as f: f.write('x'); print('tmp ok')\n"
                                "print(open('/proc/self/status').read().count('Pid:'))\n"],
                    profile="python")
    with open(os.path.join(work, "hello.c"), "w") as f:
        f.write('#include <stdio.h>\nint main(void) { puts("hello from gcc"); return 3; }\n')
    with open(os.path.join(root, "build.yaml"), "w") as f:
        f.write("version: 1\nextends: [default]\nexec:\n  allow: [\"${CWD}/**\"]\n")
    gcc = ["sh", "-c", "gcc -O1 -o hello hello.c && ./hello; s=$?; rm -f hello; exit $s"]
    n = run(gcc, native=True)
    a = run(gcc, profile=os.path.join(root, "build.yaml"))
    check(n.returncode == 3 and (a.stdout, a.returncode) == (n.stdout, n.returncode),
          "gcc: compiles and runs the result with Landlock as natively",
          f"native={n.returncode} {n.stdout!r}; guardian={a.returncode} {a.stdout!r} {a.stderr[-400:]!r}")
    subprocess.run(["git", "init", "-q", "repo"], cwd=work, env=env, check=True)
    repo = os.path.join(work, "repo")
    with open(os.path.join(repo, "f"), "w") as f:
        f.write("a\n")
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "add", "f"], cwd=repo, env=env, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first"],
                   cwd=repo, env=env, check=True)
    with open(os.path.join(repo, "g"), "w") as f:
        f.write("b\n")
    same_three_ways("git", ["sh", "-c", "cd repo && git status --short && git log --format=%s && git diff --stat HEAD"])

    # --- the terminal: /dev/tty opened by path needs the device ioctl right --------------
    tty_prog = ("import os, fcntl, termios, struct\n"
                "fd = os.open('/dev/tty', os.O_RDWR)\n"
                "rows, cols = struct.unpack('hh', fcntl.ioctl(fd, termios.TIOCGWINSZ, b'0000'))\n"
                "termios.tcgetattr(fd)\n"
                "print('tty ok', rows >= 0)\n")
    for landlock in (True, False):
        flag = "" if landlock else "--no-landlock "
        r = subprocess.run(["script", "-qec", f"{GUARDIAN} run {flag}-p default -- /usr/bin/python3 -c \"{tty_prog}\"",
                            "/dev/null"], cwd=work, env=env, capture_output=True, text=True, timeout=60)
        check("tty ok True" in r.stdout, f"terminal: /dev/tty opened and ioctl'd {'with' if landlock else 'without'} Landlock",
              r.stdout[-400:] + r.stderr[-400:])

    # --- the audit log records the envelope ----------------------------------------------
    log = os.path.join(root, "audit.jsonl")
    run(["true"], audit=log)
    start = {}
    if os.path.exists(log):
        with open(log) as f:
            for line in f:
                rec = json.loads(line)
                if rec.get("event") == "session_start":
                    start = rec
    check(bool(start), "the audit log has a session_start record")
    if start:
        flat = json.dumps(start)
        check(start.get("landlock") == "applied" and start.get("landlock_abi") == str(ABI),
              "session_start records landlock applied and the ABI", flat[:600])
        check(work in start.get("landlock_write", "").split(),
              "session_start records the write envelope (the work directory)", flat[:600])
        os.unlink(log)
        run(["true"], audit=log, landlock=False)
        with open(log) as f:
            flat = f.read()
        check('"landlock":"off (--no-landlock)"' in flat.replace(": ", ":"), "session_start records --no-landlock",
              flat[:600])

    # --- the envelope of each built-in profile ------------------------------------------
    def envelope(name):
        r = subprocess.run([GUARDIAN, "profile", "envelope", name], cwd=work, env=env,
                           capture_output=True, text=True)
        check(r.returncode == 0, f"profile envelope {name}: exit 0", r.stderr)
        entries, info = {}, {}
        for line in r.stdout.splitlines():
            parts = line.split()
            if len(parts) >= 2 and len(parts[0]) == 3 and set(parts[0]) <= set("rwx-"):
                entries[parts[1]] = parts[0]
            elif ": " in line and not line.startswith(("#", "note")):
                k, v = line.split(": ", 1)
                info[k] = v
        print(r.stdout)
        return entries, info, r.stdout

    def beneath(entries, path, acc):
        """Is `path` inside an entry granting every letter of `acc`?"""
        for p, a in entries.items():
            if (path == p or path.startswith(p.rstrip("/") + "/")) and all(c in a for c in acc):
                return True
        return False

    for name in ("base", "default", "node", "python"):
        entries, info, text = envelope(name)
        check(beneath(entries, "/usr/lib/x86_64-linux-gnu/libc.so.6", "r"), f"{name}: libraries readable")
        check(beneath(entries, "/proc/self/status", "r"), f"{name}: /proc readable (widened from /proc/self)")
        check(entries.get("/dev/null", "").startswith("rw"), f"{name}: /dev/null read-write (a single file)")
        check(entries.get("/dev/tty", "").startswith("rw"), f"{name}: /dev/tty read-write (a single file)")
        check(not beneath(entries, home + "/.ssh/id_rsa", "r"), f"{name}: nothing in HOME readable")
        check(not beneath(entries, "/etc/shadow", "r"), f"{name}: /etc/shadow not readable")
        check(not beneath(entries, "/usr/lib/x86_64-linux-gnu/libc.so.6", "w"), f"{name}: system files not writable")
        # default and those extending it listen on the loopback (any port: Landlock names
        # ports, not addresses, so the supervisor alone keeps binds to the loopback).
        want_bind = "none" if name == "base" else "all"
        check(info.get("tcp connect") == "none" and info.get("tcp bind") == want_bind,
              f"{name}: no TCP connect, bind {want_bind}", f"{info.get('tcp connect')} {info.get('tcp bind')}")
        check(info.get("scoped") == "abstract-unix signal", f"{name}: abstract unix sockets and signals scoped")
        check("deny rules are not in the envelope" in text, f"{name}: says deny rules are not expressible")
        if name == "base":
            check(not beneath(entries, "/usr/bin/sh", "x"), "base: no exec beyond the loader")
            check(not beneath(entries, work + "/x", "r"), "base: the current directory not readable")
        else:
            check(beneath(entries, work + "/x", "rw"), f"{name}: current directory read-write")
            check(beneath(entries, tmpdir + "/x", "rw"), f"{name}: TMPDIR read-write")
            check(beneath(entries, work + "/x", "x"), f"{name}: exec of what the project builds")
            check(not beneath(entries, home + "/bin/x", "x"), f"{name}: no exec from HOME")
            check(beneath(entries, os.path.realpath("/usr/bin/sh"), "x"), f"{name}: /usr/bin executable")
            check(beneath(entries, os.path.realpath("/usr/bin/python3"), "x"), f"{name}: python3 executable")
    r = subprocess.run([GUARDIAN, "profile", "envelope", "no-such-profile"], cwd=work, env=env,
                       capture_output=True, text=True)
    check(r.returncode == 125 and r.stderr.count("\n") >= 1 and "no-such-profile" in r.stderr,
          "profile envelope of an unknown profile: a message and status 125", r.stderr)
finally:
    shutil.rmtree(root, ignore_errors=True)

print(f"{len(failures)} failed")
sys.exit(1 if failures else 0)
