#!/bin/sh
# guardian run's exit statuses (spec 1): the command's own, 128+N, 125, 126, 127.
. "$(dirname "$0")/run_lib.sh"
st() { "$G" run -p "$P" "$@" >/dev/null 2>"$T/err"; echo $?; }
check "true -> 0" 0 "$(st -- /bin/true)"
check "exit 3 -> 3" 3 "$(st -- /bin/sh -c 'exit 3')"
check "exit 255 -> 255" 255 "$(st -- /bin/sh -c 'exit 255')"
check "SIGKILL -> 137" 137 "$(st -- /bin/sh -c 'kill -9 $$')"
check "SIGTERM -> 143" 143 "$(st -- /bin/sh -c 'kill -TERM $$')"
check "SIGSEGV -> 139" 139 "$(st -- /usr/bin/python3 -c 'import os,signal; os.kill(os.getpid(), signal.SIGSEGV)')"
check "not found -> 127" 127 "$(st -- guardian-no-such-command-xyz)"
grep -q 'command not found' "$T/err" && check "127 message" yes yes || check "127 message" "command not found" "$(cat "$T/err")"
check "missing path -> 127" 127 "$(st -- "$T/nope")"
printf 'echo hi\n' >"$T/noexec.sh"; chmod 644 "$T/noexec.sh"
check "not executable -> 126" 126 "$(st -- "$T/noexec.sh")"
check "directory -> 126" 126 "$(st -- "$T")"
check "unknown option -> 125" 125 "$(st --no-such-option -- /bin/true)"
check "bad --mode -> 125" 125 "$(st --mode sideways -- /bin/true)"
check "missing command -> 125" 125 "$(st --)"
check "bad --timeout -> 125" 125 "$(st --timeout 5parsecs -- /bin/true)"
# The command's own output and stdin pass through untouched.
check "stdin/stdout" "hello" "$(echo hello | "$G" run -p "$P" -- /bin/cat)"
check "argv passed verbatim" "a b|--|-x" "$("$G" run -p "$P" -- /bin/sh -c 'printf "%s|%s|%s" "$1" "$2" "$3"' sh 'a b' -- -x)"
# Descriptors other than 0, 1, 2 are closed.
exec 7>"$T/leak"
check "fd 7 not inherited" "closed" "$("$G" run -p "$P" -- /bin/sh -c 'if (true >&7) 2>/dev/null; then echo open; else echo closed; fi')"
exec 7>&-
if have_engine; then
  printf 'version: 1\nfiles:\n  read: 42\n' >"$T/bad.yaml"
  "$G" run -p "$T/bad.yaml" -- /bin/true 2>"$T/err"
  check "bad profile -> 125" 125 "$?"
  grep -q "bad.yaml:3:" "$T/err" && check "bad profile names FILE:LINE" yes yes || check "bad profile names FILE:LINE" "$T/bad.yaml:3:COL" "$(cat "$T/err")"
fi
finish
