// Process tracking and exec verification through ptrace events.
#include "session/tracer.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sched.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <vector>

#include "base/procfs.hpp"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

namespace guardian::session {

namespace {

// No PTRACE_O_TRACEEXIT: its stop (before the exit, memory still mapped) told us nothing
// that the exit status does not, and it held every exiting task for one more round trip to
// us (~45 us per process, on the parent's wait path). Exits are seen through waitpid.
constexpr long kOptions = PTRACE_O_TRACEEXEC | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
                          PTRACE_O_TRACECLONE | PTRACE_O_EXITKILL;

// Tgid and PPid of a task from /proc (threads and processes look alike to ptrace). One
// open, one read, one close: both fields are in the first lines of the file, which stdio
// would have read in three reads after an fstat.
bool read_status(pid_t tid, pid_t& tgid, pid_t& ppid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/status", tid);
  char buf[1024];
  if (!procfs::read_small(path, buf, sizeof buf)) return false;
  tgid = ppid = 0;
  // The fields at line starts after "Name:" (whose value the kernel escapes).
  for (char* line = std::strchr(buf, '\n'); line; line = std::strchr(line + 1, '\n')) {
    if (std::strncmp(line + 1, "Tgid:", 5) == 0) tgid = static_cast<pid_t>(std::atoi(line + 6));
    else if (std::strncmp(line + 1, "PPid:", 5) == 0) ppid = static_cast<pid_t>(std::atoi(line + 6));
    if (tgid > 0 && ppid > 0) break;
  }
  return tgid > 0;
}

// The task is a zombie (or dead): it exited and waits for its parent's wait.
bool is_zombie(pid_t pid) {
  char path[64], buf[512];
  std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
  if (!procfs::read_small(path, buf, sizeof buf)) return false;
  const char* close_paren = std::strrchr(buf, ')');
  return close_paren && close_paren[1] == ' ' && (close_paren[2] == 'Z' || close_paren[2] == 'X');
}

// TracerPid of this process is not 0.
bool traced_by_someone() {
  FILE* f = std::fopen("/proc/self/status", "re");
  if (!f) return false;
  char line[256];
  bool traced = false;
  while (std::fgets(line, sizeof line, f))
    if (std::strncmp(line, "TracerPid:", 10) == 0) traced = std::atoi(line + 10) != 0;
  std::fclose(f);
  return traced;
}


// At a fork/vfork/clone event stop of `parent` (still inside that call, its registers as
// at entry): did the call make a process that shares the caller's descriptor table
// (CLONE_FILES), or its cwd and root (CLONE_FS: the other can move the directory a relative
// path starts from)? ptrace reports such a clone with SIGCHLD as a FORK
// event, so only the flags tell. Unknown answers yes. (clone3, whose flags live in memory,
// is refused by the filter; fork and vfork give the child a copy of the table.)
// `memory`: the same question for the caller's memory (CLONE_VM without CLONE_VFORK, which
// stops the caller until the child execs or exits): ProcessTable::memory_private.
// `borrowed`: the child runs in the caller's memory until it execs (vfork, or clone with
// CLONE_VM and CLONE_VFORK): ProcessTable::borrow_vm.
bool shares_files(pid_t parent, bool& memory, bool& borrowed) {
  memory = true;
  borrowed = true;
  struct user_regs_struct regs {};
  if (ptrace(PTRACE_GETREGS, parent, nullptr, &regs) != 0) return true;
  if (regs.orig_rax == SYS_fork || regs.orig_rax == SYS_vfork) {
    memory = false;
    borrowed = regs.orig_rax == SYS_vfork;
    return false;
  }
  if (regs.orig_rax != SYS_clone) return true;
  memory = (regs.rdi & CLONE_THREAD) || ((regs.rdi & CLONE_VM) && !(regs.rdi & CLONE_VFORK));
  borrowed = (regs.rdi & CLONE_VM) != 0;
  // CLONE_THREAD here means a thread taken for a process: unknown, so yes.
  return (regs.rdi & (CLONE_FILES | CLONE_FS | CLONE_THREAD)) != 0;
}

bool dumps_core(int sig) {
  switch (sig) {
    case SIGQUIT: case SIGILL: case SIGTRAP: case SIGABRT: case SIGBUS: case SIGFPE:
    case SIGSEGV: case SIGSYS: case SIGXCPU: case SIGXFSZ:
      return true;
    default:
      return false;
  }
}

bool is_stop_signal(int sig) {
  return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

int wait_status_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

std::string read_exe(pid_t pid) {
  char path[64], buf[PATH_MAX];
  std::snprintf(path, sizeof path, "/proc/%d/exe", pid);
  ssize_t n = readlink(path, buf, sizeof buf - 1);
  if (n <= 0) return {};
  return std::string(buf, static_cast<std::size_t>(n));
}

Result<void> Tracer::seize_root(pid_t pid, const std::string& exe) {
  // TRACESYSGOOD: the ptrace backend tells syscall stops (its own injections, entry stops)
  // from signal stops.
  long options = kOptions | (on_seccomp_ ? PTRACE_O_TRACESECCOMP | PTRACE_O_TRACESYSGOOD : 0);
  if (ptrace(PTRACE_SEIZE, pid, nullptr, reinterpret_cast<void*>(options)) != 0) {
    int e = errno;
    // Our own tracer (an outer guardian, strace, gdb) already traces our children too.
    if (e == EPERM && traced_by_someone())
      return fail("cannot trace the command: guardian is itself traced (inside another "
                  "guardian or a debugger), which already traces its children",
                  e);
    return fail_errno("cannot trace the command for exec verification (PTRACE_SEIZE)", e);
  }
  // Seizing does not stop it: with syscall-entry stops, make it stop once so that it is
  // resumed with PTRACE_SYSCALL before its exec (it waits for us until then).
  if (entry_stops_) ptrace(PTRACE_INTERRUPT, pid, nullptr, nullptr);
  root_ = pid;
  table_.add(pid, pid, getpid(), exe);
  table_.confirm(pid);  // made by our fork, which shares nothing
  return outcome::success();
}

void Tracer::record(pid_t pid, pid_t ppid, const char* what, const std::string& exe,
                    std::optional<int> status) {
  if (!log_) return;
  audit::ProcessRecord r;
  r.pid = pid;
  r.ppid = ppid;
  r.what = what;
  r.exe = exe;
  r.status = status;
  log_->process(r);
}

void Tracer::ensure_known(pid_t pid) {
  if (table_.known(pid)) return;
  // A new task's first stop can arrive before its parent's fork/clone event.
  pid_t tgid = pid, ppid = 0;
  read_status(pid, tgid, ppid);
  table_.add(pid, tgid, ppid, table_.exe_of(ppid));
  reaped_unknown_.erase(pid);  // a TID reaped before is in use again
  early_.insert(pid);          // until its parent's event (on_new)
}

void Tracer::on_new(pid_t parent, pid_t child, int event) {
  // A vfork child that makes a task of its own may be long in doing so: its parent's vfork()
  // ends as the kernel decides, not at our event.
  if (!vfork_held_.empty()) release_vfork_parent(parent);
  bool known = table_.known(child);
  early_.erase(child);
  // The child's first stop, and even its exit, can be reported before this event (a thread
  // that makes no notified call, as under --fast-path, may be gone already): a task that no
  // longer exists was reaped by us and must not come back into the table, where nothing
  // would ever remove it (the end then waited 5 s for it). on_exit remembers every task it
  // reaped before its parent's event (reaped_unknown_), so only those few cost a look at the
  // kernel here, not every spawn; a remembered TID that the kernel says lives again is a
  // reuse (or a thread dropped by an exec), and is added as any new task.
  if (!known) {
    const bool reaped = reaped_unknown_.erase(child) > 0;
    if ((reaped || reaped_overflow_) && ::kill(child, 0) != 0 && errno == ESRCH) return;
    // Reaped by us and now a zombie that its real parent has not waited for yet (a vfork
    // child that exec'd and exited before its parent's vfork event was seen): gone for us
    // too. Taken back into the table, it held its vfork parent in that event stop for good
    // (nothing of it would ever come again), and the session hung.
    if (reaped && is_zombie(child)) return;
  }
  pid_t tgid = child, ppid = table_.tgid_of(parent);
  if (known) {
    tgid = table_.tgid_of(child);
    ppid = table_.ppid_of(child);
  } else if (event == PTRACE_EVENT_CLONE) {
    // clone() may make a thread or a process. A thread of the parent's group answers one
    // tgkill(group, tid, 0); anything else (a process made by clone(), CLONE_PARENT) is read
    // from /proc, which also gives its real parent.
    pid_t group = table_.tgid_of(parent) ? table_.tgid_of(parent) : parent;
    pid_t t = 0, pp = 0;
    if (::syscall(SYS_tgkill, group, child, 0) == 0) {
      tgid = group;
      ppid = table_.ppid_of(parent);
    } else if (read_status(child, t, pp)) {
      tgid = t;
      ppid = pp;
    } else {
      // A thread taken for a process would leave its process's thread count short.
      table_.mark_shared(table_.tgid_of(parent));
      table_.mark_vm_shared(table_.tgid_of(parent));
    }
  }
  if (!known) table_.add(child, tgid, ppid, table_.exe_of(parent));
  if (tgid != child) table_.thread_made(tgid);
  // Its first stop came already and was held for this event: it is known now, let it go.
  if (auto h = std::find(held_.begin(), held_.end(), child); h != held_.end()) {
    held_.erase(h);
    resume(child, 0);
  }
  if (tgid == child) {
    // A new process: its descriptor table is private (ProcessTable::fd_table_private) only
    // once we know the call gave it a copy. Until this event a child seen at its own first
    // stop (ensure_known) is unconfirmed, hence not private; the caller waits in this stop
    // meanwhile, so it cannot rely on a table it shares without our knowing.
    // (Also when the call made a thread that the table filed as a process, its /proc status
    // unreadable at its first stop: the creator's process could count one thread short.)
    bool memory = true, borrowed = true;
    if (shares_files(parent, memory, borrowed)) {
      table_.mark_shared(table_.tgid_of(parent));
      table_.mark_shared(child);
    } else {
      table_.confirm(child);
    }
    if (memory) table_.mark_vm_shared(table_.tgid_of(parent));
    // A vfork child that makes a thread or a clone(CLONE_VM) process and then ends leaves
    // that task in its parent's memory, which goes on: its marks must reach the parent.
    if (borrowed) table_.borrow_vm(child, table_.tgid_of(parent));
    record(child, ppid, "spawn", table_.exe_of(child), std::nullopt);
  }
}

void Tracer::on_exec(pid_t pid) {
  pid_t tgid = table_.tgid_of(pid);
  if (tgid == 0) tgid = pid;
  // The thread that called exec (it now has the leader's TID). A process of one thread (we
  // saw every thread of it come: each new one stops for us before it can run) exec'd from
  // that thread, and the question to the kernel is skipped. Were the table wrong, the check
  // below would look for the exec decision under the wrong TID and fail closed.
  unsigned long former = static_cast<unsigned long>(pid);
  if (pid != tgid || table_.threads_of(tgid) != 1) {
    ptrace(PTRACE_GETEVENTMSG, pid, nullptr, &former);
    if (static_cast<pid_t>(former) != pid) table_.remove(static_cast<pid_t>(former));
    table_.exec_collapse(tgid);  // a walk of the whole table: only when there are threads
    // The other threads are gone, the leader's TID is the exec'ing thread's now: a vfork
    // parent among them is not to be resumed later.
    std::erase_if(vfork_held_,
                  [&](const auto& kv) { return kv.second == pid || !table_.known(kv.second); });
  }
  // A new memory image, seen before it runs (we hold it in this stop): what was kept of the
  // old one (memory descriptors, sealed pages) is dropped first. A vfork child's old image
  // was its parent's, which lives on.
  table_.new_image(tgid);
  if (image_gone) image_gone(tgid);
  std::string exe = read_exe(pid);
  // What the kernel loaded must be what the handler decided for this exec: checked before
  // the new image runs its first instruction (we hold it in this stop).
  if (exe.empty() || !verify_(static_cast<pid_t>(former), tgid, exe)) {
    ++execs_killed_;
    kill(pid, SIGKILL);
    record(pid, table_.ppid_of(pid), "exec", exe, std::nullopt);
    return;  // stays stopped until SIGKILL lands
  }
  // Checked: let it run first, then its vfork parent and the bookkeeping.
  resume(pid, 0);
  // Its parent's fork event is still to come: a vfork parent must not wait for this exec.
  if (early_.count(tgid)) {
    if (exec_early_.size() >= kMaxReapedUnknown) exec_early_.clear();
    exec_early_.insert(tgid);
  }
  if (!vfork_held_.empty()) release_vfork_parent(tgid);
  record(pid, table_.ppid_of(pid), "exec", exe, std::nullopt);
  table_.set_exe(tgid, std::move(exe));
}

void Tracer::on_stop(pid_t pid, int status) {
  int sig = WSTOPSIG(status);
  int event = (status >> 16) & 0xff;
  if (!table_.known(pid)) {
    // A new task's first stop, reported before its parent's fork/clone event (the kernel
    // lists the newest tracee first, so this is the usual order for posix_spawn and
    // threads). That event normally waits in this same drain and tells us who it is; until
    // then the task stays in its stop, so it cannot run unknown to the table. What is still
    // held when the drain ends is read from /proc (flush_held).
    if (draining_ && event == PTRACE_EVENT_STOP && !is_stop_signal(sig)) {
      held_.push_back(pid);
      return;
    }
    ensure_known(pid);
  }
  switch (event) {
    case PTRACE_EVENT_FORK:
    case PTRACE_EVENT_VFORK:
    case PTRACE_EVENT_CLONE: {
      unsigned long child = 0;
      // on_new reads the parent's registers (the clone flags): it is resumed after.
      pid_t c = 0;
      if (ptrace(PTRACE_GETEVENTMSG, pid, nullptr, &child) == 0 && child > 0) {
        c = static_cast<pid_t>(child);
        on_new(pid, c, event);
      }
      // A vfork parent stays in this stop until its child execs or exits (it could not
      // return from vfork() before that anyway); only one held per child, never a task
      // being handed over.
      // (Not when the child exec'd before this event came: that exec was the release.)
      const bool exec_seen = c > 0 && exec_early_.erase(c) > 0;
      if (event == PTRACE_EVENT_VFORK && c > 0 && !exec_seen && table_.known(c) && table_.tgid_of(c) == c &&
          !releasing_.count(pid) && !vfork_held_.count(c)) {
        vfork_held_[c] = pid;
        return;
      }
      resume(pid, 0);
      return;
    }
    case PTRACE_EVENT_EXEC:
      on_exec(pid);
      return;
    case PTRACE_EVENT_STOP:
      // Seized tracees report group-stops as EVENT_STOP with the stop signal: PTRACE_LISTEN
      // keeps them stopped (job control works) and lets SIGCONT resume them. Anything else
      // (a new task's first stop, an interrupt) is resumed.
      if (is_stop_signal(sig)) {
        if (releasing_.count(pid)) {
          detach(pid, 0);  // the kernel keeps it in its group-stop for the new tracer
          return;
        }
        ptrace(PTRACE_LISTEN, pid, nullptr, nullptr);
        // Job control (Ctrl-Z in vim): the command shares our process group; stop
        // ourselves too so the shell sees the job stopped, and its SIGCONT to the group
        // resumes both.
        if (pid == root_ && sig != SIGSTOP) kill(getpid(), SIGSTOP);
      } else {
        resume(pid, 0);
      }
      return;
    case PTRACE_EVENT_SECCOMP:
      // ptrace backend: a syscall the filter sends to us; the backend resumes it. With
      // syscall-entry stops it was decided at its entry already.
      if (on_seccomp_ && !entry_stops_) on_seccomp_(pid);
      else resume(pid, 0);
      return;
    case 0:
      if (entry_stops_ && sig == (SIGTRAP | 0x80)) {
        on_syscall_stop(pid);
        return;
      }
      // Signal-delivery stop: re-inject the signal, never swallow it; except the second copy
      // of one signal to the command that `deliver` pairs (SignalEcho).
      if (deliver && table_.tgid_of(pid) == root_ && !deliver(pid, sig)) {
        resume(pid, 0);
        return;
      }
      if (before_core_signal && dumps_core(sig)) before_core_signal(pid);
      resume(pid, sig);
      return;
    default:
      resume(pid, 0);
      return;
  }
}

void Tracer::cont(pid_t pid, int sig) {
  // ESRCH: killed meanwhile; nothing to resume.
  ptrace(entry_stops_ ? PTRACE_SYSCALL : PTRACE_CONT, pid, nullptr,
         reinterpret_cast<void*>(static_cast<long>(sig)));
}

void Tracer::on_syscall_stop(pid_t pid) {
  struct __ptrace_syscall_info info {};
  long n = ptrace(PTRACE_GET_SYSCALL_INFO, pid,
                  reinterpret_cast<void*>(sizeof info), &info);
  if (n > 0 && info.op == PTRACE_SYSCALL_INFO_ENTRY && info.entry.nr < entry_stops_->size() &&
      (*entry_stops_)[info.entry.nr] && on_seccomp_) {
    on_seccomp_(pid);  // decided before any seccomp filter runs; the backend resumes it
    return;
  }
  resume(pid, 0);  // an exit, or a call we leave alone
}

void Tracer::resume(pid_t pid, int sig) {
  if (releasing_.count(pid)) detach(pid, sig);
  else cont(pid, sig);
}

void Tracer::release(pid_t tid) {
  if (!traces(tid) || releasing_.count(tid)) return;
  releasing_.insert(tid);
  // Its new threads and children will be reported to the new tracer, not to us: we can no
  // longer count who shares its descriptor table.
  table_.mark_shared(table_.tgid_of(tid));
  // Nor see its execs (ProcessTable::image_of).
  table_.mark_foreign(table_.tgid_of(tid));
  // Stops it at once if running (or in a group-stop we LISTENed to); a thread already in a
  // stop of ours is detached when we would have resumed it.
  if (ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr) != 0 && errno == ESRCH) {
    releasing_.erase(tid);
    if (on_released_) on_released_(tid);
  }
}

void Tracer::detach(pid_t pid, int sig) {
  releasing_.erase(pid);
  // Its exec and exit will no longer be reported to us.
  if (!vfork_held_.empty()) release_vfork_parent(pid);
  // The pidfd first: once detached, the exit of a process that is not our child is no
  // longer reported to us, and its pid could be reused.
  int pfd = static_cast<int>(syscall(SYS_pidfd_open, pid, PIDFD_THREAD));
  if (pfd < 0) pfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  ptrace(PTRACE_DETACH, pid, nullptr, reinterpret_cast<void*>(static_cast<long>(sig)));
  released_[pid] = UniqueFd(pfd);
  if (on_released_) on_released_(pid);
}

int Tracer::released_pidfd(pid_t tid) const {
  auto it = released_.find(tid);
  return it == released_.end() ? -1 : it->second.get();
}

void Tracer::forget(pid_t tid) {
  released_.erase(tid);
  // Our own child (the command) is still reaped, and recorded, through waitpid.
  if (tid == root_ || !table_.known(tid)) return;
  if (table_.tgid_of(tid) == tid)
    record(tid, table_.ppid_of(tid), "exit", table_.exe_of(tid), std::nullopt);
  table_.remove(tid);
}

void Tracer::prune_released() {
  std::vector<pid_t> gone;
  for (auto& [tid, fd] : released_) {
    struct pollfd p { fd.get(), POLLIN, 0 };
    if (!fd || (poll(&p, 1, 0) == 1 && (p.revents & (POLLIN | POLLHUP | POLLERR)))) gone.push_back(tid);
  }
  for (pid_t t : gone) forget(t);
}

void Tracer::on_exit(pid_t pid, int status) {
  if (auto h = std::find(held_.begin(), held_.end(), pid); h != held_.end()) held_.erase(h);
  if (!vfork_held_.empty()) {
    release_vfork_parent(pid);
    // A held parent that died (SIGKILL): its PID must never be resumed, it may be reused.
    std::erase_if(vfork_held_, [pid](const auto& kv) { return kv.second == pid; });
  }
  exec_early_.erase(pid);
  if (early_.erase(pid) || !table_.known(pid)) {
    // Reaped before its parent's event was seen (its first stop came first, or it was killed
    // before any stop): that event may still come (on_new). Bounded; past the bound on_new
    // asks the kernel every time.
    if (reaped_unknown_.size() < kMaxReapedUnknown) reaped_unknown_.insert(pid);
    else reaped_overflow_ = true;
  }
  if (releasing_.erase(pid) && on_released_) on_released_(pid);  // gone before its stop
  released_.erase(pid);
  bool leader = table_.known(pid) && table_.tgid_of(pid) == pid;
  if (thread_exited) thread_exited(pid);
  if (leader && image_gone) image_gone(pid);
  if (leader) record(pid, table_.ppid_of(pid), "exit", table_.exe_of(pid), wait_status_code(status));
  table_.remove(pid);
  if (pid == root_) root_status_ = status;
}

void Tracer::reap() {
  bool outer = !draining_;
  draining_ = true;
  for (;;) {
    int status = 0;
    pid_t pid = waitpid(-1, &status, WNOHANG | __WALL);
    if (pid <= 0) {
      if (pid < 0 && errno == EINTR) continue;
      break;
    }
    dispatch(pid, status);
  }
  if (outer) {
    draining_ = false;
    flush_held();
  }
}

void Tracer::release_vfork_parent(pid_t child) {
  auto it = vfork_held_.find(child);
  if (it == vfork_held_.end()) return;
  pid_t parent = it->second;
  vfork_held_.erase(it);
  resume(parent, 0);
}

void Tracer::flush_held() {
  // First stops whose parent's event did not come in the drain (its parent was killed, or
  // is slow to stop): known from /proc, as before there was any holding.
  std::vector<pid_t> held;
  held.swap(held_);
  for (pid_t pid : held) {
    ensure_known(pid);
    resume(pid, 0);
  }
}

void Tracer::dispatch(pid_t pid, int status) {
  table_.task_seen(pid);  // stopped or gone: no walk of it goes on (settle)
  if (WIFEXITED(status) || WIFSIGNALED(status)) on_exit(pid, status);
  else if (WIFSTOPPED(status)) on_stop(pid, status);
}

namespace {

// /proc/TID/syscall says the thread sleeps in a call that is not an open: the open it was
// let go with (Tracer::settle) is over. "running" (on a CPU, or about to be: in user code
// or still in the walk) and any open call answer false.
bool asleep_elsewhere(pid_t tid) {
  char path[40], buf[64];
  std::snprintf(path, sizeof path, "/proc/%d/syscall", tid);
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0 || buf[0] < '0' || buf[0] > '9') return false;  // "running", "-1 ..." (no call)
  buf[n] = 0;
  long nr = std::strtol(buf, nullptr, 10);
  return nr != SYS_open && nr != SYS_openat && nr != SYS_creat && nr != SYS_openat2;
}

}  // namespace

void Tracer::settle(const std::vector<pid_t>& tids) {
  std::vector<pid_t> asked;
  for (pid_t t : tids) {
    if (!table_.known(t) || asleep_elsewhere(t)) continue;
    // The thread stops at its way back to user code, past the walk (or, asleep in the
    // walk, the open is interrupted and made again: a new notification). ESRCH: gone, or
    // not ours to stop (then not walking for us either: memory_quiet needs every task ours).
    if (ptrace(PTRACE_INTERRUPT, t, nullptr, nullptr) == 0) asked.push_back(t);
  }
  for (pid_t t : asked) {
    int status = 0;
    pid_t w;
    do w = ::waitpid(t, &status, __WALL);
    while (w < 0 && errno == EINTR);
    if (w != t) continue;
    const int event = (status >> 16) & 0xff;
    // Our interrupt: resumed now, as on_stop would. Anything else (an event, a group-stop,
    // its end) waits in its stop for flush_settled, after the call being handled: the
    // handler is in the middle of one and must not be entered again (an exec check).
    if (WIFSTOPPED(status) && event == PTRACE_EVENT_STOP && !is_stop_signal(WSTOPSIG(status))) {
      table_.task_seen(t);
      resume(t, 0);
    } else {
      settled_.emplace_back(t, status);
    }
  }
}

void Tracer::flush_settled() {
  while (!settled_.empty()) {
    auto [pid, status] = settled_.front();
    settled_.erase(settled_.begin());
    dispatch(pid, status);
  }
}

void Tracer::kill_all() {
  prune_released();
  for (pid_t p : table_.processes()) {
    // A released process is not held by ptrace: its pid may be reused once it exits, so
    // it is signalled through its pidfd.
    int pfd = released_pidfd(p);
    if (pfd >= 0) syscall(SYS_pidfd_send_signal, pfd, SIGKILL, nullptr, 0);
    else if (!released_.count(p)) kill(p, SIGKILL);
  }
}

bool Tracer::wait_all_gone(int timeout_ms) {
  struct timespec start {};
  clock_gettime(CLOCK_MONOTONIC, &start);
  while (!table_.empty()) {
    reap();
    if (table_.empty()) break;
    struct timespec now {};
    clock_gettime(CLOCK_MONOTONIC, &now);
    long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
    if (elapsed > timeout_ms) return false;
    prune_released();
    if (table_.empty()) break;
    // Killed tasks stay in the table until their exit is reported; keep killing anything
    // that was forked in the meantime.
    kill_all();
    poll(nullptr, 0, 5);
  }
  return true;
}

}  // namespace guardian::session
