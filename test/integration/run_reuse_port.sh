#!/bin/sh
# Runs test/attacks/net_reuse_port natively and under guardian beside another program that
# serves a TCP port with SO_REUSEPORT and a UDP port with SO_REUSEADDR and SO_REUSEPORT
# (started here, outside the session). The profile lets the session bind 127.0.0.1:*.
# 40 connections and 40 datagrams (each from a port of its own) are then sent to those
# ports: under guardian that program must get every one of them. Natively the attack
# takes a share; else it shows nothing here and the test is skipped (77).
. "$(dirname "$0")/run_lib.sh"
attack=${1:?usage: run_reuse_port.sh ATTACK_EXE}
/usr/bin/python3 - "$T" <<'PY' &
import os, socket, sys, threading
t = sys.argv[1]
lock = threading.Lock()
counts = {"tcp": 0, "udp": 0}
def bump(k):
    with lock:
        counts[k] += 1
        with open(os.path.join(t, "counts.tmp"), "w") as f: f.write("%d %d\n" % (counts["tcp"], counts["udp"]))
        os.rename(os.path.join(t, "counts.tmp"), os.path.join(t, "counts"))
tcp = socket.socket()
tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
tcp.bind(("127.0.0.1", 0)); tcp.listen(64)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
udp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
udp.bind(("127.0.0.1", 0))
def acc():
    while True:
        c, _ = tcp.accept(); c.close(); bump("tcp")
def rcv():
    while True:
        udp.recv(64); bump("udp")
for f in (acc, rcv):
    threading.Thread(target=f, daemon=True).start()
with open(os.path.join(t, "ports.tmp"), "w") as f:
    f.write("%d %d\n" % (tcp.getsockname()[1], udp.getsockname()[1]))
os.rename(os.path.join(t, "ports.tmp"), os.path.join(t, "ports"))
threading.Event().wait()
PY
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$T"' EXIT
await_file "$T/ports" server
read -r tcp udp <"$T/ports"
loopback_bind_profile reuse-port "$attack"
printf '0 0\n' >"$T/counts"
# Sends 40 connections and 40 datagrams once the attack is ready; writes what the server
# got of them to $T/got.
round() {
  n=0
  while [ ! -f "$T/ws/ready" ] && [ "$n" -lt 300 ]; do n=$((n + 1)); sleep 0.1; done
  /usr/bin/python3 - "$tcp" "$udp" <<'PY'
import socket, sys, time
tcp, udp = int(sys.argv[1]), int(sys.argv[2])
for i in range(40):
    try:
        socket.create_connection(("127.0.0.1", tcp), 2).close()
    except OSError:
        pass
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"x", ("127.0.0.1", udp)); s.close()
time.sleep(0.5)
PY
  read -r t1 u1 <"$T/counts"
  echo "$((t1 - t0)) $((u1 - u0))" >"$T/got"
  touch "$T/ws/done"
}
export ATTACK_REUSE_TCP=$tcp ATTACK_REUSE_UDP=$udp ATTACK_READY=$T/ws/ready ATTACK_DONE=$T/ws/done
rm -f "$T/ws/ready" "$T/ws/done"; read -r t0 u0 <"$T/counts"
round & "$attack"; wait $!
native=$(cat "$T/got")
echo "native: the server got (tcp udp) $native"
rm -f "$T/ws/ready" "$T/ws/done"; read -r t0 u0 <"$T/counts"
round & "$G" run -p "$T/reuse.yaml" -a "$T/audit.jsonl" -- "$attack" >"$T/out" 2>"$T/err"
status=$?
wait $!
guarded=$(cat "$T/got")
cat "$T/out"; tail -c 1000 "$T/err"
echo "guardian: the server got (tcp udp) $guarded"
check "the server outside the session got every connection and datagram" "40 40" "$guarded"
check "the session did not join its ports" 0 "$status"
check "the audit log has the refusal" yes "$(grep -q '"decision":"deny"' "$T/audit.jsonl" && echo yes || echo no)"
[ "$fails" -eq 0 ] || finish
[ "$native" = "40 40" ] && { echo "the attack takes nothing natively here"; exit 77; }
finish
