// The seam between a backend (seccomp user-notify or ptrace) and everything syscall-specific:
// a backend turns a stop into a Notification plus a Tracee, the Handler decodes, asks the
// engine, emulates where needed, audits, and returns a Response the backend applies.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "audit/log.hpp"
#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "policy/engine.hpp"
#include "policy/landlock_envelope.hpp"

namespace guardian::dns {
class Gate;
}

namespace guardian::decode {

// One intercepted syscall, as the backend saw it.
struct Notification {
  std::uint64_t id = 0;  // seccomp notification id (0 for ptrace)
  pid_t tid = 0;         // thread that made the call
  int nr = -1;
  std::uint32_t arch = 0;  // AUDIT_ARCH_*
  std::uint64_t ip = 0;
  std::array<std::uint64_t, 6> args{};
};

// Access to the stopped thread, implemented by each backend.
class Tracee {
 public:
  virtual ~Tracee() = default;
  virtual pid_t tid() const = 0;
  // Copies exactly n bytes of tracee memory; false if unreadable.
  virtual bool read(std::uint64_t addr, void* buf, std::size_t n) = 0;
  // Copies a NUL-terminated string of at most max bytes (excluding NUL); false if
  // unreadable or unterminated (then `out` holds more than max bytes: the path is too long).
  virtual bool read_string(std::uint64_t addr, std::string& out, std::size_t max) = 0;
  // Still the same pending syscall (SECCOMP_IOCTL_NOTIF_ID_VALID / still in the stop)?
  // Must be checked after reading memory and before trusting what was read.
  virtual bool still_valid() = 0;
  // A successful answer proves the thread stayed in this syscall from the notification to
  // the answer (seccomp with SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: only a fatal signal
  // ends its wait, and then the answer fails), so that what was read by its TID meanwhile
  // was its own. Decoders whose only outcome is an answer (CONTINUE or an errno: nothing
  // done by the supervisor on what was read) may then skip still_valid(). Default: no.
  // (Seam extension, tar room.)
  virtual bool answer_proves_valid() const { return false; }
  // Copies n bytes into tracee memory (process_vm_writev); false if unsupported or
  // unwritable. Default: unsupported. (Seam extension: lets sendmmsg be emulated.)
  virtual bool write(std::uint64_t addr, const void* buf, std::size_t n) {
    (void)addr, (void)buf, (void)n;
    return false;
  }
  // A duplicate of the tracee's descriptor (pidfd_getfd).
  virtual Result<UniqueFd> take_fd(int remote_fd) = 0;
  // Whether Response::Kind::inject_fd is supported (seccomp ADDFD). When it is not
  // (ptrace), an allowed open answers cont with a Redirect instead.
  virtual bool can_inject_fd() const = 0;
  // Whether a Response with `install` set can be carried out: the backend installs a
  // descriptor the supervisor opened, at a higher cost than ADDFD (the ptrace backend runs
  // a few calls in the thread). Used where the thread could not open the object itself (a
  // held descriptor reopened by name, outside its Landlock envelope). (Seam extension, tar room.)
  virtual bool can_install_fd() const { return can_inject_fd(); }
  // What holds the bytes [addr, addr + n) of the thread's memory: one private mapping,
  // either anonymous memory (the heap, a stack, plain mmap) or a file (`file` = its path),
  // or anything else (shared, special such as [vvar] whose contents the kernel changes by
  // itself, spanning mappings, or not known). (Seam extension: CONTINUE of opens.)
  enum class Backing : std::uint8_t { other, anonymous, file };
  virtual Backing backing(std::uint64_t addr, std::size_t n, std::string& file) {
    (void)addr, (void)n, (void)file;
    return Backing::other;
  }
};

// ptrace backend (no ADDFD): the call the kernel runs instead of the one held, with its
// memory arguments taken from `blob`, which the backend copies into a page of the tracee
// that the tracee cannot write, so nothing can change them after the check.
// (Seam extension, ptrace room.)
struct Redirect {
  int nr = -1;                          // -1: no redirect
  std::array<std::uint64_t, 6> args{};  // arg i with bit i of in_blob set: offset into blob
  std::uint8_t in_blob = 0;
  std::string blob;
};

// What the backend does with the syscall.
struct Response {
  enum class Kind : std::uint8_t {
    cont,       // let the kernel run it (SECCOMP_USER_NOTIF_FLAG_CONTINUE / resume)
    error,      // fail with -err
    value,      // succeed with `value` without running it (emulated)
    inject_fd,  // install `fd` in the tracee (ADDFD) and return the new number
    kill,       // kill the whole process (on_deny: kill, or exec mismatch)
    // Held for a human (on_deny: ask): send nothing now. The backend keeps the Notification
    // (and what its Tracee needs) and, when the Asker calls back for this notification id,
    // calls Handler::handle again with the same Notification; the Asker then answers.
    defer,
  };
  Kind kind = Kind::error;
  int err = 0;
  std::int64_t value = 0;
  UniqueFd fd;           // inject_fd
  bool cloexec = false;  // inject_fd: O_CLOEXEC on the new descriptor
  // inject_fd: the decoder knows `fd` is not O_PATH (ADDFD cannot install those), so the
  // backend need not ask (one fcntl per open). (Seam extension, tar room.)
  bool fd_not_opath = false;
  // inject_fd on a backend without ADDFD: install `fd` all the same (Tracee::can_install_fd),
  // never let the kernel open it instead. (Seam extension, tar room.)
  bool install = false;
  // cont of an allowed ptrace(PTRACE_ATTACH/SEIZE/TRACEME): the thread the caller wants to
  // trace. A backend that traces it itself must let go of it first (strace, gdb and a
  // nested guardian inside the session). (Seam extension, ptrace room.)
  pid_t release_trace = 0;
  // cont under the ptrace backend: run this call instead (see Redirect).
  Redirect redirect;
};

// What the handler may ask about the session's processes (kept by the backend's tracer).
class SessionView {
 public:
  virtual ~SessionView() = default;
  virtual bool in_session(pid_t pid) const = 0;  // pid or tid belongs to the supervised tree
  virtual pid_t tgid_of(pid_t tid) const = 0;
  virtual pid_t ppid_of(pid_t pid) const = 0;
  virtual std::string exe_of(pid_t pid) const = 0;
  // Whether guardian checks this thread's execs at PTRACE_EVENT_EXEC: false once it was
  // handed over to a tracer of the session, and for what it starts. (Seam extension.)
  virtual bool exec_verified(pid_t tid) const {
    (void)tid;
    return true;
  }
  // A number that changes when `tid` names a new thread (TID reuse); 0 when unknown. Lets
  // the handler keep per-thread facts (the umask) across notifications. (Seam extension.)
  virtual std::uint64_t serial_of(pid_t tid) const {
    (void)tid;
    return 0;
  }
  // No task but `tid` can change `tid`'s descriptor table while `tid` waits in a
  // notification: its process has that one thread and shares the table with no other
  // process. false when not known for sure. Lets fd-based calls be decided on the tracee's
  // own descriptor and continued. (Seam extension, tar room.)
  virtual bool fd_table_private(pid_t tid) const {
    (void)tid;
    return false;
  }
  // No task but `tid` runs in `tid`'s memory: its process has that one thread, has exec'd
  // since it was made (a fresh address space: a vfork child before its exec runs in its
  // parent's), made no clone(CLONE_VM) process since, lends it to no vfork child now (nor
  // ever to one that made a thread or a CLONE_VM process in it), and every exec of it
  // reaches the tracer. false when not known for sure. No other thread can then rewrite a
  // path buffer while `tid` waits in a notification. (Seam extension, issue 8.)
  virtual bool memory_private(pid_t tid) const {
    (void)tid;
    return false;
  }
  // memory_private, and nothing in the session was ever given a way to write another
  // process's memory or to have the kernel write it later (note_memory_writer), and every
  // task of the session is known (none handed to another tracer). A path buffer of `tid`
  // in a private mapping then holds, when the kernel reads it again, what was read.
  // false when not known for sure. (Seam extension: CONTINUE of opens, file_continue.cpp.)
  virtual bool memory_quiet(pid_t tid) const {
    (void)tid;
    return false;
  }
  // memory_quiet, and `tid` is the one live task of the whole session: nothing in the
  // session can change the file system or `tid`'s descriptors while `tid` waits in a
  // notification. false when not known for sure.
  virtual bool sole_task(pid_t tid) const {
    (void)tid;
    return false;
  }
  // memory_quiet, and no other process shares `tid`'s descriptor table or its cwd and root
  // (CLONE_FILES, CLONE_FS). What `tid`'s path names can then change before the kernel walks
  // it again only through a rename, link or symlink made for another task of the session,
  // which the handler makes itself (file_write.cpp) after settle_walks. false when not
  // known for sure, or when the backend cannot wait for such a walk. (Seam extension:
  // CONTINUE of opens in a session of several processes, file_continue.cpp.)
  virtual bool walk_private(pid_t tid) const {
    (void)tid;
    return false;
  }
  // The open of `tid` (walk_private) was answered CONTINUE: the kernel walks its path now,
  // and may still be at it until `tid` is seen again.
  virtual void walk_continued(pid_t tid) { (void)tid; }
  // `tid` is seen again (its next notification): any walk of it is over.
  virtual void task_seen(pid_t tid) { (void)tid; }
  // Returns once no open answered CONTINUE (walk_continued) of a thread other than `self`
  // can still be walking its path: called before making a rename, link or symlink.
  virtual void settle_walks(pid_t self) { (void)self; }
  // Some such open may still be walking (settle_walks would have to wait).
  virtual bool walks_pending() const { return false; }
  // Something in the session may from now on write a process's memory other than by that
  // process's own synchronous calls: process_vm_writev of another process, a writable
  // /proc/PID/mem, asynchronous I/O (io_setup), a device that may write into memory on its
  // own. Sticky for the session: memory_quiet answers false from then on.
  virtual void note_memory_writer() {}
  // Every process (tgid) of the session the backend knows; none when it keeps no list.
  // (Seam extension: lets a terminal the session holds be reopened by name, see pty.hpp.)
  virtual std::vector<pid_t> processes() const { return {}; }
};

enum class Mode : std::uint8_t { enforce, complain };

// What the handler asks of the policy. Handler(Engine&) adapts policy::Engine; unit tests
// pass a fake. (Extension of the seam: lets the decoders be tested without the engine.)
class Decider {
 public:
  virtual ~Decider() = default;
  virtual policy::Decision decide(const policy::Request& req) const = 0;
  // The smallest rule that would allow `req`, as YAML text (audit `tip`).
  virtual std::string tip(const policy::Request& req) const = 0;
  // Renaming a directory moves every path below it: see policy::Engine::decide_move. A
  // decider without path patterns has nothing below to tell apart. (Seam extension.)
  virtual policy::Decision decide_move(std::string_view, std::string_view) const {
    policy::Decision d;
    d.verdict = policy::Verdict::allow;
    return d;
  }
  // The decision were the built-in repository guard (policy::repository_guard) absent.
  // A decider that cannot tell answers as decide() does: nothing is spared. (Seam
  // extension: guardian:new-repository.)
  virtual policy::Decision decide_unguarded(const policy::Request& req) const { return decide(req); }
  virtual policy::OnDeny on_deny() const = 0;
  virtual int deny_errno() const = 0;
  // audit.decisions: all (false: only denials are recorded).
  virtual bool audit_allows() const = 0;
};

// A request the profile denies, put to a human (on_deny: ask / --ask).
struct AskQuery {
  std::uint64_t key = 0;  // Notification::id (seccomp), or a backend-unique stop id (ptrace)
  pid_t pid = 0, tid = 0;
  std::string exe;
  std::string syscall;
  policy::Category category = policy::Category::file;
  policy::Op op = policy::Op::read;
  std::string path;  // resolved (file/exec)
  std::string addr;  // network, as in audit records
  std::string host;
};

// Human approval, consulted by the handler for each request the engine denies in enforce
// mode (session/ask implements it). The first consult of a key starts the question and
// returns pending: the handler then returns Response::Kind::defer without auditing. When
// the answer arrives the backend calls handle() again and the consult returns it.
class Asker {
 public:
  enum class Answer : std::uint8_t { allow, deny, pending };
  struct Reply {
    Answer answer = Answer::deny;
    const policy::RuleOrigin* rule = nullptr;  // an "always" rule, for the audit record
  };
  virtual ~Asker() = default;
  virtual Reply consult(const AskQuery& q) = 0;
};

// Runs an operation that must wait as the tracee's own call would — a send on a blocking
// socket whose buffer is full, a receive on a blocking socket — off the supervisor's loop.
// The handler then returns Response::Kind::defer (the backend keeps the notification).
// The runner calls `op` on a worker thread (again after each -EINTR while the syscall is
// still pending; -EINTR once it is gone), then `finish(rc, tracee)` on the loop's thread
// with a Tracee for the same notification, and answers with the Response it returns.
// (Seam extension, issue 9.)
class Blocker {
 public:
  virtual ~Blocker() = default;
  // False when it cannot take more waits now; the handler then answers without waiting.
  virtual bool start(const Notification& n, std::function<long()> op,
                     std::function<Response(long rc, Tracee& t)> finish) = 0;
};

struct HandlerOptions {
  Mode mode = Mode::enforce;
  std::string via = "seccomp";  // recorded in decision records
  Asker* asker = nullptr;       // set when on_deny: ask or --ask; denials go through it
  // The DNS gate, when the profile names hosts (issue 9): connects and datagrams to a
  // resolver:53 are redirected to it, recvfrom() on redirected sockets is emulated, and
  // connect() decisions get Request::host from the names it saw answered.
  dns::Gate* gate = nullptr;
  // Where blocking sockets wait (the supervisor's Waiter); nullptr: they get EAGAIN.
  Blocker* blocker = nullptr;
  // Profile `dns: true` without host rules: these resolvers (port 53) may be reached
  // directly. (Seam extension, issue 9.)
  std::vector<policy::NetAddr> dns_direct;
  // Enforce mode, seccomp backend, nobody to ask: an allowed open is answered CONTINUE
  // instead of being emulated (the ADDFD exchange, a wake-up of the thread and one of us
  // with the thread held on our CPU, is saved, and the kernel's own open is exactly the
  // native one) where the kernel's second walk must reach what was decided:
  // - for reading, a regular file that the session cannot make name anything else (no
  //   directory on its path, no symbolic link followed and not the file itself writable
  //   under the profile: file_continue.cpp);
  // - any open, read or write, by the one live task of the session
  //   (SessionView::sole_task): nothing of the session runs until the kernel has opened it;
  // and in both cases only when the path text cannot change meanwhile: the process's memory
  // is its own (SessionView::memory_quiet: one thread, no process in its memory, nothing
  // in the session that writes other processes' memory or has the kernel write it later)
  // and the text lies in a private mapping of anonymous memory or of a file nothing in the
  // session writes (Tracee::backing, not [vvar] and the like, whose contents the kernel
  // changes by itself). A /proc magic link is never continued. What stays open is only a
  // process outside the session moving a directory between the check and the kernel's
  // walk (as PathCache). (Seam extension, issue 8; strict mode since the tenth session.)
  bool continue_stable_reads = false;
  // The Landlock envelope the session runs in, when one is applied (null otherwise): an open
  // left to the kernel must also pass it, and the envelope, though a superset of the
  // profile, names resolved directories, not every way to them (a system link into a
  // directory it leaves out). Such an open is emulated instead. (Seam extension.)
  const policy::Envelope* envelope = nullptr;
  // The command's PATH directories, resolved (absolute entries only): a name missing
  // directly in one is ENOENT, as natively, even where the directory may not be stat'ed.
  // A PATH search probes every entry; EACCES there made a shell say "Permission denied"
  // for a command that is nowhere, and put every probe in the summary. (Seam extension.)
  std::vector<std::string> search_dirs;
  // The Landlock envelope confines the session: what the ptrace backend must leave to the
  // kernel by a name another thread can change (a magic link to a pipe, socket or deleted
  // file) is then still held by the envelope. (Seam extension, audit.)
  bool landlock = false;
};

// Decodes, decides, emulates and audits one notification at a time. Single-threaded:
// called only from the supervisor's poll loop.
class Handler {
 public:
  Handler(const policy::Engine& engine, audit::AuditLog& log, SessionView& session,
          HandlerOptions opts);
  // Same, deciding through any Decider (kept by reference; must outlive the Handler).
  Handler(const Decider& decider, audit::AuditLog& log, SessionView& session,
          HandlerOptions opts);
  ~Handler();
  Response handle(const Notification& n, Tracee& t);
  // The first exec (the COMMAND itself) is allowed by `guardian run`: call before launch.
  void allow_first_exec(const std::string& resolved_path);
  // At PTRACE_EVENT_EXEC: is what the kernel loaded (resolved /proc/PID/exe) what was
  // decided for this thread's execve? false = kill the process.
  bool verify_exec(pid_t tid, pid_t tgid, const std::string& loaded_exe);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace guardian::decode
