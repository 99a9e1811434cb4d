#!/bin/sh
# Tracing inside a session: guardian inside guardian (the effective permission is the
# intersection of both profiles), strace -f and gdb. Under the seccomp backend the outer
# guardian hands a process over to the session's tracer; under the ptrace backend it must
# stay the tracer, so each of them is refused with a clear message (fail closed).
. "$(dirname "$0")/run_lib.sh"
GR=$GUARDIAN  # the inner guardian: always the plain binary (auto backend)
W=$T/w; mkdir -p "$W/a" "$W/b" "$W/c" "$W/out"; cd "$W" || exit 1
export HOME="$T" TMPDIR="$T" LANG=C LC_ALL=C
tok() { od -An -N8 -tx1 /dev/urandom | tr -d ' \n'; }
A=a-$(tok); B=b-$(tok); C=c-$(tok)
echo "$A" >a/f; echo "$B" >b/f; echo "$C" >c/f
# Outer allows a and c, denies b and the program `id`; inner allows b and c, denies a and
# `whoami`. Both allow c, cat, sh and guardian itself.
cat >"$T/outer.yaml" <<YAML
version: 1
files:
  read: ["/**"]
  write: ["$T/**", "/dev/null", "/dev/tty"]
  deny: ["$W/b/**"]
exec:
  allow: ["/**"]
  deny: ["/usr/bin/id"]
YAML
cat >"$T/inner.yaml" <<YAML
version: 1
extends: [base]
files:
  read: ["$W/b/**", "$W/c/**", "$T/*.yaml"]
  write: ["$W/out/**"]
  deny: ["$W/a/**"]
exec:
  allow: ["/usr/bin/**", "/bin/**"]
  deny: ["/usr/bin/whoami"]
YAML

# Landlock holds a handed-over process's execs; without it the hand-over is refused.
"$G" run -p "$T/outer.yaml" -a "$T/probe.jsonl" -- /bin/true 2>/dev/null
landlock=$(grep -o '"landlock":"[a-z]*' "$T/probe.jsonl" | head -1 | sed 's/.*"//')

if [ "${BACKEND:-seccomp}" = ptrace ]; then
  # The ptrace backend sees system calls only as their tracer: nothing else may trace.
  "$G" run -p "$T/outer.yaml" -- "$GR" run -p "$T/inner.yaml" -- cat c/f >"$T/n.out" 2>"$T/n.err"
  check "ptrace: nested guardian refused (125)" 125 "$?"
  check "ptrace: ... and says why" yes "$(grep -q 'must stay the tracer' "$T/n.err" && echo yes || echo no)"
  check "ptrace: ... and nothing ran" "" "$(cat "$T/n.out")"
  if command -v strace >/dev/null; then
    "$G" run -p "$T/outer.yaml" -- strace -o "$T/st.out" cat c/f >"$T/s.out" 2>"$T/s.err"
    check "ptrace: strace refused" yes "$(grep -q 'refusing to let pid' "$T/s.err" && echo yes || echo no)"
  fi
  finish
fi
[ "$landlock" = applied ] || { echo "SKIP: Landlock is '$landlock': tracing inside a session needs it"; exit 77; }

# --- guardian inside guardian ---
"$G" run -p "$T/outer.yaml" -a "$T/outer.jsonl" -- \
  "$GR" run -p "$T/inner.yaml" -a "$T/inner.jsonl" -- \
  /bin/sh -c 'cat a/f; cat b/f; cat c/f; echo x >out/new; id -u; whoami; echo end' >"$T/n.out" 2>"$T/n.err"
status=$?
echo "nested status $status"; tail -5 "$T/n.err"
check "nested: runs (sh's status)" 0 "$status"
check "nested: what both allow works" 1 "$(grep -c "$C" "$T/n.out")"
check "nested: inner denies what outer allows" 0 "$(grep -c "$A" "$T/n.out")"
check "nested: outer denies what inner allows" 0 "$(grep -c "$B" "$T/n.out")"
check "nested: write both allow" x "$(cat out/new 2>/dev/null)"
check "nested: exec outer denies did not run" 0 "$(grep -cx "$(id -u)" "$T/n.out")"
check "nested: exec inner denies did not run" 0 "$(grep -cx "$(whoami)" "$T/n.out")"
check "nested: the script went on" end "$(tail -1 "$T/n.out")"
check "nested: inner log has its denial of a" yes \
  "$(grep '"deny"' "$T/inner.jsonl" | grep -q "$W/a/f" && echo yes || echo no)"
check "nested: outer log has its denial of b" yes \
  "$(grep '"deny"' "$T/outer.jsonl" | grep -q "$W/b/f" && echo yes || echo no)"

# --- strace -f inside guardian ---
if command -v strace >/dev/null; then
  "$G" run -p "$T/outer.yaml" -- strace -f -o "$T/st.out" /bin/sh -c 'cat c/f; cat b/f' >"$T/s.out" 2>"$T/s.err"
  status=$?
  echo "strace status $status"; tail -3 "$T/s.err"
  check "strace: the traced program's output" "$C" "$(cat "$T/s.out")"
  check "strace: saw the open of c/f" yes "$(grep -q 'openat(.*c/f", O_RDONLY) = 3' "$T/st.out" && echo yes || echo no)"
  check "strace: saw the refusal of b/f" yes "$(grep -q 'openat(.*b/f", O_RDONLY) = -1 EACCES' "$T/st.out" && echo yes || echo no)"
  check "strace: followed the fork (-f)" yes "$(grep -q 'execve("/usr/bin/cat"' "$T/st.out" && echo yes || echo no)"
  check "strace: status is sh's (cat b/f failed)" 1 "$status"
else
  echo "strace not installed: its part skipped"
fi

# --- gdb inside guardian: a breakpoint, a backtrace, the program runs on ---
if command -v gdb >/dev/null && command -v gcc >/dev/null; then
  cat >prog.c <<'SRC'
#include <stdio.h>
__attribute__((noinline)) void marker(int n) { printf("marker %d\n", n); }
int main(void) { marker(41); puts("after-marker"); return 3; }
SRC
  gcc -g -O0 -o prog prog.c
  "$G" run -p "$T/outer.yaml" -- gdb -nx -batch -ex 'break marker' -ex run -ex bt -ex continue ./prog \
    >"$T/g.out" 2>"$T/g.err"
  echo "gdb status $?"; tail -3 "$T/g.err"
  check "gdb: stopped at the breakpoint" yes "$(grep -q 'Breakpoint 1, marker (n=41)' "$T/g.out" && echo yes || echo no)"
  check "gdb: backtrace reaches main" yes "$(grep -q 'in main () at prog.c' "$T/g.out" && echo yes || echo no)"
  check "gdb: the program ran on" yes "$(grep -q after-marker "$T/g.out" && echo yes || echo no)"
  check "gdb: its exit status" yes "$(grep -q 'exited with code 03' "$T/g.out" && echo yes || echo no)"
else
  echo "gdb or gcc not installed: its part skipped"
fi

# Tracing stays refused outside the session: this process is not in it.
sleep 20 &
victim=$!
"$G" run -p "$T/outer.yaml" -- strace -p "$victim" -o /dev/null >/dev/null 2>&1 &
tracer=$!
sleep 1
check "outsider is not traced" 0 "$(awk '/^TracerPid/ {print $2}' /proc/$victim/status)"
kill "$tracer" "$victim" 2>/dev/null
wait 2>/dev/null
finish
