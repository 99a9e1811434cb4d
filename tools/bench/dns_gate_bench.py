#!/usr/bin/python3
"""What the DNS gate costs (issue 9), against native in the same run, median of --reps:
  query     N UDP queries as glibc makes them (connect, send, recvfrom): natively straight
            to a loopback resolver; under guardian through the gate to the same resolver
  recvfrom  N UDP round trips between two sockets of one process (recvfrom with an address):
            native, guardian whose profile names no host (recvfrom not intercepted), and
            guardian whose profile names a host (recvfrom notified and checked)

usage: tools/bench/dns_gate_bench.py [--guardian PATH] [--reps N] [--n N]
"""
import argparse, os, socket, statistics, struct, subprocess, tempfile, threading, time

here = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
ap.add_argument("--guardian", default=os.path.join(here, "..", "..", "build", "guardian", "guardian"))
ap.add_argument("--reps", type=int, default=5)
ap.add_argument("--n", type=int, default=2000)
args = ap.parse_args()


def serve(sock):
    while True:
        pkt, src = sock.recvfrom(4096)
        end = 12
        while pkt[end]:
            end += pkt[end] + 1
        q = pkt[12:end + 5]
        ans = struct.pack(">HHHHHH", struct.unpack(">H", pkt[:2])[0], 0x8180, 1, 1, 0, 0) + q
        ans += b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x7f\x00\x00\x02"
        sock.sendto(ans, src)


up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
up.bind(("127.0.0.1", 0))
port = up.getsockname()[1]
threading.Thread(target=serve, args=(up,), daemon=True).start()

root = tempfile.mkdtemp(prefix="guardian-dnsbench.")
CLIENT = r'''
import socket, struct, sys, time
host, port, n, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
t0 = time.monotonic()
if mode == "query":
    q = struct.pack(">HHHHHH", 7, 0x100, 1, 0, 0, 0) + b"\x07allowed\x04test\x00\x00\x01\x00\x01"
    for i in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(5)
        s.connect((host, port)); s.send(q); s.recvfrom(512); s.close()
else:
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); a.bind(("127.0.0.1", 0))
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); b.bind(("127.0.0.1", 0))
    b.connect(a.getsockname()); a.connect(b.getsockname())
    for i in range(n):
        b.send(b"x"); a.recvfrom(16); a.send(b"y"); b.recvfrom(16)
print(time.monotonic() - t0)
'''
client = os.path.join(root, "client.py")
open(client, "w").write(CLIENT)
open(os.path.join(root, "resolv.conf"), "w").write("nameserver 127.0.0.53\n")
open(os.path.join(root, "hosts"), "w").write("")
for name, net in (("hosts", '["allowed.test:*", "127.0.0.1:*"]'), ("nohosts", '["127.0.0.1:*"]')):
    open(os.path.join(root, name + ".yaml"), "w").write(
        f'version: 1\nextends: [base]\nfiles: {{read: ["{root}/**"]}}\n'
        f'exec: {{allow: ["/usr/bin/python3*"]}}\nnetwork: {{connect: {net}, bind: ["127.0.0.1:*"]}}\n')
env = dict(os.environ, GUARDIAN_RESOLV_CONF=os.path.join(root, "resolv.conf"),
           GUARDIAN_HOSTS=os.path.join(root, "hosts"), GUARDIAN_DNS_UPSTREAM=f"127.0.0.1:{port}")


def once(profile, target, mode):
    argv = ["/usr/bin/python3", client, target[0], str(target[1]), str(args.n), mode]
    if profile:
        argv = [args.guardian, "run", "--no-preload", "-p", os.path.join(root, profile + ".yaml"), "--"] + argv
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=True).stdout
    return float(out.split()[-1])


def bench(title, cases):
    res = {k: [] for k, _, _, _ in cases}
    for _ in range(args.reps):  # interleaved, so load affects every case alike
        for key, profile, target, mode in cases:
            res[key].append(once(profile, target, mode))
    base = statistics.median(res[cases[0][0]])
    print(title)
    for key, *_ in cases:
        m = statistics.median(res[key])
        print(f"  {key:28s} {m * 1e6 / args.n:8.1f} us/op  x{m / base:.2f}")


bench(f"query: {args.n} UDP queries", [
    ("native, to the resolver", None, ("127.0.0.1", port), "query"),
    ("guardian, through the gate", "hosts", ("127.0.0.53", 53), "query"),
])
bench(f"recvfrom: {args.n} round trips (2 recvfrom each)", [
    ("native", None, ("-", 0), "pingpong"),
    ("guardian, no host rules", "nohosts", ("-", 0), "pingpong"),
    ("guardian, host rules (gate)", "hosts", ("-", 0), "pingpong"),
])
