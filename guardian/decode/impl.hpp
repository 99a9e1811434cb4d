// Handler internals shared by the per-family decoders (not a public interface).
#pragma once

#include <array>
#include <ctime>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "decode/handler.hpp"
#include "decode/path_cache.hpp"
#include "decode/resolve.hpp"
#include "decode/syscalls.hpp"

namespace guardian::decode {

// One notification being handled.
struct Ctx {
  const Notification& n;
  Tracee& t;
  const SyscallInfo& sc;
  pid_t tgid;
  std::uint64_t arg(int i) const { return n.args[static_cast<std::size_t>(i)]; }
  int iarg(int i) const { return static_cast<int>(n.args[static_cast<std::size_t>(i)]); }
};

inline Response cont() { Response r;
  r.kind = Response::Kind::cont;
  return r; }
inline Response error(int e) {
  Response r;
  r.kind = Response::Kind::error;
  r.err = e;
  return r;
}
// A value computed by an emulation: v >= 0 is the result, v < 0 is -errno.
inline Response value(long v) {
  if (v < 0) return error(static_cast<int>(-v));
  Response r;
  r.kind = Response::Kind::value;
  r.value = v;
  return r;
}

// A checked socket destination, ready for the supervisor's own call.
struct NetDest {
  sockaddr_storage ss{};
  socklen_t len = 0;
  bool decided = false;  // false: not an address the rules cover (netlink, AF_UNSPEC...)
  UniqueFd hold;         // unix path: the checked socket inode (or its parent, for bind)
  // bind of a unix path: the tracee's own address (what the socket is to be named) and,
  // for a relative name, the directory it was resolved from.
  sockaddr_storage named{};
  socklen_t named_len = 0;
  UniqueFd cwd;
  std::string leaf;      // bind of a unix path: the name made in `hold` (own-listener)
  bool to_gate = false;  // a resolver:53 redirected to the DNS gate
  policy::NetAddr resolver;  // to_gate: the resolver the tracee asked for
};

struct Handler::Impl {
  Impl(const Decider& d, audit::AuditLog& log, SessionView& session, HandlerOptions opts);

  const Decider* d;
  std::unique_ptr<Decider> owned;  // the Engine adapter, when built from an Engine
  audit::AuditLog& log;
  SessionView& session;
  HandlerOptions opts;
  Resolver resolver;
  // Recent stat-family resolutions; cleared whenever the session changes names.
  PathCache stat_cache;
  std::string cache_start, cache_key;
  // Directories (absolute texts) that a stat-family resolution lately reached by their own
  // text, no symbolic link on the way, with when (now_ns): lstat-like calls of names below
  // them are decided without a walk of ours (path_decide). Cleared with stat_cache.
  std::unordered_map<std::string, std::int64_t> plain_dirs;
  std::string plain_dir;  // path_decide's scratch (keeps capacity)
  // Keeps the directory of `lexical` (absolute, folded), and `lexical` itself when it is a
  // directory, in plain_dirs: a walk refusing every symbolic link just reached it by that text.
  void note_plain(std::string_view lexical, bool is_dir);
  // `dir` is in plain_dirs, younger than PathCache::kLifetimeNs.
  bool plain_fresh(std::string_view dir);
  // What quick_open's look lately found at a text it looked at (Resolver::text_path's
  // `joined`): a regular file or a directory, not a symbolic link, with when (now_ns).
  // `whole`: the look refused links on every component (openat2 RESOLVE_NO_SYMLINKS);
  // else only the last name was looked at (one lstat), and the entry serves only an open
  // whose directories need no look either (quick_open's stat_look). An open of the same
  // text within PathCache::kLifetimeNs takes this answer instead of a look of its own (git
  // opens each object twice). Cleared with plain_dirs, for the same reasons.
  // Direct-mapped by the text's hash: the repeat comes within a few opens (git), so a few
  // hundred slots hold it, with no allocation once warm and nothing to look up in a big
  // table for the many paths opened once (tar). An entry holds while its `gen` is
  // looked_gen; forget_looks() drops them all at once.
  struct Looked {
    std::string text;
    mode_t mode = 0;
    bool whole = false;
    std::int64_t born = 0;
    std::uint64_t gen = 0;
  };
  std::array<Looked, 256> looked{};
  std::uint64_t looked_gen = 1;
  void forget_looks() noexcept { ++looked_gen; }
  // The slot for `text` (whatever it holds).
  Looked& look_slot(const std::string& text);
  // Keeps what a look found at `text` (regular files and directories only); `now` is the
  // time if the caller has it (0: read it).
  void keep_look(const std::string& text, const struct stat& st, bool whole, std::int64_t now);

  // Reused per notification (no allocation once warm).
  std::string raw1, raw2;
  Resolved r1, r2;
  audit::DecisionRecord rec;
  std::vector<std::string> argv;
  std::string addr_text;

  // Exec: what was decided for each thread's pending execve (tid -> tgid, expected exe).
  struct PendingExec {
    pid_t tgid;
    std::string exe;
  };
  std::unordered_map<pid_t, PendingExec> pending_exec;
  // The `#!` interpreter ("" for none) of files exec'd lately, by identity (device, inode)
  // and the stat fields that any change of their content moves (size, mtime, ctime): an
  // exec of the same program costs no open and read of its first line (exec.cpp).
  struct ShebangEntry {
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    struct timespec mtime {}, ctime {};
    std::string interp;
  };
  std::unordered_map<std::uint64_t, ShebangEntry> shebangs;
  std::string first_exec;
  // The dynamic loader run as a program (`ld.so ./prog`) loads the program it names
  // itself, by open and mmap: the kernel's image is the allowed loader. Processes that
  // exec'd it (by tgid, while that is still the loader) have their opens decided as `exec` until one succeeds: the
  // first file it opens is that program (handler.cpp verify_exec, file_open.cpp).
  std::unordered_set<pid_t> loader_runs;
  // Processes whose exec no PTRACE_EVENT_EXEC will show (handed over to a tracer of the
  // session) with the program they ran before it: until their opens show the exec done,
  // each open looks whether the loader now runs as their program (exec.cpp).
  std::unordered_map<pid_t, std::string> unverified_exec;
  const std::string& loader();  // loader_path, resolved on first use
  // A valgrind tool (memcheck-amd64-linux, none-amd64-linux...) runs the program its command
  // line names (the client) itself, by open and mmap, as the loader does: the kernel's image
  // is the allowed tool. In a process running one (by tgid, while it runs that tool), an
  // open of any path the client argument can name (as written, or in a PATH directory when
  // it has no slash) is decided as `exec` (exec.cpp).
  struct ValgrindRun {
    std::string tool;                  // the tool's path (a reused PID runs another program)
    std::vector<std::string> clients;  // lexical absolute paths the client may be opened by
  };
  std::unordered_map<pid_t, ValgrindRun> valgrind_runs;
  // After an exec of `exe` by `tgid` (or an open showing it ran one unwatched): note a
  // valgrind tool's client from /proc/TGID/cmdline. False: a tool whose client cannot be
  // read (the process must not run).
  bool note_valgrind(pid_t tgid, const std::string& exe);
  // The open of `c` names a client of the tool its process runs.
  bool opens_client(Ctx& c, const ValgrindRun& run);
  std::string loader_path;  // the system's loader, resolved (lazily)
  bool open_as_exec = false;  // file_open: this open is a loader's program
  bool opening = false;       // file_open: the decision is for an open (held_for)
  int opening_flags = 0;      // ... with these open flags
  bool held_reopen = false;   // ... allowed as a reopen of a held descriptor (held_for)
  // `r` (reached through /proc/PID/fd/N of a session process) is the very object that
  // descriptor holds at this instant, opened for every access the open with `flags` asks
  // (reading, writing, or both for O_RDWR): fdinfo's flags, inode and mount, read in one
  // go. Reopening it gives nothing the process lacks.
  bool held_for(const Resolved& r, int flags) const;

  // The tracee's umask for emulated creates, read from /proc/TID/status (~10 us: procfs
  // formats the whole file) once per thread and kept while nothing can have changed it.
  // umask() is notified for this: it bumps umask_gen, and until the calling thread is seen
  // again (its umask done) nothing is cached. execve bumps umask_gen too.
  struct UmaskEntry {
    mode_t mask;
    std::uint64_t gen, serial;
  };
  std::unordered_map<pid_t, UmaskEntry> umasks;  // by tid
  std::uint64_t umask_gen = 1;
  std::vector<pid_t> umask_in_flight;  // tids whose umask() was let through, not seen since
  // Threads (tid, serial) whose chdir/fchdir was notified and not seen since: while there
  // are any, no cwd text is kept (Resolver::begin).
  std::vector<std::pair<pid_t, std::uint64_t>> chdir_in_flight;
  mode_t umask_of(Ctx& c);

  // Sockets redirected to the DNS gate (socket inode -> the resolver asked for): their
  // recvfrom() is emulated so answers seem to come from that resolver.
  std::unordered_map<std::uint64_t, policy::NetAddr> gate_socks;

  Response handle(const Notification& n, Tracee& t);

  // Applies the decision for `req`: audit, complain mode, on_deny. True = go ahead;
  // false = `out` holds the denial. `engine` says whether the engine decided (tip).
  bool apply(Ctx& c, const policy::Request& req, policy::Decision dec, std::string_view raw,
             bool engine, Response& out);
  // Asks the decider, then apply().
  bool judge(Ctx& c, const policy::Request& req, std::string_view raw, Response& out);
  // A decision made here rather than by the profile (process, system, socket families).
  // An allow names guardian's own rule `origin` (audit v1: `rule` is absent only when
  // nothing matched); a denial's tip says no profile rule can open it.
  bool local(Ctx& c, const policy::Request& req, bool allow, int err, std::string_view what,
             Response& out, const char* origin = "guardian:builtin");
  policy::RuleOrigin local_rule;  // the rule local() reports; copied by the log
  // When the session began, by the coarse clock file systems stamp new inodes with: a
  // directory born at or after it was made by the session (in_new_repository).
  struct timespec session_began = [] {
    struct timespec t {};
    ::clock_gettime(CLOCK_REALTIME_COARSE, &t);
    return t;
  }();
  // Every directory from the one the operation on `r` acts in up to the outermost `.git` of
  // r.path was born in this session (guardian:new-repository). Walked from the descriptor
  // the emulation uses, each step the ".." of the one before: the objects themselves,
  // whatever is renamed meanwhile. No descriptor, or no birth time: false.
  bool in_new_repository(const Resolved& r) const;
  // The object `fd` was born (statx birth time) after the session began; unknown: false.
  bool born_in_session(int fd) const;
  // A directory the session renames holds a git repository that default guards
  // (file_write.cpp): it is then copied, not moved.
  bool holds_repository(Ctx& c, const Resolved& r);
  // link(2) whose two names lie on different mounts, which the process may look at:
  // `out` = EXDEV, as natively before any permission check (file_write.cpp).
  bool cross_mount_link(Ctx& c, int olddir, std::uint64_t oldpath, const ResolveOpts& oo,
                        int newdir, std::uint64_t newpath, Response& out);
  // A name that does not exist, which the profile lets this process stat, or which no rule
  // names (for a stat, nor for `op`) and whose nearest existing directory it may stat: the
  // kernel's ENOENT for it tells nothing a look at that directory would not (stat-family
  // calls, reads, connect and exec answer it undecided).
  bool missing_but_visible(Ctx& c, const Resolved& r, policy::Op op = policy::Op::stat);
  std::string missing_dir;  // missing_but_visible's scratch (keeps capacity)
  // The name `r` is there (looked at through r.parent when the resolution did not), and the
  // profile lets this process stat it: mkdir's EEXIST tells nothing new.
  bool exists_visible(Ctx& c, const Resolved& r);
  // The request for resolved path `r` asked by `c`'s process (its own /proc/PID answers to
  // rules on /proc/self); the lexical path is trusted unless a magic link was followed.
  static policy::Request path_request(const Ctx& c, policy::Category cat, policy::Op op,
                                      const Resolved& r) {
    policy::Request req;
    req.category = cat;
    req.op = op;
    req.pid = c.tgid;
    req.path = r.path;
    req.lexical_path = r.lexical;
    req.lexical_trusted = r.trusted && !r.magic;
    return req;
  }
  // Reads a path argument once; false (with `out` = EFAULT) when unreadable.
  bool read_path(Ctx& c, std::uint64_t addr, std::string& s, Response& out,
                 bool may_be_empty = false);
  // After all reads of tracee memory: is the notification still the same syscall?
  bool valid(Ctx& c, Response& out);
  // This notification's family only answers and the answer proves validity (valid()).
  bool answer_only = false;

  // Families.
  Response file_open(Ctx& c);
  Response open_dispatch(Ctx& c);  // file_open by syscall
  Response file_stat(Ctx& c);
  Response file_read(Ctx& c);
  Response file_write(Ctx& c);
  void settle_if_link(Ctx& c, const Resolved& r);  // before an unlink (file_write.cpp)
  Response file_fd(Ctx& c);
  // fd-based metadata writes on a descriptor table no other task can change: decided on
  // /proc/TID/fd/N and continued (file_write.cpp); false = emulate.
  bool fd_continue(Ctx& c, int fd, Response& out);
  Response exec(Ctx& c);
  Response net(Ctx& c);
  Response process(Ctx& c);
  Response pidfd_call(Ctx& c, int pidfd);  // an allowed pidfd call performed here (process.cpp)
  Response own_group_call(Ctx& c, pid_t pgid);  // kill(0), PRIO_PGRP 0 on the group decided (process.cpp)
  Response system(Ctx& c);

  // Helpers shared by the file decoders.
  // Resolves a path argument and decides it with `op`; true = go ahead with r.
  // `cached` (stat family only): may use stat_cache; set when the resolution came from it.
  bool path_decide(Ctx& c, int dirfd, std::uint64_t addr, const ResolveOpts& o,
                   policy::Op op, std::string& raw, Resolved& r, Response& out,
                   bool* cached = nullptr);
  bool decide_resolved(Ctx& c, policy::Op op, std::string_view raw, Resolved& r, Response& out);
  // /proc/PID[/...] (proc_view.cpp): a process of the session answers to the rules on
  // /proc/self (req.pid becomes it); another process the profile does not show is hidden,
  // as under hidepid=invisible (ENOENT). -1: not answered here, go on with `req`; else the
  // answer, as decide_resolved returns it (1 = go ahead, 0 = `out` holds the denial).
  int proc_view(Ctx& c, const Resolved& r, policy::Request& req, std::string_view raw,
                Response& out);
  // /dev/shm/NAME under base's rules (guardian:own-shm, file_open.cpp): the session may use
  // the objects it made there, never another program's (semaphores, multiprocessing
  // arenas). -1: not such an object, go on; else decided as decide_resolved returns.
  int own_shm(Ctx& c, policy::Op op, const policy::Request& req, const Resolved& r,
              std::string_view raw, Response& out);
  // Names below /dev/shm the session was let make (an O_CREAT open, mknod, the new name of
  // a link or rename); bounded: past kMaxShmNames, birth in the session alone decides.
  std::unordered_set<std::string> shm_made;
  bool shm_made_full = false;
  static constexpr std::size_t kMaxShmNames = 1 << 16;
  // apply(): this denial hides another process's /proc entry: never asked, never killed
  // for, not in the stderr summary (ps, pgrep and top walk every PID; to them it is gone).
  bool hiding = false;
  policy::RuleOrigin hidden_rule{};  // the rule such a denial names
  Response open_like(Ctx& c, int dirfd, std::uint64_t path, int flags, mode_t mode,
                     std::uint64_t resolve);
  // The quick open without an O_PATH step (file_open.cpp); false = not taken.
  // `proven`: NOTIF_ID_VALID already asked (else asked here before acting).
  bool quick_open(Ctx& c, int dirfd, int flags, mode_t mode, policy::Op op, Response& out,
                  bool& keyed, bool& symlink, bool& proven);
  std::string qjoined, qpath;  // quick_open's unfolded absolute path, cached object path
  // HandlerOptions::continue_stable_reads (file_continue.cpp): may this allowed open (flags,
  // op) of the object `st` at `path`, written as the absolute raw1 and `lexical` when
  // symbolic links led to `path` (every one of them where the session may not write), be
  // answered CONTINUE?
  // `unverified`: the kernel followed the links (nobody looked where they lie): they are
  // walked once (links_stable).
  bool continue_read(Ctx& c, int flags, policy::Op op, const struct stat& st,
                     std::string_view path, std::string_view lexical = {},
                     bool unverified = false);
  // Our walk of `lexical` (absolute) reaches `path` through symbolic links that all lie
  // where the session may not write. Remembered per path for a second (as PathCache, for
  // links changed by processes outside the session; the session itself cannot change
  // them, so its own renames and unlinks need not forget it).
  bool links_stable(Ctx& c, std::string_view lexical, std::string_view path);
  struct StableLinks {
    std::string path;
    std::int64_t born = 0;
  };
  // Raw paths (absolute, normalised) that continue_read found stable, with the regular
  // file they reach: for a second the same open is decided and continued without a look at
  // the file system (stable_open). Shares links_stable's map and lifetime.
  std::unordered_map<std::string, StableLinks> stable_links;
  bool stable_open(Ctx& c, int flags, policy::Op op, Response& out);
  void remember(std::string_view raw, std::string_view path);
  // Neither `path` nor a directory above it may be written by the session under the
  // profile: nothing in the session can make `path` name another object.
  bool unwritable(std::string_view path);
  bool may_write(std::string_view path) const;
  // The path argument of the open being decided (open_like): its address in the tracee.
  std::uint64_t path_addr1 = 0;
  // openat2's struct open_how (flags, mode, resolve), where the tracee holds it; 0 for the
  // other opens. The kernel reads it again too when the open is continued.
  std::uint64_t how_addr1 = 0;
  std::uint64_t how_resolve1 = 0;  // its resolve field as read
  // raw1, where the tracee holds it (path_addr1), is in memory that nothing but the tracee
  // itself can change until the kernel reads it again: a private mapping of anonymous
  // memory, or of a regular file that the session cannot write. Tracee::backing says
  // which; SessionView::memory_quiet is the caller's. The same for openat2's open_how
  // (how_addr1), whose flags the kernel reads again: checked for reading, opened with
  // O_TRUNC for writing, were it shared; one with RESOLVE_* flags is never continued.
  // Each must lie within one page (range_quiet says why).
  bool buffer_quiet(Ctx& c);
  bool range_quiet(Ctx& c, std::uint64_t addr, std::size_t n);
  // An allowed open by the one live task of the session (SessionView::sole_task) of a path
  // that is no /proc magic link, from a quiet buffer: nothing in the session can change
  // the path text, the file system or the descriptors until the kernel has opened it, so
  // the kernel's own open reaches what was decided and it is answered CONTINUE.
  // `links`: the kernel's walk follows symbolic links nobody checked (a PathCache entry).
  bool sole_open(Ctx& c, std::string_view path, int flags, const Resolved* r = nullptr,
                 bool links = false);
  // The Landlock envelope (HandlerOptions::envelope) lets the kernel's own open with
  // `flags` reach `path` (resolved, absolute): the rights of the entries on it and above it,
  // as Landlock adds them up. true without an envelope.
  bool envelope_allows(std::string_view path, int flags) const;
  // A device the session opened that may write into a process's memory on its own
  // (anything but the memory devices null, zero, full, random, urandom and terminals):
  // SessionView::note_memory_writer.
  void note_device(const struct stat& st);
  // Directories known to be unwritable with every directory above them (the profile does not
  // change while continue_stable_reads is on: no --ask).
  std::unordered_set<std::string> unwritable_dirs;
  // A blocking open of the FIFO `target` made on a Waiter thread (opts.blocker set);
  // `read_end`: target is our O_NONBLOCK read end (file_open.cpp says why that matters).
  Response fifo_later(Ctx& c, UniqueFd target, int flags, bool read_end);
  // ptrace backend: an allowed open as a Redirect to openat2 on pinned arguments.
  Response pinned_open(Ctx& c, int dirfd, int flags, mode_t mode, std::uint64_t resolve,
                       const Resolved& r);
  // `sock` (our duplicate of the tracee's socket, or -1) lets a resolver:53 be redirected
  // to the DNS gate.
  bool decide_dest(Ctx& c, std::uint64_t addr, std::size_t len, policy::Op op, NetDest& dest,
                   Response& out, int sock = -1);
  // Decides a network request whose address may have names (DNS gate cache, /etc/hosts).
  bool judge_net(Ctx& c, policy::Request& req, Response& out);
  // The address the kernel will use for `dest` on `sock` (net.cpp); false: refused.
  bool kernel_view(Ctx& c, NetDest& dest, int sock, Response& out);
  // After a send or connect to the gate on `sock`: who uses it (audit) and its recvfrom.
  void note_gate_socket(Ctx& c, int sock, const policy::NetAddr& resolver);
  // guardian:own-listener (net_own.cpp): the inodes of sockets the session bound; whether
  // only such sockets listen on a TCP port, and whether one holds an abstract unix name.
  // A unix path bind also records the socket file it made (`leaf` in directory `dir`), by
  // inode and birth time; own_socket_file(fd, "") says whether `fd` is such a file.
  std::unordered_set<ino_t> own_sockets;
  std::unordered_set<std::string> own_socket_files;
  void note_bound(int sock, int dir = -1, const std::string& leaf = {});
  // Who listens on TCP `port`, IPv4 or IPv6 (net_own.cpp): nobody, only sockets the session
  // bound (guardian:own-listener), or another program too; unknown when it cannot be told.
  enum class TcpListeners { unknown, none, own, foreign };
  TcpListeners tcp_listeners(unsigned port) const;
  bool own_abstract(const std::string& name) const;
  // Another program's socket holds the port of inet address `a` on an address that
  // overlaps it (a TCP listener, or any UDP socket, by `stream`): a bind there would join
  // it through SO_REUSEPORT or SO_REUSEADDR and take a share of what it receives. True
  // also when the tables cannot be read (net_own.cpp).
  bool foreign_port_holder(const policy::NetAddr& a, bool stream, bool v6only) const;
  bool own_socket_file(int dirfd, const char* name) const;
  Response recvfrom_gate(Ctx& c);
  Response net_send(Ctx& c);  // sendto, sendmsg, sendmmsg (net_send.cpp)
  Response listen(Ctx& c);    // listen(): decided as the bind it may imply (net.cpp)
  Response reuse_port(Ctx& c);  // setsockopt(SOL_SOCKET, SO_REUSEPORT) (net.cpp)
  Response ipc(Ctx& c);       // System V IPC: the session's own objects only (ipc.cpp)
  // Metadata writes of a device node (file_write.cpp): false = refused, `out` says how.
  bool device_meta_ok(Ctx& c, const struct stat& st, std::string_view path, Response& out);
  Response foreground(Ctx& c);  // ioctl(TIOCSPGRP): groups of the session only (process.cpp)
  Response async_signal(Ctx& c);  // O_ASYNC on, F_SETSIG: owners of the session only (process.cpp)
  Response mqueue(Ctx& c);    // mq_open, mq_unlink: decided as /dev/mqueue/NAME (ipc.cpp)
  std::unordered_set<int> ipc_ids[3];  // shm, msg, sem ids the session made
  // Writes a received datagram, its sender (the resolver, when the gate sent it) and the
  // sender's length into the tracee's recvfrom() arguments.
  // (Also from a Waiter thread's completion, with a Tracee of the same notification.)
  Response write_recvfrom(Tracee& t, const std::array<std::uint64_t, 6>& args, long n,
                          const std::vector<char>& buf, sockaddr_storage from, socklen_t fl,
                          const policy::NetAddr& resolver);
  void read_argv(Ctx& c);  // the exec call's argv, for its decision record
  // The `#!` interpreter of the regular file `fd` (fstat `st`), or "" (exec.cpp).
  std::string shebang_of(int fd, const struct stat& st);
  bool exec_decide(Ctx& c, int dirfd, std::uint64_t path, bool follow, bool empty,
                   Response& out);
};

// Wraps a blocking emulation on `sock` so that the socket's timeout `optname`
// (SO_SNDTIMEO / SO_RCVTIMEO), if any, still ends it with EAGAIN (net_send.cpp).
std::function<long()> honour_timeout(int sock, int optname, std::function<long()> op);

// The tracee's umask (from /proc/TID/status); 022 when unreadable.
mode_t tracee_umask(pid_t tid);
// The PID of a pidfd we hold (from /proc/self/fdinfo); 0 when not a pidfd.
pid_t pidfd_pid(int fd);
// Decodes a sockaddr into a NetAddr; unix paths are resolved by the caller. `text` gets the
// audit form. Returns false for families the network rules do not cover.
bool decode_sockaddr(const void* sa, std::size_t len, policy::NetAddr& addr, std::string& text,
                     std::string& unix_name);

}  // namespace guardian::decode
