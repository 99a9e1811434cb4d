#!/usr/bin/python3
"""guardian run --fast-path and probes of names that do not exist (issue 8): a stat, access
or open of a missing name the profile denies, and execvp's PATH search (the candidates that
do not exist), are decided in the process; they must give the program what the supervisor
gives it (EACCES where denied, ENOENT where allowed, the same exit status and messages) and
write the same denial records (path, errno, rule, tip, argv) and summary, with via
"preload". An existing denied object, a link on the way, complain mode and another
deny_errno are still the supervisor's. Exit 77 when this guardian cannot supervise here."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from session_lib import GUARDIAN, check, decisions, failures, in_scratch, run  # noqa: E402 (the test's own directory)

FAST_PROBE = os.environ["FAST_PROBE"]


def denials(path):
    """The denial records as the program's behaviour shows them (not who decided)."""
    return sorted(json.dumps({k: d.get(k) for k in ("syscall", "category", "op", "path", "raw_path", "errno",
                                                    "tip", "rule", "argv")}, sort_keys=True)
                  for d in decisions(path) if d.get("decision") == "deny")


def main():
    return in_scratch("guardian-fast-probes-", body)


def body(tmp):
    work = os.path.join(tmp, "work")
    denied = os.path.join(tmp, "denied")   # nothing in the profile allows it
    bindir = os.path.join(tmp, "bin")      # exec allowed
    for d in (work, denied, bindir):
        os.mkdir(d)
    with open(os.path.join(denied, "mytool"), "w") as f:
        f.write("#!/bin/sh\necho DENIED-TOOL-RAN\n")
    os.chmod(os.path.join(denied, "mytool"), 0o755)
    with open(os.path.join(bindir, "tool"), "w") as f:
        f.write("#!/bin/sh\necho tool-ran \"$@\"\n")
    with open(os.path.join(bindir, "plainscript"), "w") as f:
        f.write("echo plainscript-ran\n")  # no #!: execvp runs it with /bin/sh
    for name in ("tool", "plainscript"):
        os.chmod(os.path.join(bindir, name), 0o755)
    os.symlink(denied, os.path.join(work, "to-denied"))
    env = {"PATH": "/usr/bin:/bin", "HOME": work, "LANG": "C.UTF-8", "TMPDIR": work}
    text = f"""version: 1
extends: [default]
files:
  read: ["{os.path.dirname(FAST_PROBE)}/**", "{bindir}/**"]
  write: ["{work}/**"]
exec:
  allow: ["{FAST_PROBE}", "{bindir}/**"]
"""
    profile = os.path.join(tmp, "p.yaml")
    with open(profile, "w") as f:
        f.write(text + "audit: {decisions: all}\n")
    eperm = os.path.join(tmp, "eperm.yaml")
    with open(eperm, "w") as f:
        f.write(text + "deny_errno: EPERM\n")

    def both(args, cmd, env=env, log=True):
        out = {}
        for mode in ("fast", "strict"):
            lg = os.path.join(tmp, f"{mode}.jsonl")
            if os.path.exists(lg):
                os.unlink(lg)
            out[mode] = run([GUARDIAN, "run"] + args + (["-a", lg] if log else []) +
                            (["--fast-path"] if mode == "fast" else []) + ["--"] + cmd, work, env)
            out[mode + "_log"] = lg
        return out

    r = run([GUARDIAN, "run", "-p", profile, "--fast-path", "--", "/bin/true"], work, env)
    if r.returncode != 0:
        print("SKIP: guardian --fast-path cannot run here:", r.stderr.strip())
        return 77

    # 1. stat, lstat, access, open, fopen of missing names: denied where the profile denies
    #    (EACCES, as the supervisor answers), ENOENT where it allows; an existing denied
    #    file and a missing name behind a link are still the supervisor's.
    miss = os.path.join(denied, "nothing")
    deep = os.path.join(denied, "none", "x")
    here = os.path.join(work, "nothing")
    # Missing below a directory the process may stat (tmp, an ancestor of what it writes):
    # ENOENT without a record, as the supervisor answers (missing_but_visible); they were
    # EACCES and denials under --fast-path (node's walk up for package.json, Python's
    # FileNotFoundError turned PermissionError).
    up = os.path.join(tmp, "nothing-up")
    paths = [miss, deep, here, os.path.join(denied, "mytool"), "to-denied/nothing", "nothing", up,
             "../nothing-rel", os.path.join(tmp, "none", "deeper")]
    o = both(["-p", profile], [FAST_PROBE, "paths"] + paths)
    check(o["fast"].stdout and o["fast"].stdout == o["strict"].stdout,
          f"probes of missing names as without --fast-path:\n{o['fast'].stdout}\n---\n{o['strict'].stdout}")
    for want in (f"{miss} stat -1 errno=EACCES -", f"{miss} access -1 errno=EACCES",
                 f"{miss} open fail errno=EACCES ", f"{deep} lstat -1 errno=EACCES -",
                 f"{here} stat -1 errno=ENOENT -", "nothing open fail errno=ENOENT ",
                 f"{up} stat -1 errno=ENOENT -", f"{up} access -1 errno=ENOENT", f"{up} open fail errno=ENOENT ",
                 "../nothing-rel open fail errno=ENOENT "):
        check(want in o["fast"].stdout.splitlines(), f"probe says {want!r}: {o['fast'].stdout}")
    check(denials(o["fast_log"]) == denials(o["strict_log"]) and denials(o["fast_log"]),
          "the same denial records (path, errno, rule, tip) with and without --fast-path:\n"
          + "\n".join(denials(o["fast_log"])) + "\n---\n" + "\n".join(denials(o["strict_log"])))
    ds = decisions(o["fast_log"])
    via = {}
    for d in ds:
        if d.get("decision") == "deny":
            via.setdefault(d.get("raw_path"), set()).add(d.get("via"))
    check(via.get(miss) == {"preload"} and via.get(deep) == {"preload"},
          f"denials of missing names decided in the process: {via}")
    check(via.get(os.path.join(denied, "mytool")) == {"seccomp"},
          f"an existing denied file is still the supervisor's: {via}")
    behind = {d.get("via") for d in ds if d.get("raw_path") == "to-denied/nothing"}
    check(behind == {"seccomp"}, f"a missing name behind a link is the supervisor's: {behind}")
    check(not any(d.get("path") == here and d.get("decision") != "allow" for d in ds),
          "a missing name the profile allows is not denied")
    for p in (up, os.path.join(tmp, "nothing-rel"), os.path.join(tmp, "none", "deeper")):
        check(not any(d.get("path") == p for d in ds), f"a missing name below a stat-able directory is no denial: {p}")

    # 2. Without an audit log the summary counts them all the same.
    o = both(["-p", profile], [FAST_PROBE, "paths", miss, deep], log=False)
    first = {m: o[m].stderr.splitlines()[0] if o[m].stderr else "" for m in ("fast", "strict")}
    check(first["fast"] == first["strict"] and "operations denied" in first["fast"],
          f"the denial summary equal with and without --fast-path: {first}")

    # 3. execvp's PATH search (env(1) calls execvp): a denied first entry, an allowed one
    #    without the name, then the real program; a denied program that exists; nothing
    #    anywhere; a script with #! and one without. Same status, output and denial records.
    penv = dict(env, PATH=f"{denied}:{bindir}:/usr/bin:/bin")
    cases = [["/usr/bin/env", "true"], ["/usr/bin/env", "mytool"], ["/usr/bin/env", "nosuch-xyz"],
             ["/usr/bin/env", "tool", "a1", "a2"], ["/usr/bin/env", "plainscript"]]
    for cmd in cases:
        o = both(["-p", profile], cmd, env=penv)
        tag = " ".join(cmd[1:])
        check((o["fast"].returncode, o["fast"].stdout, o["fast"].stderr) ==
              (o["strict"].returncode, o["strict"].stdout, o["strict"].stderr),
              f"env {tag}: as without --fast-path: {o['fast'].returncode} {o['fast'].stdout!r} "
              f"{o['fast'].stderr!r} vs {o['strict'].returncode} {o['strict'].stdout!r} {o['strict'].stderr!r}")
        check(denials(o["fast_log"]) == denials(o["strict_log"]),
              f"env {tag}: the same denial records:\n" + "\n".join(denials(o["fast_log"])) + "\n---\n"
              + "\n".join(denials(o["strict_log"])))
        ds = decisions(o["fast_log"])
        probe = os.path.join(denied, cmd[1])
        got = [(d.get("decision"), d.get("via"), d.get("category"), d.get("argv")) for d in ds
               if d.get("path") == probe]
        if cmd[1] == "mytool":
            check(got and all(g[:3] == ("deny", "seccomp", "exec") for g in got),
                  f"env mytool: the existing denied program is the supervisor's: {got}")
        else:
            # A name missing right in a PATH directory is ENOENT, undecided, as without
            # --fast-path (the supervisor's search_dirs): no record either way.
            strict = [d for d in decisions(o["strict_log"]) if d.get("path") == probe]
            check(got == [] and strict == [],
                  f"env {tag}: the missing candidate in the unlisted PATH directory is not a denial: {got} {strict}")
        allowed_probe = [(d.get("decision"), d.get("via")) for d in ds if d.get("path") == os.path.join(bindir, cmd[1])]
        if cmd[1] in ("true", "nosuch-xyz"):
            check(allowed_probe == [("allow", "preload")],
                  f"env {tag}: the allowed candidate that does not exist, in the process: {allowed_probe}")
    # Python's subprocess makes its own PATH loop of execve calls in the child.
    py = ("import subprocess\n"
          "for argv in (['true'], ['tool', 'py'], ['nosuch-xyz']):\n"
          "    try:\n"
          "        r = subprocess.run(argv, capture_output=True, text=True)\n"
          "        print(argv[0], r.returncode, r.stdout.strip())\n"
          "    except OSError as e:\n"
          "        print(argv[0], type(e).__name__, e.errno)\n")
    o = both(["-p", profile], ["/usr/bin/python3", "-c", py], env=penv)
    check(o["fast"].stdout == o["strict"].stdout and "true 0" in o["fast"].stdout
          and "tool 0 tool-ran py" in o["fast"].stdout,
          f"subprocess's PATH loop as without --fast-path: {o['fast'].stdout!r} vs {o['strict'].stdout!r} "
          f"{o['fast'].stderr[-300:]!r}")
    check(denials(o["fast_log"]) == denials(o["strict_log"]),
          "subprocess: the same denial records:\n" + "\n".join(denials(o["fast_log"])) + "\n---\n"
          + "\n".join(denials(o["strict_log"])))
    got = {d.get("via") for d in decisions(o["fast_log"]) if d.get("path") == os.path.join(denied, "true")}
    check(got == set(), f"subprocess: the missing candidate in the unlisted PATH directory is not a denial: {got}")
    o = both(["-p", profile], ["/usr/bin/env", "tool", "x"], env=penv)
    check(o["fast"].stdout == "tool-ran x\n", f"the program found after the probes ran: {o['fast'].stdout!r}")
    check("DENIED-TOOL-RAN" not in both(["-p", profile], ["/usr/bin/env", "mytool"], env=penv)["fast"].stdout,
          "a denied program never runs")

    # 4. Another deny errno (glibc's search stops at the first EPERM, but the missing
    #    candidate is ENOENT) and complain mode: both as without --fast-path.
    for args, tag in ((["-p", eperm], "deny_errno EPERM"), (["-p", profile, "--mode", "complain"], "complain")):
        o = both(args, ["/usr/bin/env", "true"], env=penv)
        check((o["fast"].returncode, o["fast"].stderr.splitlines()[:1]) ==
              (o["strict"].returncode, o["strict"].stderr.splitlines()[:1]),
              f"{tag}: env true as without --fast-path: {o['fast'].returncode} {o['fast'].stderr!r} "
              f"vs {o['strict'].returncode} {o['strict'].stderr!r}")
        check(denials(o["fast_log"]) == denials(o["strict_log"]), f"{tag}: the same denial records")
    check(o["fast"].returncode == 0, "complain mode: env true runs")
    wd = [d.get("via") for d in decisions(o["fast_log"]) if d.get("decision") == "would-deny"]
    # (The missing candidate in the unlisted PATH directory is ENOENT, not a would-deny.)
    check(all(v == "seccomp" for v in wd), f"complain mode: would-deny from the supervisor only: {wd}")

    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    print("all fast-path probe checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
