// Waiter: the decode::Blocker of the supervisor. Operations that must block as the tracee's
// own syscall would (emulated sends and receives on blocking sockets) wait on worker
// threads, never in the poll loop; their answers come back to the loop through an eventfd.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <thread>

#include "base/unique_fd.hpp"
#include "decode/handler.hpp"
#include "session/event_loop.hpp"

namespace guardian::session {

class Waiter final : public decode::Blocker {
 public:
  // alive: is notification n still pending? Called on worker threads (must be thread-safe).
  // complete: on the loop's thread, answers n with the Response that `finish` builds from a
  // Tracee of n (the backend makes the Tracee and drops the answer if n is gone).
  using Alive = std::function<bool(const decode::Notification& n)>;
  using Finish = std::function<decode::Response(decode::Tracee&)>;
  using Complete = std::function<void(const decode::Notification& n, const Finish& finish)>;

  Waiter(EventLoop& loop, Alive alive, Complete complete);
  ~Waiter();  // stop()

  bool start(const decode::Notification& n, std::function<long()> op,
             std::function<decode::Response(long rc, decode::Tracee& t)> finish) override;
  // Ends every wait (the session is over) and joins the workers; their answers are dropped.
  void stop();
  // Whether a signal the tracee handles ends its wait with ERESTARTSYS (default: yes). Only
  // a seccomp answer carries ERESTARTSYS back to the kernel's signal delivery; the ptrace
  // backend's skipped syscall cannot restart, so it keeps waiting.
  void interrupt_for_signals(bool on) { interrupt_for_signals_ = on; }
  static bool signal_handled(pid_t tid);

  static constexpr int kMaxWaits = 256;

 private:
  struct Job {
    decode::Notification n;
    std::function<long()> op;
    std::function<decode::Response(long, decode::Tracee&)> finish;
    long rc = 0;
    std::thread thread;
  };
  void work(Job* j);
  void on_done();

  EventLoop& loop_;
  Alive alive_;
  Complete complete_;
  UniqueFd done_fd_;
  // Whether jobs_ holds any (read and written on the loop's thread only): done_fd_ is polled
  // only then (EventLoop::add's `active`).
  bool busy_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<bool> interrupt_for_signals_{true};
  std::mutex mu_;
  std::list<std::unique_ptr<Job>> jobs_;  // running or done, until the loop collects them
  std::deque<Job*> done_;
};

}  // namespace guardian::session
