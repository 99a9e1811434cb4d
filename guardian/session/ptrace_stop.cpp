// The ptrace backend's stop handling: registers in, Response out (x86_64).
#include "session/ptrace_stop.hpp"

#include <fcntl.h>
#include <linux/audit.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

namespace guardian::session {

bool read_trace_stop(pid_t tid, std::uint64_t id, decode::Notification& n) {
  struct user_regs_struct regs {};
  if (ptrace(PTRACE_GETREGS, tid, nullptr, &regs) != 0) return false;
  n = decode::Notification{};
  n.id = id;
  n.tid = tid;
  n.nr = static_cast<int>(regs.orig_rax);
  // The filter kills every other ABI before it can ask (SCMP_FLTATR_ACT_BADARCH).
  n.arch = AUDIT_ARCH_X86_64;
  n.ip = regs.rip;
  n.args = {regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9};
  return true;
}

namespace {

// Skips the syscall: with orig_rax = -1 the kernel does not run it after a seccomp stop and
// the thread sees rax as its return value.
void skip(pid_t tid, std::int64_t ret) {
  struct user_regs_struct regs {};
  if (ptrace(PTRACE_GETREGS, tid, nullptr, &regs) != 0) return;
  regs.orig_rax = static_cast<unsigned long long>(-1LL);
  regs.rax = static_cast<unsigned long long>(ret);
  ptrace(PTRACE_SETREGS, tid, nullptr, &regs);
}

}  // namespace

// Resumes the thread from its stop; false (ESRCH) when it was killed meanwhile.
bool PtraceResponder::resume(pid_t tid) const {
  return ptrace(static_cast<__ptrace_request>(request_), tid, nullptr, nullptr) == 0;
}

bool PtraceResponder::cont(const decode::Notification& n) { return resume(n.tid); }

bool PtraceResponder::redirect(const decode::Notification& n, const decode::Redirect& r) {
  // Fail closed: without a sealed slot holding exactly what was checked, nothing runs.
  std::uint64_t slot = scratch_ ? scratch_->slot(n.tid, tgid_ > 0 ? tgid_ : n.tid) : 0;
  struct user_regs_struct regs {};
  if (slot == 0 || !scratch_->write(n.tid, slot, r.blob) ||
      ptrace(PTRACE_GETREGS, n.tid, nullptr, &regs) != 0)
    return fail(n, EACCES);
  std::uint64_t a[6];
  for (int i = 0; i < 6; ++i) a[i] = (r.in_blob & (1u << i)) ? slot + r.args[i] : r.args[i];
  // At a seccomp (or syscall-entry) stop the kernel runs orig_rax with these registers; a
  // seccomp stop re-runs the filters on the new call.
  regs.orig_rax = static_cast<unsigned long long>(r.nr);
  regs.rdi = a[0];
  regs.rsi = a[1];
  regs.rdx = a[2];
  regs.r10 = a[3];
  regs.r8 = a[4];
  regs.r9 = a[5];
  if (ptrace(PTRACE_SETREGS, n.tid, nullptr, &regs) != 0) return false;
  return resume(n.tid);
}

bool may_pin(int nr) {
  return nr == SYS_open || nr == SYS_openat || nr == SYS_openat2 || nr == SYS_creat;
}

bool PtraceResponder::fail(const decode::Notification& n, int err) {
  skip(n.tid, -static_cast<std::int64_t>(err));
  return resume(n.tid);
}

bool PtraceResponder::value(const decode::Notification& n, std::int64_t v) {
  skip(n.tid, v);
  return resume(n.tid);
}

bool PtraceResponder::inject_fd(const decode::Notification& n, int local_fd, bool cloexec) {
  // Only for Response::install (a reopen the thread cannot make itself): fail closed
  // without the means.
  long result = -EACCES;
  if (!scratch_) return fail(n, EACCES);
  if (!scratch_->install_fd(n.tid, local_fd, cloexec, result)) return false;
  return resume(n.tid);
}

bool PtraceResponder::kill(const decode::Notification& n, pid_t tgid) {
  skip(n.tid, -EPERM);
  ::kill(tgid, SIGKILL);
  return resume(n.tid);
}

bool PtraceTracee::read(std::uint64_t addr, void* buf, std::size_t n) {
  if (n == 0) return true;
  struct iovec local { buf, n };
  struct iovec remote { reinterpret_cast<void*>(addr), n };
  return process_vm_readv(tid_, &local, 1, &remote, 1, 0) == static_cast<ssize_t>(n);
}

bool PtraceTracee::write(std::uint64_t addr, const void* buf, std::size_t n) {
  if (n == 0) return true;
  struct iovec local { const_cast<void*>(buf), n };
  struct iovec remote { reinterpret_cast<void*>(addr), n };
  return process_vm_writev(tid_, &local, 1, &remote, 1, 0) == static_cast<ssize_t>(n);
}

bool PtraceTracee::read_string(std::uint64_t addr, std::string& out, std::size_t max) {
  out.clear();
  static const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  char chunk[4096];
  while (out.size() <= max) {
    // Page by page: the next page may be unmapped while the string ends before it.
    std::size_t to_page = page - (addr % page);
    std::size_t want = std::min({to_page, sizeof chunk, max + 1 - out.size()});
    struct iovec local { chunk, want };
    struct iovec remote { reinterpret_cast<void*>(addr), want };
    ssize_t got = process_vm_readv(tid_, &local, 1, &remote, 1, 0);
    if (got <= 0) return false;
    const void* nul = std::memchr(chunk, '\0', static_cast<std::size_t>(got));
    if (nul) {
      out.append(chunk, static_cast<const char*>(nul) - chunk);
      return out.size() <= max;
    }
    out.append(chunk, static_cast<std::size_t>(got));
    addr += static_cast<std::uint64_t>(got);
  }
  return false;
}

bool PtraceTracee::still_valid() {
  // Only our PTRACE_CONT (or SIGKILL) moves it out of the stop; a ptrace request succeeds
  // only while it is stopped and traced by us.
  unsigned long msg = 0;
  return ptrace(PTRACE_GETEVENTMSG, tid_, nullptr, &msg) == 0;
}

Result<UniqueFd> PtraceTracee::take_fd(int remote_fd) {
  if (!pidfd_) {
    int pfd = static_cast<int>(syscall(SYS_pidfd_open, tid_, PIDFD_THREAD));
    if (pfd < 0) pfd = static_cast<int>(syscall(SYS_pidfd_open, tid_, 0));
    if (pfd < 0) return fail_errno("cannot open a pidfd for thread " + std::to_string(tid_), errno);
    pidfd_.reset(pfd);
    // The thread is held in our stop, so its tid cannot have been reused.
    if (!still_valid()) return fail("thread " + std::to_string(tid_) + " went away", ESRCH);
  }
  int fd = static_cast<int>(syscall(SYS_pidfd_getfd, pidfd_.get(), remote_fd, 0));
  if (fd < 0) return fail_errno("cannot take descriptor " + std::to_string(remote_fd), errno);
  return UniqueFd(fd);
}

}  // namespace guardian::session
