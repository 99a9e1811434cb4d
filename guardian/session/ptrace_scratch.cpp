// ptrace backend: sealed read-only pages in the tracees for checked arguments (x86_64).
#include "session/ptrace_scratch.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <algorithm>
#include <cstring>

#ifndef __NR_mseal
#define __NR_mseal 462
#endif

namespace guardian::session {

namespace {

constexpr std::size_t kSlots = 16;  // threads of one process per region
constexpr std::size_t kRegion = ScratchPages::kSlot * kSlots;

bool is_error(unsigned long long rax) {
  return static_cast<long long>(rax) < 0 && static_cast<long long>(rax) >= -4095;
}

}  // namespace

std::uint64_t ScratchPages::slot(pid_t tid, pid_t tgid) {
  auto it = by_tid_.find(tid);
  if (it != by_tid_.end()) {
    if (it->second.first == tgid) return it->second.second;
    thread_gone(tid);  // the tid now belongs to another process (exec by a thread)
  }
  auto p = procs_.find(tgid);
  if (p == procs_.end()) return 0;
  for (Region& r : p->second.regions)
    for (std::size_t i = 0; i < r.owner.size(); ++i)
      if (r.owner[i] == 0) {
        r.owner[i] = tid;
        std::uint64_t at = r.base + i * kSlot;
        by_tid_[tid] = {tgid, at};
        return at;
      }
  return 0;
}

bool ScratchPages::wait_syscall_stop(pid_t tid) {
  for (;;) {
    int st = 0;
    pid_t got = waitpid(tid, &st, __WALL);
    if (got < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (WIFSTOPPED(st) && WSTOPSIG(st) == (SIGTRAP | 0x80)) return true;
    if (WIFSTOPPED(st) && (st >> 16) == PTRACE_EVENT_SECCOMP) {
      // A filter traces the call we injected: let it run to its exit stop.
      ptrace(PTRACE_SYSCALL, tid, nullptr, nullptr);
      continue;
    }
    // An exit, or a stop we did not plan for (signals are blocked; SIGSTOP is not): the
    // thread's registers are ours, so it cannot be resumed as it is. Fail closed.
    if (WIFSTOPPED(st)) {
      std::fprintf(stderr, "guardian: thread %d stopped while guardian was mapping its sealed "
                           "page; killing it (fail closed)\n", tid);
      syscall(SYS_tgkill, tid, tid, SIGKILL);
    }
    dispatch_(tid, st);
    return false;
  }
}

bool ScratchPages::setup(pid_t tid, pid_t tgid) {
  struct user_regs_struct saved {};
  if (ptrace(PTRACE_GETREGS, tid, nullptr, &saved) != 0) return false;
  // No signal handler may run between our steps (it would see our registers).
  std::uint64_t old_mask = 0, all = ~0ULL;
  bool masked = ptrace(PTRACE_GETSIGMASK, tid, sizeof old_mask, &old_mask) == 0 &&
                ptrace(PTRACE_SETSIGMASK, tid, sizeof all, &all) == 0;

  // 1. The held call becomes mmap(NULL, kRegion, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS).
  struct user_regs_struct regs = saved;
  regs.orig_rax = SYS_mmap;
  regs.rdi = 0;
  regs.rsi = kRegion;
  regs.rdx = PROT_READ;
  regs.r10 = MAP_PRIVATE | MAP_ANONYMOUS;
  regs.r8 = static_cast<unsigned long long>(-1LL);
  regs.r9 = 0;
  if (ptrace(PTRACE_SETREGS, tid, nullptr, &regs) != 0) return false;
  if (ptrace(PTRACE_SYSCALL, tid, nullptr, nullptr) != 0 || !wait_syscall_stop(tid)) return false;
  if (ptrace(PTRACE_GETREGS, tid, nullptr, &regs) != 0) return false;
  std::uint64_t base = regs.rax;
  bool mapped = !is_error(base);
  long long seal = -ENOSYS;
  if (mapped) {
    // 2. Back over the syscall instruction: mseal(base, kRegion, 0), so no thread can make
    // the page writable, unmap or move it.
    regs.rip = saved.rip - 2;
    regs.rax = __NR_mseal;
    regs.rdi = base;
    regs.rsi = kRegion;
    regs.rdx = 0;
    if (ptrace(PTRACE_SETREGS, tid, nullptr, &regs) != 0) return false;
    for (int stop = 0; stop < 2; ++stop)  // its entry, then its exit
      if (ptrace(PTRACE_SYSCALL, tid, nullptr, nullptr) != 0 || !wait_syscall_stop(tid))
        return false;
    if (ptrace(PTRACE_GETREGS, tid, nullptr, &regs) != 0) return false;
    seal = static_cast<long long>(regs.rax);
  }
  // 3. Back over the syscall instruction once more, with the original registers: when
  // resumed, the thread makes its original call again, and we decide it then.
  saved.rip -= 2;
  saved.rax = saved.orig_rax;
  if (ptrace(PTRACE_SETREGS, tid, nullptr, &saved) != 0) return false;
  if (masked) ptrace(PTRACE_SETSIGMASK, tid, sizeof old_mask, &old_mask);

  if (!mapped) {
    failed_[tgid] = true;
    std::fprintf(stderr, "guardian: cannot map the sealed page in process %d (%s): its opens "
                         "are refused\n", tgid, std::strerror(static_cast<int>(-static_cast<long long>(base))));
    return true;
  }
  if (seal != 0 && !said_no_mseal_) {
    said_no_mseal_ = true;
    std::fprintf(stderr, "guardian: notice: %s: under the ptrace backend the page holding "
                         "checked paths is read-only but not sealed, so a hostile program "
                         "could unprotect and rewrite it (the Landlock envelope still bounds "
                         "its files)\n",
                 seal == -ENOSYS ? "the kernel lacks mseal (Linux 6.10 or later)"
                                 : "mseal failed");
  }
  Region r;
  r.base = base;
  r.owner.assign(kSlots, 0);
  procs_[tgid].regions.push_back(std::move(r));
  return true;
}

bool ScratchPages::write(pid_t tid, std::uint64_t at, const std::string& data) {
  if (data.size() > kSlot) return false;
  if (poke_) {
    // Word by word (FOLL_FORCE too): under an outer guardian, opening /proc/PID/mem for
    // writing is a file write that guardian's profile rarely allows; ptrace on our own
    // tracee is. The blobs are padded to whole words.
    for (std::size_t i = 0; i < data.size(); i += sizeof(long)) {
      long word = 0;
      std::memcpy(&word, data.data() + i, std::min(sizeof word, data.size() - i));
      if (ptrace(PTRACE_POKEDATA, tid, reinterpret_cast<void*>(at + i),
                 reinterpret_cast<void*>(word)) != 0)
        return false;
    }
    return true;
  }
  // /proc/PID/mem writes as the tracer (FOLL_FORCE): the page is read-only to the tracee.
  // One descriptor per process, kept until it execs or exits (it names that memory image).
  auto owner = by_tid_.find(tid);
  pid_t tgid = owner != by_tid_.end() ? owner->second.first : tid;
  UniqueFd& fd = mem_[tgid];
  if (!fd) {
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/mem", tid);
    fd.reset(::open(path, O_RDWR | O_CLOEXEC));
    if (!fd) return false;
  }
  ssize_t n = pwrite(fd.get(), data.data(), data.size(), static_cast<off_t>(at));
  return n == static_cast<ssize_t>(data.size());
}

void ScratchPages::thread_gone(pid_t tid) {
  auto it = by_tid_.find(tid);
  if (it == by_tid_.end()) return;
  auto [tgid, at] = it->second;
  by_tid_.erase(it);
  auto p = procs_.find(tgid);
  if (p == procs_.end()) return;
  for (Region& r : p->second.regions)
    if (at >= r.base && at < r.base + kRegion) r.owner[(at - r.base) / kSlot] = 0;
}

void ScratchPages::process_gone(pid_t tgid) {
  auto p = procs_.find(tgid);
  if (p != procs_.end()) {
    for (Region& r : p->second.regions)
      for (pid_t t : r.owner)
        if (t) by_tid_.erase(t);
    procs_.erase(p);
  }
  failed_.erase(tgid);
  mem_.erase(tgid);
}

}  // namespace guardian::session
