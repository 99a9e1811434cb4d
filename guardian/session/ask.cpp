// AskBroker: questions held for a human, front ends (terminal prompt, JSON Lines socket),
// timeouts that deny, and "always" answers turned into rules.
#include "session/ask.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "session/cgroup.hpp"

namespace guardian::session {

namespace {

std::vector<std::string> cmdline_of(pid_t pid) {
  std::string raw = read_small_file("/proc/" + std::to_string(pid) + "/cmdline");
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < raw.size()) {
    auto z = raw.find('\0', i);
    if (z == std::string::npos) z = raw.size();
    out.push_back(raw.substr(i, z - i));
    i = z + 1;
  }
  return out;
}

// What the request does, in words: "read /etc/shadow", "connect to 1.2.3.4:443".
std::string describe_request(const decode::AskQuery& q) {
  std::string op(policy::to_string(q.op));
  std::string what = q.path.empty() ? q.addr : q.path;
  if (q.op == policy::Op::connect || q.op == policy::Op::bind) op += " to";
  if (q.op == policy::Op::exec) op = "execute";
  if (!q.host.empty()) what += " (" + q.host + ")";
  return op + " " + what;
}

// A printable argv (control characters would let a program draw on the user's prompt).
std::string show(const std::string& s) {
  std::string o;
  for (unsigned char c : s) o += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
  return o;
}

void write_all(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += static_cast<std::size_t>(n);
  }
}

}  // namespace

Result<std::unique_ptr<AskBroker>> AskBroker::create(const AskSettings& s, LoopHooks hooks) {
  std::unique_ptr<AskBroker> b(new AskBroker());
  b->s_ = s;
  b->hooks_ = std::move(hooks);
  AskBroker* self = b.get();

  if (!s.save_path.empty()) {
    std::string ext = s.profile.empty() ? "default" : s.profile;
    if (ext.find('/') != std::string::npos || (ext.size() > 5 && ext.ends_with(".yaml"))) {
      char buf[PATH_MAX];
      if (::realpath(ext.c_str(), buf)) ext = buf;
    }
    b->overlay_ = std::make_unique<Overlay>(s.save_path, ext);
    auto r = b->overlay_->load();
    if (!r) return fail("--ask-save: " + r.error().message);
  }

  if (!s.socket_path.empty()) {
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (s.socket_path.size() >= sizeof sa.sun_path)
      return fail("--ask-socket: path too long: '" + s.socket_path + "'");
    std::memcpy(sa.sun_path, s.socket_path.c_str(), s.socket_path.size() + 1);
    struct stat st;
    if (::lstat(s.socket_path.c_str(), &st) == 0) {
      if (!S_ISSOCK(st.st_mode))
        return fail("--ask-socket: '" + s.socket_path + "' exists and is not a socket");
      UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
      if (probe && ::connect(probe.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0)
        return fail("--ask-socket: '" + s.socket_path + "' is in use by another process");
      ::unlink(s.socket_path.c_str());  // stale, from a guardian that died
    }
    b->listen_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!b->listen_) return fail_errno("--ask-socket: cannot create a socket", errno);
    // Owner only: whoever can connect can approve what the profile denies.
    mode_t old = ::umask(077);
    int rc = ::bind(b->listen_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    int e = errno;
    ::umask(old);
    if (rc != 0) return fail_errno("--ask-socket: cannot bind '" + s.socket_path + "'", e);
    if (::listen(b->listen_.get(), 8) != 0)
      return fail_errno("--ask-socket: cannot listen on '" + s.socket_path + "'", errno);
    if (b->hooks_.add)
      b->listen_handle_ = b->hooks_.add(b->listen_.get(), [self](short) { self->on_accept(); });
  } else if (s.terminal) {
    b->tty_.reset(::open(s.tty_path.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK));
    if (b->tty_ && b->hooks_.add)
      b->tty_handle_ = b->hooks_.add(b->tty_.get(), [self](short) { self->on_tty(); });
  }
  b->timer_.reset(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  if (!b->timer_) return fail_errno("cannot create the ask timer", errno);
  if (b->hooks_.add)
    b->timer_handle_ = b->hooks_.add(b->timer_.get(), [self](short) { self->on_timer(); });
  return b;
}

AskBroker::~AskBroker() {
  if (hooks_.remove) {
    for (int h : {listen_handle_, timer_handle_, tty_handle_})
      if (h >= 0) hooks_.remove(h);
    for (auto& [fd, c] : clients_)
      if (c.handle >= 0) hooks_.remove(c.handle);
  }
  if (listen_) ::unlink(s_.socket_path.c_str());
}

std::string AskBroker::describe() const {
  if (listen_) return "socket:" + s_.socket_path;
  if (tty_) return "terminal";
  return "none";
}

decode::Asker::Reply AskBroker::consult(const decode::AskQuery& q) {
  if (auto it = answered_.find(q.key); it != answered_.end()) {
    Reply r = it->second;
    answered_.erase(it);
    return r;
  }
  if (id_of_key_.count(q.key)) return {Answer::pending, nullptr};
  if (auto rule = rule_for(q); rule && denied_always_.count({rule->kind, rule->pattern}))
    return {Answer::deny, nullptr};
  if (!listen_ && !tty_) {
    if (!warned_no_frontend_) {
      std::fprintf(stderr, "guardian: on_deny: ask, but no terminal and no --ask-socket: denying\n");
      warned_no_frontend_ = true;
    }
    return {Answer::deny, nullptr};
  }
  Pending p;
  p.id = next_id_++;
  p.query = q;
  p.argv = cmdline_of(q.pid);
  p.deadline = std::chrono::steady_clock::now() +
               std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                   std::chrono::duration<double>(s_.timeout_s));
  id_of_key_[q.key] = p.id;
  std::uint64_t id = p.id;
  AskMessage m{id, p.query, p.argv, s_.timeout_s};
  pending_.emplace(id, std::move(p));
  if (listen_) send_all(encode_request(m));
  if (tty_ && !prompting_) prompt_next();
  arm_timer();
  return {Answer::pending, nullptr};
}

const policy::RuleOrigin* AskBroker::remember(const OverlayRule& r, bool deny) {
  origins_.push_back(policy::RuleOrigin{overlay_ ? overlay_->path() : "ask", 0, 0, r.pattern});
  if (overlay_) {
    bool added = deny ? overlay_->add_deny(r) : overlay_->add_allow(r);
    if (added) {
      auto s = overlay_->save();
      if (!s) std::fprintf(stderr, "guardian: %s\n", s.error().message.c_str());
    }
  }
  return &origins_.back();
}

void AskBroker::answer(std::uint64_t id, Verdict v, const char* by) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  Pending p = std::move(it->second);
  pending_.erase(it);
  id_of_key_.erase(p.query.key);
  Reply reply{v == Verdict::once || v == Verdict::always ? Answer::allow : Answer::deny, nullptr};
  auto rule = rule_for(p.query);
  if (rule && v == Verdict::always) {
    if (hooks_.add_rule) hooks_.add_rule(rule->kind, rule->pattern);
    reply.rule = remember(*rule, false);
  } else if (rule && v == Verdict::deny_always) {
    denied_always_.insert({rule->kind, rule->pattern});
    reply.rule = remember(*rule, true);
  }
  answered_[p.query.key] = reply;
  if (listen_) send_all(encode_resolved(id, v, by));
  if (prompting_ == id) {
    prompting_.reset();
    tty_in_.clear();
  }
  std::vector<std::uint64_t> same;  // other questions the "always" answer settles too
  if (rule && (v == Verdict::always || v == Verdict::deny_always))
    for (auto& [oid, op] : pending_)
      if (auto r2 = rule_for(op.query); r2 && r2->kind == rule->kind && r2->pattern == rule->pattern)
        same.push_back(oid);
  if (hooks_.resume) hooks_.resume(p.query.key);
  for (auto oid : same) answer(oid, v == Verdict::always ? Verdict::once : Verdict::deny, "rule");
  if (tty_ && !prompting_) prompt_next();
  arm_timer();
}

void AskBroker::cancel_all() {
  while (!pending_.empty()) answer(pending_.begin()->first, Verdict::deny, "gone");
}

void AskBroker::arm_timer() {
  itimerspec its{};
  if (!pending_.empty()) {
    auto next = pending_.begin()->second.deadline;
    for (auto& [id, p] : pending_)
      if (p.deadline < next) next = p.deadline;
    // Also look again soon for questions whose thread died (killed by a limit, say), so a
    // prompt for nobody does not hold up the next one.
    auto soon = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
    if (soon < next) next = soon;
    auto d = next - std::chrono::steady_clock::now();
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
    if (ns < 100000) ns = 100000;
    its.it_value.tv_sec = static_cast<time_t>(ns / 1000000000);
    its.it_value.tv_nsec = static_cast<long>(ns % 1000000000);
  }
  ::timerfd_settime(timer_.get(), 0, &its, nullptr);
}

void AskBroker::on_timer() {
  std::uint64_t ticks;
  while (::read(timer_.get(), &ticks, sizeof ticks) == sizeof ticks) {
  }
  auto now = std::chrono::steady_clock::now();
  std::vector<std::uint64_t> expired;
  for (auto& [id, p] : pending_)
    if (p.deadline <= now) expired.push_back(id);
  for (auto id : expired) {
    if (tty_ && prompting_ == id)
      write_all(tty_.get(), "\nguardian: no answer in time: denied\n");
    answer(id, Verdict::deny, "timeout");
  }
  std::vector<std::uint64_t> gone;
  for (auto& [id, p] : pending_)
    if (::access(("/proc/" + std::to_string(p.query.tid)).c_str(), F_OK) != 0) gone.push_back(id);
  for (auto id : gone) {
    if (tty_ && prompting_ == id) write_all(tty_.get(), "\nguardian: the process is gone\n");
    answer(id, Verdict::deny, "gone");
  }
  arm_timer();
}

void AskBroker::send_all(const std::string& line) {
  std::vector<int> dead;
  for (auto& [fd, c] : clients_) {
    // Clients are expected to read; one that lets its buffer fill is dropped, never waited on.
    ssize_t n = ::send(fd, line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n != static_cast<ssize_t>(line.size())) dead.push_back(fd);
  }
  for (int fd : dead) drop_client(fd);
}

void AskBroker::on_accept() {
  for (;;) {
    int fd = ::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;
    UniqueFd c(fd);
    ucred cred{};
    socklen_t len = sizeof cred;
    // A process of the session must not answer its own questions (in_session also names
    // guardian's own process, which performs the session's connects: session/control.cpp).
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.pid <= 0 ||
        (hooks_.in_session && hooks_.in_session(cred.pid))) {
      std::string e = encode_error("refused: this client belongs to the supervised session");
      (void)!::send(fd, e.data(), e.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      continue;
    }
    std::string hello = encode_hello(::getpid());
    for (auto& [id, p] : pending_) hello += encode_request(AskMessage{id, p.query, p.argv, s_.timeout_s});
    if (::send(fd, hello.data(), hello.size(), MSG_NOSIGNAL | MSG_DONTWAIT) !=
        static_cast<ssize_t>(hello.size()))
      continue;
    Client& cl = clients_[fd];
    cl.fd = std::move(c);
    if (hooks_.add) cl.handle = hooks_.add(fd, [this, fd](short) { on_client(fd); });
  }
}

void AskBroker::drop_client(int fd) {
  auto it = clients_.find(fd);
  if (it == clients_.end()) return;
  if (it->second.handle >= 0 && hooks_.remove) hooks_.remove(it->second.handle);
  clients_.erase(it);
}

void AskBroker::on_client(int fd) {
  auto it = clients_.find(fd);
  if (it == clients_.end()) return;
  char buf[4096];
  ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
    drop_client(fd);
    return;
  }
  if (n < 0) return;
  it->second.in.append(buf, static_cast<std::size_t>(n));
  if (it->second.in.size() > 65536) {
    drop_client(fd);
    return;
  }
  std::vector<AnswerLine> answers;
  std::string& in = it->second.in;
  std::size_t nl;
  while ((nl = in.find('\n')) != std::string::npos) {
    std::string line = in.substr(0, nl);
    in.erase(0, nl + 1);
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto a = parse_answer(line);
    std::string err;
    if (!a) err = a.error().message;
    else if (!pending_.count(a.value().id)) err = "no pending request " + std::to_string(a.value().id);
    if (!err.empty()) {
      std::string e = encode_error(err);
      (void)!::send(fd, e.data(), e.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      continue;
    }
    answers.push_back(a.value());
  }
  // Answer after parsing: answering may resume the tracee and re-enter the loop's handler.
  for (auto& a : answers) answer(a.id, a.verdict, "socket");
}

void AskBroker::prompt_next() {
  if (!tty_ || pending_.empty()) return;
  auto& [id, p] = *pending_.begin();
  prompting_ = id;
  tty_in_.clear();
  std::string cmd;
  for (auto& a : p.argv) cmd += (cmd.empty() ? "" : " ") + show(a);
  auto left = std::chrono::duration_cast<std::chrono::seconds>(p.deadline -
                                                              std::chrono::steady_clock::now());
  std::string text = "\nguardian: " + show(p.query.exe) + " (pid " + std::to_string(p.query.pid) +
                     ") wants to " + show(describe_request(p.query)) + "\n" +
                     "  command: " + cmd + "\n" + "  syscall: " + p.query.syscall + "\n" +
                     "  allow [o]nce, allow [a]lways, [d]eny, deny al[w]ays? (denied in " +
                     std::to_string(left.count() > 0 ? left.count() : 0) + "s) ";
  write_all(tty_.get(), text);
}

void AskBroker::on_tty() {
  char buf[256];
  ssize_t n = ::read(tty_.get(), buf, sizeof buf);
  if (n <= 0) {
    if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      // The terminal is gone (hung up): nobody can answer any more.
      if (hooks_.remove && tty_handle_ >= 0) hooks_.remove(tty_handle_);
      tty_handle_ = -1;
      tty_.reset();
      cancel_all();
    }
    return;
  }
  tty_in_.append(buf, static_cast<std::size_t>(n));
  std::size_t nl;
  while ((nl = tty_in_.find('\n')) != std::string::npos) {
    std::string line = tty_in_.substr(0, nl);
    tty_in_.erase(0, nl + 1);
    if (!prompting_) continue;
    auto b = line.find_first_not_of(" \t\r");
    std::string w = b == std::string::npos ? "" : line.substr(b);
    while (!w.empty() && (w.back() == ' ' || w.back() == '\r' || w.back() == '\t')) w.pop_back();
    std::optional<Verdict> v;
    if (w == "o" || w == "O") v = Verdict::once;
    else if (w == "a" || w == "A") v = Verdict::always;
    else if (w == "d" || w == "D") v = Verdict::deny;
    else if (w == "w" || w == "W") v = Verdict::deny_always;
    else v = verdict_from(w);
    if (!v) {
      write_all(tty_.get(), "  please answer o, a, d or w: ");
      continue;
    }
    answer(*prompting_, *v, "terminal");
    if (!tty_) return;
  }
}

}  // namespace guardian::session
