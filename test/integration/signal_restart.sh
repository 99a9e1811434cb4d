#!/bin/sh
# A signal-heavy program (handler without SA_RESTART) sees no EINTR from opens, stats or
# exec under guardian, as natively: the kernel fails a call with EINTR when the signal comes
# before the supervisor has received its notification, and the shim makes it again.
. "$(dirname "$0")/run_lib.sh"
PROG=${SIGNAL_RESTART:?}
echo data >"$T/file"
native=$("$PROG" "$T/file")
guarded=$("$G" run -p "$P" -- "$PROG" "$T/file")
echo "native: $native; under guardian: $guarded"
[ "$native" = "eintr=0 other=0" ] || { echo "FAIL: native run differs from expected"; exit 1; }
[ "$guarded" = "$native" ] || { echo "FAIL: under guardian the program saw EINTR or other failures"; exit 1; }
echo ok
