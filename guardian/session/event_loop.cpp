// The one poll loop that owns all decisions.
#include "session/event_loop.hpp"

#include <algorithm>
#include <cerrno>

namespace guardian::session {

int EventLoop::add(int fd, short events, Callback cb, const bool* active) {
  int h = next_handle_++;
  entries_.push_back(std::make_unique<Entry>(Entry{h, fd, events, std::move(cb), active}));
  return h;
}

void EventLoop::remove(int handle) {
  // Marked only: remove() may be called from a callback while we iterate.
  for (auto& e : entries_)
    if (e->handle == handle) e->removed = true;
}

// poll(2), not epoll: the seccomp listener wakes its poller on the waking CPU
// (SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP), which a wait through epoll loses (its callback wakes
// the epoll waiter with a plain sync wake-up): tried, an epoll loop was no faster per
// notification (slower in the first A/B) although each epoll_wait costs half a poll over
// four fds.
bool EventLoop::run_once(int timeout_ms) {
  std::erase_if(entries_, [](const auto& e) { return e->removed; });
  pfds_.resize(entries_.size());
  // poll(2) skips a negative fd (revents 0): an inactive entry costs it nothing.
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    const Entry& e = *entries_[i];
    pfds_[i] = {!e.active || *e.active ? e.fd : -1, e.events, 0};
  }
  int n = poll(pfds_.data(), pfds_.size(), timeout_ms);
  if (n < 0) return errno == EINTR;
  // Callbacks may append entries; index by the snapshot size.
  std::size_t count = pfds_.size();
  for (std::size_t i = 0; i < count && n > 0; ++i) {
    short rev = pfds_[i].revents;
    if (!rev) continue;
    --n;
    Entry& e = *entries_[i];  // heap-allocated: stays put if a callback adds entries
    if (!e.removed) {
      ++served_;
      e.cb(rev);
    }
  }
  return true;
}

void EventLoop::polled_fds(int except_fd, std::vector<struct pollfd>& out) const {
  out.clear();
  for (const auto& e : entries_)
    if (!e->removed && (!e->active || *e->active) && e->fd != except_fd)
      out.push_back({e->fd, e->events, 0});
}

bool EventLoop::run() {
  while (!stopped_)
    if (!run_once(-1)) return false;
  return true;
}

}  // namespace guardian::session
