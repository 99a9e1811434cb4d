#!/bin/sh
# Real programs whose native behaviour guardian used to change: the /proc walkers (ps, pgrep,
# top) see the session's processes and none of the others, without a word on stderr, and
# the others as natively where the profile shows them; a signal sent to guardian's group
# reaches the command once (a shell's trap ran twice); link(2) of /proc/self/fd/N fails
# with EXDEV as natively (EACCES before); `git worktree add` in a repository made before the
# session works, while the worktrees made before it keep their protection. Run per backend
# (BACKEND), each case with and without the shim.
. "$(dirname "$0")/run_lib.sh"
export HOME="$T/home" TMPDIR="$T/tmp" LANG=C LC_ALL=C PATH=/usr/bin:/bin
mkdir -p "$HOME/.config/procps" "$TMPDIR" "$T/w"
have() { command -v "$1" >/dev/null 2>&1; }
# runs CMD (sh) under guardian in $T/w with the built-in default profile: $T/g.out, $T/g.err, $g
grun() {
  pre=$1; shift
  (cd "$T/w" && "$G" run $pre -- /bin/sh -c "$1") >"$T/g.out" 2>"$T/g.err"; g=$?
}
nrun() {
  (cd "$T/w" && /bin/sh -c "$1") >"$T/n.out" 2>"$T/n.err"; n=$?
}

# 1. The /proc walkers.
if have ps && have pgrep; then
  # Markers unique to this run (the two backends' tests may run at once).
  m1=60.$$1 m2=30.$$3
  # Without a terminal (ps would name it from /dev/pts, one of the user's other terminals).
  setsid sleep $m1 </dev/null >/dev/null 2>&1 &
  outsider=$!
  # Showing every process, ps also names the terminals of the machine's other processes by
  # a stat of /dev/pts/N, which default refuses for terminals the session does not hold: a
  # denial summary whenever another program has a terminal (the interactive cases below,
  # run by this test's other backend at the same time in the suite). Metadata open here:
  # what is checked is that the processes' own entries are shown.
  cat >"$T/procs.yaml" <<'Y'
version: 1
extends: [default]
files:
  read: ["/proc/*/stat", "/proc/*/status", "/proc/*/cmdline"]
  metadata: open
Y
  for pre in --preload --no-preload; do
    nrun 'ps -ef >/dev/null; echo "ps $?"; ps aux >/dev/null; echo "aux $?"'
    grun $pre 'ps -ef >/dev/null; echo "ps $?"; ps aux >/dev/null; echo "aux $?"'
    check "$pre: ps -ef, ps aux: stdout" "$(cat "$T/n.out")" "$(cat "$T/g.out")"
    check "$pre: ps -ef, ps aux: stderr" "$(cat "$T/n.err")" "$(cat "$T/g.err")"
    check "$pre: ps -ef, ps aux: status" "$n" "$g"
    # The session's own processes, as natively (a shell finding its jobs).
    # (once the job runs sleep: its fork shows the shell's command line until then)
    job="sleep $m2 & j=\$!; k=0; while [ \$k -lt 200 ] && ! tr '\\0' ' ' </proc/\$j/cmdline | grep -q '^sleep'; do sleep 0.05; k=\$((k + 1)); done
      ps -o args= -p \$j; pgrep -f '[s]leep $m2' >/dev/null && echo found; ps -eo args= | grep -c '^sleep $m2\$'; kill \$j"
    nrun "$job"; grun $pre "$job"
    check "$pre: ps and pgrep find the session's own job: stdout" "$(cat "$T/n.out")" "$(cat "$T/g.out")"
    check "$pre: ps and pgrep find the session's own job: stderr" "$(cat "$T/n.err")" "$(cat "$T/g.err")"
    # A process outside the session is not there for default (no stderr: nothing failed);
    # its entries are gone, not forbidden.
    grun $pre "pgrep -f '[s]leep $m1'; echo \"pgrep \$?\"; ps -p $outsider >/dev/null; echo \"ps \$?\"; cat /proc/$outsider/cmdline; echo \"cat \$?\""
    check "$pre: an outsider is hidden from pgrep, ps and cat" "pgrep 1
ps 1
cat 1" "$(cat "$T/g.out")"
    check "$pre: an outsider is hidden: stderr" "cat: /proc/$outsider/cmdline: No such file or directory" "$(cat "$T/g.err")"
    # ...and there as natively where the profile shows other processes.
    (cd "$T/w" && "$G" run $pre -p "$T/procs.yaml" -- pgrep -f "[s]leep $m1") >"$T/g.out" 2>"$T/g.err"; g=$?
    check "$pre: a profile showing /proc/*/cmdline: pgrep finds the outsider" "0 $outsider" "$g $(cat "$T/g.out")"
    check "$pre: a profile showing /proc/*/cmdline: pgrep's stderr" "" "$(cat "$T/g.err")"
    (cd "$T/w" && "$G" run $pre -p "$T/procs.yaml" -- ps -ef) >"$T/g.out" 2>"$T/g.err"; g=$?
    check "$pre: a profile showing /proc/*/cmdline: ps -ef lists the outsider" "0 1" \
      "$g $(grep -c "^[^ ]* *$outsider .*sleep $m1" "$T/g.out")"
    check "$pre: a profile showing /proc/*/cmdline: ps -ef's stderr" "" "$(cat "$T/g.err")"
    # ...whose environment stays closed all the same.
    (cd "$T/w" && "$G" run $pre -p "$T/procs.yaml" -- cat /proc/$outsider/environ) >"$T/g.out" 2>"$T/g.err"; g=$?
    check "$pre: an outsider's environ stays refused" "1 0" "$g $(wc -c <"$T/g.out")"
    if have top; then
      nrun 'top -bn1 >/dev/null; echo "top $?"'; grun $pre 'top -bn1 >/dev/null; echo "top $?"'
      check "$pre: top -bn1: stdout" "$(cat "$T/n.out")" "$(cat "$T/g.out")"
      check "$pre: top -bn1: stderr" "$(cat "$T/n.err")" "$(cat "$T/g.err")"
    fi
  done
  kill "$outsider" 2>/dev/null
fi

# 2. A signal sent to guardian's process group (timeout signals the child, then the group)
# reaches the command once: its trap runs once. Four at a time, for the load under which
# our forwarded copy used to come after the shell had handled the group's.
once='trap "echo trapped" INT; sleep 5'
for pre in --preload --no-preload; do
  i=0; twice=0; never=0
  while [ $i -lt 16 ]; do
    for k in 1 2 3 4; do
      (cd "$T/w" && timeout -s INT 2 "$G" run $pre -- /bin/sh -c "$once" >"$T/sig.$k" 2>&1) &
    done
    wait
    for k in 1 2 3 4; do
      c=$(grep -c trapped "$T/sig.$k")
      [ "$c" -gt 1 ] && twice=$((twice + 1))
      [ "$c" -eq 0 ] && never=$((never + 1))
    done
    i=$((i + 4))
  done
  check "$pre: timeout -s INT: the command's trap never runs twice" 0 "$twice"
  check "$pre: timeout -s INT: the command's trap runs" 0 "$never"
  # A signal to guardian alone is still forwarded, every time (SIGHUP: a background job of
  # this script has SIGINT and SIGQUIT ignored).
  cd "$T/w"
  rm -f "$T/w/ready" "$T/w/mid"
  "$G" run $pre -- /bin/sh -c 'trap "echo hup" HUP; touch ready; sleep 2; touch mid; sleep 2' >"$T/sig.k" 2>&1 &
  gp=$!
  cd "$T"
  k=0; while [ ! -e "$T/w/ready" ] && [ $k -lt 100 ]; do sleep 0.1; k=$((k + 1)); done
  kill -HUP $gp
  k=0; while [ ! -e "$T/w/mid" ] && [ $k -lt 100 ]; do sleep 0.1; k=$((k + 1)); done
  kill -HUP $gp
  wait $gp
  check "$pre: kill -HUP of guardian alone, twice, is forwarded twice" "hup
hup" "$(cat "$T/sig.k")"
done

# 3. link(2) of /proc/self/fd/N: the link itself lies in procfs, another mount: EXDEV.
if [ -x /usr/bin/python3 ]; then
  lk='import os
fd = os.open("f", os.O_RDONLY)
for src in ("/proc/self/fd/%d" % fd, "/dev/stdin"):
    try: os.link(src, "x"); print("linked")
    except OSError as e: print(src.split("/")[1], e.errno)
try: os.link("/proc/self/fd/%d" % fd, "y", follow_symlinks=True); print("linked", os.path.exists("y"))
except OSError as e: print("follow", e.errno)'
  echo data >"$T/w/f"
  for pre in --preload --no-preload; do
    rm -f "$T/w/x" "$T/w/y"
    nrun "/usr/bin/python3 -c '$lk'"
    rm -f "$T/w/x" "$T/w/y"
    grun $pre "/usr/bin/python3 -c '$lk'"
    check "$pre: link of /proc/self/fd/N and /dev/stdin: stdout" "$(cat "$T/n.out")" "$(cat "$T/g.out")"
    check "$pre: link of /proc/self/fd/N and /dev/stdin: stderr" "$(cat "$T/n.err")" "$(cat "$T/g.err")"
  done
fi

# 4. git worktree add in a repository made before the session, as natively; the linked
# worktrees made before it keep their commondir (their config and hooks) where it was.
if have git; then
  for pre in --preload --no-preload; do
    for s in n g; do
      rm -rf "$T/$s"; mkdir -p "$T/$s"
      (cd "$T/$s" && git init -q . && echo a >f && git add f && git -c user.name=a -c user.email=a@b commit -qm one &&
        git worktree add -q old 2>/dev/null) || { check "git setup" ok failed; break; }
    done
    wt='git worktree add -q wt2 2>&1; echo "add $?"; git -C wt2 log --format=%s; git worktree list --porcelain | grep -c ^worktree; cat .git/worktrees/wt2/commondir'
    (cd "$T/n" && /bin/sh -c "$wt") >"$T/n.out" 2>"$T/n.err"; n=$?
    (cd "$T/g" && "$G" run $pre -- /bin/sh -c "$wt") >"$T/g.out" 2>"$T/g.err"; g=$?
    check "$pre: git worktree add in an older repository: status" "$n" "$g"
    check "$pre: git worktree add in an older repository: stdout" "$(cat "$T/n.out")" "$(cat "$T/g.out")"
    check "$pre: git worktree add in an older repository: stderr" "$(cat "$T/n.err")" "$(grep -v '^guardian:' "$T/g.err")"
    # The older worktree's directory neither moves aside nor gets a new commondir.
    mvs='import os
for a, b in ((".git/worktrees/old", ".git/worktrees/aside"), (".git/worktrees", ".git/wt-aside")):
    try: os.rename(a, b); print("moved", a)
    except OSError as e: print("rename", e.errno)
try: open(".git/worktrees/old/commondir", "w").write("/tmp\\n"); print("written")
except OSError as e: print("write", e.errno)'
    (cd "$T/g" && "$G" run $pre -- /usr/bin/python3 -c "$mvs") >"$T/g.out" 2>/dev/null
    check "$pre: an older worktree's directory stays and keeps its commondir" "rename 18
rename 18
write 13
../.." "$(cat "$T/g.out"; cat "$T/g/.git/worktrees/old/commondir")"
  done
fi
# 5. A program the session builds into a directory that did not exist when it began, under
# a profile that executes that tree (`exec: ${CWD}/build/**`, as default's comment advises
# for `make check`; cargo's target/): it runs, as natively (Landlock refused it, unlogged).
cat >"$T/tree.yaml" <<'Y'
version: 1
extends: [default]
exec:
  allow: ["${CWD}/build/**"]
Y
for pre in --preload --no-preload; do
  rm -rf "$T/w/build"
  tree='mkdir -p build/bin && printf "#!/bin/sh\necho built ran\n" >build/bin/t && chmod +x build/bin/t && ./build/bin/t; echo "rc $?"'
  (cd "$T/w" && "$G" run $pre -p "$T/tree.yaml" -- /bin/sh -c "$tree") >"$T/g.out" 2>"$T/g.err"
  check "$pre: exec of a tree made in the session that the profile executes" "built ran
rc 0" "$(cat "$T/g.out")"
  check "$pre: exec of a tree made in the session: stderr" "" "$(cat "$T/g.err")"
done

# 7. Waiting for one's own server: a connect to a loopback port nobody listens on is refused
# (ECONNREFUSED) as natively, where the profile lets the session bind that port; a retry
# loop that waits for ConnectionRefusedError alone then keeps waiting. Once the server
# listens, the session reaches it (guardian:own-listener).
if [ -x /usr/bin/python3 ]; then
  wait_srv='import socket, threading, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
def serve():
    time.sleep(0.5); l = socket.socket(); l.bind(("127.0.0.1", port)); l.listen(1); l.accept()[0].sendall(b"up\n")
threading.Thread(target=serve, daemon=True).start()
refused = 0
while True:
    c = socket.socket()
    try: c.connect(("127.0.0.1", port)); break
    except ConnectionRefusedError: refused += 1; time.sleep(0.05)
print("refused before" if refused else "no wait", c.recv(3).decode().strip())'
  for pre in --preload --no-preload; do
    nrun "timeout 20 /usr/bin/python3 -c '$wait_srv'"; grun $pre "timeout 20 /usr/bin/python3 -c '$wait_srv'"
    check "$pre: polling for one's own server: stdout" "$(cat "$T/n.out")" "$(cat "$T/g.out")"
    check "$pre: polling for one's own server: stderr" "$(cat "$T/n.err")" "$(cat "$T/g.err")"
  done
fi

# 8. pip installing a local wheel into a virtual environment under the python profile: as
# natively, without pip's warning that ~/.cache/pip is not writable (its cache is in
# TMPDIR there, as npm's is).
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import ensurepip" 2>/dev/null; then
  /usr/bin/python3 - "$T/mywheel-0.1-py3-none-any.whl" <<'PY'
import base64, hashlib, sys, zipfile
files = {"mywheel/__init__.py": b"def hi():\n    return 'hi from the wheel'\n",
         "mywheel-0.1.dist-info/METADATA": b"Metadata-Version: 2.1\nName: mywheel\nVersion: 0.1\n",
         "mywheel-0.1.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
rec = "".join("%s,sha256=%s,%d\n" % (n, base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b"=").decode(), len(d))
              for n, d in files.items()) + "mywheel-0.1.dist-info/RECORD,,\n"
with zipfile.ZipFile(sys.argv[1], "w") as z:
    for n, d in files.items(): z.writestr(n, d)
    z.writestr("mywheel-0.1.dist-info/RECORD", rec)
PY
  pipw='/usr/bin/python3 -m venv v && v/bin/pip install -q --no-index --disable-pip-version-check ./mywheel-0.1-py3-none-any.whl; echo "pip $?"; v/bin/python -c "import mywheel; print(mywheel.hi())"'
  rm -rf "$T/w/v"; cp "$T/mywheel-0.1-py3-none-any.whl" "$T/w/"
  nrun "$pipw"
  rm -rf "$T/w/v"
  (cd "$T/w" && "$G" run -p python -- /bin/sh -c "$pipw") >"$T/g.out" 2>"$T/g.err"; g=$?
  check "python: pip install of a local wheel into a venv: status" "$n" "$g"
  check "python: pip install of a local wheel into a venv: stdout" "$(cat "$T/n.out")" "$(cat "$T/g.out")"
  check "python: pip install of a local wheel into a venv: stderr" "$(cat "$T/n.err")" "$(grep -v '^guardian:' "$T/g.err")"
fi

# 9. An interactive less (in a pty) ends without a word from guardian: its search history
# would go to the closed HOME (default sets LESSHISTFILE=-).
if have less && have script; then
  seq 1 100 >"$T/w/lines"
  # (script's shell: sh, and no OLDPWD, which bash would stat wherever the caller was before)
  (cd "$T/w" && printf q | env -u OLDPWD SHELL=/bin/sh "$G" run -- script -qc "less lines" /dev/null) >"$T/g.out" 2>&1; g=$?
  check "default: interactive less: status" 0 "$g"
  check "default: interactive less: nothing refused" "" "$(grep -a 'guardian:' "$T/g.out")"
fi

# ...nor an interactive bash: ~/.bash_history was refused at its start and at its exit
# (default sets HISTFILE empty; the session's history stays in memory, as `history`
# shows).
if have script; then
  (cd "$T/w" && printf 'echo one\necho "h=$(history | grep -c "one$")"\nexit\n' |
    env -u OLDPWD SHELL=/bin/sh "$G" run -- script -qc "bash --norc --noediting -i" /dev/null) >"$T/g.out" 2>&1; g=$?
  check "default: interactive bash: status" 0 "$g"
  check "default: interactive bash: history in memory" 1 "$(grep -a -c 'h=1' "$T/g.out")"
  check "default: interactive bash: nothing refused" "" "$(grep -a 'guardian:' "$T/g.out")"
fi
# tmux makes its server's socket directory in TMUX_TMPDIR, else /tmp whatever TMPDIR says:
# "couldn't create directory /tmp/tmux-UID (Permission denied)" where TMPDIR is elsewhere
# (default sets TMUX_TMPDIR to TMPDIR). Its utmp helper (utempter, setgid) stays refused.
if have tmux; then
  rm -f "$T/w/tm.out"
  tm="tmux -L g\$\$ -f /dev/null new-session -d 'echo in tmux >tm.out'; k=0; while [ ! -s tm.out ] && [ \$k -lt 100 ]; do sleep 0.05; k=\$((k + 1)); done; cat tm.out; tmux -L g\$\$ kill-server 2>/dev/null; true"
  (cd "$T/w" && "$G" run -- /bin/sh -c "$tm") >"$T/g.out" 2>"$T/g.err"
  check "default: tmux with TMPDIR elsewhere: the session's command ran" "in tmux" "$(cat "$T/g.out")"
  check "default: tmux with TMPDIR elsewhere: tmux's stderr" "" "$(grep -v '^guardian:' "$T/g.err")"
fi

# 10. ls -l asks for the ACL and SELinux label of every name it lists, `..` included: an
# ancestor the profile lets the session stat but not read ($T here, as a user's HOME above
# the project). Those attributes are permissions, decided as metadata: no "ls: ..:
# Permission denied" and no summary line where the native run says nothing.
for pre in --preload --no-preload; do
  nrun 'ls -la >/dev/null; echo "la $?"; ls -ld .. | cut -c1-10; echo "ld $?"'
  grun $pre 'ls -la >/dev/null; echo "la $?"; ls -ld .. | cut -c1-10; echo "ld $?"'
  check "$pre: ls -la and ls -ld .. below a directory that is only stat'ed: stdout" "$(cat "$T/n.out")" "$(cat "$T/g.out")"
  check "$pre: ls -la and ls -ld .. below a directory that is only stat'ed: stderr" "$(cat "$T/n.err")" "$(cat "$T/g.err")"
done
# ...while the attributes that are data (user.*) stay read-class there.
if /usr/bin/python3 -c 'import os, sys; os.setxattr(sys.argv[1], "user.secret", b"s3cr3t")' "$T" 2>/dev/null; then
  for pre in --preload --no-preload; do
    grun $pre '/usr/bin/python3 -c "import os
try: print(os.getxattr(\"..\", \"user.secret\"))
except OSError as e: print(e.errno)"'
    check "$pre: a user xattr of a stat-only directory stays unreadable" 13 "$(cat "$T/g.out")"
  done
fi

# 11. bash stats OLDPWD (and PWD) at every start. Where the caller's shell was before the project (a
# directory the profile does not show) there was a summary line after every bash; where
# the profile shows it (an ancestor of the project), OLDPWD is there as natively.
mkdir -p "$T/elsewhere"
for pre in --preload --no-preload; do
  for old in "$T/elsewhere" "$T"; do
    (cd "$T/w" && OLDPWD=$old bash -c 'echo "${OLDPWD+set}"') >"$T/n.out" 2>"$T/n.err"
    (cd "$T/w" && OLDPWD=$old "$G" run $pre -- bash -c 'echo "${OLDPWD+set}"') >"$T/g.out" 2>"$T/g.err"
    check "$pre: bash with OLDPWD=${old#$T}: stderr" "$(cat "$T/n.err")" "$(cat "$T/g.err")"
  done
  check "$pre: bash with an OLDPWD the profile shows keeps it" "$(cat "$T/n.out")" "$(cat "$T/g.out")"
  # A stale PWD (a caller that changed directory without its shell: a harness's subprocess
  # with cwd=): bash and dash stat it too, and take the directory from getcwd. (guardian
  # itself, not $G: the backend wrapper is a shell, which would mend PWD first.)
  for sh in bash /bin/sh; do
    (cd "$T/w" && PWD=$T/elsewhere $sh -c 'pwd; echo "$PWD"') >"$T/n.out" 2>"$T/n.err"
    (cd "$T/w" && PWD=$T/elsewhere "$GUARDIAN" run --backend "${BACKEND:-seccomp}" $pre -- $sh -c 'pwd; echo "$PWD"') >"$T/g.out" 2>"$T/g.err"
    check "$pre: $sh with a stale PWD: stdout" "$(cat "$T/n.out")" "$(cat "$T/g.out")"
    check "$pre: $sh with a stale PWD: stderr" "$(cat "$T/n.err")" "$(cat "$T/g.err")"
  done
done

# 12. gdb reads its system-wide start-up files (/etc/gdb/gdbinit, gdbinit.d) at every start.
# (Seccomp backend: under ptrace guardian is the tracer of every process.)
if have gdb && [ "${BACKEND:-seccomp}" != ptrace ]; then
  for pre in --preload --no-preload; do
    nrun 'gdb -q -batch -ex "print 6*7"'; grun $pre 'gdb -q -batch -ex "print 6*7"'
    check "$pre: gdb -batch: stdout" "$(cat "$T/n.out")" "$(cat "$T/g.out")"
    check "$pre: gdb -batch: stderr" "$(cat "$T/n.err")" "$(cat "$T/g.err")"
  done
fi

# 13. Programs built with -fsanitize=address: ASan insists on its runtime being first in
# the link map (the shim's LD_PRELOAD came first: every one exited 1 at once), and its leak
# check at exit makes a tracer task with clone(CLONE_UNTRACED) that attaches to the
# program's threads (refused: "LeakSanitizer has encountered a fatal error", exit 1). As
# natively under the seccomp backend; under ptrace guardian must trace every task, so the
# leak check stays impossible there (ASan's own message says so), the rest works.
if have gcc && echo 'int main(void){return 0;}' | gcc -fsanitize=address -x c -o "$T/asan-probe" - 2>/dev/null; then
  rm -rf "$T/w/asan"; mkdir -p "$T/w/asan"
  printf '#include <stdlib.h>\n#include <stdio.h>\nint main(int c, char **v){(void)v; char *p = malloc(10); p[0] = 1; if (c > 1) { free(p); return p[0]; } puts("ran"); return 0;}\n' >"$T/w/asan/a.c"
  gcc -fsanitize=address -g -o "$T/w/asan/a" "$T/w/asan/a.c"
  cat >"$T/asan.yaml" <<'Y'
version: 1
extends: [default]
exec:
  allow: ["${CWD}/**"]
Y
  if [ "${BACKEND:-seccomp}" = ptrace ]; then runs='ASAN_OPTIONS=detect_leaks=0 ./a; echo "rc $?"'
  else runs='./a 2>&1 | grep -c "detected memory leaks"; ./a x 2>&1 | grep -o -m1 heap-use-after-free; ASAN_OPTIONS=detect_leaks=0 ./a; echo "rc $?"'
  fi
  for pre in --preload --no-preload; do
    (cd "$T/w/asan" && /bin/sh -c "$runs") >"$T/n.out" 2>"$T/n.err"
    (cd "$T/w/asan" && "$G" run $pre -p "$T/asan.yaml" -- /bin/sh -c "$runs") >"$T/g.out" 2>"$T/g.err"
    check "$pre: a program built with -fsanitize=address: stdout" "$(cat "$T/n.out")" "$(cat "$T/g.out")"
    check "$pre: a program built with -fsanitize=address: stderr" "$(cat "$T/n.err")" "$(cat "$T/g.err")"
  done
fi
# ...while a task made with CLONE_UNTRACED is still decided (its exec of a program a deny
# rule names fails) and does not outlive the session.
if [ -x /usr/bin/python3 ]; then
  cat >"$T/w/untraced.py" <<'PY'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
pid = libc.syscall(56, 0x00800000 | 17, 0, 0, 0, 0)  # clone(CLONE_UNTRACED | SIGCHLD)
if pid == 0:
    try: os.execv(sys.argv[2], sys.argv[2:])
    except OSError as e: os._exit(100 + e.errno)
if pid < 0: print("clone refused"); sys.exit(0)
if sys.argv[1] == "wait":
    _, st = os.waitpid(pid, 0); print("child", os.waitstatus_to_exitcode(st))
else:
    open("untraced.pid", "w").write(str(pid))
PY
  cat >"$T/untraced.yaml" <<'Y'
version: 1
extends: [default]
exec:
  deny: ["/usr/bin/touch"]
Y
  want="child 113"; [ "${BACKEND:-seccomp}" = ptrace ] && want="clone refused"
  for pre in --preload --no-preload; do
    rm -f "$T/w/untraced-marker" "$T/w/untraced.pid"
    (cd "$T/w" && "$G" run $pre -p "$T/untraced.yaml" -- /usr/bin/python3 untraced.py wait /usr/bin/touch untraced-marker) >"$T/g.out" 2>/dev/null
    check "$pre: an untraced task's exec of a denied program fails" "$want no" \
      "$(cat "$T/g.out") $([ -e "$T/w/untraced-marker" ] && echo yes || echo no)"
    (cd "$T/w" && "$G" run $pre -- /usr/bin/python3 untraced.py nowait /usr/bin/sleep 30) >/dev/null 2>&1
    if [ -s "$T/w/untraced.pid" ]; then
      up=$(cat "$T/w/untraced.pid")
      st=$(sed 's/^.*) \(.\).*/\1/' "/proc/$up/stat" 2>/dev/null)
      check "$pre: an untraced task does not outlive the session" "gone" "$([ -z "$st" ] || [ "$st" = Z ] && echo gone || echo "alive $st")"
      kill "$up" 2>/dev/null
    fi
  done
fi

# 14. Python's multiprocessing.Value and Array keep their memory in an arena made in
# /dev/shm (pym-PID-XXXXXXXX, O_EXCL, unlinked at once): PermissionError under default.
if [ -x /usr/bin/python3 ]; then
  mpv='import multiprocessing as mp
def bump(v, a):
    with v.get_lock(): v.value += 1
    a[0] = 2.5
if __name__ == "__main__":
    v = mp.Value("i", 1); a = mp.Array("d", 3)
    p = mp.Process(target=bump, args=(v, a)); p.start(); p.join()
    print(v.value, list(a))'
  for pre in --preload --no-preload; do
    nrun "/usr/bin/python3 -c '$mpv'"; grun $pre "/usr/bin/python3 -c '$mpv'"
    check "$pre: multiprocessing Value and Array: stdout" "$(cat "$T/n.out")" "$(cat "$T/g.out")"
    check "$pre: multiprocessing Value and Array: stderr" "$(cat "$T/n.err")" "$(cat "$T/g.err")"
  done
fi

# 6. javac and java: the JDK reads its configuration through links from /usr/lib/jvm into
# /etc/java-*, which the Landlock envelope checks by the file the link names.
if have javac && have java; then
  printf 'public class H { public static void main(String[] a) { System.out.println("hi " + a.length); } }\n' >"$T/H.java"
  for pre in --preload --no-preload; do
    rm -rf "$T/w/j"; mkdir -p "$T/w/j"; cp "$T/H.java" "$T/w/j/"
    (cd "$T/w/j" && javac H.java && java H a b) >"$T/n.out" 2>"$T/n.err"; n=$?
    rm -rf "$T/w/j"; mkdir -p "$T/w/j"; cp "$T/H.java" "$T/w/j/"
    (cd "$T/w/j" && "$G" run $pre -- /bin/sh -c 'javac H.java && java H a b') >"$T/g.out" 2>"$T/g.err"; g=$?
    check "$pre: javac and java: status" "$n" "$g"
    check "$pre: javac and java: stdout" "$(cat "$T/n.out")" "$(cat "$T/g.out")"
    # guardian's summary aside (the JVM's write of its own coredump_filter, hsperfdata in /tmp).
    check "$pre: javac and java: stderr" "$(cat "$T/n.err")" "$(grep -v '^guardian:' "$T/g.err")"
  done
fi

# 14. futimesat(fd, NULL, times) is futimes(fd) (old glibc, musl and Go's futimes use it):
# the descriptor's file gets the times, as natively (EFAULT before); with AT_FDCWD and no
# path, the kernel's EFAULT.
if [ -x /usr/bin/python3 ]; then
  fts='import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
tv = (ctypes.c_long * 4)(1000000000, 0, 1000000007, 0)
fd = os.open("f", os.O_RDWR | os.O_CREAT, 0o644)
for dfd in (fd, -100):
    ctypes.set_errno(0)
    r = libc.syscall(261, dfd, None, tv)
    print(r, ctypes.get_errno(), int(os.stat("f").st_mtime))'
  for pre in --preload --no-preload; do
    rm -f "$T/w/f"; nrun "/usr/bin/python3 -c '$fts'"
    rm -f "$T/w/f"; grun $pre "/usr/bin/python3 -c '$fts'"
    check "$pre: futimesat(fd, NULL): stdout" "$(cat "$T/n.out")" "$(cat "$T/g.out")"
    check "$pre: futimesat(fd, NULL): status" "$n" "$g"
  done
fi
finish
