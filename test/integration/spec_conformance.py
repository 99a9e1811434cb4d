#!/usr/bin/python3
"""Conformance checks of /work/shared/spec.md statements that an audit found broken: each
check runs guardian for real and compares what a user sees with the contract's words."""
import json
import os
import socket
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from session_lib import GUARDIAN, check, decisions, exit_with_results, in_scratch, require_supervision, run, run_env  # noqa: E402

PY = "/usr/bin/python3"


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def profile(root, extra=""):
    """base + exec of /usr/bin/* + reading the scratch root, plus `extra` YAML."""
    return write(os.path.join(root, "p.yaml"),
                 "version: 1\nextends: [base]\nexec:\n  allow: [\"/usr/bin/*\"]\n"
                 f"files:\n  read: [\"{root}/**\"]\n" + extra)


def records(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def abstract_unix(root):
    """spec §2: `unix:@NAME` is an abstract socket; connect to an allowed one succeeds, and a
    denied one's tip names it."""
    name = f"guardian-spec-{os.getpid()}"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind("\0" + name)
    srv.listen(8)
    stop = threading.Event()

    def serve():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                srv.accept()[0].close()
            except OSError:
                pass
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    prog = write(os.path.join(root, "c.py"),
                 "import socket, sys\n"
                 "for n in sys.argv[1:]:\n"
                 "    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
                 "    try:\n        s.connect('\\0' + n); print(n, 'ok')\n"
                 "    except OSError as e: print(n, e.errno)\n")
    prof = profile(root, f"network:\n  connect: [\"unix:@{name}\"]\n")
    log = os.path.join(root, "a.jsonl")
    env = run_env(root, root)
    native = run([PY, prog, name], root, env)
    p = require_supervision([GUARDIAN, "run", "-p", prof, "-a", log, "--", PY, prog, name, name + "-other"],
                            cwd=root, env=env)
    stop.set()
    t.join()
    check(native.stdout == f"{name} ok\n", "native connect to the abstract socket works", native.stdout)
    check(p.stdout.splitlines()[:1] == [f"{name} ok"], "unix:@NAME allows connect() to that abstract socket",
          p.stdout + p.stderr)
    check(p.stdout.splitlines()[1:] == [f"{name}-other 13"], "another abstract name is denied (EACCES)",
          p.stdout)
    bprof = profile(root, f"network:\n  bind: [\"unix:@{name}-b*\"]\n")
    bind = ("import socket, sys\nfor n in sys.argv[1:]:\n    s = socket.socket(socket.AF_UNIX)\n"
            "    try:\n        s.bind('\\0' + n); print(n, 'ok')\n    except OSError as e: print(n, e.errno)\n")
    b = require_supervision([GUARDIAN, "run", "-p", bprof, "--", PY, "-c", bind, name + "-b1", name + "-x"],
                            cwd=root, env=run_env(root, root))
    check(b.stdout.splitlines() == [f"{name}-b1 ok", f"{name}-x 13"],
          "bind: unix:@GLOB allows binding a matching abstract name only", b.stdout + b.stderr)
    tips = [r.get("tip") for r in decisions(log) if r.get("addr") == f"unix:@{name}-other"]
    check(tips == [f'network: {{connect: ["unix:@{name}-other"]}}'],
          "a denied abstract connect's tip names the socket", str(tips))


def allow_has_rule(root):
    """spec §3: `rule` is absent only when nothing matched and the default denied: every
    allow names what allowed it (the COMMAND itself, socket creation)."""
    prof = profile(root)
    log = os.path.join(root, "a.jsonl")
    p = require_supervision([GUARDIAN, "run", "-p", prof, "-a", log, "--", PY, "-c",
                             "import socket; socket.socket(socket.AF_INET, socket.SOCK_STREAM)"],
                            cwd=root, env=run_env(root, root))
    check(p.returncode == 0, "python creating a socket runs", p.stderr)
    ds = decisions(log)
    bare = [r for r in ds if r.get("decision") == "allow" and not isinstance(r.get("rule"), dict)]
    check(ds and not bare, "every allow decision carries a rule", json.dumps(bare[:2]))
    first = ds[0] if ds else {}
    check(first.get("op") == "exec" and first.get("rule", {}).get("file") == "guardian:command",
          "the COMMAND's own exec names guardian:command as its rule", json.dumps(first))


def explain_dangling_link(root):
    """spec §1: explain resolves the path as the kernel would; a dangling symlink is followed
    (writing through it creates its target), so explain and run agree on it."""
    os.makedirs(os.path.join(root, "out"))
    prof = write(os.path.join(root, "p.yaml"),
                 "version: 1\nextends: [base]\nexec:\n  allow: [\"/usr/bin/*\"]\n"
                 f"files:\n  write: [\"{root}/out/**\"]\n  deny: [\"**/.env\"]\n")
    link = os.path.join(root, "out", "innocent")
    os.symlink(".env", link)
    e = subprocess.run([GUARDIAN, "profile", "explain", prof, "--write", link], capture_output=True, text=True)
    lines = e.stdout.splitlines()
    check(e.returncode == 1 and lines[:1] == ["deny"] and f"path: {root}/out/.env" in lines,
          "explain --write through a dangling symlink decides its target", e.stdout + e.stderr)
    p = require_supervision([GUARDIAN, "run", "-p", prof, "--", "/bin/sh", "-c", f"echo x > {link}"],
                            cwd=root, env=run_env(root, root))
    check(p.returncode != 0 and not os.path.exists(os.path.join(root, "out", ".env")),
          "run denies the same write", p.stderr)


def name_and_counts(root):
    """spec §2: `name` is shown in the audit log; with `audit: {decisions: deny}` allows are
    not written, but session_end's counts still count them (with and without the shim), and
    a would-deny carries the errno enforce mode would have returned (spec §3: on denials)."""
    prof = write(os.path.join(root, "p.yaml"),
                 "version: 1\nname: my-tool\nextends: [base]\naudit: {decisions: deny}\n")
    for opts in ([], ["--no-preload"], ["--fast-path"]):
        log = os.path.join(root, "a.jsonl")
        if os.path.exists(log):
            os.unlink(log)
        p = require_supervision([GUARDIAN, "run", *opts, "-p", prof, "-a", log, "--", "/usr/bin/cat", prof],
                                cwd=root, env=run_env(root, root))
        rs = records(log)
        start, end = rs[0], rs[-1]
        check(start.get("profile_name") == "my-tool", f"session_start names the profile {opts}", json.dumps(start)[:300])
        allows = [r for r in rs if r.get("decision") == "allow"]
        counts = end.get("counts", {})
        check(p.returncode == 1 and not allows and counts.get("deny") == 1 and counts.get("allow", 0) > 0,
              f"decisions: deny writes no allow, yet counts them {opts}", json.dumps(counts))
    log = os.path.join(root, "c.jsonl")
    require_supervision([GUARDIAN, "run", "--mode", "complain", "-p", prof, "-a", log, "--", "/usr/bin/cat", prof],
                        cwd=root, env=run_env(root, root))
    wd = [r for r in decisions(log) if r.get("decision") == "would-deny"]
    check(wd and all(r.get("errno") == 13 and r.get("tip") for r in wd), "would-deny records carry errno and tip",
          json.dumps(wd[:1]))


def learn_not_found(root):
    """`learn` runs COMMAND as `run` does: a command that is not found is 127 with run's one
    line (not 125 and a complaint about guardian's own temporary log); nothing is written."""
    out = os.path.join(root, "out.yaml")
    p = run([GUARDIAN, "learn", "-o", out, "--", "no-such-command-here"], root, run_env(root, root))
    check(p.returncode == 127, "learn of a missing command exits 127", f"{p.returncode}: {p.stderr}")
    check(p.stderr.strip().splitlines() == ["guardian: no-such-command-here: command not found"],
          "learn says only that the command is not found", p.stderr)
    check(not os.path.exists(out), "no profile is written")


def run_bad_profile_one_line(root):
    """spec §1: a bad profile makes `run` exit 125 with a one-line reason naming FILE:LINE:COL,
    however many errors the file has; a --set the profile does not know is refused too."""
    prof = write(os.path.join(root, "bad.yaml"), "version: 1\nbogus: 1\nfiles: {read: [rel]}\n")
    p = run([GUARDIAN, "run", "-p", prof, "--", "/bin/true"], root, run_env(root, root))
    lines = p.stderr.strip().splitlines()
    check(p.returncode == 125 and len(lines) == 1 and lines[0].startswith(f"{prof}:2:1: unknown key 'bogus'"),
          "two errors: status 125 and one line naming the first", p.stderr)
    good = write(os.path.join(root, "good.yaml"), "version: 1\nvars: {ws: /w}\nfiles: {read: [\"${ws}/**\"]}\n")
    p = run([GUARDIAN, "run", "-p", good, "--set", "wz=/x", "--", "/bin/true"], root, run_env(root, root))
    check(p.returncode == 125 and "--set wz" in p.stderr and len(p.stderr.strip().splitlines()) == 1,
          "a mistyped --set is refused with one line", p.stderr)


def explain_metadata_open(root):
    """spec §2: `metadata: open` lets stat-family calls through unasked, deny rules included;
    explain --stat says what run does."""
    secret = os.path.join(root, "secret")
    os.makedirs(secret)
    prof = write(os.path.join(root, "p.yaml"), "version: 1\nextends: [base]\nexec:\n  allow: [\"/usr/bin/*\"]\n"
                 f"files:\n  metadata: open\n  deny: [\"{secret}/**\"]\n")
    p = require_supervision([GUARDIAN, "run", "-p", prof, "--", PY, "-c", f"import os; os.stat({secret!r}); print('ok')"],
                            cwd=root, env=run_env(root, root))
    e = subprocess.run([GUARDIAN, "profile", "explain", prof, "--stat", secret], capture_output=True, text=True)
    check(p.stdout == "ok\n", "run: stat under a deny rule goes through with metadata: open", p.stdout + p.stderr)
    check(e.returncode == 0 and e.stdout.splitlines()[:1] == ["allow"], "explain --stat says allow too", e.stdout)


SPEC_FIELDS = {  # spec.md §3: the fields each event carries beyond v, ts, seq, session, event
    "session_start": ["argv", "cwd", "profile", "profile_sha256", "mode", "backend", "guardian_version", "uid"],
    "decision": ["pid", "tid", "ppid", "exe", "syscall", "category", "op", "decision", "via"],
    "process": ["pid", "ppid", "what", "exe", "status"],
    "limit": ["which", "value"],
    "session_end": ["exit_status", "signal", "duration_s", "counts"],
}


def audit_record_fields(root):
    """spec §3, field by field, on both backends: every record has v 1, an RFC 3339 UTC ts
    with nanoseconds, a gap-free seq and the session id; each event its fields; a decision
    path and raw_path or addr, category, decision and via from the spec's lists, a rule
    with file, line and pattern where present, errno and tip on denials; process what is
    spawn, exec or exit; a wall limit's record says wall; session_end's counts add up."""
    import re
    os.makedirs(os.path.join(root, "private"))
    write(os.path.join(root, "private", "secret"), "s\n")
    prof = write(os.path.join(root, "p.yaml"), "version: 1\nextends: [base]\nexec:\n  allow: [\"/usr/bin/*\"]\n"
                 f"files:\n  read: [\"{root}/*.yaml\"]\n")
    script = ("cat p.yaml >/dev/null; cat private/secret; "
              "/usr/bin/python3 -c 'import socket; socket.socket().connect((\"127.0.0.1\", 9))'; sleep 20")
    ts_re = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z")
    for backend in ("seccomp", "ptrace"):
        log = os.path.join(root, f"{backend}.jsonl")
        p = require_supervision([GUARDIAN, "run", "--backend", backend, "--timeout", "3", "-p", prof, "-a", log, "--",
                                 "/bin/sh", "-c", script], cwd=root, env=run_env(root, root))
        check(p.returncode == 124, f"{backend}: the wall limit ends the session with 124", f"{p.returncode} {p.stderr}")
        rs = records(log)
        events = [r.get("event") for r in rs]
        check(events[:1] == ["session_start"] and events[-1:] == ["session_end"],
              f"{backend}: session_start first, session_end last", str(events[:2] + events[-2:]))
        check([r.get("seq") for r in rs] == list(range(1, len(rs) + 1)), f"{backend}: seq is 1, 2, ... without gaps")
        sessions = {r.get("session") for r in rs}
        check(len(sessions) == 1 and all(isinstance(x, str) and x for x in sessions), f"{backend}: one session id",
              str(sessions))
        bad = []
        for r in rs:
            ev = r.get("event")
            miss = [k for k in ["v", "ts"] + SPEC_FIELDS.get(ev, ["?"]) if k not in r]
            if r.get("v") != 1 or not ts_re.fullmatch(str(r.get("ts"))):
                miss.append("v/ts")
            if ev == "decision":
                if not ("addr" in r or ("path" in r and "raw_path" in r)):
                    miss.append("path+raw_path|addr")
                if r.get("category") not in ("file", "exec", "network", "process", "system"):
                    miss.append("category")
                if r.get("decision") not in ("allow", "deny", "would-deny", "kill"):
                    miss.append("decision")
                if r.get("via") not in ("bpf", "seccomp", "ptrace", "preload"):
                    miss.append("via")
                if "rule" in r and not all(k in r["rule"] for k in ("file", "line", "pattern")):
                    miss.append("rule")
                if r.get("decision") != "allow" and not (isinstance(r.get("errno"), int) and r.get("tip")):
                    miss.append("errno/tip")
            if ev == "process" and r.get("what") not in ("spawn", "exec", "exit"):
                miss.append("what")
            if miss:
                bad.append((miss, json.dumps(r)[:200]))
        check(not bad, f"{backend}: every record has the spec's fields", str(bad[:3]))
        start, end = rs[0], rs[-1]
        check(start.get("backend") == backend and start.get("mode") == "enforce" and start.get("profile") == prof
              and start.get("argv") == ["/bin/sh", "-c", script] and start.get("cwd") == root
              and start.get("uid") == os.getuid() and re.fullmatch(r"[0-9a-f]{64}", str(start.get("profile_sha256"))),
              f"{backend}: session_start says what ran, where, under what", json.dumps(start)[:300])
        ds = [r for r in rs if r.get("event") == "decision"]
        denied = {(r.get("op"), r.get("path") or r.get("addr")) for r in ds if r.get("decision") == "deny"}
        check(("read", os.path.join(root, "private", "secret")) in denied and ("connect", "127.0.0.1:9") in denied,
              f"{backend}: the denied read and connect are recorded", str(sorted(map(str, denied))[:6]))
        check(any(r.get("decision") == "allow" and r.get("path") == prof for r in ds),
              f"{backend}: the allowed read is recorded", "")
        check(all(r.get("via") in (backend, "bpf", "preload") for r in ds), f"{backend}: via names the backend",
              str({r.get("via") for r in ds}))
        whats = {r.get("what") for r in rs if r.get("event") == "process"}
        check(whats == {"spawn", "exec", "exit"}, f"{backend}: process records for spawn, exec and exit", str(whats))
        limits = [(r.get("which"), r.get("value")) for r in rs if r.get("event") == "limit"]
        check(limits == [("wall", "3s")], f"{backend}: one limit record, which wall", str(limits))
        counts = end.get("counts", {})
        by = {}
        for r in ds:
            by[r["decision"]] = by.get(r["decision"], 0) + 1
        check(end.get("exit_status") == 124 and isinstance(end.get("duration_s"), (int, float))
              and all(counts.get(k, 0) == n for k, n in by.items()),
              f"{backend}: session_end has the status and counts the decisions", json.dumps(end)[:300])


def on_deny_kill_and_errno(root):
    """spec §2 on_deny and deny_errno, end to end on both backends: with `on_deny: kill`
    the process that made a denied call is killed (guardian run exits 128+9), the record
    says `kill` with its errno and tip, and session_end counts it; with `deny_errno: EPERM`
    the denied call fails with EPERM and the record says errno 1."""
    os.makedirs(os.path.join(root, "private"))
    secret = write(os.path.join(root, "private", "secret"), "s\n")
    base = "version: 1\nextends: [base]\nexec:\n  allow: [\"/usr/bin/*\"]\n"
    kill = write(os.path.join(root, "kill.yaml"), base + "on_deny: kill\n")
    eperm = write(os.path.join(root, "eperm.yaml"), base + "deny_errno: EPERM\n")
    prog = f"import os\ntry:\n    open({secret!r})\nexcept OSError as e:\n    print(e.errno)\nprint('after')\n"
    for backend in ("seccomp", "ptrace"):
        log = os.path.join(root, f"k-{backend}.jsonl")
        p = require_supervision([GUARDIAN, "run", "--backend", backend, "-p", kill, "-a", log, "--", PY, "-I", "-c", prog],
                                cwd=root, env=run_env(root, root))
        check(p.returncode == 137 and "after" not in p.stdout, f"{backend}: on_deny: kill ends the process, status 137",
              f"{p.returncode}: {p.stdout!r} {p.stderr[-300:]!r}")
        rs = records(log)
        ks = [r for r in rs if r.get("event") == "decision" and r.get("path") == secret]
        check([r.get("decision") for r in ks] == ["kill"] and ks[0].get("errno") == 13 and ks[0].get("tip"),
              f"{backend}: the denial is recorded as kill, with errno and tip", json.dumps(ks)[:300])
        check(rs and rs[-1].get("counts", {}).get("kill") == 1, f"{backend}: session_end counts one kill",
              json.dumps(rs[-1:])[:300])
        log = os.path.join(root, f"e-{backend}.jsonl")
        p = require_supervision([GUARDIAN, "run", "--backend", backend, "-p", eperm, "-a", log, "--", PY, "-I", "-c", prog],
                                cwd=root, env=run_env(root, root))
        check(p.returncode == 0 and p.stdout == "1\nafter\n", f"{backend}: deny_errno: EPERM makes the open fail with EPERM",
              f"{p.returncode}: {p.stdout!r} {p.stderr[-300:]!r}")
        es = [(r.get("decision"), r.get("errno"), r.get("errno_name")) for r in decisions(log) if r.get("path") == secret]
        check(es == [("deny", 1, "EPERM")], f"{backend}: its record says errno 1 (EPERM)", str(es))


def env_end_to_end(root):
    """spec §2 `env`, as the command sees it: under `default` names that look like
    credentials are dropped and the rest pass; with `keep` only matching names pass, minus
    `drop`, and `set` adds or replaces (values may use variables)."""
    env = dict(run_env(root, root), GH_TOKEN="t", AWS_SECRET_ACCESS_KEY="a", DB_PASSWORD="p", API_KEY="k",
               PLAIN="ok", LC_ALL="C", LC_SECRET="x", FOO="old")
    p = require_supervision([GUARDIAN, "run", "--no-preload", "--", "/usr/bin/env"], cwd=root, env=env)
    seen = dict(line.split("=", 1) for line in p.stdout.splitlines() if "=" in line)
    check(p.returncode == 0 and not {"GH_TOKEN", "AWS_SECRET_ACCESS_KEY", "DB_PASSWORD", "API_KEY"} & set(seen)
          and seen.get("PLAIN") == "ok" and seen.get("HOME") == root,
          "default: credential-like names dropped, the rest passed", str(sorted(seen)))
    prof = write(os.path.join(root, "env.yaml"), "version: 1\nextends: [base]\nexec: {allow: [/usr/bin/env]}\nenv:\n"
                 "  keep: [PATH, \"LC_*\", FOO]\n  drop: [\"*SECRET*\"]\n  set: {FOO: \"${HOME}/new\"}\n")
    p = require_supervision([GUARDIAN, "run", "--no-preload", "-p", prof, "--", "/usr/bin/env"], cwd=root, env=env)
    seen = dict(line.split("=", 1) for line in p.stdout.splitlines() if "=" in line)
    want = {"PATH": env["PATH"], "LC_ALL": "C", "FOO": f"{root}/new"}
    extra = {k: v for k, v in seen.items() if k not in want}
    check(p.returncode == 0 and all(seen.get(k) == v for k, v in want.items()) and not extra,
          "keep: only PATH, LC_* and FOO pass, LC_SECRET dropped, FOO set from ${HOME}", str(seen))


def profile_limits(root):
    """spec §2 `limits` and §1 `--timeout`: the profile's wall limit ends the session (124,
    a limit record with the profile's value), and --timeout overrides it either way."""
    import time
    prof = write(os.path.join(root, "p.yaml"), "version: 1\nextends: [default]\nlimits: {wall: 1s}\n")
    env = run_env(root, root)
    log = os.path.join(root, "a.jsonl")
    t0 = time.monotonic()
    p = require_supervision([GUARDIAN, "run", "-p", prof, "-a", log, "--", "/bin/sleep", "8"], cwd=root, env=env)
    took = time.monotonic() - t0
    lim = [(r.get("which"), r.get("value")) for r in records(log) if r.get("event") == "limit"]
    check(p.returncode == 124 and took < 6 and "wall time limit (1s)" in p.stderr and lim == [("wall", "1s")],
          "limits: {wall: 1s} ends sleep 8 with 124 and a limit record", f"{p.returncode} {took:.1f}s {lim} {p.stderr!r}")
    p = require_supervision([GUARDIAN, "run", "-p", prof, "--timeout", "20s", "--", "/bin/sleep", "2"], cwd=root, env=env)
    check(p.returncode == 0, "--timeout 20s overrides the profile's 1s: sleep 2 ends by itself", f"{p.returncode} {p.stderr!r}")
    t0 = time.monotonic()
    p = require_supervision([GUARDIAN, "run", "-p", "default", "--timeout", "500ms", "--", "/bin/sleep", "8"],
                            cwd=root, env=env)
    check(p.returncode == 124 and time.monotonic() - t0 < 6, "--timeout 500ms ends sleep 8 with 124", str(p.returncode))


def audit_survives_crash(root):
    """spec §3: the log is flushed so that a crash loses at most the line being written:
    guardian killed with SIGKILL mid-session leaves whole lines, gap-free up to the last
    decision made before the kill (the denial of a secret included), and `audit verify`
    reports the log as cut short (status 1), not as unreadable."""
    import signal
    import time
    secret = write(os.path.join(root, "secret"), "s\n")
    ready = os.path.join(root, "ready")
    prof = write(os.path.join(root, "p.yaml"), "version: 1\nextends: [default]\n"
                 f"files:\n  deny: [\"{secret}\"]\n")
    log = os.path.join(root, "a.jsonl")
    g = subprocess.Popen([GUARDIAN, "run", "-p", prof, "-a", log, "--", "/bin/sh", "-c",
                          f"cat {secret}; : > {ready}; exec /bin/sleep 30"], cwd=root, env=run_env(root, root),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for _ in range(200):
        if os.path.exists(ready):
            break
        time.sleep(0.05)
    time.sleep(0.2)
    g.send_signal(signal.SIGKILL)
    g.communicate(timeout=30)
    with open(log) as f:
        lines = f.read().split("\n")
    check(lines[-1] == "", "the log ends with a whole line", repr(lines[-1][:100]))
    try:
        rs = [json.loads(line) for line in lines if line]
    except ValueError as e:
        rs = []
        check(False, "every line is a JSON record", str(e))
    check([r.get("seq") for r in rs] == list(range(1, len(rs) + 1)) and rs and rs[-1].get("event") != "session_end",
          "records gap-free from seq 1, no session_end", str([r.get("event") for r in rs[-3:]]))
    check(any(r.get("event") == "decision" and r.get("path") == secret and r.get("decision") == "deny" for r in rs),
          "the denial made before the kill is in the log")
    v = subprocess.run([GUARDIAN, "audit", "verify", log], capture_output=True, text=True, timeout=60)
    check(v.returncode == 1 and "FAILED" in v.stdout + v.stderr, "audit verify: the log is cut short (status 1)",
          f"{v.returncode}: {v.stdout[-300:]} {v.stderr[-300:]}")


for case in (explain_metadata_open, abstract_unix, allow_has_rule, explain_dangling_link, name_and_counts, learn_not_found,
             run_bad_profile_one_line, audit_record_fields,
             on_deny_kill_and_errno, env_end_to_end, profile_limits,
             audit_survives_crash):
    print("#", case.__name__)
    in_scratch("guardian-spec-", case)
exit_with_results()
