"""Shared by the session and fast-path tests: reporting (check, skip, finish), a scratch
root, the environment guardian runs with, the `nobody` prefix of --unprivileged runs, and
running a program and reading an audit log's decisions. Imported from the test's own
directory."""
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile

GUARDIAN = os.environ["GUARDIAN"]
UNPRIV = "--unprivileged" in sys.argv
failures = []


def check(cond, what, detail=""):
    """Reports one check; `detail` is printed under a failure only."""
    print(("ok   " if cond else "FAIL ") + what + (f"\n     {detail}" if detail and not cond else ""))
    if not cond:
        failures.append(what)


def skip(why):
    print("SKIP:", why)
    sys.exit(77)


def exit_with_results():
    """Ends the test: status 1 with the count when a check failed, else 0."""
    if failures:
        print(f"{len(failures)} failure(s)")
        sys.exit(1)
    print("all ok")
    sys.exit(0)


def scratch_root(prefix, shared=False):
    """A fresh directory (resolved, so paths compare with guardian's); shared=True opens it
    to every user, for runs as `nobody`."""
    root = os.path.realpath(tempfile.mkdtemp(prefix=prefix))
    if shared:
        os.chmod(root, 0o777)
    return root


def in_scratch(prefix, body):
    """Calls body(root) with a fresh scratch_root and removes the directory afterwards;
    returns what body returns."""
    root = scratch_root(prefix)
    try:
        return body(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run_env(home, tmpdir):
    """A small, fixed environment: tests never depend on the caller's."""
    return {"PATH": "/usr/bin:/bin", "HOME": home, "TMPDIR": tmpdir, "LANG": "C"}


def unprivileged_prefix():
    """With --unprivileged: the setpriv words that run guardian as `nobody` (skip when that
    is impossible here); else no prefix."""
    if not UNPRIV:
        return []
    if os.geteuid() != 0:
        skip("needs root to switch to an unprivileged user")
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        skip("no user 'nobody'")
    return ["setpriv", "--reuid", str(nobody.pw_uid), "--regid", str(nobody.pw_gid),
            "--clear-groups", "--"]


def require_supervision(args, **kwargs):
    """Runs `args` (a plain guardian run); skips the test when guardian cannot supervise
    here at all. Returns the completed process for further checks."""
    p = subprocess.run(args, capture_output=True, text=True, timeout=30, **kwargs)
    if p.returncode == 125 and "not built" in p.stderr:
        skip("guardian cannot supervise here: " + p.stderr.strip())
    return p


def python_profile(root, name, writable, programs):
    """Writes ROOT/p.yaml: base, writes under `writable`, exec of python3, dash and
    `programs`. Returns its path."""
    path = os.path.join(root, "p.yaml")
    allow = ", ".join(f'"{p}"' for p in ["/usr/bin/python3*", "/usr/bin/dash", *programs])
    with open(path, "w") as f:
        f.write(f"version: 1\nname: {name}\nextends: [base]\nfiles:\n"
                f"  write: [\"{writable}/**\"]\nexec:\n  allow: [{allow}]\n")
    return path


def run(argv, cwd, env, timeout=180):
    """Runs a program (native or under guardian), capturing its output as text."""
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def decisions(path):
    """The decision records of an audit log (none when guardian wrote no log)."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [r for r in (json.loads(line) for line in f if line.strip()) if r.get("event") == "decision"]
