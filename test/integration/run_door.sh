#!/bin/sh
# Runs one test/attacks/door_*.c program natively and under guardian. The door must stay
# closed under guardian (exit 0); natively it must open (exit 1), else the check shows
# nothing on this kernel and the test is skipped (77).
. "$(dirname "$0")/run_lib.sh"
door=${1:?usage: run_door.sh DOOR_EXE}
mkdir -p "$T/native" "$T/guarded"
"$door" "$T/native" >"$T/native.out" 2>&1; native=$?
"$G" run -p "$P" -- "$door" "$T/guarded" >"$T/guarded.out" 2>&1; guarded=$?
echo "native ($native): $(cat "$T/native.out")"
echo "guardian ($guarded): $(cat "$T/guarded.out")"
check "door closed under guardian" 0 "$guarded"
[ "$fails" -eq 0 ] || finish
if [ "$native" -ne 1 ]; then echo "the door is closed natively too: nothing shown here"; exit 77; fi
finish
