#!/usr/bin/python3
"""Opens, creates and name operations (unlink, mkdir, rename...) give under guardian exactly
what they give natively, on the cases where guardian's quick way (one openat2 with
RESOLVE_NO_SYMLINKS of the decided path, or only the parent directory held) meets the
kernel's special cases: existing names, dangling symlinks, symlinks in the directory part,
"..", trailing slashes, FIFOs opened O_NONBLOCK, umask on created modes. And a symlink from
an allowed directory into a denied one never lets a create or an unlink through."""
import os
import subprocess
import sys
import tempfile

G = os.environ["GUARDIAN"]
BACKEND = os.environ.get("BACKEND", "")
PY = "/usr/bin/python3"

PROBE = r'''
import errno, fcntl, os, stat, sys
os.umask(0o027)
d = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
def res(what, f):
    try:
        r = f()
        if isinstance(r, int) and r >= 0 and what.startswith("open"):
            os.close(r)
            r = "fd"
        print(what, "ok", r)
    except OSError as e:
        print(what, "err", errno.errorcode.get(e.errno, e.errno))
def mode(p):
    try:
        st = os.lstat(p)
        return oct(stat.S_IMODE(st.st_mode)) + ("l" if stat.S_ISLNK(st.st_mode) else "")
    except OSError as e:
        return errno.errorcode.get(e.errno)
W = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
NB = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC
res("open excl new", lambda: os.open("sub/new", W, 0o666, dir_fd=d)); print(" mode", mode("sub/new"))
res("open excl again", lambda: os.open("sub/new", W, 0o666, dir_fd=d))
res("open excl dangling", lambda: os.open("dangle", W, 0o666, dir_fd=d)); print(" target", mode("nowhere"))
res("open excl via dir link", lambda: os.open("ldir/vialink", W, 0o600, dir_fd=d)); print(" mode", mode("sub/vialink"))
res("open excl dotdot missing", lambda: os.open("missing/../x1", W, 0o666, dir_fd=d)); print(" x1", mode("x1"))
res("open excl dotdot", lambda: os.open("sub/../x2", W, 0o666, dir_fd=d)); print(" x2", mode("x2"))
res("open excl under file", lambda: os.open("file/x", W, 0o666, dir_fd=d))
res("open excl trailing slash", lambda: os.open("newdir/", W, 0o666, dir_fd=d))
res("open excl dir", lambda: os.open("sub", W, 0o666, dir_fd=d))
res("open excl absolute", lambda: os.open(os.path.abspath("abs"), W, 0o644)); print(" abs", mode("abs"))
res("open nb file", lambda: os.open("file", NB, dir_fd=d))
res("open nb missing", lambda: os.open("nope", NB, dir_fd=d))
res("open nb fifo read", lambda: os.open("fifo", NB, dir_fd=d))
res("open nb fifo write", lambda: os.open("fifo", os.O_WRONLY | os.O_NONBLOCK, dir_fd=d))
res("open nb nofollow link", lambda: os.open("lfile", NB | os.O_NOFOLLOW, dir_fd=d))
res("open nb follow link", lambda: os.open("lfile", NB, dir_fd=d))
res("open nb directory on file", lambda: os.open("file", NB | os.O_DIRECTORY, dir_fd=d))
res("open nb file slash", lambda: os.open("file/", NB, dir_fd=d))
res("open file slash", lambda: os.open("file/", os.O_RDONLY, dir_fd=d))
res("open creat slash", lambda: os.open("newdir2/", os.O_WRONLY | os.O_CREAT, 0o666, dir_fd=d))
res("open nb creat via link", lambda: os.open("lfile", os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK | os.O_APPEND, 0o600, dir_fd=d))
res("open nb trunc", lambda: os.open("trunc", os.O_WRONLY | os.O_TRUNC | os.O_NONBLOCK, dir_fd=d)); print(" size", os.stat("trunc").st_size)
R = os.O_RDONLY | os.O_CLOEXEC
def flags(what, path, fl, *mode):
    # The descriptor's status flags as the program sees them (O_NONBLOCK, O_APPEND...).
    try:
        fd = os.open(path, fl, *mode, dir_fd=d)
        print(what, "flags", oct(fcntl.fcntl(fd, fcntl.F_GETFL) & ~0o100000), "blocking", os.get_blocking(fd))
        os.close(fd)
    except OSError as e:
        print(what, "err", errno.errorcode.get(e.errno, e.errno))
res("open plain file", lambda: os.open("file", R, dir_fd=d))
res("open plain missing", lambda: os.open("nope", R, dir_fd=d))
res("open plain missing dir", lambda: os.open("nodir/x", R, dir_fd=d))
res("open plain under file", lambda: os.open("file/x", R, dir_fd=d))
res("open plain directory on file", lambda: os.open("file", R | os.O_DIRECTORY, dir_fd=d))
res("open plain directory", lambda: os.open("sub", R | os.O_DIRECTORY, dir_fd=d))
# O_DIRECTORY is opened without O_NONBLOCK (it cannot wait): on a FIFO it must fail at once.
res("open plain directory on fifo", lambda: os.open("fifo", R | os.O_DIRECTORY, dir_fd=d))
res("open plain directory via link", lambda: os.open("ldir", R | os.O_DIRECTORY, dir_fd=d))
res("open plain write dir", lambda: os.open("sub", os.O_WRONLY, dir_fd=d))
res("open plain file slash", lambda: os.open("file/", R, dir_fd=d))
res("open plain dir slash", lambda: os.open("sub/", R, dir_fd=d))
res("open plain dir link slash", lambda: os.open("ldir/", R, dir_fd=d))
res("open plain file link slash", lambda: os.open("lfile/", R, dir_fd=d))
res("open plain follow link", lambda: os.open("lfile", R, dir_fd=d))
res("open plain follow link again", lambda: os.open("lfile", R, dir_fd=d))
res("open plain nofollow link", lambda: os.open("lfile", R | os.O_NOFOLLOW, dir_fd=d))
res("open plain dangling", lambda: os.open("dangle", R, dir_fd=d))
res("open plain link in the middle", lambda: os.open("ldir/../file", R, dir_fd=d))
res("open plain dotdot", lambda: os.open("sub/../file", R, dir_fd=d))
res("open plain dotdot missing", lambda: os.open("missing/../file", R, dir_fd=d))
res("open plain absolute", lambda: os.open(os.path.abspath("file"), R))
res("open plain O_PATH", lambda: os.open("file", os.O_PATH, dir_fd=d))
res("open plain O_PATH link", lambda: os.open("lfile", os.O_PATH | os.O_NOFOLLOW, dir_fd=d))
res("open plain O_TMPFILE", lambda: os.open("sub", os.O_TMPFILE | os.O_WRONLY, 0o600, dir_fd=d))
res("open plain O_TMPFILE on file", lambda: os.open("file", os.O_TMPFILE | os.O_WRONLY, 0o600, dir_fd=d))
res("open plain creat existing", lambda: os.open("file", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=d))
res("open plain creat new", lambda: os.open("sub/plainnew", os.O_WRONLY | os.O_CREAT, 0o666, dir_fd=d)); print(" mode", mode("sub/plainnew"))
res("open plain creat via link", lambda: os.open("ldir/plainlink", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=d)); print(" mode", mode("sub/plainlink"))
res("open plain fifo rdwr", lambda: os.open("fifo", os.O_RDWR, dir_fd=d))
res("open plain dev null", lambda: os.open("/dev/null", os.O_WRONLY))
flags("open plain", "file", R)
flags("open plain append", "file", os.O_WRONLY | os.O_APPEND)
flags("open plain noatime", "file", R | os.O_NOATIME)
flags("open plain dir", "sub", R | os.O_DIRECTORY)
flags("open plain link", "lfile", R)
flags("open plain rdwr fifo", "fifo", os.O_RDWR)
flags("open nb", "file", R | os.O_NONBLOCK)
flags("open plain dev null", "/dev/null", os.O_WRONLY)
flags("open plain creat", "sub/plainnew", os.O_RDWR | os.O_CREAT, 0o600)
with open("trunc", "w") as f:
    f.write("to be truncated")
res("open plain trunc", lambda: os.open("trunc", os.O_WRONLY | os.O_TRUNC, dir_fd=d)); print(" size", os.stat("trunc").st_size)
# A FIFO opened without O_NONBLOCK waits for its other end, then works: a reader whose
# writer comes later, a writer whose reader comes later.
for side in ("read", "write"):
    pid = os.fork()
    if pid == 0:
        import time
        time.sleep(0.3)
        fd = os.open("fifo", os.O_WRONLY if side == "read" else os.O_RDONLY)
        if side == "read":
            os.write(fd, b"from the writer")
        else:
            print("fifo", side, "other end got", os.read(fd, 100), flush=True)
        os._exit(0)
    try:
        fd = os.open("fifo", os.O_RDONLY if side == "read" else os.O_WRONLY)
        print("fifo", side, "blocking", os.get_blocking(fd), flush=True)
        if side == "read":
            print("fifo read got", os.read(fd, 100), flush=True)
        else:
            os.write(fd, b"from the waiting writer")
        os.close(fd)
    except OSError as e:
        print("fifo", side, "err", errno.errorcode.get(e.errno, e.errno), flush=True)
    os.waitpid(pid, 0)
# A writer that opens, writes and closes at once, again and again, while a reader waits:
# the reader's waiting open must see each writer, however quickly it came and went.
bad = 0
for i in range(200):
    pid = os.fork()
    if pid == 0:
        fd = os.open("fifo", os.O_RDONLY)
        os._exit(0 if os.read(fd, 10) == b"x" else 3)
    fd = os.open("fifo", os.O_WRONLY)
    os.write(fd, b"x")
    os.close(fd)
    bad += os.waitpid(pid, 0)[1] != 0
print("fifo handoffs failed", bad, flush=True)
res("unlink missing", lambda: os.unlink("sub/nope", dir_fd=d))
res("unlink dir", lambda: os.unlink("sub", dir_fd=d))
res("unlink dangling", lambda: os.unlink("dangle", dir_fd=d)); print(" dangle", mode("dangle"))
res("unlink via dir link", lambda: os.unlink("ldir/vialink", dir_fd=d)); print(" vialink", mode("sub/vialink"))
res("unlink slash", lambda: os.unlink("file/", dir_fd=d))
res("rmdir dot", lambda: os.rmdir("sub/.", dir_fd=d))
res("rmdir nonempty", lambda: os.rmdir("sub", dir_fd=d))
res("rmdir link", lambda: os.rmdir("ldir", dir_fd=d))
res("mkdir new", lambda: os.mkdir("sub/nd", 0o777, dir_fd=d)); print(" mode", mode("sub/nd"))
res("mkdir exists", lambda: os.mkdir("sub", 0o777, dir_fd=d))
res("mkdir slash", lambda: os.mkdir("nd2/", 0o777, dir_fd=d)); print(" nd2", mode("nd2"))
res("rename", lambda: os.rename("x2", "sub/x3", src_dir_fd=d, dst_dir_fd=d)); print(" x3", mode("sub/x3"))
res("rename over dir", lambda: os.rename("sub/x3", "sub/nd", src_dir_fd=d, dst_dir_fd=d))
res("symlink", lambda: os.symlink("file", "sub/sl", dir_fd=d)); print(" sl", mode("sub/sl"))
res("symlink exists", lambda: os.symlink("file", "sub/sl", dir_fd=d))
res("link", lambda: os.link("file", "sub/hard", src_dir_fd=d, dst_dir_fd=d)); print(" nlink", os.stat("file").st_nlink)
res("mknod fifo", lambda: os.mkfifo("sub/ff", 0o666, dir_fd=d)); print(" ff", mode("sub/ff"))
res("utime path", lambda: os.utime("file", (1000000, 2000000), dir_fd=d)); print(" mtime", os.stat("file").st_mtime)
res("utime link nofollow", lambda: os.utime("lfile", (3000000, 4000000), dir_fd=d, follow_symlinks=False)); print(" link mtime", os.lstat("lfile").st_mtime, os.stat("file").st_mtime)
res("utime missing", lambda: os.utime("nope", (1, 2), dir_fd=d))
res("chown path", lambda: os.chown("file", os.getuid(), os.getgid(), dir_fd=d))
res("chown missing", lambda: os.chown("nope", os.getuid(), os.getgid(), dir_fd=d))
res("truncate via link", lambda: os.truncate("lfile", 2)); print(" size", os.stat("file").st_size)
res("truncate dir", lambda: os.truncate("sub", 0))
res("chmod link target", lambda: os.chmod("lfile", 0o600, dir_fd=d)); print(" mode", mode("file"))
# An empty path is ENOENT and a path of PATH_MAX bytes or more ENAMETOOLONG, as the kernel
# says before any permission check (never a decision about "/").
LONG = "a/" * 2048
for name, f in [("open", lambda p: os.open(p, os.O_RDONLY)),
                ("open creat", lambda p: os.open(p, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)),
                ("stat", os.stat), ("lstat", os.lstat), ("mkdir", os.mkdir), ("unlink", os.unlink),
                ("rmdir", os.rmdir), ("chmod", lambda p: os.chmod(p, 0o600)),
                ("rename from", lambda p: os.rename(p, "x9")), ("rename to", lambda p: os.rename("file", p)),
                ("symlink to", lambda p: os.symlink(p, "sl9")), ("symlink at", lambda p: os.symlink("file", p)),
                ("link", lambda p: os.link("file", p)), ("readlink", os.readlink),
                ("truncate", lambda p: os.truncate(p, 0)), ("utime", lambda p: os.utime(p, None)),
                ("access", lambda p: os.access(p, os.R_OK) or (_ for _ in ()).throw(OSError(errno.EACCES, ""))),
                ("chdir", os.chdir), ("listdir", os.listdir), ("exec", lambda p: os.execv(p, ["x"]))]:
    res("empty " + name, lambda: f(""))
    res("long " + name, lambda: f(LONG))
res("fstat AT_EMPTY_PATH", lambda: os.stat("", dir_fd=d) and None)
# The umask of each creation is the creator's at that moment: the program changing its own,
# and a child with another one creating in turn with its parent (the supervisor keeps the
# last umask it used between creations).
os.umask(0o022)
res("open umask 022", lambda: os.open("um1", W, 0o666, dir_fd=d)); print(" mode", mode("um1"))
res("mkdir umask 022", lambda: os.mkdir("umd1", 0o777, dir_fd=d)); print(" mode", mode("umd1"))
os.umask(0o077)
res("open umask 077", lambda: os.open("um2", W, 0o666, dir_fd=d)); print(" mode", mode("um2"))
rfd, wfd = os.pipe()
rback, wback = os.pipe()
pid = os.fork()
if pid == 0:
    os.umask(0o002)
    for i in range(3):
        os.read(rfd, 1)
        os.close(os.open("child%d" % i, W, 0o666, dir_fd=d))
        os.mkfifo("cfifo%d" % i, 0o666, dir_fd=d)
        os.write(wback, b"x")
    os._exit(0)
for i in range(3):
    os.close(os.open("parent%d" % i, W, 0o666, dir_fd=d))
    os.write(wfd, b"x")
    os.read(rback, 1)
os.waitpid(pid, 0)
for i in range(3):
    print(" umask modes", i, mode("parent%d" % i), mode("child%d" % i), mode("cfifo%d" % i))
os.umask(0o027)
print("listing", sorted(os.listdir(".")), sorted(os.listdir("sub")))
'''

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def fixture(root):
    w = os.path.join(root, "w")
    os.makedirs(os.path.join(w, "sub"))
    with open(os.path.join(w, "file"), "w") as f:
        f.write("data")
    with open(os.path.join(w, "trunc"), "w") as f:
        f.write("to be truncated")
    os.symlink("nowhere", os.path.join(w, "dangle"))
    os.symlink("sub", os.path.join(w, "ldir"))
    os.symlink("file", os.path.join(w, "lfile"))
    os.mkfifo(os.path.join(w, "fifo"))
    secret = os.path.join(root, "secret")
    os.makedirs(secret)
    with open(os.path.join(secret, "victim"), "w") as f:
        f.write("keep")
    os.symlink(secret, os.path.join(w, "lsecret"))
    return w


def run(argv, cwd):
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120)


def main():
    root = tempfile.mkdtemp(prefix="guardian-quick.")
    os.chmod(root, 0o755)
    backend = ["--backend", BACKEND] if BACKEND else []
    native = run([PY, "-c", PROBE], fixture(os.path.join(root, "native")))
    check(native.returncode == 0, f"native probe runs ({native.stderr[-300:]})")
    gw = fixture(os.path.join(root, "guarded"))
    # Denied: everything under secret/ (reachable from w/ through a symlink only).
    secret = os.path.join(root, "guarded", "secret")
    prof = os.path.join(root, "p.yaml")
    with open(prof, "w") as f:
        f.write(f"""version: 1
name: quick-paths
files:
  read: ["/**"]
  write: ["{gw}/**", "/dev/null"]
exec:
  allow: ["/**"]
""")
    g = run([G, "run", *backend, "-p", prof, "--", PY, "-c", PROBE], gw)
    check(g.returncode == 0, f"probe runs under guardian ({g.stderr[-300:]})")
    nl, gl = native.stdout.splitlines(), g.stdout.splitlines()
    check(len(nl) > 40, f"the probe printed its results ({len(nl)} lines)")
    for a, b in zip(nl, gl):
        check(a == b, f"same as native: {a!r}" + ("" if a == b else f" (guardian: {b!r})"))
    check(len(nl) == len(gl), "as many results as native")

    # The lexical path is allowed (w/lsecret/...), the real one is not.
    deny = r'''
import errno, os
for what, f in [
    ("create", lambda: os.close(os.open("lsecret/new", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))),
    ("create nb", lambda: os.close(os.open("lsecret/new2", os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK, 0o600))),
    ("write nb", lambda: os.close(os.open("lsecret/victim", os.O_WRONLY | os.O_TRUNC | os.O_NONBLOCK))),
    ("write plain", lambda: os.close(os.open("lsecret/victim", os.O_WRONLY | os.O_TRUNC))),
    ("write plain again", lambda: os.close(os.open("lsecret/victim", os.O_WRONLY | os.O_TRUNC))),
    ("create plain", lambda: os.close(os.open("lsecret/new3", os.O_WRONLY | os.O_CREAT, 0o600))),
    ("unlink", lambda: os.unlink("lsecret/victim")),
    ("mkdir", lambda: os.mkdir("lsecret/d")),
    ("rename", lambda: os.rename("file", "lsecret/moved")),
]:
    try:
        f()
        print(what, "ok")
    except OSError as e:
        print(what, errno.errorcode.get(e.errno))
# A link opened twice (the second time as the kernel resolved it the first), then turned to
# the denied file: the next open through it is denied.
os.symlink("file", "wlink")
for i in range(2):
    os.close(os.open("wlink", os.O_WRONLY | os.O_APPEND))
os.symlink(os.path.abspath("lsecret/victim"), "wlink.new")
os.rename("wlink.new", "wlink")
try:
    os.close(os.open("wlink", os.O_WRONLY | os.O_TRUNC))
    print("relinked ok")
except OSError as e:
    print("relinked", errno.errorcode.get(e.errno))
'''
    g = run([G, "run", *backend, "-p", prof, "--", PY, "-c", deny], gw)
    for what in ["create", "create nb", "write nb", "write plain", "write plain again",
                 "create plain", "unlink", "mkdir", "rename", "relinked"]:
        check(f"{what} EACCES" in g.stdout.splitlines(),
              f"{what} through a symlink into a denied directory is denied ({g.stdout!r})")
    check(sorted(os.listdir(secret)) == ["victim"], f"nothing created or removed in the denied directory ({os.listdir(secret)})")
    with open(os.path.join(secret, "victim")) as f:
        check(f.read() == "keep", "the denied file kept its contents")
    subprocess.run(["rm", "-rf", root])
    if failures:
        print(f"{len(failures)} failure(s)")
        sys.exit(1)


if __name__ == "__main__":
    main()
