#!/bin/sh
# Real tools under the built-in default profile, compared with the same run natively: pip in
# a virtual environment, zsh, sqlite3 (stdout, stderr, status, the files made); and a daemon
# the command leaves behind, which gets SIGTERM and time to flush before the session's end
# kills it, as it would at a native shutdown. Run per backend (BACKEND), each case with the
# shim, without it and with the fast path.
. "$(dirname "$0")/run_lib.sh"
export HOME="$T/home" TMPDIR="$T/tmp" LANG=C LC_ALL=C PATH=/usr/bin:/bin
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INDEX=1 npm_config_update_notifier=false
mkdir -p "$HOME" "$TMPDIR"
have() { command -v "$1" >/dev/null 2>&1; }
ran=0
# parity NAME SHIM SETUP CMD: SETUP (sh) prepares $T/n and $T/g alike; CMD (sh) runs in each,
# natively and under guardian with default and SHIM (--preload, --no-preload, --fast-path).
parity() {
  name="$1 ($2)"; shim=$2; setup=$3; cmd=$4
  for s in n g; do
    rm -rf "$T/$s"; mkdir -p "$T/$s"
    (cd "$T/$s" && /bin/sh -c "$setup") >/dev/null 2>&1 || { check "$name: setup" ok failed; return; }
  done
  (cd "$T/n" && /bin/sh -c "$cmd") >"$T/n.out" 2>"$T/n.err"; n=$?
  (cd "$T/g" && "$G" run $shim -- /bin/sh -c "$cmd") >"$T/g.out" 2>"$T/g.err"; g=$?
  ran=$((ran + 1))
  sed -i "s|$T/g|$T/n|g" "$T/g.out" "$T/g.err"
  # LAX=1: guardian's summary is left out (checked on its own where it says something).
  if [ -n "${LAX:-}" ]; then grep -v '^guardian:' "$T/g.err" >"$T/g.err2"; mv "$T/g.err2" "$T/g.err"; fi
  check "$name: status" "$n" "$g"
  if cmp -s "$T/n.out" "$T/g.out"; then check "$name: stdout" same same
  else check "$name: stdout" same "differs: $(diff "$T/n.out" "$T/g.out" | head -8)"; fi
  if cmp -s "$T/n.err" "$T/g.err"; then check "$name: stderr" same same
  else check "$name: stderr" same "differs: $(diff "$T/n.err" "$T/g.err" | head -8)"; fi
  (cd "$T/n" && find . -name __pycache__ -prune -o -print0 | sort -z | xargs -0 stat -c '%n %A %s') >"$T/n.ls" 2>&1
  (cd "$T/g" && find . -name __pycache__ -prune -o -print0 | sort -z | xargs -0 stat -c '%n %A %s') >"$T/g.ls" 2>&1
  sed -i "s|$T/g|$T/n|g" "$T/g.ls"
  if cmp -s "$T/n.ls" "$T/g.ls"; then check "$name: files" same same
  else check "$name: files" same "differs: $(diff "$T/n.ls" "$T/g.ls" | head -8)"; fi
}

for shim in --preload --no-preload --fast-path; do
  # pip in a virtual environment of the project (through the venv's python: default runs
  # no program of the project, and venv/bin/pip is one): its cache in TMPDIR (PIP_CACHE_DIR), not
  # the closed ~/.cache/pip, whose refusal made pip warn at every command that the cache
  # was disabled (and the refused probes a summary line). Slow: with the shim and without.
  if [ "$shim" != --fast-path ] && /usr/bin/python3 -m venv "$T/probe-venv" >/dev/null 2>&1; then
    LAX=1 parity "pip in a venv: list, install a local package, show" "$shim" '
      /usr/bin/python3 -m venv venv && mkdir pkg && echo "X = 1" >pkg/mymod.py &&
      printf "from setuptools import setup\nsetup(name=\"mypkg\", version=\"1.0\", py_modules=[\"mymod\"])\n" >pkg/setup.py' \
      'venv/bin/python -m pip list; venv/bin/python -m pip install -q ./pkg 2>&1 | grep -v DEPRECATION
       venv/bin/python -m pip show mypkg | grep "^Version"; venv/bin/python -c "import mymod; print(mymod.X)"'
  fi
  # pip's platform probe lists /etc (default refuses it; pip goes on with /etc/os-release):
  # the summary says it was a listing, not a file of /etc.
  if [ "$shim" = --preload ] && [ -x "$T/g/venv/bin/python" ]; then
    (cd "$T/g" && "$G" run $shim -- venv/bin/python -m pip install -q ./pkg) >/dev/null 2>"$T/g.err"
    check "pip install: guardian's summary is pip's listing of /etc alone, named as a listing" \
      "guardian: 1 operation denied: 1 read
guardian:   list /etc (python3.11, pid N)" "$(sed -e 's/python3[.0-9]*/python3.11/; s/pid [0-9]*/pid N/' "$T/g.err" | grep '^guardian:' | grep -v 'run with --audit')"
  fi
  # zsh reads /etc/zsh/zshenv at every start, even with -f (refused: a summary line, and
  # what the system sets there lost).
  # (HOME as in the passwd entry: zsh looks at that directory too.)
  home=$(getent passwd "$(id -u)" | cut -d: -f6)
  if have zsh; then
    HOME=$home parity "zsh script" "$shim" 'echo "print -l a b; x=(1 2 3); echo \$#x > n; cat n" >s.zsh' 'zsh s.zsh; zsh -fc "echo \$((6*7))"'
  fi
  # sqlite3 reads ~/.sqliterc (of the user's passwd entry) at every start.
  if have sqlite3; then
    HOME=$home parity "sqlite3" "$shim" '' \
      'sqlite3 db "create table t(a); insert into t values (1), (2); select sum(a) from t;"; sqlite3 db .dump'
  fi

  # A daemon the command leaves behind (double fork, setsid) that saves its state on
  # SIGTERM, as a server or a cache does: natively it runs on until it is told to end; under
  # guardian the session's end tells it (SIGTERM), gives it time, still supervised (its
  # write is decided as any other), then kills what is left. One stopped by SIGSTOP gets
  # SIGCONT too. The command's status stays its own.
  rm -rf "$T/d" && mkdir -p "$T/d"
  cat >"$T/d/daemon.py" <<'PY'
import os, signal, sys, time
stop = len(sys.argv) > 1 and sys.argv[1] == "stop"
if os.fork(): sys.exit(0)
os.setsid()
if os.fork(): os._exit(0)
def term(*_):
    with open("flushed" + ("-stopped" if stop else ""), "w") as f: f.write("state saved\n")
    os._exit(0)
signal.signal(signal.SIGTERM, term)
with open("pid" + ("-stopped" if stop else ""), "w") as f: f.write(str(os.getpid()))
if stop: os.kill(os.getpid(), signal.SIGSTOP)
while True: time.sleep(0.05)
PY
  # (The command ends once the second one is really stopped: a SIGCONT sent before its
  # SIGSTOP would leave it stopped, natively too.)
  cmd='/usr/bin/python3 daemon.py; /usr/bin/python3 daemon.py stop
    n=0; while { [ ! -s pid ] || [ ! -s pid-stopped ]; } && [ $n -lt 200 ]; do sleep 0.05; n=$((n+1)); done
    n=0; while ! grep -q "^State:[[:space:]]*[tT]" /proc/$(cat pid-stopped)/status && [ $n -lt 200 ]; do sleep 0.05; n=$((n+1)); done
    exit 3'
  (cd "$T/d" && "$G" run $shim -- /bin/sh -c "$cmd") >"$T/d.out" 2>"$T/d.err"; st=$?
  check "daemon left running ($shim): the command's status" 3 "$st"
  check "daemon left running ($shim): it saved its state on SIGTERM" "state saved" "$(cat "$T/d/flushed" 2>/dev/null)"
  check "daemon left running ($shim): a stopped one too (SIGCONT)" "state saved" "$(cat "$T/d/flushed-stopped" 2>/dev/null)"
  check "daemon left running ($shim): nothing on stderr" "" "$(cat "$T/d.err")"
  for f in pid pid-stopped; do
    p=$(cat "$T/d/$f" 2>/dev/null)
    if [ -n "$p" ] && ! gone_within "$p" 20; then check "daemon ($shim): $f gone" gone alive; kill -9 "$p"; fi
  done
  # One that ignores SIGTERM is killed once the grace period is over (2 s), no later.
  start=$(date +%s)
  (cd "$T/d" && "$G" run $shim -- /bin/sh -c "(trap '' TERM; exec setsid sleep 300) & echo \$! >stubborn; sleep 0.2") \
    >/dev/null 2>&1
  took=$(($(date +%s) - start))
  p=$(cat "$T/d/stubborn" 2>/dev/null)
  if [ -n "$p" ] && gone_within "$p" 20; then check "a daemon ignoring SIGTERM ($shim): killed" dead dead
  else check "a daemon ignoring SIGTERM ($shim): killed" dead "alive:$p"; kill -9 "$p" 2>/dev/null; fi
  check "a daemon ignoring SIGTERM ($shim): guardian returned within the grace period" yes \
    "$([ "$took" -le 6 ] && echo yes || echo "no: ${took}s")"
done
# Natively the same daemon, told to end as a system shutdown would, saves its state: the
# behaviour compared above.
rm -f "$T/d/flushed" "$T/d/pid"
(cd "$T/d" && /usr/bin/python3 daemon.py)
n=0; while [ ! -s "$T/d/pid" ] && [ $n -lt 200 ]; do sleep 0.05; n=$((n + 1)); done
kill -TERM "$(cat "$T/d/pid")"; gone_within "$(cat "$T/d/pid")" 50
check "natively: the daemon saves its state on SIGTERM" "state saved" "$(cat "$T/d/flushed" 2>/dev/null)"
# What default refuses by design says so: a program the session built is not run (spec:
# default executes what is installed), and the summary tells how to allow it, which the
# refused path alone did not.
if have gcc; then
  rm -rf "$T/b" && mkdir -p "$T/b" && printf 'int main(void){return 0;}\n' >"$T/b/p.c"
  (cd "$T/b" && "$G" run -- /bin/sh -c 'gcc -o p p.c && ./p') >/dev/null 2>"$T/b.err"; st=$?
  check "default: a program the session built: refused (126)" 126 "$st"
  check "default: a program the session built: the summary says why and what to add" 1 \
    "$(grep -c "^guardian: a program runs only where the profile's exec rules name it (default: what is installed, not what the session builds or downloads; -p node and -p python also run the programs of a project's node_modules and virtualenv); --allow-exec PATH adds one\$" "$T/b.err")"
  (cd "$T/b" && "$G" run --allow-exec "$T/b/p" -- /bin/sh -c './p') >/dev/null 2>"$T/b.err"; st=$?
  check "default: ... and runs with --allow-exec" "0 " "$st $(cat "$T/b.err")"
fi
# npm test running a program of the project's node_modules/.bin: refused under default (the
# summary points at -p node), and as natively under the node profile.
if have npm && have node; then
  rm -rf "$T/npm" && mkdir -p "$T/npm/node_modules/mytool/bin" "$T/npm/node_modules/.bin"
  printf '{"name":"p","version":"1.0.0","scripts":{"test":"mytool ok"}}\n' >"$T/npm/package.json"
  printf '#!/usr/bin/env node\nconsole.log("mytool", process.argv[2])\n' >"$T/npm/node_modules/mytool/bin/t.js"
  chmod +x "$T/npm/node_modules/mytool/bin/t.js"
  ln -s ../mytool/bin/t.js "$T/npm/node_modules/.bin/mytool"
  (cd "$T/npm" && npm test) >"$T/n.out" 2>"$T/n.err"; n=$?
  (cd "$T/npm" && "$G" run -- npm test) >/dev/null 2>"$T/g.err"; g=$?
  check "npm test with a node_modules program under default: refused, the summary says -p node" "1 1" \
    "$([ "$g" -ne 0 ] && echo 1 || echo 0) $(grep -c -- '-p node and -p python also run' "$T/g.err")"
  (cd "$T/npm" && "$G" run -p node -- npm test) >"$T/g.out" 2>"$T/g.err"; g=$?
  check "npm test under -p node: as natively" "$n $(cat "$T/n.out")" "$g $(cat "$T/g.out")"
  check "npm test under -p node: stderr as natively" "$(cat "$T/n.err")" "$(cat "$T/g.err")"
fi
[ "$ran" -gt 0 ] || echo "note: pip, zsh and sqlite3 missing: only the daemon cases ran"
finish
