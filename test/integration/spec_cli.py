#!/usr/bin/python3
"""Conformance of the command line, exit statuses and error messages with spec.md §1-§2
(and guardian(1)): each check runs the built guardian as a user or an acceptance suite
would and compares what it prints and returns with the contract's words."""
import json
import os
import re
import shlex
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from session_lib import GUARDIAN, check, decisions, exit_with_results, in_scratch, require_supervision, run, run_env  # noqa: E402

MAN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "man")


def write(path, text, mode="w"):
    with open(path, mode) as f:
        f.write(text)
    return path


def g(*args, cwd=None, env=None):
    """guardian ARGS..., not supervising anything: output as text."""
    return subprocess.run([GUARDIAN, *args], capture_output=True, text=True, timeout=60, cwd=cwd, env=env,
                          errors="replace")


def command_denied_by_rule(root):
    """spec §2: `deny` overrides every allow — the COMMAND's own allowance included; spec §1:
    a command that cannot be executed is 126 (here: its exec denied by the profile)."""
    prof = write(os.path.join(root, "p.yaml"),
                 "version: 1\nextends: [default]\nexec:\n  deny: [\"/usr/bin/python3*\"]\n")
    log = os.path.join(root, "a.jsonl")
    p = require_supervision([GUARDIAN, "run", "-p", prof, "-a", log, "--", "/usr/bin/python3", "-c", "print('ran')"],
                            cwd=root, env=run_env(root, root))
    check(p.returncode == 126 and "ran" not in p.stdout, "COMMAND named by exec.deny: not run, status 126",
          f"{p.returncode}: {p.stdout} {p.stderr}")
    ds = [r for r in decisions(log) if r.get("op") == "exec"]
    check(ds[:1] and ds[0].get("decision") == "deny" and ds[0].get("rule", {}).get("line") == 4
          and ds[0].get("errno") == 13, "its exec is recorded as denied by that rule", json.dumps(ds[:1]))
    q = require_supervision([GUARDIAN, "run", "-p", "default", "--", "/usr/bin/python3", "-c", "print('ran')"],
                            cwd=root, env=run_env(root, root))
    check(q.returncode == 0 and q.stdout == "ran\n", "without the deny rule the COMMAND runs", q.stderr)


def options_end_at_command(root):
    """Without `--`, the first word that is not an option starts COMMAND; what follows is
    COMMAND's (as with env(1)), a later `--` included."""
    env = run_env(root, root)
    p = require_supervision([GUARDIAN, "run", "-p", "default", "/bin/echo", "-n", "hi"], cwd=root, env=env)
    check(p.returncode == 0 and p.stdout == "hi", "guardian run -p default /bin/echo -n hi: -n is echo's",
          f"{p.returncode}: {p.stdout!r} {p.stderr}")
    p = require_supervision([GUARDIAN, "run", "/bin/echo", "a", "--", "b"], cwd=root, env=env)
    check(p.stdout == "a -- b\n", "a '--' after the command is the command's", repr(p.stdout))
    p = require_supervision([GUARDIAN, "run", "--", "/bin/echo", "--", "b"], cwd=root, env=env)
    check(p.stdout == "-- b\n", "only the first '--' ends guardian's options", repr(p.stdout))
    p = g("run", "-p", "default", cwd=root, env=env)
    check(p.returncode == 125 and len(p.stderr.splitlines()) == 1, "options and no command: 125, one line", p.stderr)


def one_line_errors(root):
    """Bad input gets one line on stderr and a non-zero status: a profile quoting a NUL or a
    newline, a missing file (`guardian: cannot read profile 'x.yaml': ...`), an unknown name."""
    nul = write(os.path.join(root, "nul.yaml"), b'version: 1\nfiles: {read: ["/a\\0b"]}\n', "wb")
    ctl = write(os.path.join(root, "ctl.yaml"), b"version: 1\x00\nfiles: {}\n", "wb")
    for f in (nul, ctl):
        p = g("profile", "check", f)
        lines = p.stderr.splitlines()
        check(p.returncode == 1 and len(lines) == 1 and re.match(re.escape(f) + r":\d+:\d+: ", lines[0])
              and "\0" not in p.stderr, f"{os.path.basename(f)}: one FILE:LINE:COL line", repr(p.stderr))
    missing = os.path.join(root, "missing.yaml")
    for args, status in ((["profile", "check", missing], 1), (["run", "-p", missing, "--", "/bin/true"], 125)):
        p = g(*args)
        check(p.returncode == status and p.stderr == f"guardian: cannot read profile '{missing}': No such file or directory\n",
              f"{args[0]} {args[1]} of a missing file: status {status}, guardian: cannot read profile ...", p.stderr)
    p = g("run", "-p", "nosuchprofile", "--", "/bin/true")
    check(p.returncode == 125 and p.stderr.startswith("guardian: unknown profile 'nosuchprofile'")
          and len(p.stderr.splitlines()) == 1, "an unknown built-in name: one guardian: line, 125", p.stderr)
    p = g("--version", "extra")
    check(p.returncode == 125 and p.stdout == "", "--version with an extra word is a usage error", p.stdout + p.stderr)


def typed_scalars(root):
    """spec §2: wrong types are errors with FILE:LINE:COL — a quoted "1", "true" or "256" is a
    string where a number or a boolean is expected, not read as what it looks like."""
    for text, col, what in (('version: "1"\n', "1:10", "'version'"),
                            ('version: 1\nnetwork: {dns: "true"}\n', "2:16", "'network.dns'"),
                            ("version: 1\nlimits: {pids: '256'}\n", "2:16", "'limits.pids'")):
        f = write(os.path.join(root, "t.yaml"), text)
        p = g("profile", "check", f)
        check(p.returncode == 1 and p.stderr.startswith(f"{f}:{col}: {what} must be"), f"{text.strip()!r} is a type error",
              p.stderr)
    f = write(os.path.join(root, "t.yaml"), "version: 1\nnetwork: {dns: true}\nlimits: {pids: 256}\n")
    p = g("profile", "check", f)
    check(p.returncode == 0 and p.stdout == f"{f}: ok\n", "unquoted, the same values are fine", p.stderr)


def learn_bad_logs(root):
    """learn --from-audit of something that is not a log (empty, a directory): status 125, one
    line, and no profile written (guardian(1): unreadable or malformed log)."""
    out = os.path.join(root, "out.yaml")
    empty = write(os.path.join(root, "empty.jsonl"), "")
    for log, says in ((empty, "no audit records"), (root, "Is a directory")):
        p = g("learn", "--from-audit", log, "-o", out)
        check(p.returncode == 125 and len(p.stderr.splitlines()) == 1 and says in p.stderr and not os.path.exists(out),
              f"learn --from-audit {os.path.basename(log) or log}: 125, '{says}', nothing written", p.stderr)


def allow_options_relative(root):
    """--allow-read with a relative path is taken from the current directory (guardian(1))."""
    os.makedirs(os.path.join(root, "data"))
    write(os.path.join(root, "data", "f"), "secret-ish\n")
    prof = write(os.path.join(root, "p.yaml"), "version: 1\nextends: [base]\n")
    env = run_env(root, root)
    p = require_supervision([GUARDIAN, "run", "-p", prof, "--", "/bin/cat", "data/f"], cwd=root, env=env)
    q = require_supervision([GUARDIAN, "run", "-p", prof, "--allow-read", "data/**", "--", "/bin/cat", "data/f"],
                            cwd=root, env=env)
    check(p.returncode == 1 and q.returncode == 0 and q.stdout == "secret-ish\n",
          "--allow-read data/** allows ./data/f, which the profile alone denies", f"{p.returncode} {q.returncode} {q.stderr}")
    # The same pattern forms as a profile's (guardian-profile(5), PATH PATTERNS).
    for pat in ("data/", "**/f"):
        q = require_supervision([GUARDIAN, "run", "-p", prof, "--allow-read", pat, "--", "/bin/cat", "data/f"],
                                cwd=root, env=env)
        check(q.returncode == 0 and q.stdout == "secret-ish\n", f"--allow-read {pat} means what it means in a profile",
              f"{q.returncode} {q.stderr}")
    q = g("run", "-p", prof, "--allow-read", "/a/*/../b", "--", "/bin/true", cwd=root, env=env)
    check(q.returncode == 125 and "'..' after a wildcard" in q.stderr, "--allow-read /a/*/../b is refused as in a profile",
          q.stderr)


def fast_path_tips(root):
    """spec §3: a denial's tip is the smallest rule that would allow it — the same text
    whoever decided: the shim's own denials under --fast-path (via preload) name paths below
    HOME and CWD as ~/... and ${CWD}/..., as the supervisor's do."""
    home, work = os.path.join(root, "home"), os.path.join(root, "work")
    os.makedirs(home)
    os.makedirs(work)
    prof = write(os.path.join(root, "p.yaml"), "version: 1\nextends: [base]\nexec: {allow: [\"/usr/bin/python3*\"]}\n")
    prog = "import os, sys\nfor p in sys.argv[1:]:\n    try: os.stat(p)\n    except OSError as e: print(e.errno)\n"
    env = {"PATH": "/usr/bin:/bin", "HOME": home, "TMPDIR": root, "LANG": "C"}
    tips = {}
    for opts in ([], ["--fast-path"]):
        log = os.path.join(root, f"a{len(opts)}.jsonl")
        p = require_supervision([GUARDIAN, "run", *opts, "-p", prof, "-a", log, "--", "/usr/bin/python3", "-c", prog,
                                 os.path.join(home, "nothere"), os.path.join(work, "nothere")], cwd=work, env=env)
        check(p.stdout == "13\n13\n", f"{opts}: both probes denied", p.stdout + p.stderr)
        tips[len(opts)] = {(r.get("path"), r.get("tip")) for r in decisions(log)
                           if r.get("decision") == "deny" and r.get("path", "").endswith("/nothere")}
        if opts:
            vias = {r.get("via") for r in decisions(log) if r.get("path", "").endswith("/nothere")}
            check("preload" in vias, "--fast-path: the shim decided the probes itself", str(vias))
    want = {(os.path.join(home, "nothere"), 'files: {read: ["~/nothere"]}'),
            (os.path.join(work, "nothere"), 'files: {read: ["${CWD}/nothere"]}')}
    check(tips[0] == want, "supervisor's tips name ~ and ${CWD}", str(tips[0]))
    check(tips[1] == want, "the shim's tips are the same", str(tips[1]))


def audit_query_globs(root):
    """guardian audit query --path takes the glob forms of profiles: a malformed one is a usage
    error (125, one line), and many wildcards against a long path still answer at once."""
    log = write(os.path.join(root, "a.jsonl"), json.dumps(
        {"v": 1, "ts": "2026-01-01T00:00:00.000000000Z", "seq": 1, "session": "s", "event": "decision", "pid": 1,
         "category": "file", "op": "read", "path": "/" + "a" * 60, "raw_path": "x", "decision": "deny"}) + "\n")
    p = g("audit", "query", log, "--path", "/a/{b")
    check(p.returncode == 125 and len(p.stderr.splitlines()) == 1 and "--path" in p.stderr,
          "--path with an unbalanced brace: 125, one line", p.stderr)
    for pat, n in (("/" + "*a" * 12 + "*b", 0), ("/" + "*a" * 12 + "*", 1), ("/{b,{c,a*}}", 1)):
        p = g("audit", "query", log, "--json", "--path", pat)
        check(p.returncode == 0 and len(p.stdout.splitlines()) == n, f"--path {pat[:20]}...: {n} record(s)", p.stderr)


SPEC_EXAMPLE = """version: 1                        # required
name: my-tool                     # optional, shown in the audit log
extends: [base]                   # built-in names or paths relative to this file; merged in order
vars:                             # your own variables; --set overrides them
  workspace: "${CWD}"
files:
  read:  ["/usr/**", "${workspace}/**"]
  write: ["${workspace}/out/**", "${TMPDIR}/**"]
  deny:  ["~/.ssh/**", "**/.env"]
  metadata: checked               # checked (default) | open
exec:
  allow: ["/usr/bin/python3*", "/usr/bin/git"]
  deny:  []
network:
  connect: ["127.0.0.1:8080", "10.0.0.0/8:443", "api.github.com:443", "*.pypi.org:443", "unix:/run/app.sock"]
  bind:    ["127.0.0.1:*"]
  deny:    []
  dns: true                       # allow queries to the resolvers of /etc/resolv.conf
limits: {wall: 10m, cpu: 5m, memory: 2GiB, pids: 256}
env:
  keep: [PATH, HOME, LANG, "LC_*", TERM]
  drop: ["*_TOKEN", "*SECRET*", "AWS_*"]
  set:  {PYTHONDONTWRITEBYTECODE: "1"}
on_deny: errno                    # errno (default) | kill | ask
deny_errno: EACCES                # the errno a denied syscall gets
audit: {decisions: all}           # all | deny
"""


def spec_example(root):
    """The example profile of spec.md §2, verbatim, loads and decides as its comments say."""
    prof = write(os.path.join(root, "spec.yaml"), SPEC_EXAMPLE)
    env = dict(run_env(root, os.path.join(root, "tmp")), HOME=os.path.join(root, "home"))
    p = g("profile", "check", prof, cwd=root, env=env)
    check(p.returncode == 0 and p.stdout == f"{prof}: ok\n", "spec.md's example profile is valid", p.stderr)
    for query, want in ((["--connect", "api.github.com:443"], "allow"), (["--connect", "x.pypi.org:443"], "allow"),
                        (["--connect", "pypi.org:443"], "deny"), (["--read", os.path.join(root, "home/.ssh/id")], "deny"),
                        (["--write", os.path.join(root, "out/x")], "allow"), (["--write", os.path.join(root, "x")], "deny"),
                        (["--read", os.path.join(root, ".env")], "deny"), (["--exec", "/usr/bin/git"], "allow")):
        e = g("profile", "explain", prof, *query, cwd=root, env=env)
        check(e.stdout.splitlines()[:1] == [want] and e.returncode == (0 if want == "allow" else 1),
              f"example: {' '.join(query)} -> {want}", e.stdout + e.stderr)


def help_matches(root):
    """--help is true to the code and the man page: `profile --help` names every built-in that
    `profile show` knows; no --help prints parser internals; every option a --help lists is
    documented in guardian(1)."""
    names = re.search(r"built-ins: ([a-z, ]+)\)", g("profile", "show", "nosuch").stderr)
    builtins = names.group(1).split(", ") if names else []
    help_text = g("profile", "--help").stdout
    show_line = next((ln for ln in help_text.splitlines() if ln.strip().startswith("show")), "")
    check(builtins and all(n in show_line for n in builtins), "profile --help lists every built-in",
          f"{builtins} vs {show_line!r}")
    with open(os.path.join(MAN, "guardian.1")) as f:
        man = f.read().replace("\\-", "-")
    helps = [["--help"], ["run", "--help"], ["learn", "--help"], ["profile", "--help"], ["audit", "--help"]]
    helps += [["profile", s, "--help"] for s in ("check", "explain", "show", "diff", "envelope")]
    helps += [["audit", s, "--help"] for s in ("summary", "query", "tree", "report", "verify")]
    for h in helps:
        p = g(*h)
        check(p.returncode == 0 and p.stdout and not p.stderr, f"{' '.join(h)}: status 0, text on stdout", p.stderr)
        check(not re.search(r"\[ --help \]|--(file|name|command) arg", p.stdout), f"{' '.join(h)}: no parser internals",
              p.stdout)
        undocumented = sorted({o for o in re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", p.stdout) if o not in man})
        check(not undocumented, f"{' '.join(h)}: every option is in guardian(1)", str(undocumented))


def man_synopsis(page):
    """The SYNOPSIS of a man page as plain text, one string per .br-separated form."""
    with open(page) as f:
        body = f.read().split(".SH SYNOPSIS\n", 1)[1].split("\n.SH ", 1)[0]
    forms = [[]]
    for line in body.splitlines():
        if line.startswith(".br"):
            forms.append([])
            continue
        m = re.match(r"\.(B|I|BR|RB|IR|RI|BI|IB)\s+(.*)", line)
        text = line
        if m:
            args = shlex.split(m.group(2).replace("\\", "\\\\"))
            text = (" " if m.group(1) in ("B", "I") else "").join(args)
        forms[-1].append(re.sub(r"\\f[BIRP]", "", text).replace("\\-", "-"))
    return [" ".join(f) for f in forms if f]


def help_usage(text):
    """The usage forms at the top of a --help text (continuation lines joined)."""
    forms = []
    for line in text.splitlines():
        if not line.strip():
            break
        body = line[len("usage:"):] if line.startswith("usage:") else line
        if body.strip().startswith("guardian"):
            forms.append(body.strip())
        elif forms and line[:1].isspace():
            forms[-1] += " " + body.strip()
        else:
            break
    return forms


def synopsis_matches_help(root):
    """guardian(1)'s SYNOPSIS and the usage lines of `guardian --help` and of each
    subcommand's --help name the same forms with the same options, and every literal word
    (subcommands, `options`) a usage line spells is in the man page's form."""
    man = man_synopsis(os.path.join(MAN, "guardian.1"))
    opts = lambda form: set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", form))
    lead = lambda form: " ".join(re.match(r"((?:guardian|[a-z]+)(?: [a-z]+)*)", form).group(1).split()[:3])
    usages = help_usage(g("--help").stdout)
    for sub in (["run"], ["learn"], ["profile", "check"], ["profile", "explain"], ["profile", "show"],
                ["profile", "diff"], ["profile", "envelope"]):
        usages += help_usage(g(*sub, "--help").stdout)
    check(len(usages) > 10, "usage lines found in the --help texts", str(usages))
    for u in usages:
        key = lead(u)
        cands = [m for m in man if lead(m) == key]
        if key == "guardian learn":
            cands = [m for m in cands if ("--from-audit" in m) == ("--from-audit" in u)]
        if key.startswith("guardian audit"):
            cands = [m for m in man if m.startswith("guardian audit")]
        if u.startswith("guardian --version") or u.startswith("guardian SUBCOMMAND"):
            cands = [m for m in man if m.startswith("guardian {--version") or m.startswith("guardian subcommand")]
            check(all(o in " ".join(cands) for o in opts(u)), f"SYNOPSIS has {u}", str(cands))
            continue
        check(len(cands) == 1, f"one SYNOPSIS form for '{u}'", str(cands))
        if len(cands) != 1:
            continue
        m = cands[0]
        check(opts(u) == opts(m), f"'{key}': the same options in --help and SYNOPSIS", f"{sorted(opts(u))} vs {sorted(opts(m))}")
        literal = {w for w in re.findall(r"(?<![\w./-])[a-z]+(?![\w./=-])", u)}
        missing = {w for w in literal if not re.search(r"(?<![\w-])" + w + r"(?![\w-])", m)}
        check(not missing, f"'{key}': every literal word of --help is in SYNOPSIS", f"{sorted(missing)}: {u} vs {m}")


def usage_and_setup_errors(root):
    """spec §1: guardian's own failures (bad option, nothing to run, an audit log it cannot
    open) are status 125 with a one-line reason on stderr that names what was wrong, and
    the command never starts; the same for every subcommand (guardian(1), COMMANDS)."""
    env = run_env(root, root)
    for args, says in ((["bogus"], "'bogus'"), ([], "missing subcommand"),
                       (["run", "--no-such-option", "--", "/bin/true"], "'--no-such-option'"),
                       (["run", "--backend", "sideways", "--", "/bin/true"], "'sideways'"),
                       (["learn", "--no-such-option", "-o", "x.yaml", "--", "/bin/true"], "'--no-such-option'"),
                       (["profile", "check", "--no-such-option", "default"], "'--no-such-option'"),
                       (["profile", "bogus"], "'bogus'"),
                       (["audit", "query", "--no-such-option", "-"], "'--no-such-option'"),
                       (["audit", "bogus"], "'bogus'")):
        p = g(*args, cwd=root, env=env)
        check(p.returncode == 125 and len(p.stderr.splitlines()) == 1 and says in p.stderr and not p.stdout,
              f"guardian {' '.join(args[:2])}: 125, one line naming {says}", f"{p.returncode}: {p.stderr!r}")
    marker = os.path.join(root, "ran")
    log = os.path.join(root, "no-such-dir", "a.jsonl")
    p = g("run", "-a", log, "--", "/bin/sh", "-c", f"touch {marker}", cwd=root, env=env)
    check(p.returncode == 125 and len(p.stderr.splitlines()) == 1 and log in p.stderr and not os.path.exists(marker),
          "an audit log that cannot be opened: 125, one line naming it, the command not run",
          f"{p.returncode}: {p.stderr!r}")


def hup_and_term(root):
    """guardian(1), ENDING A SESSION: a SIGHUP sent to guardian is forwarded to the command
    alone (its handler decides; its background jobs run on), while a SIGTERM also ends the
    rest of the session; either way the status is the command's."""
    import signal
    import time
    ready = os.path.join(root, "ready")
    script = ("trap 'echo caught' HUP TERM; (/bin/sleep 1.5; echo bg-done) & "
              f": > {ready}; wait; wait; echo end")
    for sig, want in ((signal.SIGHUP, "caught\nbg-done\nend\n"), (signal.SIGTERM, "caught\nend\n")):
        if os.path.exists(ready):
            os.unlink(ready)
        p = subprocess.Popen([GUARDIAN, "run", "-p", "default", "--", "/bin/sh", "-c", script], cwd=root,
                             env=run_env(root, root), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(200):
            if os.path.exists(ready):
                break
            time.sleep(0.05)
        p.send_signal(sig)
        out, err = p.communicate(timeout=30)
        check(p.returncode == 0 and out == want, f"{sig.name} to guardian: {want.strip().replace(chr(10), ', ')}",
              f"{p.returncode}: {out!r} {err!r}")


def profile_name_or_file(root):
    """guardian(1) -p: a word without '/' or .yaml is a built-in's name when there is one,
    else a file; ./NAME is always the file."""
    write(os.path.join(root, "default"), "version: 1\nname: mine\n")
    write(os.path.join(root, "mine"), "version: 1\nname: mine\n")
    env = run_env(root, root)
    for arg, want in (("default", "default"), ("./default", "mine"), ("mine", "mine")):
        log = os.path.join(root, f"{arg.strip('./')}{len(arg)}.jsonl")
        require_supervision([GUARDIAN, "run", "-p", arg, "-a", log, "--", "/bin/true"], cwd=root, env=env)
        with open(log) as f:
            start = json.loads(f.readline())
        check(start.get("profile_name") == want, f"-p {arg} loads {want}", json.dumps(start)[:200])


for case in (command_denied_by_rule, options_end_at_command, one_line_errors, typed_scalars, learn_bad_logs,
             allow_options_relative, fast_path_tips, audit_query_globs, spec_example,
             help_matches, synopsis_matches_help, usage_and_setup_errors,
             hup_and_term, profile_name_or_file):
    print("#", case.__name__)
    in_scratch("guardian-spec-cli-", case)
exit_with_results()
