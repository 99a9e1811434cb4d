// Process-tree lifetime without a cgroup: subreaper + /proc walk + repeated SIGKILL.
#include "session/reaper.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <thread>

#include "session/cgroup.hpp"

namespace guardian::session {

namespace {

struct ProcInfo {
  pid_t ppid;
  bool zombie;  // exited, not reaped: cannot be killed again, but still links its children
};

// pid -> parent and state of every process.
std::map<pid_t, ProcInfo> process_parents() {
  std::map<pid_t, ProcInfo> out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end) continue;
    std::string stat = read_small_file("/proc/" + std::string(e->d_name) + "/stat");
    // "pid (comm) S ppid ...": comm may hold spaces and parentheses; the last ')' ends it.
    auto rp = stat.rfind(')');
    if (rp == std::string::npos || rp + 4 > stat.size()) continue;
    char state = stat[rp + 2];
    out[static_cast<pid_t>(pid)] = {static_cast<pid_t>(std::strtol(stat.c_str() + rp + 4, nullptr, 10)),
                                    state == 'Z' || state == 'X'};
  }
  ::closedir(d);
  return out;
}

}  // namespace

bool enable_subreaper() noexcept { return ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0; }

bool has_children() noexcept {
  siginfo_t si{};
  // WNOWAIT: look only. ECHILD: no child, traced or not, running, stopped or zombie.
  return ::waitid(P_ALL, 0, &si, WEXITED | WSTOPPED | WCONTINUED | WNOHANG | WNOWAIT | __WALL) == 0 ||
         errno != ECHILD;
}

std::vector<pid_t> descendants(pid_t ancestor) {
  auto parents = process_parents();
  std::vector<pid_t> out;
  for (auto& [pid, info] : parents) {
    if (info.zombie) continue;
    // Walk up; bounded by the table size so a cycle from a racing scan cannot loop forever.
    pid_t p = info.ppid;
    for (std::size_t i = 0; i <= parents.size() && p > 1; ++i) {
      if (p == ancestor) {
        out.push_back(pid);
        break;
      }
      auto it = parents.find(p);
      if (it == parents.end()) break;
      p = it->second.ppid;
    }
  }
  return out;
}

namespace {
// True when no thread of ours has a child, live, stopped or zombie, traced or not. Why that
// suffices: a descendant's chain of parents reaches us through a direct child of one of our
// threads, and an orphan of the session is re-parented to us (subreaper), so with no child
// at all there is no descendant. One waitid, where reading each thread's
// /proc/self/task/TID/children took a readdir and two syscalls per thread.
bool childless() { return !has_children(); }
}  // namespace

bool have_descendants() { return !childless() && !descendants(::getpid()).empty(); }

int signal_descendants(pid_t ancestor, int sig) {
  if (ancestor == ::getpid() && childless()) return 0;
  int n = 0;
  for (pid_t p : descendants(ancestor))
    if (::kill(p, sig) == 0) ++n;
  return n;
}

int start_keeper(int cgroup_dir_fd) noexcept {
  int kill_fd = ::openat(cgroup_dir_fd, "cgroup.kill", O_WRONLY | O_CLOEXEC);
  if (kill_fd < 0) return -1;
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) {
    int e = errno;
    ::close(kill_fd);
    errno = e;
    return -1;
  }
  // CLONE_PARENT: not our child, so neither our descendant (the session's end kills
  // those) nor one our waits see. Raw syscalls only in the child: another thread of ours
  // may hold a libc lock.
  long pid = ::syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
  if (pid == 0) {
    int r = p[0], k = kill_fd, lo = r < k ? r : k, hi = r < k ? k : r;
    // Every other descriptor goes, the listener first: holding it would make the session's
    // calls wait for an answer instead of failing once guardian is gone.
    if (lo > 0) ::syscall(SYS_close_range, 0u, static_cast<unsigned>(lo - 1), 0u);
    if (hi > lo + 1) ::syscall(SYS_close_range, static_cast<unsigned>(lo + 1), static_cast<unsigned>(hi - 1), 0u);
    ::syscall(SYS_close_range, static_cast<unsigned>(hi + 1), ~0u, 0u);
    ::setsid();  // out of the terminal's process group: Ctrl-C and hang-ups are not for it
    char b;
    while (::read(r, &b, 1) < 0 && errno == EINTR) {
    }
    (void)!::write(k, "1", 1);
    ::_exit(0);
  }
  int e = errno;
  ::close(p[0]);
  ::close(kill_fd);
  if (pid < 0) {
    ::close(p[1]);
    errno = e;
    return -1;
  }
  return p[1];
}

bool kill_descendants(pid_t ancestor, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (ancestor == ::getpid() && childless()) return true;
    if (signal_descendants(ancestor, SIGKILL) == 0 && descendants(ancestor).empty()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

}  // namespace guardian::session
