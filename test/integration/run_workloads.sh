#!/bin/sh
# Everyday workloads under guardian must look exactly as they do natively: stdout, stderr
# (no denial summary where the native run says nothing), exit status and files, under the
# built-in default profile and under a permissive one.
. "$(dirname "$0")/run_lib.sh"
W=$T/work; mkdir -p "$W" "$T/tmp"; cd "$W" || exit 1
export HOME="$T" TMPDIR="$T/tmp" LANG=C LC_ALL=C PATH=/usr/bin:/bin
# cmp_run NAME PROFILE CMD...: stdout, stderr and status natively and under guardian
# (PROFILE "" = the built-in default) must be identical.
cmp_run() {
  name=$1; prof=$2; shift 2
  "$@" >"$T/n.out" 2>"$T/n.err"; n=$?
  if [ -n "$prof" ]; then "$G" run -p "$prof" -- "$@" >"$T/g.out" 2>"$T/g.err"; g=$?
    if [ "$prof" = node ]; then grep -v '^guardian:' "$T/g.err" >"$T/g.err2"; mv "$T/g.err2" "$T/g.err"; fi
  else "$G" run -- "$@" >"$T/g.out" 2>"$T/g.err"; g=$?; fi
  check "$name: status" "$n" "$g"
  if cmp -s "$T/n.out" "$T/g.out"; then check "$name: stdout" same same
  else check "$name: stdout" same "differs: $(diff "$T/n.out" "$T/g.out" | head -5)"; fi
  if cmp -s "$T/n.err" "$T/g.err"; then check "$name: stderr" same same
  else check "$name: stderr" same "differs: $(diff "$T/n.err" "$T/g.err" | head -6)"; fi
}

# A zombie child is still its parent's to signal: timeout(1) sends SIGCONT after SIGTERM to
# a child that may already have exited, and kill(2) returns 0 then. Its exit reached the
# tracer before the parent reaped it, and the kill was refused (EPERM, a summary line).
cmp_run "signal to an exited, unreaped child" "$P" /usr/bin/python3 -c '
import os, signal, time
pid = os.fork()
if pid == 0: os._exit(3)
while open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[0] != "Z": time.sleep(0.01)
time.sleep(0.1)
os.kill(pid, signal.SIGCONT); print("kill ok", os.waitpid(pid, 0)[1] >> 8)'
# A process that is gone gets ESRCH (a pool worker its own parent, the forkserver, reaped
# before the pool terminated it), not EPERM and a denial.
cmp_run "signal to a process already reaped" "$P" /usr/bin/python3 -c '
import os, signal
r, w = os.pipe()
if os.fork() == 0:
    g = os.fork()
    if g == 0: os._exit(0)
    os.waitpid(g, 0); os.write(w, str(g).encode()); os._exit(0)
os.wait(); g = int(os.read(r, 20))
try: os.kill(g, signal.SIGTERM)
except OSError as e: print("kill:", os.strerror(e.errno))'
# A job whose first process has exited is still the shell's to signal: kill %1 is
# kill(-PGID) with the group's leader gone (EPERM and a denial before). bash's own stderr
# is left out: when it reports the job's end depends on timing.
cmp_run "kill of a job whose leader exited" "$P" /bin/bash -c 'exec 2>/dev/null; set -m
(sleep 0.2; exit 0) | sleep 5 &
sleep 0.8; kill %1; echo "kill $?"; wait; echo "wait $?"'
cmp_run "timeout ends its command" "$P" /bin/sh -c 'timeout 0.3 sleep 5; echo "timeout $?"'

# User and group lookups (ls -l, tar, id) make glibc try nscd's socket, which does not
# exist where nscd does not run: ENOENT natively, not a denial under the default profile.
if [ ! -e /run/nscd/socket ]; then
  echo x >owned
  cmp_run "default profile: ls -l, id, tar (nscd probe)" "" /bin/sh -c \
    'ls -l owned | cut -d" " -f3,4; id -un; tar cf t.tar owned && tar tvf t.tar | cut -d" " -f2; rm t.tar'
fi
# Libraries' configuration probes: libattr's /etc/xattr.conf (cp -a printed "cp:
# '/etc/xattr.conf': Permission denied"), libmagic's /etc/magic (file(1) printed "cannot
# read magic file"), libselinux's /sys/fs/selinux (mkdir, cp).
mkdir -p src/d && echo data >src/d/f && touch -d '2001-02-03 04:05:06' src/d/f
cmp_run "default profile: cp -a, mkdir -p" "" /bin/sh -c \
  'cp -a src dst && stat -c "%a %Y" dst/d/f && mkdir -p dst/e/f && ls dst; rm -rf dst'
cmp_run "default profile: file(1)" "" /usr/bin/file -b src/d/f
# pip's and wget's site-wide settings (/etc/pip.conf, /etc/wgetrc): read as natively, not
# dropped behind a refusal and a summary line. pip's config listing shows what it found.
if /usr/bin/python3 -m pip --version >/dev/null 2>&1; then
  cmp_run "python profile: pip's site-wide configuration" python /bin/sh -c \
    '/usr/bin/python3 -m pip config debug | grep -v "^env\|PIP_CACHE_DIR\|^  [A-Z]"'
fi
if command -v wget >/dev/null; then
  cmp_run "default profile: wget's site-wide configuration" "" /bin/sh -c 'wget -q -O - nothing://x; echo "wget $?"'
fi
# What runtimes probe at every start: Python its user site packages in HOME, node its
# cgroup's memory limit and the CPUs (each was a denied stat or read, so a summary line).
cmp_run "default profile: python3 start-up" "" /usr/bin/python3 -c 'import sys; print(sys.flags.no_user_site)'
# /dev/stdout, /dev/stderr, /dev/fd/N of the files the caller redirected the command to
# ($T/g.out, outside what default writes): reopened as natively (guardian:held-descriptor).
# (Not under ptrace: there the kernel opens it by path, which the Landlock envelope refuses.)
if [ "${BACKEND:-}" != ptrace ]; then
  cmp_run "default profile: /dev/stdout and /dev/stderr of redirected files" "" /bin/bash -c \
    'echo out > /dev/stdout; echo err > /dev/stderr; echo more >> /dev/fd/1; echo p >> /proc/self/fd/1'
fi
# ... but not for more than the descriptor holds: one opened for reading is no way to write.
mkdir -p "$T/r" && echo secret >"$T/r/ro" && chmod 644 "$T/r/ro"
sed -e "s|^  read: \[.*|  read: [\"$T/r/**\", \"/usr/**\", \"/etc/**\", \"/proc/**\", \"/dev/**\"]|" \
    -e "s|^  write: \[.*|  write: [\"$W/**\", \"/dev/null\"]|" "$P" >"$T/held.yaml"
"$G" run -p "$T/held.yaml" -- /bin/sh -c "exec 3<'$T/r/ro'; echo x >/proc/self/fd/3; echo x >>/dev/fd/3" 2>/dev/null
check "a descriptor held for reading is not reopened for writing" secret "$(cat "$T/r/ro")"
# Nor one held for writing (stderr appended to a log the rules do not let it read) for reading.
echo private-log >"$T/log"
"$G" run -p "$T/held.yaml" -- /usr/bin/python3 -c '
import os
for fl in (os.O_RDWR, os.O_RDONLY):
    try: print(os.read(os.open("/proc/self/fd/2", fl), 100))
    except OSError as e: print(e.strerror)' 2>>"$T/log" >"$T/held.out"
check "a descriptor held for writing is not reopened for reading" "Permission denied
Permission denied" "$(cat "$T/held.out")"
# Nor an O_PATH descriptor (held for a stat: fdinfo access mode 0, as O_RDONLY's) for
# reading: under metadata: open any file may be opened O_PATH, and HOME ($T) may be under
# default as an ancestor of ${CWD}; neither may be read or listed through /proc/self/fd/N.
printf 'version: 1\nextends: [default]\nfiles: {metadata: open}\n' >"$T/opath.yaml"
for prof in "$T/opath.yaml" default; do
  "$G" run -p "$prof" -- /usr/bin/python3 -c '
import os, sys
for p in sys.argv[1:]:
    try: fd = os.open(p, os.O_PATH); d = os.open("/proc/self/fd/%d" % fd, os.O_RDONLY); print(os.read(d, 100) if os.path.isfile(p) else os.listdir(d))
    except OSError as e: print(e.strerror)' "$T/r/ro" "$T" >"$T/opath.out" 2>/dev/null
  check "an O_PATH descriptor is not reopened for reading ($prof)" "Permission denied
Permission denied" "$(cat "$T/opath.out")"
done
# ldd lists what the loader maps: not the shim, which leaves itself out for that exec.
cmp_run "ldd" "$P" /bin/sh -c 'ldd /bin/ls | sed "s/ (0x.*//"; /lib64/ld-linux-x86-64.so.2 --list /bin/ls | sed "s/ (0x.*//"'
cmp_run "default profile: perl modules" "" /usr/bin/perl -MPOSIX -MJSON::PP -e 'print floor(2.5), encode_json([1, 2]), "\n"'
if command -v man >/dev/null && [ -e /etc/manpath.config ]; then
  cmp_run "default profile: man -w" "" /usr/bin/man -w ls
fi
if command -v node >/dev/null; then
  cmp_run "default profile: node start-up" "" node -e 'console.log(require("os").cpus().length > 0)'
fi
# npm under the built-in node profile: init, a test script and pack behave as natively
# (under default npm cannot write its cache in HOME and fails with EACCES). Compared: output
# and status; what npm and guardian say on stderr (update notices, denied probes of the
# directories above the project) is not.
if command -v npm >/dev/null; then
  mkdir -p "$W/pkg" && cd "$W/pkg" || exit 1
  npm_steps='exec 2>/dev/null; npm init -y >/dev/null && node -e "const f=require(\"fs\"); const p=JSON.parse(f.readFileSync(\"package.json\")); p.scripts={test: \"node -e console.log(6*7)\"}; f.writeFileSync(\"package.json\", JSON.stringify(p))" &&
    npm test 2>&1 | grep -v "^$" && npm pack 2>/dev/null && tar tzf pkg-1.0.0.tgz && rm -f package.json pkg-1.0.0.tgz'
  cmp_run "node profile: npm init, test, pack" node /bin/sh -c "$npm_steps"
  cd "$W" || exit 1
fi
# A program that is not there: ENOENT and 127 as natively where the profile lets the shell
# see the name (the current directory), not a denied exec (126).
cmp_run "default profile: missing ./program" "" /bin/sh -c './missing-tool 2>/dev/null; echo $?'
# ...nor a script whose #! interpreter is not there (a venv moved away, python2): bash
# says "required file not found" and 127, where a profile runs the script and lets the
# shell see that the interpreter's name is absent (/usr/local/bin), but does not name it.
cat >"$T/scripts.yaml" <<'Y'
version: 1
extends: [default]
exec:
  allow: ["${CWD}/**"]
Y
printf '#!/usr/local/bin/no-such-interpreter\necho ran\n' >orphan && chmod +x orphan
cmp_run "default + exec of CWD: a script whose interpreter is missing" "$T/scripts.yaml" /bin/bash -c './orphan; echo $?'
rm -f orphan
# git's everyday commands in a repository made beforehand (git init itself writes
# .git/config and hooks, which default protects): one copy for each run, as both commit.
for r in n g; do
  mkdir -p "$W/repo-$r" && (cd "$W/repo-$r" && git init -q && echo a >f && git add f &&
    git -c user.name=a -c user.email=a@b commit -qm one) || exit 1
done
# The stash takes the identity git guesses (from /etc/mailname on Debian): no warning natively.
git_steps='echo b >>f && git -c user.name=a -c user.email=a@b commit -qam two && git log --format=%s && git diff HEAD~1 --stat &&
  echo c >>f && git stash -q && git stash list | wc -l && git stash pop -q && git status --short &&
  git checkout -qb topic && git branch --format="%(refname:short)"'
(cd "$W/repo-n" && /bin/sh -c "$git_steps" >"$T/n.out" 2>"$T/n.err"; echo "rc $?" >>"$T/n.out")
(cd "$W/repo-g" && "$G" run -- /bin/sh -c "$git_steps" >"$T/g.out" 2>"$T/g.err"; echo "rc $?" >>"$T/g.out")
# guardian's own summary of what it refused (HOME is closed under default) is not git's.
grep -v '^guardian:' "$T/g.err" >"$T/g.err2"; mv "$T/g.err2" "$T/g.err"
check "default profile: git commit, log, diff, stash, branch: stdout" "$(cat "$T/n.out")" "$(cat "$T/g.out")"
check "default profile: git commit, log, diff, stash, branch: stderr" "$(cat "$T/n.err")" "$(cat "$T/g.err")"
# A unix socket is named as the program asked: the supervisor bound it through
# /proc/self/fd/N/NAME, which getsockname then showed, and Python's multiprocessing hands
# that name to the processes that connect (Manager, the forkserver start method).
PU=$T/unix.yaml
sed -e 's|"/dev/null",|"/dev/null", "/dev/shm/**",|' -e '/^exec:/i network:\n  bind: ["unix:'"$T"'/**"]\n  connect: ["unix:'"$T"'/**"]' "$P" >"$PU"
cat >names.py <<'PY'
import multiprocessing as mp, os, socket
def main():
    s = socket.socket(socket.AF_UNIX); s.bind(os.path.abspath("abs.sock"))
    r = socket.socket(socket.AF_UNIX); r.bind("rel.sock"); r.listen()
    c = socket.socket(socket.AF_UNIX); c.connect("rel.sock")
    print(s.getsockname() == os.path.abspath("abs.sock"), r.getsockname(), c.getpeername())
    m = mp.Manager(); d = m.dict(); d["a"] = 1; print(dict(d)); m.shutdown()
    with mp.get_context("forkserver").Pool(2) as p: print(p.map(abs, [-1, -2]))
    for n in ("abs.sock", "rel.sock"): os.unlink(n)
if __name__ == "__main__": main()
PY
cmp_run "unix socket names, multiprocessing Manager and forkserver" "$PU" /usr/bin/python3 names.py
finish
