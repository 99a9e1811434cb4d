// ptrace backend: pages in each tracee that its own threads cannot write (mapped read-only
// and sealed with mseal), where the supervisor puts the checked arguments of a call it lets
// the kernel run, so that no thread can rewrite them between the check and the use.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/result.hpp"
#include "base/unique_fd.hpp"

namespace guardian::session {

class ScratchPages {
 public:
  // A wait status for a task that the synchronous injection read but did not expect
  // (another stop, an exit): the tracer must process it (Tracer::dispatch).
  using Dispatch = std::function<void(pid_t pid, int status)>;
  explicit ScratchPages(Dispatch dispatch) : dispatch_(std::move(dispatch)) {}

  // Bytes available to one call (path + open_how fit: PATH_MAX + 64).
  static constexpr std::size_t kSlot = 8192;

  // The slot of thread `tid` of process `tgid`, or 0 when it has none yet.
  std::uint64_t slot(pid_t tid, pid_t tgid);
  // Whether a slot can be had for tid without mapping a new region.
  bool ready(pid_t tid, pid_t tgid) { return slot(tid, tgid) != 0 || failed_.count(tgid); }

  // Maps and seals a new region in the process of `tid`, which is held at the entry of a
  // system call (a seccomp or syscall-entry stop), by running mmap and mseal in that thread;
  // the thread is left set up to re-execute its original call when resumed (so the caller
  // resumes it without answering: it stops again for the same call). false when the
  // thread died meanwhile (the caller resumes nothing). A process whose region cannot be
  // mapped gets no slot: its calls that need one are refused.
  bool setup(pid_t tid, pid_t tgid);

  // Writes `data` at the slot of tid (through /proc/TID/mem: the page is read-only for the
  // tracee itself). false on failure.
  bool write(pid_t tid, std::uint64_t slot, const std::string& data);

  // Installs `local_fd` in thread `tid`, held at the entry of a call it then returns from
  // (ptrace_install.cpp; ADDFD's work, done by the thread's own system calls): `result` is
  // the new descriptor's number, or -errno (EMFILE) with nothing installed. false when the
  // thread died meanwhile (nothing to resume). (tar room.)
  bool install_fd(pid_t tid, int local_fd, bool cloexec, long& result);

  // Write with PTRACE_POKEDATA instead of /proc/PID/mem (when under another guardian).
  void use_poke(bool on) { poke_ = on; }

  // A thread is gone: its slot is free again.
  void thread_gone(pid_t tid);
  // The process exec'd or exited: its regions are gone with its memory.
  void process_gone(pid_t tgid);

 private:
  struct Region {
    std::uint64_t base = 0;
    std::vector<pid_t> owner;  // per slot; 0 = free
  };
  struct Process {
    std::vector<Region> regions;
  };
  bool wait_syscall_stop(pid_t tid);

  Dispatch dispatch_;
  std::unordered_map<pid_t, Process> procs_;                       // by tgid
  std::unordered_map<pid_t, std::pair<pid_t, std::uint64_t>> by_tid_;  // tid -> (tgid, slot)
  std::unordered_map<pid_t, bool> failed_;                         // tgid -> mapping failed
  std::unordered_map<pid_t, UniqueFd> mem_;                        // tgid -> /proc/PID/mem
  bool said_no_mseal_ = false;
  bool poke_ = false;
};

}  // namespace guardian::session
