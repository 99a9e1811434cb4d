#!/usr/bin/python3
"""guardian run --fast-path through symbolic links (issue 8): stat, lstat, access, open and
fopen of paths with links on the way give what they give natively, and are decided in the
process (via "preload") by the object the links lead to, as the supervisor decides them; a
link to a denied file, a link out of the allowed tree, a dangling link and a link loop still
reach the supervisor (via "seccomp"), which denies or answers as natively.
Exit 77 when this guardian cannot supervise here."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from session_lib import GUARDIAN, check, decisions, failures, in_scratch, run  # noqa: E402 (the test's own directory)

FAST_PROBE = os.environ["FAST_PROBE"]


def main():
    return in_scratch("guardian-fast-links-", body)


def body(tmp):
    work = os.path.join(tmp, "work")
    # HOME and TMPDIR inside the tree: `outside` is then nothing the profile allows.
    env = {"PATH": "/usr/bin:/bin", "HOME": work, "LANG": "C.UTF-8", "TMPDIR": work}
    outside = os.path.join(tmp, "outside")
    os.makedirs(os.path.join(work, "real", "deep"))
    os.mkdir(outside)
    with open(os.path.join(work, "real", "deep", "f.txt"), "w") as f:
        f.write("deep bytes\n")
    with open(os.path.join(work, "secret.txt"), "w") as f:
        f.write("TOP-SECRET\n")
    with open(os.path.join(outside, "o.txt"), "w") as f:
        f.write("OUTSIDE-BYTES\n")
    os.symlink("real", os.path.join(work, "dirlink"))                 # a directory link
    os.symlink("real/deep/f.txt", os.path.join(work, "filelink"))    # a file link
    os.symlink("dirlink/deep", os.path.join(work, "chain"))          # a link through a link
    os.symlink("secret.txt", os.path.join(work, "to-secret"))        # to a denied file
    os.symlink(outside, os.path.join(work, "to-outside"))            # out of the tree
    os.symlink("nowhere", os.path.join(work, "dangling"))
    os.symlink("loop", os.path.join(work, "loop"))
    profile = os.path.join(tmp, "p.yaml")
    with open(profile, "w") as f:
        f.write(f"""version: 1
extends: [default]
files:
  read: ["{os.path.dirname(FAST_PROBE)}/**"]
  write: ["{work}/**"]
  deny: ["{work}/secret*"]
audit: {{decisions: all}}
exec:
  allow: ["{FAST_PROBE}"]
""")
    paths = ["dirlink/deep/f.txt", "filelink", "chain/f.txt", "chain/../deep/f.txt", "dirlink/.",
             os.path.join(work, "dirlink", "deep"), "dirlink/deep/missing", "dirlink/gone/.",
             "dirlink/gone//deeper/x", "to-secret", "to-outside/o.txt", "dangling", "loop", "filelink/x", "to-outside/nothing"]
    cmd = [FAST_PROBE, "paths"] + paths
    native = run(cmd, work, env)
    log = os.path.join(tmp, "fast.jsonl")
    fast = run([GUARDIAN, "run", "-p", profile, "-a", log, "--fast-path", "--"] + cmd, work, env)
    if fast.returncode != 0 and "cannot" in fast.stderr:
        print("SKIP: guardian --fast-path cannot run here:", fast.stderr.strip())
        return 77
    strict = run([GUARDIAN, "run", "-p", profile, "--"] + cmd, work, env)

    # 1. Allowed paths through links: exactly what they give natively.
    def lines(out, prefixes):
        return [ln for ln in out.splitlines() if ln.split(" ")[0] in prefixes]
    allowed = paths[:9]
    check(native.stdout and lines(fast.stdout, allowed) == lines(native.stdout, allowed),
          f"through links under --fast-path as natively:\n{fast.stdout}\n---\n{native.stdout}")
    check(lines(strict.stdout, allowed) == lines(native.stdout, allowed),
          f"through links without --fast-path as natively:\n{strict.stdout}")
    # The dangling link and the loop: the same errors as natively (ENOENT, ELOOP).
    odd = ["dangling", "loop", "filelink/x"]
    check(lines(fast.stdout, odd) == lines(native.stdout, odd),
          f"dangling link, loop, file as a directory as natively:\n{fast.stdout}")

    # 2. They were decided in the process, by the object the links lead to.
    ds = decisions(log)
    deep = os.path.join(work, "real", "deep", "f.txt")
    mine = [d for d in ds if d.get("path") == deep and d.get("via") == "preload"]
    raws = {d.get("raw_path") for d in mine}
    check({"dirlink/deep/f.txt", "filelink", "chain/f.txt"} <= raws,
          f"opens and stats through links recorded by the fast path by their real path: {sorted(raws)}")
    check(any(d.get("syscall") == "openat" and d.get("op") == "read" and d.get("raw_path") == "filelink"
              for d in mine), "the open through a link is a read of the real file in the log")
    check(not any(d.get("via") != "preload" and d.get("path") == deep for d in ds),
          "no call on the linked file reached the supervisor")

    # A missing name behind a link: decided in the process by the real path of the deepest
    # directory that exists and the rest, as the supervisor's walk decides it (and ENOENT,
    # as natively).
    for raw, real in (("dirlink/deep/missing", os.path.join(work, "real", "deep", "missing")),
                      ("dirlink/gone/.", os.path.join(work, "real", "gone")),
                      ("dirlink/gone//deeper/x", os.path.join(work, "real", "gone", "deeper", "x"))):
        got = {(d.get("path"), d.get("via")) for d in ds if d.get("raw_path") == raw}
        check(got == {(real, "preload")}, f"{raw}: decided in-process as {real}: {got}")
    # A dangling link is the supervisor's (it decides the link's target), and so is a
    # missing name in a directory the profile does not allow (denied: EACCES, not ENOENT).
    got = {(d.get("path"), d.get("via")) for d in ds if d.get("raw_path") == "dangling" and d.get("op") == "stat"}
    nowhere = os.path.join(work, "nowhere")
    check((nowhere, "seccomp") in got and (nowhere, "preload") not in got,
          f"dangling link followed and decided by the supervisor (lstat: the link, in-process): {got}")
    check("to-outside/nothing stat -1 errno=EACCES -" in fast.stdout and
          "to-outside/nothing open fail errno=EACCES " in fast.stdout,
          f"missing name behind a link out of the tree is denied: {fast.stdout}")
    got = {(d.get("decision"), d.get("via")) for d in ds if d.get("raw_path") == "to-outside/nothing"}
    check(got == {("deny", "seccomp")}, f"... by the supervisor: {got}")

    # 3. Denied through a link: the supervisor decides, denies and logs it; bytes never show.
    secret = os.path.join(work, "secret.txt")
    check("TOP-SECRET" not in fast.stdout and "OUTSIDE-BYTES" not in fast.stdout,
          f"denied bytes leaked through a link: {fast.stdout}")
    check("to-secret open fail errno=EACCES " in fast.stdout and "to-outside/o.txt open fail errno=EACCES " in fast.stdout,
          f"opens through links to denied files fail with EACCES: {fast.stdout}")
    den = [d for d in ds if d.get("decision") == "deny" and d.get("path") in (secret, os.path.join(outside, "o.txt"))]
    check(den and all(d.get("via") == "seccomp" for d in den),
          f"denials through links decided and logged by the supervisor: {den!r}")
    check(not any(d.get("via") == "preload" and d.get("path") == secret for d in ds),
          "the fast path decided nothing about the denied file")

    # 4. realpath(3) through links (glibc expands them as it walks, one readlink per
    #    component, a directory check before ".."): the same answers as natively, and the
    #    same decision records as the supervisor writes without --fast-path.
    os.symlink("dirlink/../real", os.path.join(work, "updown"))
    os.symlink(os.path.join(work, "dirlink"), os.path.join(work, "abslink"))
    rp = ["dirlink/deep/f.txt", "filelink", "chain/f.txt", "updown/deep", "abslink/deep/../deep/f.txt",
          "dangling", "loop", "dirlink/missing/x"]
    native = run([FAST_PROBE, "realpath"] + rp, work, env)
    logs = {}
    outs = {}
    for mode in ("fast", "strict"):
        logs[mode] = os.path.join(tmp, f"rp-{mode}.jsonl")
        outs[mode] = run([GUARDIAN, "run", "-p", profile, "-a", logs[mode]] +
                         (["--fast-path"] if mode == "fast" else []) + ["--", FAST_PROBE, "realpath"] + rp,
                         work, env).stdout
    check(native.stdout and outs["fast"] == native.stdout,
          f"realpath through links under --fast-path as natively:\n{outs['fast']}\n---\n{native.stdout}")
    check(outs["strict"] == native.stdout, f"realpath through links without --fast-path: {outs['strict']}")

    def walk(path):
        return [(d.get("syscall"), d.get("op"), d.get("path"), d.get("raw_path"), d.get("decision"),
                 (d.get("rule") or {}).get("pattern"))
                for d in decisions(path) if d.get("syscall") in ("readlink", "faccessat2")]
    # As multisets: the ring's records may come after the supervisor's of the same moment.
    check(sorted(walk(logs["fast"])) == sorted(walk(logs["strict"])),
          f"realpath's records equal with and without --fast-path:\n{walk(logs['fast'])}\n---\n{walk(logs['strict'])}")
    via = [d.get("via") for d in decisions(logs["fast"])
           if d.get("syscall") == "readlink" and d.get("raw_path") == os.path.join(work, "updown")]
    check(via and all(v == "preload" for v in via), f"readlinks of a walk through links made in-process: {via}")
    # A link to a denied file: the readlink of the denied name reaches the supervisor.
    r = run([GUARDIAN, "run", "-p", profile, "-a", logs["fast"], "--fast-path", "--", FAST_PROBE, "realpath",
             "to-secret"], work, env)
    check("to-secret -> NULL errno=EACCES" in r.stdout, f"realpath through a link to a denied file: {r.stdout}")
    den = [d for d in decisions(logs["fast"]) if d.get("decision") == "deny"]
    check(den and all(d.get("via") == "seccomp" and d.get("path") == secret for d in den),
          f"its denial decided and logged by the supervisor: {den!r}")

    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    print("all fast-path symlink checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
