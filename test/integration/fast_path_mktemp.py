#!/usr/bin/python3
"""guardian run --fast-path decides the mkstemp family in the process (issue 8): glibc makes
its open() inside libc, where no interposer saw it, so each temporary file (gcc's .s) was a
round trip to the supervisor. Checked: mkstemp, mkstemps, mkostemp and mkostemps give what
they give natively (mode 0600, O_RDWR, close-on-exec as asked, the name's shape, errno kept,
EINVAL for a bad template) and without --fast-path; each creation is recorded with via
"preload"; in a directory the profile does not let the session write they fail with EACCES,
as without --fast-path, and the denials are recorded. Exit 77 when guardian cannot run here."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from session_lib import GUARDIAN, check, decisions, failures, in_scratch, run  # noqa: E402

FAST_PROBE = os.environ["FAST_PROBE"]


def main():
    return in_scratch("guardian-fast-mktemp-", body)


def body(tmp):
    work = os.path.join(tmp, "work")
    ro = os.path.join(tmp, "ro")
    os.mkdir(work)
    os.mkdir(ro)
    env = {"PATH": "/usr/bin:/bin", "HOME": work, "LANG": "C", "TMPDIR": work}
    profile = os.path.join(tmp, "p.yaml")
    with open(profile, "w") as f:
        f.write(f"""version: 1
extends: [base]
files:
  read: ["{os.path.dirname(FAST_PROBE)}/**", "{ro}/**"]
  write: ["{work}/**"]
audit: {{decisions: all}}
exec:
  allow: ["{FAST_PROBE}"]
""")
    for where in (work, ro):
        cmd = [FAST_PROBE, "mktemp", where]
        native = run(cmd, work, env)
        log = os.path.join(tmp, "fast.jsonl")
        if os.path.exists(log):
            os.unlink(log)
        fast = run([GUARDIAN, "run", "-p", profile, "-a", log, "--fast-path", "--"] + cmd, work, env)
        if fast.returncode == 125 and "cannot" in fast.stderr:
            print("SKIP: guardian --fast-path cannot run here:", fast.stderr.strip())
            return 77
        strict = run([GUARDIAN, "run", "-p", profile, "--"] + cmd, work, env)
        check(native.returncode == 0 and native.stdout.count("fd mode=600 ") == 4 and
              "shaped=0" not in native.stdout and "errno-kept=0" not in native.stdout,
              f"native mkstemp family ran in {where}", native.stdout + native.stderr)
        check(fast.stdout == strict.stdout, f"--fast-path as without it in {where}",
              f"{fast.stdout!r} vs {strict.stdout!r} {fast.stderr[-300:]}")
        ds = [d for d in decisions(log) if d.get("path", "").startswith(where + "/t")]
        if where == work:
            check(fast.stdout == native.stdout, "--fast-path as natively where the session writes",
                  f"{fast.stdout!r} vs {native.stdout!r}")
            made = [d for d in ds if d.get("decision") == "allow" and d.get("syscall") != "unlink" and
                    d.get("op") == "write"]
            check(len(made) == 4 and all(d.get("via") == "preload" for d in made),
                  "each file made is decided in the process (via preload)", str(ds))
            left = [n for n in os.listdir(work) if n.startswith("t")]
            check(not left, "the probe removed what it made", str(left))
        else:
            check(fast.stdout.count("Permission denied") == 4 and "short: -1 Invalid argument" in fast.stdout,
                  "EACCES where the profile does not let the session write; EINVAL for a bad template",
                  fast.stdout)
            check(len([d for d in ds if d.get("decision") == "deny"]) >= 4, "the denials are recorded", str(ds))
            check(not os.listdir(ro), "nothing was made where the session may not write", str(os.listdir(ro)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
