// Waiter: blocking emulations on worker threads (see waiter.hpp). Why a worker and a timer:
// the emulated call must block exactly as the tracee's own would (a full unix datagram
// queue, a full send buffer, SO_SNDTIMEO honoured), so the worker makes the real blocking
// call on our duplicate of the tracee's socket. To notice that the tracee died or was
// interrupted, and that the session ended, a per-thread timer interrupts that call every
// kIntervalMs with a signal whose handler does nothing (no SA_RESTART: the call returns
// EINTR, having transferred nothing for datagrams); the worker then checks and calls again.
// A signal the tracee handles ends the wait as it would end the tracee's own blocking call:
// the answer is ERESTARTSYS, which the kernel turns into EINTR, or a restart of the call
// under SA_RESTART, as it delivers the signal (seccomp backend; see signal_handled).
#include "session/waiter.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <fcntl.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include "base/procfs.hpp"

namespace guardian::session {

namespace {

constexpr long kIntervalMs = 50;
constexpr long kErestartsys = 512;  // the kernel's ERESTARTSYS: EINTR or a restart, per SA_RESTART

// Parses a "NAME:\tHEX" mask line of /proc/TID/status.
std::uint64_t mask_of(const char* buf, const char* key) {
  const char* p = std::strstr(buf, key);
  return p ? std::strtoull(p + std::strlen(key), nullptr, 16) : 0;
}

int wake_signal() { return SIGRTMIN + 4; }

void ignore_signal(int) {}

}  // namespace

// Has thread `tid` a pending signal that it does not block and whose handler it runs? Its own
// (SigPnd), and the process's (ShdPnd) when it is the thread the kernel prefers for them (the
// group leader, or the only thread). Those are the signals that end a native blocking call
// (ignored and default-action ones do not, fatal ones kill the waiting thread anyway). A
// thread that cannot be read has none: the wait goes on, as before.
bool Waiter::signal_handled(pid_t tid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/status", tid);
  char buf[4096];
  if (!procfs::read_small(path, buf, sizeof buf)) return false;
  const char* tg = std::strstr(buf, "\nTgid:");
  const char* th = std::strstr(buf, "\nThreads:");
  bool leader = tg && std::strtol(tg + 7, nullptr, 10) == tid;
  bool alone = th && std::strtol(th + 10, nullptr, 10) == 1;
  std::uint64_t pending = mask_of(buf, "\nSigPnd:");
  if (leader || alone) pending |= mask_of(buf, "\nShdPnd:");
  return (pending & ~mask_of(buf, "\nSigBlk:") & mask_of(buf, "\nSigCgt:")) != 0;
}

Waiter::Waiter(EventLoop& loop, Alive alive, Complete complete)
    : loop_(loop), alive_(std::move(alive)), complete_(std::move(complete)) {
  done_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (done_fd_) loop_.add(done_fd_.get(), POLLIN, [this](short) { on_done(); }, &busy_);
  struct sigaction sa {};
  sa.sa_handler = ignore_signal;  // no SA_RESTART: the blocking call returns EINTR
  sigemptyset(&sa.sa_mask);
  ::sigaction(wake_signal(), &sa, nullptr);
}

Waiter::~Waiter() { stop(); }

bool Waiter::start(const decode::Notification& n, std::function<long()> op,
                   std::function<decode::Response(long, decode::Tracee&)> finish) {
  if (!done_fd_ || stop_) return false;
  std::lock_guard lk(mu_);
  if (jobs_.size() >= kMaxWaits) return false;
  auto j = std::make_unique<Job>();
  j->n = n;
  j->op = std::move(op);
  j->finish = std::move(finish);
  Job* p = j.get();
  try {
    p->thread = std::thread([this, p] { work(p); });
  } catch (const std::system_error&) {
    return false;  // no thread (the uid's process limit): the caller answers without waiting
  }
  jobs_.push_back(std::move(j));
  busy_ = true;  // start() runs on the loop's thread: its next poll includes done_fd_
  return true;
}

void Waiter::work(Job* j) {
  // Only this thread takes the wake signal (it is thread-directed).
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, wake_signal());
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  timer_t timer{};
  sigevent sev{};
  sev.sigev_notify = SIGEV_THREAD_ID;
  sev.sigev_signo = wake_signal();
  sev._sigev_un._tid = static_cast<pid_t>(::syscall(SYS_gettid));
  bool have_timer = ::timer_create(CLOCK_MONOTONIC, &sev, &timer) == 0;
  if (have_timer) {
    itimerspec its{};
    its.it_value.tv_nsec = kIntervalMs * 1000000;
    its.it_interval.tv_nsec = kIntervalMs * 1000000;
    ::timer_settime(timer, 0, &its, nullptr);
  }
  long rc = -EINTR;
  // Without a timer we cannot be interrupted: do not block at all (fail closed to EAGAIN).
  while (have_timer && !stop_) {
    rc = j->op();
    if (rc != -EINTR) break;
    if (!alive_(j->n)) break;
    if (interrupt_for_signals_ && signal_handled(j->n.tid)) {
      rc = -kErestartsys;
      break;
    }
  }
  if (!have_timer) rc = -EAGAIN;
  if (have_timer) ::timer_delete(timer);
  j->rc = rc;
  {
    std::lock_guard lk(mu_);
    done_.push_back(j);
  }
  std::uint64_t one = 1;
  (void)!::write(done_fd_.get(), &one, sizeof one);
}

void Waiter::on_done() {
  std::uint64_t v;
  (void)!::read(done_fd_.get(), &v, sizeof v);
  std::deque<Job*> done;
  {
    std::lock_guard lk(mu_);
    done.swap(done_);
  }
  for (Job* j : done) {
    j->thread.join();
    if (!stop_) {
      long rc = j->rc;
      auto& fin = j->finish;
      complete_(j->n, [&](decode::Tracee& t) { return fin(rc, t); });
    }
    std::lock_guard lk(mu_);
    jobs_.remove_if([j](const std::unique_ptr<Job>& p) { return p.get() == j; });
  }
  // No job left, so no write to come: done_fd_ leaves the poll set until the next start().
  std::lock_guard lk(mu_);
  busy_ = !jobs_.empty();
}

void Waiter::stop() {
  stop_ = true;
  std::list<std::unique_ptr<Job>> jobs;
  {
    std::lock_guard lk(mu_);
    jobs.swap(jobs_);
    done_.clear();
  }
  // Each worker sees stop_ at its next interruption (within kIntervalMs).
  for (auto& j : jobs)
    if (j->thread.joinable()) j->thread.join();
}

}  // namespace guardian::session
