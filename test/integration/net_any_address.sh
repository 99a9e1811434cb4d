#!/bin/sh
# 0.0.0.0 and [::] as a destination are this host (the kernel connects to the loopback):
# a profile that allows every address but denies the loopback keeps a program from a local
# listener through them too. Checked by effect: the listener (dual-stack, outside the
# session) counts the connections and datagrams that reach it; a control connection to
# 127.0.0.1 natively shows it counts.
. "$(dirname "$0")/run_lib.sh"
/usr/bin/python3 - "$T" <<'PY' &
import os, socket, sys, threading
t = sys.argv[1]
def hit(what):
    with open(os.path.join(t, "hits"), "a") as f: f.write(what + "\n")
tcp = socket.socket(socket.AF_INET6); tcp.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
tcp.bind(("::", 0)); tcp.listen(16)
port = tcp.getsockname()[1]
udp = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); udp.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
udp.bind(("::", port))
def acc():
    while True:
        c, a = tcp.accept(); hit("tcp"); c.close()
def rcv():
    while True:
        udp.recv(64); hit("udp")
for f in (acc, rcv): threading.Thread(target=f, daemon=True).start()
with open(os.path.join(t, "port.tmp"), "w") as f: f.write("%d\n" % port)
os.rename(os.path.join(t, "port.tmp"), os.path.join(t, "port"))
threading.Event().wait()
PY
listener=$!
trap 'kill $listener 2>/dev/null; rm -rf "$T"' EXIT
await_file "$T/port" listener
port=$(cat "$T/port")
cat >"$T/n.yaml" <<YAML
version: 1
name: any-address
extends: [base]
exec:
  allow: ["/usr/bin/python3*"]
network:
  connect: ["*:*"]
  deny: ["127.0.0.0/8:*", "[::1]:*"]
YAML
PROG='
import socket, sys
port = int(sys.argv[1])
for fam, host in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::"), (socket.AF_INET6, "::ffff:0.0.0.0")):
    s = socket.socket(fam)
    try:
        s.connect((host, port)); print("connected", host)
    except OSError as e:
        print("refused", host, e.errno)
    s.close()
    u = socket.socket(fam, socket.SOCK_DGRAM)
    try:
        u.sendto(b"x", (host, port)); print("sent", host)
    except OSError as e:
        print("refused", host, e.errno)
    u.close()
'
/usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1', $port)).close()"
n=0; while [ "$(wc -l <"$T/hits" 2>/dev/null || echo 0)" -lt 1 ] && [ $n -lt 50 ]; do n=$((n + 1)); sleep 0.1; done
check "natively, the listener counts a connection" tcp "$(cat "$T/hits" 2>/dev/null)"
rm -f "$T/hits"
"$G" run -p "$T/n.yaml" -- /usr/bin/python3 -c "$PROG" "$port" >"$T/out" 2>&1
cat "$T/out"
sleep 0.3
check "0.0.0.0, [::], [::ffff:0.0.0.0] reached nothing" "" "$(cat "$T/hits" 2>/dev/null)"
check "each was refused" 6 "$(grep -c '^refused' "$T/out")"
finish
