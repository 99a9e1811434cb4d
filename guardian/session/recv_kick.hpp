// RecvKick: lets the loop's thread wait for the next notification in the listener's own
// NOTIF_RECV — one call per notification instead of poll + RECV, about a microsecond less
// per intercepted syscall here — while a watcher thread polls every other fd of the loop
// (the signalfd, timers, sockets) and, when one of them is ready, ends that wait with a
// thread-directed signal (see seccomp::Listener::receive_unless for why no notification is
// lost or dropped by it). The supervisor uses the wait only in a run of notifications with
// nothing else happening (see Supervisor::run): an event costs the watcher's wake-up and a
// signal on top, which a workload with a process start every few notifications would pay
// all the time.
#pragma once

#include <poll.h>
#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "base/unique_fd.hpp"

namespace guardian::session {

class RecvKick {
 public:
  RecvKick() = default;
  ~RecvKick();
  RecvKick(const RecvKick&) = delete;
  RecvKick& operator=(const RecvKick&) = delete;

  // Installs the signal's handler and starts the watcher; call on the loop's thread, which
  // is the one the signal is sent to. False (nothing started) when any part is missing: the
  // loop then polls as before.
  bool start();
  bool started() const { return thread_.joinable(); }

  // Watch `fds` (the loop's fds other than the listener) until one is ready; a no-op when
  // already watching exactly these.
  void arm(const std::vector<struct pollfd>& fds);
  // Stop watching (the loop polls everything itself again).
  void disarm();

  // Set by the watcher when one of the fds is ready; the loop's wait returns at once while
  // it is set. The loop clears it before serving the fds.
  const std::atomic<int>* pending() const { return &pending_; }
  bool is_pending() const { return pending_.load() != 0; }
  void clear();

  // Around the loop's wait (the other half of the handshake with the watcher).
  void enter() { in_wait_.store(1); }
  void leave() { in_wait_.store(0); }

  // Signals sent, for tests and statistics.
  unsigned long kicks() const { return kicks_.load(); }

 private:
  void watch();

  std::thread thread_;
  pid_t loop_tid_ = 0;
  UniqueFd wake_;  // eventfd: the watched set changed, or stop
  std::mutex mu_;
  std::vector<struct pollfd> fds_;  // guarded by mu_
  bool armed_ = false;              // guarded by mu_
  bool stop_ = false;               // guarded by mu_
  bool armed_here_ = false;         // the loop thread's view (no lock to read it)
  std::vector<struct pollfd> last_;  // the loop thread's copy of what it armed
  std::atomic<int> pending_{0};
  std::atomic<int> in_wait_{0};
  std::atomic<unsigned long> kicks_{0};
};

}  // namespace guardian::session
