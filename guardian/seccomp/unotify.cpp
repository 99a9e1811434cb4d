// The seccomp user-notify listener: the only code that issues SECCOMP_IOCTL_NOTIF_* ioctls.
#include "seccomp/unotify.hpp"

#include <fcntl.h>
#include <sched.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

// Newer than the 6.1 headers of Debian 12.
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif
#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

namespace guardian::seccomp {

namespace {

// PROCMAP_QUERY (Linux 6.11, include/uapi/linux/fs.h), newer than Debian 12's headers:
// declared here under our own names so that newer headers do not clash.
struct ProcmapQuery {
  std::uint64_t size;
  std::uint64_t query_flags;
  std::uint64_t query_addr;
  std::uint64_t vma_start;
  std::uint64_t vma_end;
  std::uint64_t vma_flags;
  std::uint64_t vma_page_size;
  std::uint64_t vma_offset;
  std::uint64_t inode;
  std::uint32_t dev_major;
  std::uint32_t dev_minor;
  std::uint32_t vma_name_size;
  std::uint32_t build_id_size;
  std::uint64_t vma_name_addr;
  std::uint64_t build_id_addr;
};
static_assert(sizeof(ProcmapQuery) == 104);
constexpr unsigned long kProcmapQuery = _IOWR('f', 17, ProcmapQuery);
constexpr std::uint64_t kProcmapShared = 0x08;  // PROCMAP_QUERY_VMA_SHARED

// Keeps a tracee thread on the supervisor's CPU while ADDFD runs. ADDFD wakes the waiting
// thread to install the descriptor itself (a plain wake-up, not the synchronous one), and
// with this CPU busy the scheduler sends it to an idle one: waking an idle CPU, and then us
// again, costs ~30 us per open on a VM, against ~4 us when it stays here. The thread is
// asleep in the notification meanwhile, so nothing of it runs with the narrowed mask; the
// mask it had is put back before the answer wakes it. Best effort: any failure (a cpuset,
// more than CPU_SETSIZE CPUs, the thread gone) just skips the hold. The thread is named by
// its TID, checked by ID_VALID just before: were it killed and the TID reused by another
// thread of the same user within these microseconds, that thread could be left with the
// dead one's mask. Affinity guards nothing, and the window is a few microseconds.
class CpuHold {
 public:
  explicit CpuHold(pid_t tid) : tid_(tid) {
    int cpu = ::sched_getcpu();
    if (cpu < 0 || cpu >= CPU_SETSIZE) return;
    if (::sched_getaffinity(tid, sizeof old_, &old_) != 0 || !CPU_ISSET(cpu, &old_) ||
        CPU_COUNT(&old_) == 1)
      return;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    held_ = ::sched_setaffinity(tid, sizeof one, &one) == 0;
  }
  CpuHold(const CpuHold&) = delete;
  CpuHold& operator=(const CpuHold&) = delete;
  ~CpuHold() { release(); }
  void release() {
    if (held_) ::sched_setaffinity(tid_, sizeof old_, &old_);
    held_ = false;
  }

 private:
  pid_t tid_;
  cpu_set_t old_;
  bool held_ = false;
};

std::size_t notif_size() {
  struct seccomp_notif_sizes sizes {};
  if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) == 0)
    return std::max<std::size_t>(sizes.seccomp_notif, sizeof(struct seccomp_notif));
  return sizeof(struct seccomp_notif);
}

// /proc is the procfs of our own PID namespace (its "self" is our PID): a TID from a
// notification (which the kernel gives in our namespace, as process_vm_readv takes it)
// then names the same task under /proc. A /proc of another namespace (`unshare --pid`
// without remounting it) could name another process by that number: no descriptors then.
bool proc_is_ours() {
  char buf[32];
  ssize_t n = ::readlink("/proc/self", buf, sizeof buf - 1);
  if (n <= 0) return false;
  buf[n] = '\0';
  return std::strtol(buf, nullptr, 10) == static_cast<long>(::getpid());
}

}  // namespace

Listener::Listener(UniqueFd fd)
    : fd_(std::move(fd)), buf_(notif_size() + 64), proc_ours_(proc_is_ours()) {}

bool Listener::set_sync_wakeup() {
  std::uint64_t flags = SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP;
  return ioctl(fd_.get(), SECCOMP_IOCTL_NOTIF_SET_FLAGS, flags) == 0;
}

// The RECV wait that a signal can end (Listener::receive_unless). x86_64 only, as guardian.
// guardian_recv_window(fd, cmd, buf, abort): returns 0 or -errno, or -EINTR without
// entering the kernel when *abort is non-zero. A signal that arrives at any instruction from
// the function's entry to the `syscall` itself — before the kernel took a notification, or
// in the kernel's wait, which under SA_RESTART leaves the thread at the `syscall`
// instruction again — is moved to the -EINTR exit by recv_window_redirect. Once the call
// has returned (a notification copied out), the thread is past the window and a signal
// changes nothing: no notification is ever taken and dropped.
extern "C" {
long guardian_recv_window(long fd, long cmd, void* buf, const void* abort);
extern const char guardian_recv_window_syscall[];
extern const char guardian_recv_window_abort[];
}
asm(R"(
  .text
  .globl guardian_recv_window
  .hidden guardian_recv_window
  .type guardian_recv_window, @function
guardian_recv_window:
  movl (%rcx), %eax
  testl %eax, %eax
  jnz guardian_recv_window_abort
  movl $16, %eax
  .globl guardian_recv_window_syscall
  .hidden guardian_recv_window_syscall
guardian_recv_window_syscall:
  syscall
  ret
  .globl guardian_recv_window_abort
  .hidden guardian_recv_window_abort
guardian_recv_window_abort:
  movq $-4, %rax
  ret
  .size guardian_recv_window, .-guardian_recv_window
)");
static_assert(__NR_ioctl == 16 && EINTR == 4, "the window's constants");
static_assert(sizeof(std::atomic<int>) == sizeof(int) && std::atomic<int>::is_always_lock_free,
              "the window reads the abort flag as a plain int");

bool recv_window_redirect(void* ucontext) noexcept {
  auto* uc = static_cast<ucontext_t*>(ucontext);
  auto& rip = uc->uc_mcontext.gregs[REG_RIP];
  auto at = static_cast<std::uintptr_t>(rip);
  if (at < reinterpret_cast<std::uintptr_t>(&guardian_recv_window) ||
      at > reinterpret_cast<std::uintptr_t>(guardian_recv_window_syscall))
    return false;
  rip = static_cast<greg_t>(reinterpret_cast<std::uintptr_t>(guardian_recv_window_abort));
  return true;
}

RecvStatus Listener::receive(decode::Notification& out) { return receive_unless(out, nullptr); }

RecvStatus Listener::receive_unless(decode::Notification& out, const std::atomic<int>* abort) {
  // The kernel requires a zeroed buffer.
  std::memset(buf_.data(), 0, buf_.size());
  int err = 0;
  if (abort) {
    long rc = guardian_recv_window(fd_.get(), static_cast<long>(SECCOMP_IOCTL_NOTIF_RECV),
                                   buf_.data(), abort);
    if (rc < 0) err = static_cast<int>(-rc);
  } else if (ioctl(fd_.get(), SECCOMP_IOCTL_NOTIF_RECV, buf_.data()) != 0) {
    err = errno;
  }
  if (err) {
    // EINTR: a signal; ENOENT: the notifying thread went away before we read it.
    if (err == EINTR || err == ENOENT || err == EAGAIN) return RecvStatus::none;
    errno = err;
    return RecvStatus::closed;
  }
  const auto* n = reinterpret_cast<const struct seccomp_notif*>(buf_.data());
  out.id = n->id;
  out.tid = static_cast<pid_t>(n->pid);
  out.nr = n->data.nr;
  out.arch = n->data.arch;
  out.ip = n->data.instruction_pointer;
  for (int i = 0; i < 6; ++i) out.args[i] = n->data.args[i];
  return RecvStatus::got;
}

bool Listener::id_valid(std::uint64_t id) const {
  return ioctl(fd_.get(), SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

bool Listener::send(std::uint64_t id, std::int64_t val, int err, std::uint32_t flags) {
  struct seccomp_notif_resp resp {};
  resp.id = id;
  resp.val = val;
  resp.error = err;
  resp.flags = flags;
  while (ioctl(fd_.get(), SECCOMP_IOCTL_NOTIF_SEND, &resp) != 0) {
    if (errno == EINTR) continue;
    return false;  // ENOENT: interrupted or dead — expected
  }
  return true;
}

bool Listener::send_continue(std::uint64_t id) {
  return send(id, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE);
}
bool Listener::send_error(std::uint64_t id, int err) { return send(id, 0, -err, 0); }
bool Listener::send_value(std::uint64_t id, std::int64_t value) { return send(id, value, 0, 0); }

bool Listener::send_fd(std::uint64_t id, pid_t tid, int local_fd, bool cloexec) {
  struct seccomp_notif_addfd add {};
  add.id = id;
  add.flags = 0;  // not ADDFD_FLAG_SEND: an atomic send here loses the synchronous wake-up
  add.srcfd = static_cast<__u32>(local_fd);
  add.newfd_flags = cloexec ? O_CLOEXEC : 0;
  int remote;
  {
    CpuHold hold(tid);
    do remote = ioctl(fd_.get(), SECCOMP_IOCTL_NOTIF_ADDFD, &add);
    while (remote < 0 && errno == EINTR);
  }
  if (remote < 0) {
    if (errno == ENOENT) return false;
    return send_error(id, errno == EMFILE ? EMFILE : errno);
  }
  // If the send fails now the descriptor stays in the dead/interrupted tracee's table;
  // an interrupted open is restarted by the kernel and gets a fresh one, leaking this
  // number in the tracee: a known limit of ADDFD without SEND.
  return send_value(id, remote);
}

Listener::MemFd& NotifTracee::kept() {
  auto it = l_.memfds_.find(tgid_);
  if (it == l_.memfds_.end() || it->second.image != image_) {
    // A process not seen yet, or an older image of it (an exec, a reused PID): whatever was
    // kept for that image says nothing of this one.
    // Beside up to 512 kept pidfds, within a default RLIMIT_NOFILE of 1024; more live
    // processes than this reading that much: the others reopen.
    constexpr std::size_t kMaxMemFds = 128;
    if (it == l_.memfds_.end() && l_.memfds_.size() >= kMaxMemFds) l_.memfds_.clear();
    Listener::MemFd& e = l_.memfds_[tgid_];
    e = Listener::MemFd{};
    e.image = image_;
    it = l_.memfds_.find(tgid_);
  }
  return it->second;
}

int NotifTracee::mem_fd(bool reopen, bool& fresh) {
  fresh = false;
  Listener::MemFd& e = kept();
  if (e.fd && !reopen) return e.fd.get();
  if (e.refused) return -1;
  // An open, its ID_VALID and the close at exit cost about what eight process_vm_readv
  // save: a process that reads less (a short-lived one) never pays them.
  constexpr unsigned kOpenAfter = 8;
  if (!e.fd && e.reads < kOpenAfter) {
    ++e.reads;
    return -1;
  }
  char path[40];
  std::snprintf(path, sizeof path, "/proc/%d/mem", static_cast<int>(tid_));
  e.fd.reset(::open(path, O_RDONLY | O_CLOEXEC));
  // Refused (another filter, an LSM): process_vm_readv answers for this image.
  if (!e.fd) {
    e.refused = true;
    return -1;
  }
  // The TID could name another task by now (the thread killed, the number reused): the
  // notification still pending proves it is the thread that asked, so the descriptor holds
  // its process's memory — which it keeps (a /proc/PID/mem descriptor stays with the
  // memory it was opened on) while the image number holds.
  if (!l_.id_valid(id_)) {
    e.fd.reset();
    return -1;
  }
  fresh = true;
  return e.fd.get();
}

decode::Tracee::Backing NotifTracee::backing(std::uint64_t addr, std::size_t n, std::string& file) {
  if (image_ == 0 || !l_.proc_ours_ || n == 0 || addr + n < addr) return Backing::other;
  Listener::MemFd& e = kept();
  if (!e.maps) {
    if (e.maps_refused) return Backing::other;
    char path[40];
    std::snprintf(path, sizeof path, "/proc/%d/maps", static_cast<int>(tid_));
    e.maps.reset(::open(path, O_RDONLY | O_CLOEXEC));
    if (!e.maps) {
      e.maps_refused = true;
      return Backing::other;
    }
    // As for the memory descriptor: the pending notification proves the TID still named
    // the thread that asked when the descriptor took its process's memory map.
    if (!l_.id_valid(id_)) {
      e.maps.reset();
      return Backing::other;
    }
  }
  char name[4096];
  ProcmapQuery q{};
  q.size = sizeof q;
  q.query_addr = addr;
  q.vma_name_addr = reinterpret_cast<std::uint64_t>(name);
  q.vma_name_size = sizeof name;
  if (::ioctl(e.maps.get(), kProcmapQuery, &q) != 0) {
    // No such ioctl (before 6.11), or refused: never for this image.
    if (errno == ENOTTY || errno == EINVAL || errno == EPERM || errno == EACCES)
      e.maps_refused = true;
    return Backing::other;
  }
  if (q.vma_start > addr || q.vma_end < addr + n || (q.vma_flags & kProcmapShared))
    return Backing::other;
  std::string_view nm(name, q.vma_name_size > 0 ? std::strlen(name) : 0);
  if (q.inode == 0 && q.dev_major == 0 && q.dev_minor == 0) {
    // No file: plain anonymous memory, or a special mapping the kernel fills ([vvar],
    // [vvar_vclock], [vdso], [vsyscall], [uprobes]...), which is not.
    if (nm.empty() || nm == "[heap]" || nm == "[stack]" || nm.substr(0, 6) == "[anon:")
      return Backing::anonymous;
    return Backing::other;
  }
  constexpr std::string_view kDeleted = " (deleted)";
  if (nm.empty() || nm[0] != '/' ||
      (nm.size() >= kDeleted.size() && nm.substr(nm.size() - kDeleted.size()) == kDeleted))
    return Backing::other;  // a memfd, a deleted file, an anonymous inode
  file.assign(nm);
  return Backing::file;
}

ssize_t NotifTracee::peek(std::uint64_t addr, void* buf, std::size_t n) {
  // pread takes a signed offset: addresses past it (never user memory) go the old way.
  if (image_ != 0 && l_.proc_ours_ && addr <= static_cast<std::uint64_t>(INT64_MAX) - n) {
    bool fresh = false;
    int fd = mem_fd(false, fresh);
    if (fd >= 0) {
      ssize_t got = ::pread(fd, buf, n, static_cast<off_t>(addr));
      if (got == static_cast<ssize_t>(n)) return got;
      // Short: an unmapped address, or a descriptor whose memory is gone (0 bytes: every
      // user of that memory exited or exec'd — an exec we should have been told of).
      // Reopen once, then ask process_vm_readv, whose answer stands.
      if (!fresh && (fd = mem_fd(true, fresh)) >= 0) {
        got = ::pread(fd, buf, n, static_cast<off_t>(addr));
        if (got == static_cast<ssize_t>(n)) return got;
      }
    }
  }
  struct iovec local { buf, n };
  struct iovec remote { reinterpret_cast<void*>(addr), n };
  return process_vm_readv(tid_, &local, 1, &remote, 1, 0);
}

bool NotifTracee::read(std::uint64_t addr, void* buf, std::size_t n) {
  if (n == 0) return true;
  return peek(addr, buf, n) == static_cast<ssize_t>(n);
}

bool NotifTracee::write(std::uint64_t addr, const void* buf, std::size_t n) {
  if (n == 0) return true;
  struct iovec local { const_cast<void*>(buf), n };
  struct iovec remote { reinterpret_cast<void*>(addr), n };
  return process_vm_writev(tid_, &local, 1, &remote, 1, 0) == static_cast<ssize_t>(n);
}

bool NotifTracee::read_string(std::uint64_t addr, std::string& out, std::size_t max) {
  out.clear();
  static const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  char chunk[4096];
  while (out.size() <= max) {
    // Never read across a page boundary in one go: the next page may be unmapped while
    // the string ends before it.
    std::size_t to_page = page - (addr % page);
    // Most paths are short: a first small read copies (and pins) less than a whole page.
    std::size_t cap = out.empty() ? 256 : sizeof chunk;
    std::size_t want = std::min({to_page, cap, max + 1 - out.size()});
    ssize_t got = peek(addr, chunk, want);
    if (got <= 0) return false;
    const void* nul = std::memchr(chunk, '\0', static_cast<std::size_t>(got));
    if (nul) {
      out.append(chunk, static_cast<const char*>(nul) - chunk);
      return out.size() <= max;
    }
    out.append(chunk, static_cast<std::size_t>(got));
    addr += static_cast<std::uint64_t>(got);
  }
  return false;  // unterminated within max
}

Result<UniqueFd> NotifTracee::take_fd(int remote_fd) {
  if (pidfd_ < 0) {
    auto it = l_.pidfds_.find(tid_);
    if (it != l_.pidfds_.end()) {
      int fd = static_cast<int>(syscall(SYS_pidfd_getfd, it->second.get(), remote_fd, 0));
      if (fd >= 0) return UniqueFd(fd);
      if (errno != ESRCH) return fail_errno("cannot take descriptor " + std::to_string(remote_fd), errno);
      l_.pidfds_.erase(it);  // that thread is gone: the tid belongs to another one now
    }
    // A thread pidfd first (6.9+), else the tid as a process (works for group leaders).
    int pfd = static_cast<int>(syscall(SYS_pidfd_open, tid_, PIDFD_THREAD));
    if (pfd < 0) pfd = static_cast<int>(syscall(SYS_pidfd_open, tid_, 0));
    if (pfd < 0) return fail_errno("cannot open a pidfd for thread " + std::to_string(tid_), errno);
    UniqueFd owned(pfd);
    // The tid could have been reused between the notification and pidfd_open: the
    // notification still pending proves the thread is still the one that asked.
    if (!l_.id_valid(id_)) return fail("thread " + std::to_string(tid_) + " went away", ESRCH);
    constexpr std::size_t kMaxPidfds = 512;  // more live threads than this: reopen some
    if (l_.pidfds_.size() >= kMaxPidfds) l_.pidfds_.clear();
    pidfd_ = pfd;
    l_.pidfds_[tid_] = std::move(owned);
  }
  int fd = static_cast<int>(syscall(SYS_pidfd_getfd, pidfd_, remote_fd, 0));
  if (fd < 0) return fail_errno("cannot take descriptor " + std::to_string(remote_fd), errno);
  return UniqueFd(fd);
}

}  // namespace guardian::seccomp
