#!/usr/bin/python3
"""The shim without guardian: this script plays the supervisor's end of the channel (with
ENOENT as the deny errno, so every failure on a missing path takes the reporting path) and
checks that shim_errno gives exactly the native results and errno for every interposer,
that reports arrive with a stack and are acknowledged, and that a program which closed
the shim's descriptor and reused its number never receives the shim's bytes."""
import os
import socket
import struct
import subprocess
import sys
import threading

PROG = os.environ["SHIM_ERRNO"]
LIBRARY = os.environ["SHIM_LIBRARY"]
SO_COOKIE = 57
MAGIC = 0x31485347

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)


def serve(sock, got):
    while True:
        try:
            data, anc, _, _ = sock.recvmsg(8192, socket.CMSG_SPACE(16))
        except OSError:
            return
        if not data:
            return
        fds = []
        for level, typ, payload in anc:
            if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                fds += list(struct.unpack(f"{len(payload) // 4}i", payload[: len(payload) // 4 * 4]))
        magic, kind, size, pid, tid = struct.unpack_from("<IHHii", data)
        entry = {"magic": magic, "kind": kind, "size": size, "pid": pid, "len": len(data)}
        if kind == 1:
            family, nframes, err = struct.unpack_from("<HHi", data, 16)
            func = data[24:48].split(b"\0")[0].decode()
            path = data[48 + 48 * 8:].split(b"\0")[0].decode(errors="replace")
            entry.update(family=family, nframes=nframes, err=err, func=func, path=path, acked=bool(fds))
        got.append(entry)
        for fd in fds:
            os.write(fd, struct.pack("<Q", 1))
            os.close(fd)


def main():
    native = subprocess.run([PROG], capture_output=True, text=True, timeout=60)
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    cookie = struct.unpack("<Q", child.getsockopt(socket.SOL_SOCKET, SO_COOKIE, 8))[0]
    got = []
    t = threading.Thread(target=serve, args=(parent, got), daemon=True)
    t.start()
    env = dict(os.environ, LD_PRELOAD=LIBRARY, GUARDIAN_SHIM=f"{child.fileno()}:2:{cookie}")
    shimmed = subprocess.run([PROG], capture_output=True, text=True, timeout=60, env=env,
                             pass_fds=[child.fileno()])
    check(native.returncode == 0, f"native run: {native.stdout}")
    check(shimmed.stdout == native.stdout, f"with the shim: {shimmed.stdout!r} vs {native.stdout!r}")
    check(shimmed.returncode == native.returncode, "exit status differs")

    # A program that closes the channel and puts a socket of its own at the same number:
    # the shim must notice (SO_COOKIE) and never write into the program's socket.
    fd = child.fileno()
    script = (f"import os, socket\n"
              f"a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)\n"
              f"os.close({fd})\n"
              f"os.dup2(a.fileno(), {fd})\n"
              f"try:\n    open('/nonexistent-guardian-dir/x')\nexcept OSError:\n    pass\n"
              f"b.setblocking(False)\n"
              f"try:\n    print(len(b.recv(9000)))\nexcept BlockingIOError:\n    print(0)\n")
    reuse = subprocess.run(["/usr/bin/python3", "-c", script], capture_output=True, text=True,
                           timeout=60, env=env, pass_fds=[fd])
    check(reuse.stdout.strip() == "0", f"shim wrote into a reused descriptor: {reuse.stdout!r} {reuse.stderr!r}")
    check(not any(g.get("path") == "/nonexistent-guardian-dir/x" for g in got),
          "a report arrived from a process whose channel was closed")

    child.close()
    parent.shutdown(socket.SHUT_RDWR)
    t.join(5)
    # Built with _FILE_OFFSET_BITS=64, the program calls open64 for open, and so on.
    funcs = [g["func"].removesuffix("64") for g in got if g["kind"] == 1]
    for want in ["open", "openat", "creat", "fopen", "stat", "lstat", "fstatat", "statx", "access",
                 "execve", "execl", "execvp", "posix_spawn", "connect", "sendto", "__xstat", "__lxstat",
                 "__fxstatat", "__open_2"]:
        check(want in funcs, f"no report from {want}: {funcs}")
    ctx = [g for g in got if g["kind"] == 1]
    check(all(g["nframes"] >= 2 and g["err"] == 2 and g["acked"] for g in ctx), "reports carry a stack and an ack fd")
    # No per-process hello: the supervisor finds the shim in a denied process's memory map.
    check(not any(g["kind"] == 3 for g in got), "the shim sent a hello")
    forked = [g for g in ctx if g["path"].endswith("-forked")]
    check(len(forked) == 1 and forked[0]["nframes"] == 2,
          f"a child of a multi-threaded fork reports only its call site: {forked}")
    check(all(g["magic"] == MAGIC and g["size"] == g["len"] for g in got), "well-formed records")
    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    print(f"all interposers preserve results and errno; {len(ctx)} reports")
    return 0


if __name__ == "__main__":
    sys.exit(main())
