#!/bin/sh
# Device nodes in a tree the session may write (as base lets it write /dev/null and
# /dev/tty, and a root session could otherwise remove /dev/null and put a plain file in
# its place for every program of the machine): the session opens and writes them, but
# may not remove, rename, replace, link, chmod or chown them, nor set their attributes,
# by path or by descriptor. Root only (making the nodes needs it): else skipped (77).
. "$(dirname "$0")/run_lib.sh"
[ "$(id -u)" = 0 ] || { echo "not root: cannot make device nodes"; exit 77; }
mkdir -p "$T/ws"
for n in 1 2 3 4 5 6 7 8; do mknod -m 666 "$T/ws/null$n" c 1 3 || { echo "mknod failed"; exit 77; }; done
state() { for n in 1 2 3 4 5 6 7 8; do stat -c '%n %F %t,%T %a %u:%g' "$T/ws/null$n" 2>&1; done; ls "$T/ws" | grep -v -e '^null[1-8]$' -e '^plain$'; }
before=$(state)
cat >"$T/dev.yaml" <<YAML
version: 1
extends: [base]
files:
  write: ["$T/ws/**"]
exec:
  allow: ["/usr/bin/**", "/bin/**"]
YAML
cd "$T/ws"
"$G" run -p "$T/dev.yaml" -a "$T/audit.jsonl" -- /bin/sh -c '
echo data >null1 && echo "written"
chmod 000 null1; chown 1:1 null2; rm -f null3; mv null4 moved; echo plain >plain; mv -f plain null5
ln null6 alias
/usr/bin/python3 -c "
import os
fd = os.open(\"null7\", os.O_WRONLY)
for f in (lambda: os.fchmod(fd, 0), lambda: os.fchown(fd, 1, 1), lambda: os.setxattr(fd, \"user.x\", b\"1\")):
    try: f()
    except OSError: pass
try: os.setxattr(\"null8\", \"user.x\", b\"1\")
except OSError: pass
"
true' >"$T/out" 2>"$T/err"
cd "$T"
cat "$T/out"
check "the nodes are written to" "written" "$(cat "$T/out")"
check "the device nodes are unchanged" "$before" "$(state)"
check "the log records the refusals" yes "$(grep -q '"decision":"deny"' "$T/audit.jsonl" && echo yes || echo no)"
finish
