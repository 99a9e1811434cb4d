// ContextLog: joins the shim's reports (call-site stacks, host names) to decision records.
// See context_log.hpp for the holding scheme and why it exists.
#include "context/context_log.hpp"
#include "emulate/emulate.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace guardian::context {

namespace {

constexpr std::size_t kMaxInbox = 256;         // context reports waiting for the thread
constexpr std::size_t kMaxHostsPerPid = 4096;  // a chatty resolver must not grow us forever
constexpr std::size_t kMaxProbed = 65536;      // carries_shim() answers kept (pids missed at exit)
constexpr std::size_t kMaxMapsBytes = 8u << 20;  // of /proc/PID/maps read by carries_shim()

// Does the text of /proc/PID/maps name a mapping of a file called NAME? Lines end with the
// path; read in pieces, keeping a line's worth of overlap so a name across two reads is seen.
bool maps_name(pid_t pid, const std::string& name) {
  const std::string needle = "/" + name + "\n";
  const std::string path = "/proc/" + std::to_string(pid) + "/maps";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  std::string buf;
  char chunk[16384];
  bool found = false;
  // Bounded: a process with an enormous map costs at most this much of the supervisor's
  // time once per image (the answer only decides whether a denial waits for context).
  for (std::size_t total = 0; total < kMaxMapsBytes;) {
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    total += static_cast<std::size_t>(n);
    buf.append(chunk, static_cast<std::size_t>(n));
    if (buf.find(needle) != std::string::npos) {
      found = true;
      break;
    }
    if (buf.size() > needle.size()) buf.erase(0, buf.size() - needle.size());
  }
  ::close(fd);
  return found;
}

std::string basename_of(std::string_view p) {
  std::size_t s = p.rfind('/');
  return std::string(s == std::string_view::npos ? p : p.substr(s + 1));
}

void ack(UniqueFd& fd) {
  if (!fd) return;
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(fd.get(), &one, sizeof one);
  fd.reset();
}

// Does the path the program gave its libc call name the path of the denied syscall?
// Exact in the common case; the shim truncates very long paths, execvp searches PATH, and a
// decoder may have made raw_path absolute.
bool path_matches(const gshim_context& msg, const audit::DecisionRecord& r) {
  std::size_t n = strnlen(msg.path, sizeof msg.path);
  std::string_view given(msg.path, n);
  if (given.empty()) return true;  // network calls carry no path
  if (n == sizeof msg.path) return r.raw_path.starts_with(given) || r.path.starts_with(given);
  if (given == r.raw_path || given == r.path) return true;
  if (given.front() != '/' && (r.raw_path.ends_with("/" + std::string(given)) ||
                               r.path.ends_with("/" + std::string(given))))
    return true;
  if (msg.family == GSHIM_FAM_EXEC && given.find('/') == std::string_view::npos)
    return basename_of(r.raw_path) == given || basename_of(r.path) == given;
  return false;
}

}  // namespace

// --- HostTable -------------------------------------------------------------------------

std::string HostTable::address_only(std::string_view a) {
  std::string s;
  if (!a.empty() && a.front() == '[') {
    std::size_t close = a.find(']');
    s = std::string(a.substr(1, close == std::string_view::npos ? a.size() - 1 : close - 1));
  } else if (std::count(a.begin(), a.end(), ':') == 1) {
    s = std::string(a.substr(0, a.find(':')));
  } else {
    s = std::string(a);
  }
  // IPv4-mapped IPv6 is matched as IPv4, as the profile does.
  if (s.size() > 7 && (s.starts_with("::ffff:") || s.starts_with("::FFFF:")) &&
      s.find('.') != std::string::npos)
    s = s.substr(7);
  return s;
}

void HostTable::add(pid_t pid, const std::string& name, const std::vector<std::string>& addrs) {
  auto& t = by_pid_[pid];
  if (t.size() + addrs.size() > kMaxHostsPerPid) t.clear();
  for (const std::string& a : addrs) t[a] = name;
}

std::string HostTable::lookup(pid_t pid, pid_t ppid, std::string_view addr) const {
  const std::string a = address_only(addr);
  for (pid_t p : {pid, ppid}) {
    auto it = by_pid_.find(p);
    if (it == by_pid_.end()) continue;
    if (auto h = it->second.find(a); h != it->second.end()) return h->second;
  }
  return {};
}

void HostTable::forget(pid_t pid) { by_pid_.erase(pid); }

// --- family mapping --------------------------------------------------------------------

bool family_matches(int family, std::string_view sc) {
  switch (family) {
    case GSHIM_FAM_OPEN:
      return sc == "open" || sc == "openat" || sc == "openat2" || sc == "creat";
    case GSHIM_FAM_STAT:
      return sc == "stat" || sc == "lstat" || sc == "newfstatat" || sc == "fstatat64" ||
             sc == "statx";
    case GSHIM_FAM_ACCESS:
      return sc == "access" || sc == "faccessat" || sc == "faccessat2";
    case GSHIM_FAM_EXEC:
      return sc == "execve" || sc == "execveat";
    case GSHIM_FAM_CONNECT:
      return sc == "connect";
    case GSHIM_FAM_SOCKET:
      return sc == "socket";
    case GSHIM_FAM_SENDTO:
      return sc == "sendto" || sc == "sendmsg" || sc == "sendmmsg";
    default:
      return false;
  }
}

// --- ContextLog ------------------------------------------------------------------------

ContextLog::ContextLog(std::unique_ptr<audit::AuditLog> inner, UniqueFd sock, ContextOptions opts)
    : inner_(std::move(inner)),
      sock_(std::move(sock)),
      wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      opts_(std::move(opts)) {
  int one = 1;
  if (sock_) ::setsockopt(sock_.get(), SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
  if (sock_ && wake_) {
    // The thread must never take a signal meant for the supervisor's signalfd (SIGCHLD
    // delivered here would be lost to its default action): start it with all blocked.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    thread_ = std::thread([this] { run(); });
    symbolise_thread_ = std::thread([this] { symbolise_loop(); });
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
  }
}

ContextLog::~ContextLog() { stop_thread(); }

void ContextLog::stop_thread() {
  {
    std::lock_guard lk(mu_);
    if (stop_) return;
    stop_ = true;
  }
  if (wake_) {
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_.get(), &one, sizeof one);
  }
  if (thread_.joinable()) thread_.join();
  // The reader is gone; let the symboliser finish what it was given (the maps were read
  // while the processes lived) and stop.
  {
    std::lock_guard lk(mu_);
    work_stop_ = true;
  }
  work_ready_.notify_all();
  if (symbolise_thread_.joinable()) symbolise_thread_.join();
}

void ContextLog::session_start(const audit::SessionStart& s) {
  std::lock_guard lk(mu_);
  inner_->session_start(s);
}

bool ContextLog::should_hold(const audit::DecisionRecord& r) const {
  if (!thread_.joinable() || r.decision != policy::Verdict::deny) return false;
  // The fast path's own denials come with no context to wait for (the shim reports none).
  if (r.via == "preload") return false;
  bool hooked = false;
  for (int fam = GSHIM_FAM_OPEN; fam <= GSHIM_FAM_SENDTO && !hooked; ++fam)
    hooked = family_matches(fam, r.syscall);
  if (!hooked) return false;
  // The parent too: a denied exec in a posix_spawn/vfork child is reported by the parent.
  return shim_pids_.contains(r.pid) || shim_pids_.contains(r.ppid) || carries_shim(r.pid) ||
         (r.ppid > 0 && carries_shim(r.ppid));
}

bool ContextLog::carries_shim(pid_t pid) const {
  if (pid <= 0) return false;
  auto it = probed_.find(pid);
  if (it != probed_.end()) return it->second;
  const bool yes = maps_name(pid, opts_.shim_name);
  if (probed_.size() >= kMaxProbed) probed_.clear();
  probed_.emplace(pid, yes);
  return yes;
}

void ContextLog::decision(const audit::DecisionRecord& r) {
  const bool need_host = r.host.empty() && r.category == policy::Category::network &&
                         (r.op == policy::Op::connect) && !r.addr.empty();
  std::lock_guard lk(mu_);
  // Allows are the supervisor's hot path: no syscall for them. Denials and connects first
  // read what the shims have sent (a hello or a lookup is always in the socket before the
  // syscall it precedes reaches us).
  if (!need_host && r.decision != policy::Verdict::deny) {
    inner_->decision(r);
    return;
  }
  drain_locked();
  std::string host = need_host ? hosts_.lookup(r.pid, r.ppid, r.addr) : std::string();
  if (!should_hold(r)) {
    if (host.empty()) {
      inner_->decision(r);
    } else {
      audit::DecisionRecord copy = r;
      copy.host = std::move(host);
      inner_->decision(copy);
    }
    return;
  }
  Pending& p = pending_.emplace_back();
  p.rec = r;
  if (!host.empty()) p.rec.host = std::move(host);
  if (r.rule) {
    p.rule = std::make_unique<policy::RuleOrigin>(*r.rule);
    p.rec.rule = p.rule.get();
  }
  p.deadline = std::chrono::steady_clock::now() + opts_.hold;
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_.get(), &one, sizeof one);
}

void ContextLog::process(const audit::ProcessRecord& p) {
  std::lock_guard lk(mu_);
  if (p.what == "exit") {
    shim_pids_.erase(p.pid);
    hosts_.forget(p.pid);
  }
  if (p.what == "exit" || p.what == "exec") probed_.erase(p.pid);  // a new image, or none
  inner_->process(p);
}

void ContextLog::limit(const audit::LimitRecord& l) {
  std::lock_guard lk(mu_);
  inner_->limit(l);
}

void ContextLog::flush() {
  std::unique_lock lk(mu_);
  drain_locked();
  forward_due_locked(true);
  // Records being symbolised right now are written by the thread in a moment.
  settled_.wait_for(lk, std::chrono::seconds(2), [this] { return pending_.empty(); });
  forward_due_locked(true);
  inner_->flush();
}

void ContextLog::session_end(const audit::SessionEnd& e) {
  stop_thread();  // handles what is still in the channel, then returns
  std::lock_guard lk(mu_);
  forward_due_locked(true);
  // Anything still symbolising was abandoned by the stopped thread: write it as it is.
  for (Pending& p : pending_) inner_->decision(p.rec);
  pending_.clear();
  inner_->session_end(e);
}

std::string ContextLog::denial_summary() const {
  std::lock_guard lk(mu_);
  // Held denials count too: a summary asked for before session_end must not miss them.
  const_cast<ContextLog*>(this)->forward_due_locked(true);
  return inner_->denial_summary();
}

std::string ContextLog::host_for(pid_t pid, pid_t ppid, std::string_view addr) {
  std::lock_guard lk(mu_);
  drain_locked();
  return hosts_.lookup(pid, ppid, addr);
}

// Reads everything the channel holds without blocking. The sender's pid comes from the
// kernel (SCM_CREDENTIALS): a process can lie about its tid, never about its pid.
void ContextLog::drain_locked() {
  if (!sock_) return;
  for (;;) {
    gshim_context buf;
    struct iovec iov = {&buf, sizeof buf};
    alignas(struct cmsghdr) char cbuf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(4 * sizeof(int))];
    struct msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = cbuf;
    mh.msg_controllen = sizeof cbuf;
    ssize_t n = ::recvmsg(sock_.get(), &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    pid_t pid = 0;
    UniqueFd ackfd;
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
      if (c->cmsg_level != SOL_SOCKET) continue;
      if (c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
        struct ucred cr;
        std::memcpy(&cr, CMSG_DATA(c), sizeof cr);
        pid = cr.pid;
      } else if (c->cmsg_type == SCM_RIGHTS) {
        std::size_t nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (std::size_t i = 0; i < nfds; ++i) {
          int fd;
          std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
          if (i == 0)
            ackfd.reset(fd);
          else
            ::close(fd);
        }
      }
    }
    // Sent by us for a tracee (every sendmsg is performed by the supervisor): its pid is
    // the one noted when we sent it.
    if (pid == ::getpid())
      if (pid_t noted = emulate::own_send_take(); noted > 0) pid = noted;
    if (static_cast<std::size_t>(n) < sizeof(gshim_header) || buf.h.magic != GSHIM_MAGIC ||
        pid <= 0) {
      ack(ackfd);
      continue;
    }
    switch (buf.h.kind) {
      case GSHIM_HELLO:
        shim_pids_.insert(pid);
        break;
      case GSHIM_HOST: {
        if (static_cast<std::size_t>(n) != sizeof(gshim_host) || buf.h.size != sizeof(gshim_host))
          break;
        gshim_host host;
        std::memcpy(&host, &buf, sizeof host);
        host.name[sizeof host.name - 1] = '\0';
        std::vector<std::string> addrs;
        char text[INET6_ADDRSTRLEN];
        for (unsigned i = 0; i < std::min<unsigned>(host.naddrs, GSHIM_MAX_ADDRS); ++i) {
          const gshim_addr& a = host.addrs[i];
          int af = a.family == 4 ? AF_INET : AF_INET6;
          if (::inet_ntop(af, a.bytes, text, sizeof text)) addrs.push_back(text);
        }
        shim_pids_.insert(pid);
        hosts_.add(pid, host.name, addrs);
        break;
      }
      case GSHIM_CONTEXT:
        if (static_cast<std::size_t>(n) != sizeof(gshim_context) ||
            buf.h.size != sizeof(gshim_context) || inbox_.size() >= kMaxInbox) {
          ack(ackfd);
          break;
        }
        shim_pids_.insert(pid);
        inbox_.push_back(Inbound{buf, pid, std::move(ackfd)});
        if (wake_) {  // drained by the poll loop's thread: make sure ours looks at it
          std::uint64_t one = 1;
          [[maybe_unused]] ssize_t w = ::write(wake_.get(), &one, sizeof one);
        }
        break;
      default:
        break;
    }
    ack(ackfd);  // no-op when moved into the inbox
  }
}

// Writes held records that are complete (or whose window passed; all of them if `all`),
// except those the thread is symbolising right now.
void ContextLog::forward_due_locked(bool all) {
  const auto now = std::chrono::steady_clock::now();
  for (auto it = pending_.begin(); it != pending_.end();) {
    const bool due = it->state == Pending::State::ready ||
                     (it->state == Pending::State::waiting && (all || it->deadline <= now));
    if (!due) {
      ++it;
      continue;
    }
    inner_->decision(it->rec);
    it = pending_.erase(it);
  }
  settled_.notify_all();
}

// Matches one report to the newest held denial of the same thread (or, for exec through
// posix_spawn/vfork, of a child of the reporting process), snapshots the memory map while
// the reporter waits for our ack, then symbolises without holding the lock.
void ContextLog::handle_context(Inbound& in) {
  const gshim_context& m = in.msg;
  Pending* hit = nullptr;
  {
    std::lock_guard lk(mu_);
    for (auto it = pending_.rbegin(); it != pending_.rend(); ++it) {
      const audit::DecisionRecord& r = it->rec;
      if (it->state != Pending::State::waiting || !family_matches(m.family, r.syscall)) continue;
      const bool same_thread = r.pid == in.pid && r.tid == m.h.tid;
      const bool spawned = m.family == GSHIM_FAM_EXEC && r.ppid == in.pid;
      if ((same_thread || spawned) && path_matches(m, r)) {
        hit = &*it;
        break;
      }
    }
    if (hit) hit->state = Pending::State::symbolising;
  }
  if (!hit) {
    ack(in.ack);
    return;
  }
  Work w;
  w.pending = hit;
  w.maps = read_maps(in.pid);
  ack(in.ack);
  const std::size_t nframes = std::min<std::size_t>(m.nframes, GSHIM_MAX_FRAMES);
  w.frames.assign(m.frames, m.frames + nframes);
  {
    std::lock_guard lk(mu_);
    work_.push_back(std::move(w));
  }
  work_ready_.notify_one();
}

void ContextLog::symbolise_loop() {
  for (;;) {
    Work w;
    {
      std::unique_lock lk(mu_);
      work_ready_.wait(lk, [this] { return work_stop_ || !work_.empty(); });
      if (work_.empty()) return;  // stopping and nothing left
      w = std::move(work_.front());
      work_.pop_front();
    }
    std::vector<std::string> bt = symboliser_.frames(w.maps, w.frames, opts_.shim_name);
    std::lock_guard lk(mu_);
    w.pending->rec.backtrace = std::move(bt);
    w.pending->state = Pending::State::ready;
    forward_due_locked(false);
  }
}

void ContextLog::run() {
  for (;;) {
    int timeout = -1;
    {
      std::lock_guard lk(mu_);
      if (stop_) break;
      const auto now = std::chrono::steady_clock::now();
      for (const Pending& p : pending_)
        if (p.state == Pending::State::waiting) {
          auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(p.deadline - now).count();
          int t = static_cast<int>(std::max<long long>(0, ms + 1));
          timeout = timeout < 0 ? t : std::min(timeout, t);
        }
    }
    struct pollfd fds[2] = {{sock_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    ::poll(fds, 2, timeout);
    if (fds[1].revents & POLLIN) {
      std::uint64_t v;
      [[maybe_unused]] ssize_t n = ::read(wake_.get(), &v, sizeof v);
    }
    std::vector<Inbound> work;
    {
      std::lock_guard lk(mu_);
      drain_locked();
      work.swap(inbox_);
    }
    for (Inbound& in : work) handle_context(in);
    std::lock_guard lk(mu_);
    forward_due_locked(false);
  }
  // Stopping: whatever the channel still holds is handled (processes may be gone already;
  // then frames stay unsymbolised addresses).
  std::vector<Inbound> work;
  {
    std::lock_guard lk(mu_);
    drain_locked();
    work.swap(inbox_);
  }
  for (Inbound& in : work) handle_context(in);
}

}  // namespace guardian::context
