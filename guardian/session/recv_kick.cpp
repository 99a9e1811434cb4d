// RecvKick: the watcher thread and the signal that ends the loop's RECV wait (see the header).
#include "session/recv_kick.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <system_error>

#include "seccomp/unotify.hpp"

namespace guardian::session {

namespace {

// SIGRTMIN+4 is the Waiter's; glibc keeps the two below SIGRTMIN.
int kick_signal() { return SIGRTMIN + 5; }

void on_kick(int, siginfo_t*, void* ucontext) {
  // Only moves a thread that is in (or entering) the RECV wait to its exit; anywhere else
  // the signal does nothing and SA_RESTART resumes what it interrupted.
  seccomp::recv_window_redirect(ucontext);
}

bool same(const std::vector<struct pollfd>& a, const std::vector<struct pollfd>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].fd != b[i].fd || a[i].events != b[i].events) return false;
  return true;
}

}  // namespace

bool RecvKick::start() {
  if (started()) return true;
  wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_) return false;
  struct sigaction sa {};
  sa.sa_sigaction = on_kick;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  if (::sigaction(kick_signal(), &sa, nullptr) != 0) return false;
  loop_tid_ = static_cast<pid_t>(::syscall(SYS_gettid));
  // The watcher never takes the signal (it is sent to the loop's thread only), nor any of
  // the supervisor's, which stay blocked for its signalfd: it starts with all blocked.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  try {
    thread_ = std::thread([this] { watch(); });
  } catch (const std::system_error&) {
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (!started()) return false;
  sigset_t kick;
  sigemptyset(&kick);
  sigaddset(&kick, kick_signal());
  pthread_sigmask(SIG_UNBLOCK, &kick, nullptr);
  return true;
}

RecvKick::~RecvKick() {
  if (!started()) return;
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  std::uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof one);
  thread_.join();
  // Back to blocked: nothing may interrupt the loop's thread once no watcher answers for it.
  sigset_t kick;
  sigemptyset(&kick);
  sigaddset(&kick, kick_signal());
  pthread_sigmask(SIG_BLOCK, &kick, nullptr);
}

void RecvKick::arm(const std::vector<struct pollfd>& fds) {
  if (armed_here_ && same(fds, last_)) return;
  last_ = fds;
  armed_here_ = true;
  {
    std::lock_guard lk(mu_);
    fds_ = fds;
    armed_ = true;
  }
  std::uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof one);
}

void RecvKick::disarm() {
  if (!armed_here_) return;
  armed_here_ = false;
  std::lock_guard lk(mu_);
  armed_ = false;  // the watcher notices at its next wake-up (a ready fd or arm())
}

void RecvKick::clear() {
  pending_.store(0);
  // The watcher parks itself when it fires: the loop arms it again when it waits next.
  armed_here_ = false;
}

void RecvKick::watch() {
  std::vector<struct pollfd> p;
  for (;;) {
    {
      std::lock_guard lk(mu_);
      if (stop_) return;
      if (armed_) p = fds_;
      else p.clear();
    }
    p.push_back({wake_.get(), POLLIN, 0});
    bool ready = false;
    if (::poll(p.data(), p.size(), -1) < 0) {
      if (errno == EINTR) continue;
      // Cannot watch (ENOMEM): as if something were ready, so that the loop polls itself.
      ready = p.size() > 1;
    } else {
      if (p.back().revents) {
        std::uint64_t v;
        (void)!::read(wake_.get(), &v, sizeof v);
      }
      for (std::size_t i = 0; i + 1 < p.size(); ++i) ready = ready || p[i].revents != 0;
    }
    if (!ready) continue;
    bool kick = false;
    {
      std::lock_guard lk(mu_);
      if (!armed_) continue;
      armed_ = false;  // until the loop has served the fds and waits again
      // The handshake with the loop's wait: it sets in_wait_ and then reads pending_; we set
      // pending_ and then read in_wait_ (both sequentially consistent). Either it sees
      // pending_ and does not wait, or we see it waiting and signal it.
      pending_.store(1);
      kick = in_wait_.load() != 0;
    }
    if (kick) {
      kicks_.fetch_add(1);
      ::syscall(SYS_tgkill, ::getpid(), loop_tid_, kick_signal());
    }
  }
}

}  // namespace guardian::session
