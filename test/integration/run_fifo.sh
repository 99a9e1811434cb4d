#!/bin/sh
# Opening a FIFO waits for the other end under guardian as it does natively: a reader under
# guardian gets what a writer outside sends later, and a writer under guardian reaches a
# reader that comes later (before, the emulated open returned at once: the reader saw EOF,
# the writer ENXIO).
. "$(dirname "$0")/run_lib.sh"
fail=0
mkfifo "$T/f1" "$T/f2"
"$G" run -p "$P" -- sh -c "cat '$T/f1' > '$T/got1'" 2>"$T/err1" &
r=$!
sleep 1
echo to-the-reader >"$T/f1"
wait $r
[ "$(cat "$T/got1")" = to-the-reader ] || { echo "FAIL: reader under guardian got '$(cat "$T/got1")'"; cat "$T/err1"; fail=1; }
"$G" run -p "$P" -- sh -c "echo to-the-writer-s-reader > '$T/f2'" 2>"$T/err2" &
w=$!
sleep 1
got2=$(cat "$T/f2")
wait $w || { echo "FAIL: writer under guardian exited $?"; cat "$T/err2"; fail=1; }
[ "$got2" = to-the-writer-s-reader ] || { echo "FAIL: reader outside got '$got2'"; fail=1; }
[ $fail = 0 ] && echo ok
exit $fail
