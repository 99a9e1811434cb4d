#!/usr/bin/python3
"""A process outside the session keeps its memory, environment and descriptors to itself
even when the profile reads and writes all of /proc: the supervisor opens files with its
own rights, which reach any process of its user (or every process, as root), so it must
refuse what the kernel would refuse the tracee (files behind a ptrace check, writes).
The victim (outside) holds a token in its environment; the attempts run under guardian on
both backends, with and without Landlock; the real effects are checked: the token never
comes out, the victim's oom_score_adj is unchanged, a SIGKILL through a descriptor of
its /proc directory is refused, the session still reads its own
/proc/self files and the outsider's unguarded status, as natively. Env: GUARDIAN."""
import os
import secrets
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from session_lib import GUARDIAN, check, exit_with_results, require_supervision, run_env, \
    scratch_root

root = scratch_root("guardian-procout-")
token = "tok-" + secrets.token_hex(8)
victim = subprocess.Popen(["sleep", "120"], env=dict(os.environ, VICTIM_TOKEN=token))
before_adj = open(f"/proc/{victim.pid}/oom_score_adj").read()

PROGRAM = r"""
import os, signal, sys
v = sys.argv[1]
out = []
for name in ["environ", "auxv", "maps", "smaps", "mem", "stack", "cwd/.", "root/etc/hostname",
             "fd/0", "task/" + v + "/environ"]:
    try:
        with open(f"/proc/{v}/{name}", "rb") as f:
            data = f.read(65536) if name != "mem" else f.read(0)
        out.append(f"{name}=read:{data.decode('latin-1')}")
    except OSError as e:
        out.append(f"{name}=err:{e.errno}")
try:
    with open(f"/proc/{v}/oom_score_adj", "w") as f:
        f.write("1000")
    out.append("oom=written")
except OSError as e:
    out.append(f"oom=err:{e.errno}")
try:  # pidfd_send_signal takes a /proc/PID directory as well as a pidfd
    d = os.open(f"/proc/{v}", os.O_RDONLY | os.O_DIRECTORY)
    signal.pidfd_send_signal(d, signal.SIGKILL)
    out.append("procdir-kill=sent")
except OSError as e:
    out.append(f"procdir-kill=err:{e.errno}")
out.append("status=" + ("ok" if open(f"/proc/{v}/status").read().startswith("Name:") else "bad"))
out.append("self-environ=" + ("ok" if b"PATH=" in open("/proc/self/environ", "rb").read() else "bad"))
out.append("self-maps=" + ("ok" if len(open("/proc/self/maps").read()) > 0 else "bad"))
print("\n".join(out))
"""

profile = os.path.join(root, "p.yaml")
with open(profile, "w") as f:
    f.write('version: 1\nname: proc-all\nextends: [base]\nfiles:\n'
            '  read: ["/proc/**", "/etc/**"]\n  write: ["/proc/**"]\n'
            'exec:\n  allow: ["/usr/bin/python3*"]\n')
env = run_env(root, root)
require_supervision([GUARDIAN, "run", "-p", profile, "--", "/usr/bin/true"], cwd=root, env=env)
try:
    for extra in ([], ["--no-landlock"], ["--backend", "ptrace"], ["--backend", "ptrace", "--no-landlock"]):
        what = " ".join(extra) or "default"
        r = subprocess.run([GUARDIAN, "run", "-p", profile] + extra +
                           ["--", "/usr/bin/python3", "-c", PROGRAM, str(victim.pid)],
                           capture_output=True, text=True, env=env, cwd=root, timeout=60)
        got = r.stdout + r.stderr
        check(r.returncode == 0, f"{what}: the program ran (status {r.returncode}, {r.stderr[-300:]!r})")
        check(token not in got, f"{what}: the outsider's environment did not come out")
        for name in ["environ", "auxv", "maps", "smaps", "mem", "stack", "cwd/.", "fd/0"]:
            check(f"{name}=err:13" in r.stdout, f"{what}: /proc/VICTIM/{name} refused (EACCES)")
        check("oom=err:13" in r.stdout, f"{what}: the outsider's oom_score_adj was not written")
        check("procdir-kill=err:1" in r.stdout, f"{what}: SIGKILL through a /proc/VICTIM descriptor refused")
        check(victim.poll() is None, f"{what}: the outsider lives")
        check(open(f"/proc/{victim.pid}/oom_score_adj").read() == before_adj,
              f"{what}: the outsider's oom_score_adj is unchanged")
        for ok in ["status=ok", "self-environ=ok", "self-maps=ok"]:
            check(ok in r.stdout, f"{what}: {ok} (as natively)")
finally:
    victim.kill()
exit_with_results()
