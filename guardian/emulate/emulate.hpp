// The short list of operations the supervisor performs on a tracee's behalf. Each works on
// descriptors the decoder already checked (O_PATH of the object or of its parent directory),
// never on a path the tracee could change after the check. Results: >= 0 value, < 0 -errno.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <cstddef>
#include <ctime>
#include <string>

namespace guardian::emulate {

// Opens the checked existing object `target` (O_PATH) again with the tracee's flags.
long reopen(int target, int flags, bool regular);
// Creates-or-opens `name` in the checked directory `parent` (O_CREAT without following).
long create_at(int parent, const std::string& name, int flags, mode_t mode, mode_t umask);
// Opens (and, with O_CREAT, creates under `umask`) the absolute path `path` from our root
// `root` with the tracee's `flags` in one openat2 with RESOLVE_NO_SYMLINKS: the decided path
// and nothing else (any symlink on the way: -ELOOP, the caller resolves the long way).
// Only for flags that cannot block in open (the caller checks: O_NONBLOCK, or O_CREAT|O_EXCL,
// or adds O_NONBLOCK itself and clears it with clear_nonblock once it knows the type).
long open_nosym(int root, const std::string& path, int flags, mode_t mode, mode_t umask);
// Takes back the O_NONBLOCK the supervisor added to open `fd` (the tracee asked `flags`,
// without it): the file status flags become exactly the tracee's. 0 or -errno.
long clear_nonblock(int fd, int flags);
// O_TMPFILE in the checked directory `dir`.
long tmpfile_in(int dir, int flags, mode_t mode, mode_t umask);

long unlink_at(int parent, const std::string& name, int flags);
long mkdir_at(int parent, const std::string& name, mode_t mode, mode_t umask);
long mknod_at(int parent, const std::string& name, mode_t mode, dev_t dev, mode_t umask);
long rename_at(int p1, const std::string& n1, int p2, const std::string& n2, unsigned flags);
long link_at(int p1, const std::string& n1, int p2, const std::string& n2);
long link_obj(int target, int p2, const std::string& n2);
long symlink_at(const std::string& content, int parent, const std::string& name);

long chmod_obj(int target, mode_t mode);
long chown_obj(int target, uid_t uid, gid_t gid);
long utimens_obj(int target, const struct timespec* ts);
long truncate_obj(int target, off_t len);
long setxattr_obj(int target, const std::string& name, const void* value, std::size_t size,
                  int flags);
long removexattr_obj(int target, const std::string& name);
long setattr_obj(int target, const void* attr, std::size_t size);

// Sockets taken from the tracee (pidfd_getfd): the address is the checked copy.
// connect: when the tracee's socket is blocking and the connection is in progress, sets
// `then_continue`: the kernel re-running the tracee's connect() only waits for this one.
long connect_sock(int sock, const sockaddr* sa, socklen_t len, bool& then_continue);
long bind_sock(int sock, const sockaddr* sa, socklen_t len, mode_t umask);
// bind() of a pathname unix socket with the tracee's own sun_path, so that getsockname,
// getpeername and recvfrom show the name the program gave (a bind through
// /proc/self/fd/N/NAME stores that text, and Python's multiprocessing hands it to other
// processes). `parent` is the directory decided for the name; `cwd` (or -1) the directory a
// relative name was resolved from. Returns -ENOSYS when that cannot be done safely here
// (no Landlock): the caller then binds through `parent` with bind_sock.
long bind_unix_named(int sock, const sockaddr* sa, socklen_t len, int parent, int cwd,
                     mode_t umask);
long sendmsg_sock(int sock, const msghdr* msg, int flags);
// The same, waiting as the tracee's blocking socket would: only on a Waiter thread, never in
// the supervisor's loop (session/waiter.hpp interrupts it to notice the tracee is gone).
long sendmsg_wait(int sock, const msghdr* msg, int flags);
// recvfrom on a redirected DNS socket, waiting likewise (Waiter threads only).
long recvfrom_wait(int sock, void* buf, std::size_t len, int flags, sockaddr* from,
                   socklen_t* fromlen);

// "/proc/self/fd/N": the path that names exactly the object we hold.
std::string self_fd(int fd);
// Sends performed for a tracee on the shim's channel (sendmsg emulation, decode/net_send.cpp):
// the receiver (context/context_log.cpp) sees our pid in SCM_CREDENTIALS and takes the
// tracee's from here, in the order sent. Thread-safe.
void own_send_push(pid_t pid);
void own_send_cancel(pid_t pid);  // the send failed: nothing will arrive for it
pid_t own_send_take();            // 0 when nothing is noted
// Puts back the supervisor's own umask, which emulated creations leave at the last
// tracee's (see with_umask in emulate.cpp).
void restore_umask();

}  // namespace guardian::emulate
