// The ptrace backend's side of the Handler seam: a thread held in a PTRACE_EVENT_SECCOMP stop
// (the filter's SECCOMP_RET_TRACE) read as a decode::Notification, and a Response applied to it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "decode/handler.hpp"
#include "session/ptrace_scratch.hpp"
#include "session/respond.hpp"

namespace guardian::session {

// Fills n from the stopped thread's registers (orig_rax = nr; rdi rsi rdx r10 r8 r9 = args).
// false if the thread is gone (killed meanwhile).
bool read_trace_stop(pid_t tid, std::uint64_t id, decode::Notification& n);

// The ptrace backend's answers (session/respond.hpp); each resumes the thread. cont runs
// the syscall; fail/value skip it (orig_rax = -1) with rax = -err / v; kill sends SIGKILL
// to the process. No ADDFD: the kernel performs a decided open itself.
class PtraceResponder final : public Responder {
 public:
  // entry_stops: the thread is resumed with PTRACE_SYSCALL (see Tracer::trace_syscall_entries).
  // scratch: where redirected calls get their pinned arguments (may be null: refused).
  explicit PtraceResponder(bool entry_stops = false, ScratchPages* scratch = nullptr,
                           pid_t tgid = 0)
      : request_(entry_stops ? 24 : 7), scratch_(scratch), tgid_(tgid) {}
  bool cont(const decode::Notification& n) override;
  bool redirect(const decode::Notification& n, const decode::Redirect& r) override;
  bool fail(const decode::Notification& n, int err) override;
  bool value(const decode::Notification& n, std::int64_t v) override;
  bool can_inject() const override { return false; }
  bool inject_fd(const decode::Notification& n, int local_fd, bool cloexec) override;
  bool kill(const decode::Notification& n, pid_t tgid) override;

 private:
  bool resume(pid_t tid) const;
  int request_;  // PTRACE_SYSCALL (24) or PTRACE_CONT (7)
  ScratchPages* scratch_;
  pid_t tgid_;
};

// System calls whose allowed form is a Redirect with pinned arguments (the open family):
// the backend makes sure the thread has a sealed slot before deciding them.
bool may_pin(int nr);

// decode::Tracee for a thread held in a seccomp ptrace stop. It cannot leave the stop
// without us, so still_valid() only fails when it was killed.
class PtraceTracee final : public decode::Tracee {
 public:
  explicit PtraceTracee(pid_t tid) : tid_(tid) {}
  pid_t tid() const override { return tid_; }
  bool read(std::uint64_t addr, void* buf, std::size_t n) override;
  bool read_string(std::uint64_t addr, std::string& out, std::size_t max) override;
  bool still_valid() override;
  bool write(std::uint64_t addr, const void* buf, std::size_t n) override;
  Result<UniqueFd> take_fd(int remote_fd) override;
  // No ADDFD without a listener: the handler lets the kernel perform a decided open.
  bool can_inject_fd() const override { return false; }
  // ...but a descriptor can be installed the slow way (ScratchPages::install_fd).
  bool can_install_fd() const override { return true; }

 private:
  pid_t tid_;
  UniqueFd pidfd_;
};

}  // namespace guardian::session
