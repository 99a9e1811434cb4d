// Waiter: blocking emulations on worker threads (see waiter.hpp). Why a worker and a timer:
// the emulated call must block exactly as the tracee's own would (a full unix datagram
// queue, a full send buffer, SO_SNDTIMEO honoured), so the worker makes the real blocking
// call on our duplicate of the tracee's socket. To notice that the tracee died or was
// interrupted, and that the session ended, a per-thread timer interrupts that call every
// kIntervalMs with a signal whose handler does nothing (no SA_RESTART: the call returns
// EINTR, having transferred nothing for datagrams); the worker then checks and calls again.
#include "session/waiter.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace guardian::session {

namespace {

constexpr long kIntervalMs = 200;

int wake_signal() { return SIGRTMIN + 4; }

void ignore_signal(int) {}

}  // namespace

Waiter::Waiter(EventLoop& loop, Alive alive, Complete complete)
    : loop_(loop), alive_(std::move(alive)), complete_(std::move(complete)) {
  done_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (done_fd_) loop_.add(done_fd_.get(), POLLIN, [this](short) { on_done(); });
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
