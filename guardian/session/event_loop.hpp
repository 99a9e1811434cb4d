// The one poll loop that owns all decisions: fds (listener, signalfd, timerfds of the
// limits, ask sockets...) each with a callback, served in one thread.
#pragma once

#include <poll.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

namespace guardian::session {

class EventLoop {
 public:
  using Callback = std::function<void(short revents)>;

  // Registers fd for `events` (POLLIN...); returns a handle for remove(). The callback runs
  // in the loop thread; it may add or remove registrations and call stop().
  // `active`, when given, is a flag of the caller's (alive as long as the registration, set
  // in the loop thread): the fd is polled only while it is true. Every fd in the set costs
  // each round's poll a wait-queue entry added and removed, and a round runs per
  // notification: an fd that cannot become ready meanwhile (a disarmed timer, a helper with
  // no work out) should not be in it.
  int add(int fd, short events, Callback cb, const bool* active = nullptr);
  void remove(int handle);
  // Ends run() after the current round.
  void stop() { stopped_ = true; }
  bool stopped() const { return stopped_; }
  // Serves until stop(). Returns false if poll itself failed (errno set).
  bool run();
  // Serves one round, waiting at most timeout_ms (-1 = forever). false on poll failure.
  bool run_once(int timeout_ms);
  // The fds a round would poll now (active, not removed), but `except_fd`, into `out`.
  void polled_fds(int except_fd, std::vector<struct pollfd>& out) const;
  // Callbacks run so far (every fd's).
  unsigned long served() const { return served_; }

 private:
  struct Entry {
    int handle;
    int fd;
    short events;
    Callback cb;
    const bool* active = nullptr;
    bool removed = false;
  };
  std::vector<std::unique_ptr<Entry>> entries_;  // stable addresses while callbacks add
  std::vector<struct pollfd> pfds_;
  int next_handle_ = 1;
  unsigned long served_ = 0;
  bool stopped_ = false;
};

}  // namespace guardian::session
