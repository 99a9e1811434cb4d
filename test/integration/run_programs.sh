#!/bin/sh
# Real programs under guardian with a profile that allows them: same output and status as
# natively (sh, cat, python3, gcc, git, tar), plus a static binary and raw syscall() calls.
. "$(dirname "$0")/run_lib.sh"
W=$T/work; mkdir -p "$W"; cd "$W" || exit 1
export HOME="$T" TMPDIR="$T" LANG=C LC_ALL=C GIT_CONFIG_NOSYSTEM=1
# same NAME CMD...: stdout+status natively and under guardian must match.
same() {
  name=$1; shift
  "$@" >"$T/n.out" 2>/dev/null; n=$?
  "$G" run -p "$P" -- "$@" >"$T/g.out" 2>"$T/g.err"; g=$?
  check "$name: status" "$n" "$g"
  if cmp -s "$T/n.out" "$T/g.out"; then check "$name: output" same same
  else check "$name: output" same "differs: $(diff "$T/n.out" "$T/g.out" | head -5; head -3 "$T/g.err")"; fi
}
printf 'alpha\nbeta\n' >in.txt
same "sh pipeline" /bin/sh -c 'cat in.txt | sort -r | tr a-z A-Z; ls -1 . | wc -l; exit 5'
same "cat" /bin/cat in.txt
same "python3 stdlib + subprocess" /usr/bin/python3 -c '
import json, hashlib, subprocess, os, tempfile, threading
r = [hashlib.sha256(b"x").hexdigest(), json.dumps({"a": [1, 2]})]
t = threading.Thread(target=lambda: r.append(subprocess.run(["echo", "child"], capture_output=True, text=True).stdout.strip()))
t.start(); t.join()
with tempfile.NamedTemporaryFile(dir=".", delete=True) as f: f.write(b"tmp")
print(r)'
if command -v gcc >/dev/null; then
  printf '#include <stdio.h>\nint main(void){puts("built");return 7;}\n' >p.c
  same "gcc compile and run" /bin/sh -c 'gcc -O1 -o p p.c && ./p'
fi
if command -v git >/dev/null; then
  same "git init/commit/log" /bin/sh -c 'rm -rf repo && git init -q repo && cd repo && echo hi >f && git add f &&
    git -c user.name=t -c user.email=t@e commit -qm one && git log --format=%s && git status --porcelain'
fi
# Reopens through /proc magic links: a file, a deleted file, a pipe, process substitution.
if command -v bash >/dev/null; then
  same "reopen via /proc/self/fd and /dev/std*" /bin/bash -c 'cat /dev/stdin <in.txt; echo hi | cat /dev/stdin
    echo x >y; exec 3<y; cat /proc/self/fd/3; rm y; cat /dev/fd/3; cat <(echo procsub); echo out >>/dev/stdout'
fi
same "tar round trip" /bin/sh -c 'rm -rf tt && mkdir -p tt/a/b && echo z >tt/a/b/f && tar cf t.tar tt && rm -rf tt && tar xf t.tar && cat tt/a/b/f && tar tf t.tar | sort'
# Under the built-in default profile (what `guardian run -- CMD` gives): everyday work in
# the current directory behaves as natively, Python's multiprocessing (POSIX semaphores in
# /dev/shm) included.
same_default() {
  name=$1; shift
  "$@" >"$T/n.out" 2>/dev/null; n=$?
  "$G" run -- "$@" >"$T/g.out" 2>"$T/g.err"; g=$?
  check "default profile, $name: status" "$n" "$g"
  if cmp -s "$T/n.out" "$T/g.out"; then check "default profile, $name: output" same same
  else check "default profile, $name: output" same "differs: $(diff "$T/n.out" "$T/g.out" | head -5; head -3 "$T/g.err")"; fi
}
same_default "python multiprocessing pool" /usr/bin/python3 -c '
import multiprocessing as m
with m.Pool(2) as p: print(sum(p.map(abs, range(-50, 50))))
l = m.Lock(); l.acquire(); l.release(); print("lock ok")'
same_default "python venv with pip" /bin/sh -c '/usr/bin/python3 -m venv v >/dev/null &&
  v/bin/python3 -m pip --version | cut -d" " -f1-2 && rm -rf v'
# A process's own /proc/PID is its /proc/self (ps, psutil and the JVM name it by number);
# another process's stays closed.
same_default "own /proc/PID" /usr/bin/python3 -c '
import os
me = "/proc/%d" % os.getpid()
print(open(me + "/status").readline().split()[0], os.path.exists(me + "/fd/1"), len(os.listdir(me + "/fd")) > 2)'
"$G" run -- /bin/cat /proc/1/environ >/dev/null 2>&1; rc=$?
check "default profile: another process's /proc/PID/environ is denied" 1 "$rc"
# git reads /etc/gitattributes when it exists: a denial (EACCES where a missing file says
# ENOENT) made it warn on every command.
git init -q gitrepo && echo a >gitrepo/a && git -C gitrepo add a &&
  git -C gitrepo -c user.name=t -c user.email=t@e commit -q -m one && echo b >>gitrepo/a
"$G" run -- /bin/sh -c 'git -C gitrepo status --porcelain; git -C gitrepo diff --stat | tail -1' \
  >"$T/g.out" 2>"$T/g.err"
check "default profile: git status and diff in a repository" \
  " M a  1 file changed, 1 insertion(+)" "$(tr '\n' ' ' <"$T/g.out" | sed 's/ *$//')"
check "default profile: git says nothing on stderr" "" "$(grep -v '^guardian:' "$T/g.err")"
# ldd runs the dynamic loader as a program: allowed by default, the program it loads is
# decided as an exec. The same libraries as natively (the shim, when loaded, aside).
ldd /bin/ls 2>&1 | sed 's/ (0x[0-9a-f]*)//' >"$T/n.out"
"$G" run -- ldd /bin/ls 2>"$T/g.err" | sed 's/ (0x[0-9a-f]*)//' | grep -v libguardian-preload >"$T/g.out"
check "default profile: ldd lists a program's libraries" "$(cat "$T/n.out")" "$(cat "$T/g.out")"
# Runtimes size heaps and thread pools from their cgroup's limits (node, the JVM, Go): the
# limit files of cgroups v1 and v2 are readable by default.
cgs=""
for f in /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us \
         /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max \
         /sys/fs/cgroup/unified/memory.max /sys/fs/cgroup/unified/cpu.max; do
  [ -r "$f" ] && cgs="$cgs $f"
done
if [ -n "$cgs" ]; then
  # shellcheck disable=SC2086
  same_default "cgroup limits" /bin/cat $cgs
fi
same_default "files in the current directory" /bin/sh -c 'mkdir -p d/e && echo x >d/e/f && cp d/e/f g &&
  mv g h && ln -s h l && cat l && rm -r d h l && ls -A'
# A static binary making raw syscalls is supervised exactly like libc calls.
if command -v gcc >/dev/null && [ -e /usr/lib/x86_64-linux-gnu/libc.a ]; then
  cat >s.c <<'C'
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(int c, char** v) {
  long fd = syscall(SYS_openat, AT_FDCWD, v[1], O_RDONLY);
  char b[64] = {0};
  if (fd >= 0 && read((int)fd, b, sizeof b - 1) > 0) { printf("read:%s", b); return 0; }
  perror("openat"); return 3;
}
C
  gcc -static -O1 -o s s.c 2>/dev/null && {
    same "static binary, raw syscall" ./s in.txt
    if have_engine; then
      echo "TOP-SECRET" >"$T/secret"
      cat >"$T/narrow.yaml" <<YAML
version: 1
files:
  read: ["$W/**"]
YAML
      out=$("$G" run -p "$T/narrow.yaml" -- ./s "$T/secret" 2>/dev/null); rc=$?
      check "static raw openat of a denied file: status" 3 "$rc"
      check "static raw openat of a denied file: no bytes" "" "$(echo "$out" | grep TOP-SECRET)"
    fi
  }
fi
finish
