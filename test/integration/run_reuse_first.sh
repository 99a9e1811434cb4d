#!/bin/sh
# Runs test/attacks/net_reuse_first natively and under guardian: the attack listens first on
# a port of 127.0.0.1 (the profile lets the session bind 127.0.0.1:*), trying SO_REUSEPORT;
# then another program, the port's owner, starts outside the session and binds it with
# SO_REUSEPORT, as servers that run several workers do, and 40 connections (each from a port
# of its own) are made to it. Under guardian that program must get every one of them, or be
# refused the port as it is natively when a port is taken (it then knows); the session gets
# none. Natively the attack takes a share; else it shows nothing here and the test is
# skipped (77).
. "$(dirname "$0")/run_lib.sh"
attack=${1:?usage: run_reuse_first.sh ATTACK_EXE}
loopback_bind_profile reuse-first "$attack"
# Once the attack listens: the owner binds its port with SO_REUSEPORT and, if it could,
# takes 40 connections; writes what it got ("refused" when its bind failed) to $T/got.
round() {
  n=0
  while [ ! -f "$T/ws/port" ] && [ "$n" -lt 300 ]; do n=$((n + 1)); sleep 0.1; done
  /usr/bin/python3 - "$(cat "$T/ws/port" 2>/dev/null)" "$T/got" <<'PY'
import socket, sys, threading, time
port, out = int(sys.argv[1] or 0), sys.argv[2]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
try:
    s.bind(("127.0.0.1", port)); s.listen(64)
except OSError as e:
    open(out, "w").write("refused\n")
    sys.exit(0)
got = [0]
def acc():
    while True:
        c, _ = s.accept(); c.close(); got[0] += 1
threading.Thread(target=acc, daemon=True).start()
for i in range(40):
    try:
        socket.create_connection(("127.0.0.1", port), 2).close()
    except OSError:
        pass
time.sleep(0.5)
open(out, "w").write("%d\n" % got[0])
PY
  touch "$T/ws/done"
}
export ATTACK_PORT=$T/ws/port ATTACK_DONE=$T/ws/done
rm -f "$T/ws/port" "$T/ws/done" "$T/got"
round & "$attack"; wait $!
native=$(cat "$T/got" 2>/dev/null)
echo "native: the owner got $native"
rm -f "$T/ws/port" "$T/ws/done" "$T/got"
round & "$G" run -p "$T/reuse.yaml" -a "$T/audit.jsonl" -- "$attack" >"$T/out" 2>"$T/err"
status=$?
wait $!
guarded=$(cat "$T/got" 2>/dev/null)
cat "$T/out"; tail -c 1000 "$T/err"
echo "guardian: the owner got $guarded"
case $guarded in
  40|refused) owner=ok ;;
  *) owner="got $guarded of 40" ;;
esac
check "the owner got every connection, or was refused the taken port" ok "$owner"
check "the session did not share its port" 0 "$status"
check "the audit log has the refusal" yes "$(grep -q '"decision":"deny"' "$T/audit.jsonl" && echo yes || echo no)"
[ "$fails" -eq 0 ] || finish
case $native in 40|refused) echo "the attack takes nothing natively here"; exit 77 ;; esac
finish
