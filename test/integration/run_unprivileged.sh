#!/bin/sh
# guardian as an ordinary user (no root, no user namespaces, no capabilities): when run as
# root, the checks run again as `nobody` through setpriv; otherwise as the current user.
. "$(dirname "$0")/run_lib.sh"
if [ "$(id -u)" -eq 0 ]; then
  command -v setpriv >/dev/null || { echo "setpriv missing"; exit 77; }
  nobody=$(id -u nobody 2>/dev/null) || { echo "no user nobody"; exit 77; }
  chmod 777 "$T"
  AS="setpriv --reuid=$nobody --regid=$nobody --clear-groups --inh-caps=-all --"
  $AS /bin/sh -c "test -x '$G'" || { echo "guardian binary not reachable by nobody"; exit 77; }
else
  AS=""
fi
W=$T/w; mkdir -p "$W"; chmod 777 "$W"
cat >"$T/u.yaml" <<YAML
version: 1
extends: [base]
files:
  write: ["$W/**"]
exec:
  allow: ["/usr/bin/*", "/bin/*"]
YAML
chmod 644 "$T/u.yaml"
echo "SECRET-U" >"$T/secret"; chmod 644 "$T/secret"
run() { $AS env HOME="$W" TMPDIR="$W" PATH=/usr/bin:/bin "$G" run -p "$T/u.yaml" "$@"; }
check "runs as uid" "$( [ -n "$AS" ] && echo "$nobody" || id -u)" "$(run -- /usr/bin/id -u 2>/dev/null)"
check "exit status passes through" 4 "$(run -- /bin/sh -c 'exit 4' 2>/dev/null; echo $?)"
check "supervised (seccomp filter on)" 2 "$(run -- /bin/sh -c 'grep ^Seccomp: /proc/self/status' 2>/dev/null | tr -dc 0-9)"
run -- /bin/sh -c "echo made >'$W/ok'" 2>/dev/null
check "allowed write happened" made "$(cat "$W/ok" 2>/dev/null)"
if have_engine; then
  out=$(run -- /bin/cat "$T/secret" 2>/dev/null); rc=$?
  check "denied read: status" 1 "$rc"
  check "denied read: no bytes" "" "$out"
  run -- /bin/sh -c "echo x >'$T/outside'" 2>/dev/null
  check "denied write: no file" absent "$([ -e "$T/outside" ] && echo present || echo absent)"
fi
run -- /bin/sh -c "( /bin/sleep 300 & echo \$! >'$W/d.pid' ) & sleep 0.2" 2>/dev/null
pid=$(cat "$W/d.pid" 2>/dev/null)
if [ -n "$pid" ] && gone_within "$pid" 20; then check "daemon killed (unprivileged)" dead dead
else check "daemon killed (unprivileged)" dead "alive:$pid"; kill -9 "$pid" 2>/dev/null; fi
check "closed door as a user (unshare -U)" 1 "$(run -- /usr/bin/unshare -U /bin/true 2>/dev/null; echo $?)"
finish
