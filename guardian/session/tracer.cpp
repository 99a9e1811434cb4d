// Process tracking and exec verification through ptrace events.
#include "session/tracer.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>

namespace guardian::session {

namespace {

constexpr long kOptions = PTRACE_O_TRACEEXEC | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
                          PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL;

// Tgid and PPid of a task from /proc (threads and processes look alike to ptrace).
bool read_status(pid_t tid, pid_t& tgid, pid_t& ppid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/status", tid);
  FILE* f = std::fopen(path, "re");
  if (!f) return false;
  char line[256];
  tgid = ppid = 0;
  while (std::fgets(line, sizeof line, f)) {
    if (std::strncmp(line, "Tgid:", 5) == 0) tgid = static_cast<pid_t>(std::atoi(line + 5));
    if (std::strncmp(line, "PPid:", 5) == 0) ppid = static_cast<pid_t>(std::atoi(line + 5));
  }
  std::fclose(f);
  return tgid > 0;
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

void cont(pid_t pid, int sig) {
  // ESRCH: killed meanwhile; nothing to resume.
  ptrace(PTRACE_CONT, pid, nullptr, reinterpret_cast<void*>(static_cast<long>(sig)));
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
  long options = kOptions | (on_seccomp_ ? PTRACE_O_TRACESECCOMP : 0);
  if (ptrace(PTRACE_SEIZE, pid, nullptr, reinterpret_cast<void*>(options)) != 0) {
    int e = errno;
    // Our own tracer (an outer guardian, strace, gdb) already traces our children too.
    if (e == EPERM && traced_by_someone())
      return fail("cannot trace the command: guardian is itself traced (inside another "
                  "guardian or a debugger), which already traces its children",
                  e);
    return fail_errno("cannot trace the command for exec verification (PTRACE_SEIZE)", e);
  }
  root_ = pid;
  table_.add(pid, pid, getpid(), exe);
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
  if (table_.in_session(pid)) return;
  // A new task's first stop can arrive before its parent's fork/clone event.
  pid_t tgid = pid, ppid = 0;
  read_status(pid, tgid, ppid);
  table_.add(pid, tgid, ppid, table_.exe_of(ppid));
}

void Tracer::on_new(pid_t parent, pid_t child, int event) {
  pid_t tgid = child, ppid = table_.tgid_of(parent);
  if (event == PTRACE_EVENT_CLONE) {
    pid_t t = 0, pp = 0;
    // clone() may make a thread or a process; /proc tells which.
    if (read_status(child, t, pp)) {
      tgid = t;
      ppid = pp;
    }
  }
  bool known = table_.in_session(child);
  if (!known) table_.add(child, tgid, ppid, table_.exe_of(parent));
  if (tgid == child && !known) record(child, ppid, "spawn", table_.exe_of(parent), std::nullopt);
  else if (tgid == child) record(child, ppid, "spawn", table_.exe_of(child), std::nullopt);
}

void Tracer::on_exec(pid_t pid) {
  unsigned long former = 0;
  ptrace(PTRACE_GETEVENTMSG, pid, nullptr, &former);
  pid_t tgid = table_.tgid_of(pid);
  if (tgid == 0) tgid = pid;
  if (static_cast<pid_t>(former) != pid) table_.remove(static_cast<pid_t>(former));
  table_.exec_collapse(tgid);
  std::string exe = read_exe(pid);
  // What the kernel loaded must be what the handler decided for this exec: checked before
  // the new image runs its first instruction (we hold it in this stop).
  if (exe.empty() || !verify_(static_cast<pid_t>(former), tgid, exe)) {
    ++execs_killed_;
    kill(pid, SIGKILL);
    record(pid, table_.ppid_of(pid), "exec", exe, std::nullopt);
    return;  // stays stopped until SIGKILL lands
  }
  table_.set_exe(tgid, exe);
  record(pid, table_.ppid_of(pid), "exec", exe, std::nullopt);
  cont(pid, 0);
}

void Tracer::on_stop(pid_t pid, int status) {
  ensure_known(pid);
  int sig = WSTOPSIG(status);
  int event = (status >> 16) & 0xff;
  switch (event) {
    case PTRACE_EVENT_FORK:
    case PTRACE_EVENT_VFORK:
    case PTRACE_EVENT_CLONE: {
      unsigned long child = 0;
      if (ptrace(PTRACE_GETEVENTMSG, pid, nullptr, &child) == 0 && child > 0)
        on_new(pid, static_cast<pid_t>(child), event);
      cont(pid, 0);
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
        ptrace(PTRACE_LISTEN, pid, nullptr, nullptr);
        // Job control (Ctrl-Z in vim): the command shares our process group; stop
        // ourselves too so the shell sees the job stopped, and its SIGCONT to the group
        // resumes both.
        if (pid == root_ && sig != SIGSTOP) kill(getpid(), SIGSTOP);
      } else {
        cont(pid, 0);
      }
      return;
    case PTRACE_EVENT_EXIT:
      cont(pid, 0);
      return;
    case PTRACE_EVENT_SECCOMP:
      // ptrace backend: a syscall the filter sends to us; the backend resumes it.
      if (on_seccomp_) on_seccomp_(pid);
      else cont(pid, 0);
      return;
    case 0:
      // Signal-delivery stop: re-inject the signal, never swallow it.
      cont(pid, sig);
      return;
    default:
      cont(pid, 0);
      return;
  }
}

void Tracer::on_exit(pid_t pid, int status) {
  bool leader = table_.in_session(pid) && table_.tgid_of(pid) == pid;
  if (leader) record(pid, table_.ppid_of(pid), "exit", table_.exe_of(pid), wait_status_code(status));
  table_.remove(pid);
  if (pid == root_) root_status_ = status;
}

void Tracer::reap() {
  for (;;) {
    int status = 0;
    pid_t pid = waitpid(-1, &status, WNOHANG | __WALL);
    if (pid <= 0) {
      if (pid < 0 && errno == EINTR) continue;
      return;
    }
    if (WIFEXITED(status) || WIFSIGNALED(status)) on_exit(pid, status);
    else if (WIFSTOPPED(status)) on_stop(pid, status);
  }
}

void Tracer::kill_all() {
  for (pid_t p : table_.processes()) kill(p, SIGKILL);
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
    // Killed tasks stay in the table until their exit is reported; keep killing anything
    // that was forked in the meantime.
    kill_all();
    poll(nullptr, 0, 5);
  }
  return true;
}

}  // namespace guardian::session
