#!/usr/bin/python3
"""Robustness against odd programs and environments, compared with the same run natively:
file names and argv of arbitrary bytes round-trip through the audit log (guardian-audit(5),
ENCODING) and its readers; PATH set but empty, a removed current directory; many threads under `ulimit -n 64`; an audit log or output that cannot be written; a process at its descriptor limit gets EMFILE before its open
creates or truncates anything. BACKEND=ptrace runs it under the ptrace backend."""
import json
import os
import re
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from session_lib import GUARDIAN, check, exit_with_results, in_scratch, require_supervision, run_env  # noqa: E402

BACKEND = os.environ.get("BACKEND", "seccomp")
PY = "/usr/bin/python3"

# A \\u0080..\\u00ff escape stands for the raw byte (guardian-audit(5), ENCODING): decode it
# as a surrogate escape so that the string encodes back to the file name's own bytes.
RAW_BYTE = re.compile(r'(?<!\\)((?:\\\\)*)\\u00([89a-fA-F][0-9a-fA-F])')


def load_raw(line):
    return json.loads(RAW_BYTE.sub(lambda m: m.group(1) + "\\udc" + m.group(2), line))


def as_bytes(s):
    return s.encode("utf-8", "surrogateescape")


def profile(root):
    path = os.path.join(root, "p.yaml")
    with open(path, "w") as f:
        f.write(f'version: 1\nname: robust\nfiles:\n  read: ["/**"]\n'
                f'  write: ["{root}/**", "/dev/null"]\nexec:\n  allow: ["/**"]\n')
    return path


def guardian(root, args, audit=None, **kw):
    cmd = [GUARDIAN, "run", "--backend", BACKEND, "-p", profile(root)]
    if audit:
        cmd += ["--audit", audit]
    return subprocess.run(cmd + ["--"] + args, capture_output=True, env=run_env(root, root),
                          cwd=root, timeout=kw.get("timeout", 120))


ODD_NAMES = [b"nl\nname", b'quo"te', b"back\\slash", b"ctl\x01\x1b\x7f", b"bad\xff\xfeutf",
             b"e\xc3\xa9", b"lat\xe9", b"u\\u00e9"]
ODD_ARGV = [b"a\nb", b'q"', b"\xff\xfe", b"\x01", b"\\u00ff"]

ODD_PROGRAM = r"""
import os, sys
d = os.fsencode(sys.argv[1])
for n in eval(sys.argv[2]):
    p = d + b"/" + n
    os.close(os.open(p, os.O_CREAT | os.O_WRONLY, 0o644))
# A path of 4095 bytes with its NUL (PATH_MAX), in components of 200 bytes.
cur = d + b"/L"
os.mkdir(cur)
while len(cur) < 4095 - 256:
    cur += b"/" + b"x" * 200
    os.mkdir(cur)
os.close(os.open(cur + b"/" + b"y" * (4094 - len(cur) - 1), os.O_CREAT | os.O_WRONLY, 0o644))
os.execv(b"/bin/true", [b"true"] + eval(sys.argv[3]))
"""


def odd_names(root):
    """Every odd name and argv is recorded with its own bytes; every line is JSON and the
    reviewer tools read the log without a complaint."""
    work = os.path.join(root, "w")
    os.mkdir(work)
    log = os.path.join(root, "odd.jsonl")
    p = guardian(root, [PY, "-c", ODD_PROGRAM, work, repr(ODD_NAMES), repr(ODD_ARGV)], log)
    check(p.returncode == 0, f"odd names: status {p.returncode}", p.stderr.decode(errors="replace"))
    with open(log, encoding="utf-8") as f:  # UTF-8 as a whole: raises otherwise
        lines = f.read().split("\n")
    try:
        [json.loads(line) for line in lines if line]
        check(lines[-1] == "" and all(lines[:-1]), "odd names: one JSON object a line")
    except ValueError as e:
        check(False, "odd names: every line is JSON", str(e))
    recs = [load_raw(line) for line in lines if line]
    paths = {as_bytes(r[k]) for r in recs for k in ("path", "raw_path") if k in r}
    wb = os.fsencode(work)
    for n in ODD_NAMES:
        check(wb + b"/" + n in paths, f"odd names: path {n!r} recorded as its bytes")
    longest = max((os.path.join(dp, f) for dp, _, fs in os.walk(wb + b"/L") for f in fs), key=len)
    check(len(longest) == 4094 and longest in paths, f"odd names: {len(longest)}-byte path recorded")
    execs = [[as_bytes(a) for a in r.get("argv", [])] for r in recs
             if r.get("event") == "decision" and r.get("op") == "exec"]
    check([b"true"] + ODD_ARGV in execs, "odd names: exec argv recorded as its bytes",
          repr(execs))
    for sub in (["summary"], ["tree"], ["verify"], ["query", "--json"],
                ["report", "-o", os.path.join(root, "r.html")]):
        q = subprocess.run([GUARDIAN, "audit", sub[0], log] + sub[1:], capture_output=True, timeout=60)
        check(q.returncode == 0 and not q.stderr, f"odd names: audit {sub[0]} reads the log",
              f"status {q.returncode}: {q.stderr[-300:]!r}")
        if sub[0] == "query":
            out = q.stdout.decode("utf-8")
            got = {as_bytes(load_raw(line).get("path", "")) for line in out.splitlines()}
            check(wb + b"/" + ODD_NAMES[4] in got, "odd names: audit query --json keeps the bytes")


EMFILE_PROGRAM = r"""
import errno, os, resource, sys
d = sys.argv[1]
with open(d + "/keep", "w") as f:
    f.write("precious\n")
# A descriptor numbered above the limit (the limit is lowered after it was opened): the
# table then holds as many descriptors as the limit with a number below it still free,
# until the loop below takes the last one.
os.dup2(0, 100)
resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
held = []
try:
    while True:
        held.append(os.open("/dev/null", os.O_RDONLY))
except OSError as e:
    print("fill", errno.errorcode[e.errno])
for name, flags in (("keep", os.O_WRONLY | os.O_TRUNC), ("new", os.O_WRONLY | os.O_CREAT),
                    ("new2", os.O_WRONLY | os.O_CREAT | os.O_EXCL)):
    try:
        os.open(d + "/" + name, flags, 0o644)
        print(name, "opened")
    except OSError as e:
        print(name, errno.errorcode[e.errno])
os.close(held.pop())
# One number below the limit is free again while as many descriptors as the limit are open.
try:
    os.close(os.open(d + "/new3", os.O_WRONLY | os.O_CREAT, 0o644))
    print("new3 opened")
except OSError as e:
    print("new3", errno.errorcode[e.errno])
print("keep size", os.stat(d + "/keep").st_size)
print("new exists", os.path.exists(d + "/new"), os.path.exists(d + "/new2"))
"""


def emfile(root):
    """At RLIMIT_NOFILE, an open that would create or truncate fails with EMFILE and leaves
    the file system as it was, as natively (the kernel takes the descriptor number first)."""
    outs = []
    for name, wrap in (("native", lambda a: subprocess.run(a, capture_output=True, timeout=60)),
                       ("guardian", lambda a: guardian(root, a))):
        d = os.path.join(root, name)
        os.mkdir(d)
        p = wrap([PY, "-c", EMFILE_PROGRAM, d])
        outs.append(p.stdout.decode())
    check("keep EMFILE" in outs[0] and "new exists False False" in outs[0],
          "emfile: native run as expected", outs[0])
    check(outs[1] == outs[0], "emfile: same results as natively (nothing created or emptied)",
          f"native {outs[0]!r}\n     guardian {outs[1]!r}")


THREADS_PROGRAM = r"""
import os, sys, threading
d, n = sys.argv[1], int(sys.argv[2])
errors = []
gate = threading.Barrier(n + 1)
def work(i):
    try:
        os.close(os.open(f"{d}/f{i % 20}", os.O_CREAT | os.O_RDWR, 0o644))
        with open("/etc/hostname", "rb"):
            pass
    except OSError as e:
        errors.append(e.errno)
    gate.wait()  # every thread stays alive until all have opened
ts = [threading.Thread(target=work, args=(i,)) for i in range(n)]
for t in ts:
    t.start()
gate.wait()
for t in ts:
    t.join()
print("errors", len(errors), sorted(set(errors)))
"""


def low_nofile(root):
    """Under `ulimit -n 64` (soft and hard), many live threads each opening: no EMFILE where
    natively there is none (the supervisor kept a descriptor per thread's /proc directory)."""
    def lim():
        import resource
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    args = [PY, "-c", THREADS_PROGRAM, root, "150"]
    nat = subprocess.run(args, capture_output=True, preexec_fn=lim, timeout=120)
    g = subprocess.run([GUARDIAN, "run", "--backend", BACKEND, "-p", profile(root), "--"] + args,
                       capture_output=True, preexec_fn=lim, env=run_env(root, root), timeout=300)
    check(nat.stdout == b"errors 0 []\n", "ulimit -n 64: native run opens everything", nat.stdout)
    check(g.returncode == 0 and g.stdout == nat.stdout, "ulimit -n 64: as natively under guardian",
          f"status {g.returncode}, {g.stdout!r}, {g.stderr[-300:]!r}")


def audit_unwritable(root):
    """Audit records that cannot be written (a full disk: /dev/full) make the run fail with
    125 and a message giving the command's own status, instead of the command's status as
    if the log were whole."""
    g = [GUARDIAN, "run", "--backend", BACKEND, "-p", profile(root)]
    p = subprocess.run(g + ["--audit", "/dev/full", "--", "/bin/sh", "-c", "exit 3"],
                       capture_output=True, env=run_env(root, root), cwd=root, timeout=60)
    err = p.stderr.decode(errors="replace")
    check(p.returncode == 125, f"audit to a full disk: status 125 ({p.returncode})", err)
    check("No space left on device" in err and "exit status was 3" in err,
          "audit to a full disk: says why and the command's status", err)
    p = subprocess.run(g + ["--audit", "-", "--", "/bin/true"], stderr=subprocess.DEVNULL,
                       env=run_env(root, root), cwd=root, timeout=60,
                       preexec_fn=lambda: os.close(2))
    check(p.returncode == 125, f"--audit - with standard error closed: status 125 ({p.returncode})")


def output_errors(root):
    """Output that cannot be written is an error, not a success: a full or closed standard
    output for the printing subcommands; `learn -o` onto something that is not a regular
    file (here a FIFO) writes into it instead of renaming a regular file over it (as root,
    `-o /dev/null` replaced /dev/null)."""
    with open("/dev/full", "w") as full:
        p = subprocess.run([GUARDIAN, "profile", "show", "base"], stdout=full, stderr=subprocess.PIPE, timeout=60)
    check(p.returncode == 125 and b"cannot write standard output: No space left on device" in p.stderr,
          f"profile show > /dev/full: 125 and why ({p.returncode}, {p.stderr!r})")
    p = subprocess.run([GUARDIAN, "profile", "show", "base"], stderr=subprocess.PIPE, timeout=60,
                       preexec_fn=lambda: os.close(1))
    check(p.returncode == 125 and b"standard output: it is closed" in p.stderr,
          f"profile show with standard output closed: 125 and why ({p.returncode}, {p.stderr!r})")
    log = os.path.join(root, "a.jsonl")
    r = guardian(root, ["/bin/true"], log)
    check(r.returncode == 0, "learn: a log to learn from")
    fifo = os.path.join(root, "fifo")
    os.mkfifo(fifo)
    reader = subprocess.Popen(["/bin/cat", fifo], stdout=subprocess.PIPE)
    p = subprocess.run([GUARDIAN, "learn", "--from-audit", log, "-o", fifo], capture_output=True, timeout=60)
    still_fifo = stat.S_ISFIFO(os.lstat(fifo).st_mode)
    if not still_fifo:
        reader.kill()  # waiting on the FIFO that was renamed over
    got = reader.communicate(timeout=60)[0]
    check(p.returncode == 0 and still_fifo and b"version: 1" in got,
          "learn -o FIFO: written into it, still a FIFO", f"{p.returncode} {p.stderr!r} {got[:80]!r}")


def broken_pipe(root):
    """The reader of `--audit -` goes away mid-session: guardian ends the session in order
    and exits 125 (records lost), instead of dying of SIGPIPE; the command inherits SIGPIPE's
    disposition as natively, whatever guardian does with it."""
    import signal
    script = "cat /etc/hostname >/dev/null; sleep 1; i=0; while [ $i -lt 50 ]; do cat /etc/hostname >/dev/null; i=$((i+1)); done"
    p = subprocess.Popen([GUARDIAN, "run", "--backend", BACKEND, "-p", profile(root), "--audit", "-", "--",
                          "/bin/sh", "-c", script], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         env=run_env(root, root), cwd=root)
    p.stderr.read(100)
    p.stderr.close()
    rc = p.wait(timeout=60)
    check(rc == 125, f"--audit - reader gone: status 125, not killed by SIGPIPE ({rc})")
    show = ["/bin/sh", "-c", "grep ^SigIgn: /proc/self/status"]
    for what, disp in (("default", signal.SIG_DFL), ("ignored", signal.SIG_IGN)):
        def pre(disp=disp):
            signal.signal(signal.SIGPIPE, disp)
        nat = subprocess.run(show, capture_output=True, preexec_fn=pre, timeout=60)
        g = subprocess.run([GUARDIAN, "run", "--backend", BACKEND, "-p", profile(root), "--"] + show,
                           capture_output=True, preexec_fn=pre, env=run_env(root, root), timeout=60)
        check(g.stdout == nat.stdout, f"SIGPIPE {what} in the parent: the command's ignored signals as natively",
              f"{g.stdout!r} vs {nat.stdout!r}")


def environments(root):
    """PATH set but empty is looked up as execvp does (the current directory only), unlike
    PATH unset; a removed current directory is one clear line about ${CWD}, not one
    "undefined variable" per rule of the profile."""
    base = run_env(root, root)
    g = [GUARDIAN, "run", "--backend", BACKEND, "-p", profile(root), "--"]
    for what, env in (("empty", dict(base, PATH="")),
                      ("unset", {k: v for k, v in base.items() if k != "PATH"})):
        nat = subprocess.run(["/usr/bin/env", "true"], env=env, cwd=root, capture_output=True)
        p = subprocess.run(g + ["true"], env=env, cwd=root, capture_output=True, timeout=60)
        check(p.returncode == (127 if nat.returncode == 127 else nat.returncode),
              f"PATH {what}: status {p.returncode} as natively ({nat.returncode})",
              p.stderr.decode(errors="replace"))
    os.symlink("/usr/bin/true", os.path.join(root, "here"))
    p = subprocess.run(g + ["here"], env=dict(base, PATH=""), cwd=root, capture_output=True, timeout=60)
    check(p.returncode == 0, f"PATH empty: a command in the current directory runs ({p.returncode})")
    gone = os.path.join(root, "gone")
    os.mkdir(gone)
    p = subprocess.run(["/bin/sh", "-c", 'cd "$1" && rmdir "$1" && shift && exec "$@"', "sh", gone,
                        GUARDIAN, "run", "--backend", BACKEND, "--", "/bin/true"],
                       env=base, capture_output=True, timeout=60)
    err = p.stderr.decode(errors="replace").splitlines()
    check(p.returncode == 125, f"removed cwd, default profile: status 125 ({p.returncode})")
    check(len(err) == 1 and "${CWD} has no value" in err[0] and "removed" in err[0],
          "removed cwd: one line saying why", repr(err))


p = require_supervision([GUARDIAN, "run", "--backend", BACKEND, "-p", "base", "--", "/bin/true"])
in_scratch("guardian-robust.", odd_names)
in_scratch("guardian-robust.", emfile)
in_scratch("guardian-robust.", environments)
in_scratch("guardian-robust.", low_nofile)
in_scratch("guardian-robust.", audit_unwritable)
in_scratch("guardian-robust.", output_errors)
in_scratch("guardian-robust.", broken_pipe)
exit_with_results()
