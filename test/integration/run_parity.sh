#!/bin/sh
# Everyday developer commands under the built-in default profile (and a narrow profile of
# one's own) behave exactly as natively: stdout, stderr, exit status and the files made.
# Each case runs in two fresh copies of the same project; tools that are missing are skipped.
. "$(dirname "$0")/run_lib.sh"
export HOME="$T/home" TMPDIR="$T/tmp" LANG=C LC_ALL=C PATH=/usr/bin:/bin
export npm_config_update_notifier=false GIT_AUTHOR_DATE=2020-01-01T00:00:00Z GIT_COMMITTER_DATE=2020-01-01T00:00:00Z
mkdir -p "$HOME" "$TMPDIR"
ran=0
# parity NAME PROFILE SETUP CMD: SETUP (sh) prepares $T/n and $T/g alike; CMD (sh) runs in
# each, natively and under guardian (PROFILE "" = the built-in default). Compared: stdout,
# stderr, status and a listing of the files (names, modes, contents) left in the project.
parity() {
  name=$1; prof=$2; setup=$3; cmd=$4
  for s in n g; do
    rm -rf "$T/$s"; mkdir -p "$T/$s"
    (cd "$T/$s" && /bin/sh -c "$setup") >/dev/null 2>&1 || { check "$name: setup" ok failed; return; }
  done
  (cd "$T/n" && /bin/sh -c "$cmd") >"$T/n.out" 2>"$T/n.err"; n=$?
  if [ -n "$prof" ]; then (cd "$T/g" && "$G" run -p "$prof" -- /bin/sh -c "$cmd") >"$T/g.out" 2>"$T/g.err"
  else (cd "$T/g" && "$G" run -- /bin/sh -c "$cmd") >"$T/g.out" 2>"$T/g.err"; fi
  g=$?
  ran=$((ran + 1))
  check "$name: status" "$n" "$g"
  sed -i "s|$T/g|$T/n|g" "$T/g.out" "$T/g.err"
  # LAX=1: guardian's own summary of what it refused is left out of the comparison (probes
  # of names that do not exist, which the program does not miss).
  if [ -n "${LAX:-}" ]; then grep -v '^guardian:' "$T/g.err" >"$T/g.err2"; mv "$T/g.err2" "$T/g.err"; fi
  if cmp -s "$T/n.out" "$T/g.out"; then check "$name: stdout" same same
  else check "$name: stdout" same "differs: $(diff "$T/n.out" "$T/g.out" | head -8)"; fi
  if cmp -s "$T/n.err" "$T/g.err"; then check "$name: stderr" same same
  else check "$name: stderr" same "differs: $(diff "$T/n.err" "$T/g.err" | head -8)"; fi
  (cd "$T/n" && find . -name .git -prune -o -print0 | sort -z | xargs -0 stat -c '%n %A %s') >"$T/n.ls" 2>&1
  (cd "$T/g" && find . -name .git -prune -o -print0 | sort -z | xargs -0 stat -c '%n %A %s') >"$T/g.ls" 2>&1
  if cmp -s "$T/n.ls" "$T/g.ls"; then check "$name: files" same same
  else check "$name: files" same "differs: $(diff "$T/n.ls" "$T/g.ls" | head -8)"; fi
}
have() { command -v "$1" >/dev/null 2>&1; }

# What the project builds runs where a profile names it: `make check` runs the test
# programs just compiled. default itself executes only what is installed (spec): there
# the program the session wrote does not run.
cat >"$T/build.yaml" <<'Y'
version: 1
extends: [default]
exec:
  allow: ["${CWD}/**"]
Y
if have make && have gcc && have ar; then
  parity "default + exec of the project: make -j2, ar, make check" "$T/build.yaml" '
    mkdir src && for i in 1 2 3; do echo "int f$i(void){return $i;}" >src/f$i.c; done
    printf "int f1(void),f2(void),f3(void);\nint main(void){return f1()+f2()+f3()==6?0:1;}\n" >src/t.c
    printf "OBJ=src/f1.o src/f2.o src/f3.o\nall: t\nlibf.a: \$(OBJ)\n\tar rcs \$@ \$^\nt: src/t.o libf.a\n\t\$(CC) -o \$@ \$^\ncheck: t\n\t./t && echo passed\n" >Makefile' \
    'make -j2 >/dev/null && make check; ./t; echo "t $?"'
  mkdir -p "$T/d" && printf '#!/bin/sh\ntouch ran\n' >"$T/d/tool" && chmod +x "$T/d/tool"
  (cd "$T/d" && "$G" run -- /bin/sh -c ./tool) >/dev/null 2>&1; st=$?
  check "default: a program the session could write does not run" "126 no" "$st $([ -e "$T/d/ran" ] && echo yes || echo no)"
fi
# clang under default: its driver runs the compiler pass by its own resolved path in
# /usr/lib/llvm-N/bin (refused: "posix_spawn failed: Permission denied", no object made),
# and looks for ROCm in /opt at every run (a summary line after every compile).
if have clang && echo 'int main(void){return 0;}' | clang -x c -o /dev/null - 2>/dev/null; then
  parity "default: clang and clang++ compile, link, -flto, -E" "" '
    printf "#include <stdio.h>\nint main(void){puts(\"hi\");return 0;}\n" >m.c
    printf "#include <iostream>\nint main(){std::cout << 42 << std::endl;}\n" >x.cc' \
    'clang -O2 -o m m.c; echo "clang $?"; clang++ -o x x.cc; echo "clang++ $?"; clang -c -flto -o m.o m.c; echo "lto $?"; clang -E m.c | grep -c main'
fi
# A PATH search through a directory the profile does not cover (~/.cargo/bin, pyenv
# shims): a command found nowhere is "not found" (127, ENOENT) as natively, from the shell,
# execvp and Python alike, and not a "Permission denied" with a summary of the probes.
mkdir -p "$T/outside/bin"
OLDPATH=$PATH; PATH="$T/outside/bin:$PATH"
parity "default: a PATH search for a missing command through an unlisted directory" "" '' \
  'nowhere_cmd_x; echo "sh $?"; env nowhere_cmd_x; echo "env $?"
   /usr/bin/python3 -c "import subprocess
try: subprocess.run([\"nowhere_cmd_x\"])
except OSError as e: print(type(e).__name__, e.errno)"; ls >/dev/null; echo done'
PATH=$OLDPATH
# npx and `npm exec` of a package's bin (a #! node script under node_modules/.bin).
if have node && have npm && have npx; then
  LAX=1; parity "node: npx of a local bin" node '
    mkdir -p node_modules/hello/bin node_modules/.bin
    echo "{\"name\":\"p\",\"version\":\"1.0.0\",\"scripts\":{\"test\":\"hello t\"}}" >package.json
    echo "{\"name\":\"hello\",\"version\":\"1.0.0\",\"bin\":{\"hello\":\"bin/h.js\"}}" >node_modules/hello/package.json
    printf "#!/usr/bin/env node\nconsole.log(\"hello\", process.argv.slice(2).join(\" \"))\n" >node_modules/hello/bin/h.js
    chmod +x node_modules/hello/bin/h.js && ln -s ../hello/bin/h.js node_modules/.bin/hello' \
    'npx hello a b && npm exec -- hello c && npm test 2>&1 | grep hello'
  LAX=
  # npm's walk up the tree for package.json and node_modules/.bin (ENOENT, no denial),
  # ~/.npmrc (closed: an empty user configuration instead), its cache and logs (TMPDIR).
  parity "default: npm init, test, run" "" 'mkdir proj' \
    'cd proj && npm init -y >/dev/null && npm pkg set scripts.test="node t.js" scripts.build="mkdir -p dist && echo x >dist/o" &&
     echo "console.log(\"tests pass\")" >t.js && npm test && npm run build && npm run; echo "rc $?"'
fi
# A pre-commit hook the user installed in a repository made before the session runs as
# natively (writing one there stays refused: run_new_repository).
if have git; then
  LAX=1; parity "default: git commit runs an existing hook" "" '
    git init -q . && echo a >f && git add f &&
    git -c user.name=a -c user.email=a@b commit -qm one &&
    printf "#!/bin/sh\necho hook ran\n" >.git/hooks/pre-commit && chmod +x .git/hooks/pre-commit' \
    'echo b >>f && git -c user.name=a -c user.email=a@b commit -qam two; echo "commit $?"; git log --format=%s'
  LAX=
  # ...and strace still runs inside the session there: the envelope executes only the
  # hooks directory that was there before, which the session cannot write.
  if have strace && [ "${BACKEND:-seccomp}" != ptrace ]; then
    (cd "$T/g" && "$G" run -- strace -f -o /dev/null /bin/true) >/dev/null 2>&1
    check "default: strace runs inside the session in a repository" 0 "$?"
  fi
fi
# Python's multiprocessing (forkserver and Manager listen on a unix socket in TMPDIR), a
# test server on 127.0.0.1:0 that the session connects to (guardian:own-listener), config
# files that are not there (FileNotFoundError, not PermissionError), mkdir of a directory
# that exists (FileExistsError, not a denial).
if [ -x /usr/bin/python3 ]; then
  cat >"$T/py.py" <<'PY'
import multiprocessing as mp, os, http.server, threading, urllib.request, sqlite3, subprocess, tempfile
if __name__ == "__main__":
    ctx = mp.get_context("forkserver"); q = ctx.Queue(); p = ctx.Process(target=q.put, args=(1,))
    p.start(); print("forkserver", q.get()); p.join()
    with mp.Manager() as m:
        d = m.dict(); d["k"] = 2; print("manager", dict(d))
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a): pass
    s = http.server.HTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=s.serve_forever, daemon=True).start()
    print("http", urllib.request.urlopen("http://127.0.0.1:%d/" % s.server_port).status)
    for p in ("~/.config/tool/config.toml", "~/.toolrc", "../no-such-parent-file"):
        try: open(os.path.expanduser(p))
        except OSError as e: print(p, type(e).__name__)
    for p in ("/tmp", os.path.expanduser("~"), os.getcwd()):
        try: os.mkdir(p)
        except OSError as e: print("mkdir", type(e).__name__)
    db = sqlite3.connect("t.db"); db.execute("create table t(a)"); db.execute("insert into t values(1)"); db.commit()
    print(subprocess.run(["sh", "-c", "echo sub; exit 3"], capture_output=True, text=True))
    with tempfile.TemporaryDirectory() as t: open(os.path.join(t, "x"), "w").write("y"); print(os.listdir(t))
PY
  parity "default: python multiprocessing, own server, missing files" "" "cp $T/py.py ." '/usr/bin/python3 py.py'
  # One process alone in the session (its opens are the kernel's own, guardian(1) BACKENDS):
  # every open's outcome, the modes the umask leaves, O_TMPFILE, FIFOs, terminals' errors.
  cat >"$T/opens.py" <<'PY'
import errno, os, stat
os.umask(0o027)
def o(path, flags, mode=0o666):
    try:
        fd = os.open(path, flags, mode)
    except OSError as e:
        return errno.errorcode[e.errno]
    st = os.fstat(fd); os.close(fd)
    return "ok %o" % stat.S_IMODE(st.st_mode)
os.mkdir("d"); open("f", "w").write("data"); os.symlink("f", "l"); os.symlink("nowhere", "dangling"); os.mkfifo("fifo")
W, C, X = os.O_WRONLY, os.O_CREAT, os.O_EXCL
for args in [("new", W | C | X), ("new", W | C | X), ("new2", W | C), ("f", W | os.O_TRUNC), ("f/", os.O_RDONLY),
             ("d", W), ("d", os.O_RDONLY | os.O_DIRECTORY), ("f", os.O_RDONLY | os.O_DIRECTORY), ("l", os.O_RDONLY | os.O_NOFOLLOW),
             ("dangling", W | C | X), ("dangling", W | C), ("missing/x", W | C), ("fifo", W | os.O_NONBLOCK),
             ("fifo", os.O_RDONLY | os.O_NONBLOCK), ("d", os.O_RDWR | os.O_TMPFILE), (".", W | os.O_TMPFILE, 0o640),
             ("f", os.O_RDWR | os.O_APPEND)]:
    print(args[0], o(*args))
print(open("f").read(), sorted(os.listdir(".")))
PY
  parity "default: one process's opens, created, refused and special" "" "cp $T/opens.py ." '/usr/bin/python3 opens.py'
  # pip's vendored `distro` lists /etc (closed: one line of guardian's summary).
  LAX=1; parity "default: python venv" "" '' '/usr/bin/python3 -m venv v && v/bin/python -c "import sys; print(sys.prefix != sys.base_prefix)"'
  LAX=
fi
# A file read through a symbolic link, where nothing may write, into a directory the profile
# does not name (as /usr/share/groff/site-tmac -> /etc/groff): allowed by the link's place,
# and read as natively even though the Landlock envelope leaves the target directory out.
mkdir -p "$T/sys/a/b" "$T/outside" && echo hello >"$T/outside/f" && ln -s "$T/outside" "$T/sys/a/b/link"
cat >"$T/sys.yaml" <<Y
version: 1
name: sys-link
files:
  read: ["$T/sys/**", "/usr/**", "/etc/**", "/dev/null"]
exec:
  allow: ["/usr/**"]
Y
check "a file through a system link the envelope does not follow reads as natively" hello \
  "$("$G" run -p "$T/sys.yaml" -- /usr/bin/cat "$T/sys/a/b/link/f" 2>"$T/sys.err")"
if have cmake && have gcc; then
  parity "default + exec of the project: cmake, build, ctest" "$T/build.yaml" '
    printf "int main(void){return 0;}\n" >m.c
    printf "cmake_minimum_required(VERSION 3.10)\nproject(p C)\nadd_executable(m m.c)\nenable_testing()\nadd_test(NAME t COMMAND m)\n" >CMakeLists.txt' \
    'cmake -S . -B b >/dev/null && cmake --build b >/dev/null && cd b && ctest 2>&1 | grep -c "Test #1: t .* Passed"; rm -rf Testing CMakeFiles/CMakeOutput.log'
fi
[ "$ran" -gt 0 ] || { echo "SKIP: none of make, gcc, node, npm, git, python3"; exit 77; }
# A threaded program reopening its stdout pipe and a deleted file of its own by name (node
# writing /dev/stdout does): as natively on both backends; under ptrace the object checked
# is installed, so a thread swapping the descriptor between check and open cannot win.
if [ -x /usr/bin/python3 ]; then
  thr='import os, threading, time
t = threading.Thread(target=time.sleep, args=(1,)); t.start()
open("/dev/stdout", "w").write("via /dev/stdout\n")
f = open("gone", "w+"); os.unlink("gone")
with open("/proc/self/fd/%d" % f.fileno(), "w") as g: g.write("deleted but written\n")
f.seek(0); print(f.read(), end="", flush=True); t.join()'
  (cd "$T/n" && /usr/bin/python3 -c "$thr" | cat) >"$T/thr.n.out" 2>"$T/thr.n.err"
  (cd "$T/g" && "$G" run -- /usr/bin/python3 -c "$thr" | cat) >"$T/thr.g.out" 2>"$T/thr.g.err"
  check "default: threaded reopen of a stdout pipe and a deleted file: stdout" "$(cat "$T/thr.n.out")" "$(cat "$T/thr.g.out")"
  check "default: threaded reopen of a stdout pipe and a deleted file: stderr" "$(cat "$T/thr.n.err")" "$(cat "$T/thr.g.err")"
fi
# `trap 'kill 0' EXIT`, a script ending its background jobs: the command shares guardian's
# process group, which natively is the command's own; its members get the signal (the
# script too, which then ends by it), guardian does not, and nothing is refused.
if command -v setsid >/dev/null; then
  grp='sleep 31.25 & sleep 31.5 & trap "kill 0" EXIT; echo bye'
  (cd "$T/n" && setsid -w /bin/sh -c "$grp") >"$T/grp.n.out" 2>"$T/grp.n.err"; n=$?
  (cd "$T/g" && setsid -w "$G" run -- /bin/sh -c "$grp") >"$T/grp.g.out" 2>"$T/grp.g.err"; g=$?
  sleep 0.3
  check "default: kill 0 ends the command's own group: status" "$n" "$g"
  check "default: kill 0 ends the command's own group: stdout" "$(cat "$T/grp.n.out")" "$(cat "$T/grp.g.out")"
  check "default: kill 0 ends the command's own group: stderr" "$(cat "$T/grp.n.err")" "$(cat "$T/grp.g.err")"
  check "default: kill 0 ends the command's own group: jobs gone" 0 "$(pgrep -fc 'sleep 31\.[25]' || true)"
fi
# A program reopening its own stdin, stdout or stderr by name (/dev/stderr, /proc/self/fd/N,
# /dev/fd/N) when they are files outside what the profile reads or writes (its caller
# redirected them): the descriptor is its own, so the reopen works as natively, on both
# backends (the ptrace one installs the file the supervisor reopened, as ADDFD does), with
# and without the shim.
mkdir -p "$T/n" "$T/g"
printf 'in1\nin2\n' >"$T/held.in"
held='echo out; echo a >/dev/stderr; echo b >>/proc/self/fd/2; echo c >>/dev/fd/2; cat /dev/stdin; head -1 /proc/self/fd/0 </dev/fd/0; echo d >/dev/stdout'
for pre in --preload --no-preload; do
  (cd "$T/n" && /bin/sh -c "$held") <"$T/held.in" >"$T/held.n.out" 2>"$T/held.n.err"; n=$?
  (cd "$T/g" && "$G" run $pre -- /bin/sh -c "$held") <"$T/held.in" >"$T/held.g.out" 2>"$T/held.g.err"; g=$?
  check "default $pre: reopen of held stdio outside the profile: status" "$n" "$g"
  check "default $pre: reopen of held stdio outside the profile: stdout" "$(cat "$T/held.n.out")" "$(cat "$T/held.g.out")"
  check "default $pre: reopen of held stdio outside the profile: stderr" "$(cat "$T/held.n.err")" "$(cat "$T/held.g.err")"
done
# ...and looked at through those names: stat, test, ls -l, cp (which stats its source) of
# /dev/stdin are what fstat(0) tells the program anyway; the /dev/std* links themselves
# say only where they point. A program's own descriptors are numbered as natively (the
# shim's socket is not at the lowest free number).
look='stat -L -c %s /dev/stdin; stat -c %F /dev/stdin; readlink /dev/stdin; test -f /dev/stdin && echo regular
  test -r /dev/stdin && echo readable; ls -l /dev/stdin | cut -c1-10; cp /dev/stdin copied && cat copied && rm copied
  stat -L -c %s /proc/self/fd/1 /dev/stdout >/dev/null && echo stdout ok; wc -l /dev/fd/0
  /usr/bin/python3 -c "import os; print(os.open(\"/dev/null\", 0), os.open(\"/dev/null\", 0), os.path.isfile(\"/dev/stdin\"))"'
for pre in --preload --no-preload; do
  (cd "$T/n" && /bin/sh -c "$look") <"$T/held.in" >"$T/held.n.out" 2>"$T/held.n.err"; n=$?
  (cd "$T/g" && "$G" run $pre -- /bin/sh -c "$look") <"$T/held.in" >"$T/held.g.out" 2>"$T/held.g.err"; g=$?
  check "default $pre: stat of held stdio outside the profile: status" "$n" "$g"
  check "default $pre: stat of held stdio outside the profile: stdout" "$(cat "$T/held.n.out")" "$(cat "$T/held.g.out")"
  check "default $pre: stat of held stdio outside the profile: stderr" "$(cat "$T/held.n.err")" "$(cat "$T/held.g.err")"
done

# What talking to itself does not open: a listener of a program outside the session, on
# the loopback and on an abstract unix name, gets no connection (checked by its effect).
if [ -x /usr/bin/python3 ]; then
  /usr/bin/python3 - "$G" "$T" <<'PY'
import socket, subprocess, sys, os
g, t = sys.argv[1], sys.argv[2]
tcp = socket.socket(); tcp.bind(("127.0.0.1", 0)); tcp.listen(4); tcp.settimeout(0.5)
ab = socket.socket(socket.AF_UNIX); name = "guardian-parity-%d" % os.getpid(); ab.bind("\0" + name); ab.listen(4); ab.settimeout(0.5)
prog = ("import socket\nfor fam, a in ((socket.AF_INET, ('127.0.0.1', %d)), (socket.AF_UNIX, '\\0%s')):\n"
        "    s = socket.socket(fam)\n    try: s.connect(a); print('connected')\n"
        "    except OSError as e: print(e.errno)\n") % (tcp.getsockname()[1], name)
r = subprocess.run([g, "run", "--", "/usr/bin/python3", "-c", prog], cwd=t, capture_output=True, text=True)
got = []
for s in (tcp, ab):
    try: s.accept(); got.append("accepted")
    except socket.timeout: got.append("none")
ok = r.stdout.split() == ["13", "13"] and got == ["none", "none"]
print(("ok   " if ok else "FAIL ") + "another program's listeners stay closed: %r %r %r" % (r.stdout, got, r.stderr[-300:]))
sys.exit(0 if ok else 1)
PY
  [ $? -eq 0 ] || fails=$((fails + 1))
fi
finish
