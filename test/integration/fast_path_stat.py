#!/usr/bin/python3
"""guardian run --fast-path answers the stat family and access in one statx (and a
faccessat2) when no symbolic link lies before the last component (issue 8): every field of
stat, lstat, fstatat, statx and every access mode, errno included, is what the program
gets natively, for files, directories, devices, links as the last component, missing names,
names under a file, "/", "//", "." and ".."; realpath(3) walks the same names with the same
answers and the same decision records as the supervisor writes; and a directory the shim found link-free,
then replaced by a link within the session, is decided again by the object the link leads
to (denied here, as without --fast-path), never by the remembered answer.
Exit 77 when this guardian cannot supervise here."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from session_lib import GUARDIAN, check, decisions, failures, in_scratch, run  # noqa: E402 (the test's own directory)

FAST_PROBE = os.environ["FAST_PROBE"]


def main():
    return in_scratch("guardian-fast-stat-", body)


def body(tmp):
    work = os.path.join(tmp, "work")
    env = {"PATH": "/usr/bin:/bin", "HOME": work, "LANG": "C.UTF-8", "TMPDIR": work}
    outside = os.path.join(tmp, "outside")
    for d in ("sub/deeper", "empty", "d"):
        os.makedirs(os.path.join(work, d))
    os.mkdir(outside)
    for name, text in (("plain.txt", "plain\n"), ("sub/inner.txt", "inner bytes\n"), ("d/f.txt", "in d\n"),
                       ("sub/deeper/x", "")):
        with open(os.path.join(work, name), "w") as f:
            f.write(text)
    with open(os.path.join(outside, "f.txt"), "w") as f:
        f.write("OUTSIDE\n")
    os.chmod(os.path.join(work, "sub", "deeper", "x"), 0o755)
    os.chmod(os.path.join(work, "empty"), 0o500)
    os.symlink("plain.txt", os.path.join(work, "filelink"))
    os.symlink("sub", os.path.join(work, "dirlink"))
    os.symlink("nowhere", os.path.join(work, "dangling"))
    os.mkfifo(os.path.join(work, "fifo"))
    profile = os.path.join(tmp, "p.yaml")
    with open(profile, "w") as f:
        f.write(f"""version: 1
extends: [default]
files:
  read: ["{os.path.dirname(FAST_PROBE)}/**", "/dev/null"]
  write: ["{work}/**"]
audit: {{decisions: all}}
exec:
  allow: ["{FAST_PROBE}"]
""")
    paths = ["plain.txt", os.path.join(work, "plain.txt"), "sub", "sub/inner.txt", "sub/deeper/x", "empty",
             "fifo", "filelink", "dirlink", "dangling", "missing", "sub/missing", "plain.txt/x", "/",
             "/dev/null", work + "//sub//inner.txt", "sub/./inner.txt", "sub/deeper/../inner.txt",
             "./plain.txt", "sub/"]
    cmd = [FAST_PROBE, "meta"] + paths
    native = run(cmd, work, env)
    log = os.path.join(tmp, "fast.jsonl")
    fast = run([GUARDIAN, "run", "-p", profile, "-a", log, "--fast-path", "--"] + cmd, work, env)
    if fast.returncode != 0 and "cannot" in fast.stderr:
        print("SKIP: guardian --fast-path cannot run here:", fast.stderr.strip())
        return 77
    strict = run([GUARDIAN, "run", "-p", profile, "--"] + cmd, work, env)

    # 1. Every answer, field for field, as natively (and as without --fast-path).
    check(native.returncode == 0 and native.stdout.count("\n") > 300, f"native probe ran: {native.stderr}")
    for mode, out in (("--fast-path", fast), ("strict", strict)):
        diff = [(a, b) for a, b in zip(native.stdout.splitlines(), out.stdout.splitlines()) if a != b]
        check(out.stdout == native.stdout, f"stat family under {mode} as natively: {diff[:6]} {out.stderr[-400:]}")

    # 2. Decided in the process, as the supervisor would name them.
    ds = decisions(log)
    inner = os.path.join(work, "sub", "inner.txt")
    mine = {(d.get("syscall"), d.get("path")) for d in ds if d.get("via") == "preload"}
    for sc in ("newfstatat", "statx", "access", "faccessat2"):
        check((sc, inner) in mine, f"{sc} of {inner} decided in-process: {sorted(mine)[:12]}")
    check(not any(d.get("via") != "preload" and d.get("path") == inner for d in ds),
          "no stat of a plain file reached the supervisor")
    # The last component a link: stat decides the target, lstat the link.
    targets = {(d.get("syscall"), d.get("path")) for d in ds if d.get("raw_path") == "filelink"}
    check(("newfstatat", os.path.join(work, "plain.txt")) in targets and
          ("newfstatat", os.path.join(work, "filelink")) in targets,
          f"stat of a link decided by its target, lstat by the link: {sorted(targets)}")

    # 3. A directory found link-free, then replaced by a link to what the profile does not
    #    allow: the same look afterwards is denied, as without --fast-path.
    outs = {}
    for mode in ("native", "fast", "strict"):
        d = os.path.join(work, f"swap-{mode}")
        os.makedirs(d)
        with open(os.path.join(d, "f.txt"), "w") as f:
            f.write("mine\n")
        argv = [FAST_PROBE, "swap", d, outside]
        if mode != "native":
            argv = [GUARDIAN, "run", "-p", profile, "-a", os.path.join(tmp, f"swap-{mode}.jsonl")] + \
                   (["--fast-path"] if mode == "fast" else []) + ["--"] + argv
        out = run(argv, work, env).stdout.replace(f"swap-{mode}", "swap-X")
        outs[mode] = "\n".join(ln for ln in out.splitlines() if " before-" not in ln)
    check("after-stat 0 " in outs["native"], f"natively the link is followed: {outs['native']}")
    check("after-stat -1 errno=EACCES" in outs["strict"] and "after-lstat -1 errno=EACCES" in outs["strict"],
          f"without --fast-path the look through the new link is denied: {outs['strict']}")
    check(outs["fast"] == outs["strict"], f"--fast-path after the swap as the supervisor:\n{outs['fast']}\n---\n{outs['strict']}")
    den = [d for d in decisions(os.path.join(tmp, "swap-fast.jsonl")) if d.get("decision") == "deny"]
    check(den and all(d.get("path") == os.path.join(outside, "f.txt") for d in den),
          f"denied by the real path behind the new link: {den!r}")

    # 4. realpath(3) of written-normalised names: the directories known link-free are not
    #    asked again; the answer, errno, the buffer left behind and every readlink record
    #    are as glibc's own walk under the supervisor.
    rp = ["plain.txt", "sub/inner.txt", "sub/deeper/x", "sub/missing/x", "sub/deeper/nothing", "missing",
          "plain.txt/x", "plain.txt/x/y", "dirlink/inner.txt", "filelink", "dangling", "fifo",
          os.path.join(work, "sub", "deeper"), os.path.join(work, "sub", "gone", "x"), "/usr/bin/env"]
    native = run([FAST_PROBE, "realpath"] + rp, work, env)
    logs, outs = {}, {}
    for mode in ("fast", "strict"):
        logs[mode] = os.path.join(tmp, f"rp-{mode}.jsonl")
        outs[mode] = run([GUARDIAN, "run", "-p", profile, "-a", logs[mode]] +
                         (["--fast-path"] if mode == "fast" else []) + ["--", FAST_PROBE, "realpath"] + rp,
                         work, env).stdout
    check(native.stdout and outs["fast"] == native.stdout,
          f"realpath under --fast-path as natively:\n{outs['fast']}\n---\n{native.stdout}")
    check(outs["strict"] == native.stdout, f"realpath without --fast-path as natively: {outs['strict']}")

    def walk(path):
        return sorted((d.get("syscall"), d.get("op"), d.get("path"), d.get("decision"))
                      for d in decisions(path) if d.get("syscall") in ("readlink", "faccessat2"))
    check(walk(logs["fast"]) == walk(logs["strict"]),
          f"realpath's records equal with and without --fast-path:\n{walk(logs['fast'])}\n---\n{walk(logs['strict'])}")
    via = {d.get("via") for d in decisions(logs["fast"])
           if d.get("syscall") == "readlink" and d.get("path") == os.path.join(work, "sub", "missing")}
    check(via == {"preload"}, f"a walk that ends at a missing name made in-process: {via}")

    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    print("all fast-path stat checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
