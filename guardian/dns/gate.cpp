// The DNS gate (issue 9). Design, and why:
//
// * Redirect, not inspect. When the profile names hosts, the decoders connect (or address)
//   a tracee socket aimed at a resolver of resolv.conf on port 53 to this gate instead
//   (127.0.0.1, an ephemeral UDP port and an ephemeral TCP port). Every byte the tracee
//   then writes on that socket — send(), write(), sendmmsg(), none of which the filter
//   sees without a destination — reaches the gate, never the resolver: a query the gate
//   does not forward cannot leak (DNS exfiltration through names is refused here).
// * Only the question travels. An allowed query is rebuilt from its parsed question (name,
//   type, EDNS buffer size) with an id of our own; nothing else the tracee put in the
//   packet is forwarded. The answer must carry our id and the same question, else it is
//   dropped (spoofing) and we wait on until the timeout.
// * Names are decided by NameRules (the host patterns of network.connect / network.deny).
//   Every name of the answer's CNAME chain must be allowed too: a CNAME to a denied name
//   is refused. A refused query gets REFUSED and a denial record naming the host; a
//   malformed query gets FORMERR (or nothing when it has no parsable header) and a record.
// * The cache. Addresses of allowed answers are remembered for their TTL (NameCache):
//   a connect to an address is allowed by a host rule only for names guardian saw answered
//   to this session, or that /etc/hosts gives. The cache is filled before the answer is
//   sent, so the tracee can never connect before its name is known.
// * glibc checks that a UDP answer comes from the server it asked; the answer comes from
//   the gate, so the decoders emulate recvfrom() on redirected sockets and report the
//   resolver's address (decode/net.cpp). TCP has no such check.
// * Threads. One thread polls the gate's sockets; each UDP query and each TCP connection
//   is served by a short-lived worker (at most kMaxWorkers), so a slow resolver never
//   holds up other queries or the supervisor's loop. Workers poll in short slices and end
//   when the gate stops.
#include "dns/gate.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include "dns/message.hpp"
#include "policy/address.hpp"

namespace guardian::dns {

namespace {

constexpr int kMaxWorkers = 64;
constexpr int kSliceMs = 200;
constexpr int kServerTimeoutMs = 2000;
constexpr int kTcpIdleMs = 10000;
constexpr std::uint16_t kEdnsSize = 1232;
constexpr std::uint8_t kRcodeServFail = 2;

std::uint16_t get16(std::string_view s, std::size_t at) {
  return static_cast<std::uint16_t>((static_cast<std::uint8_t>(s[at]) << 8) |
                                    static_cast<std::uint8_t>(s[at + 1]));
}
void set16(std::string& s, std::size_t at, std::uint16_t v) {
  s[at] = static_cast<char>(v >> 8);
  s[at + 1] = static_cast<char>(v & 0xff);
}

std::uint16_t random_id() {
  std::uint16_t id = 0;
  if (getrandom(&id, sizeof id, 0) != sizeof id)
    id = static_cast<std::uint16_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  return id;
}

socklen_t to_sockaddr(const policy::NetAddr& a, sockaddr_storage& ss) {
  std::memset(&ss, 0, sizeof ss);
  if (a.v4) {
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    in->sin_family = AF_INET;
    in->sin_port = htons(a.port);
    std::memcpy(&in->sin_addr, &a.ip[12], 4);
    return sizeof *in;
  }
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons(a.port);
  std::memcpy(&in6->sin6_addr, a.ip.data(), 16);
  return sizeof *in6;
}

// Waits for `events` on fd for at most `ms`, in slices so that a stopping gate is noticed.
bool wait_fd(int fd, short events, int ms, const std::atomic<bool>& stop) {
  while (ms > 0 && !stop) {
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, std::min(ms, kSliceMs));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
    ms -= kSliceMs;
  }
  return false;
}

// Reads exactly n bytes from a stream within `ms`.
bool read_full(int fd, char* buf, std::size_t n, int ms, const std::atomic<bool>& stop) {
  std::size_t got = 0;
  while (got < n) {
    if (!wait_fd(fd, POLLIN, ms, stop)) return false;
    ssize_t r = ::recv(fd, buf + got, n - got, MSG_DONTWAIT);
    if (r == 0) return false;
    if (r < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return false;
    }
    got += static_cast<std::size_t>(r);
  }
  return true;
}

bool write_full(int fd, std::string_view data, const std::atomic<bool>& stop) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t w = ::send(fd, data.data() + off, data.size() - off, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w < 0) {
      if ((errno == EAGAIN || errno == EINTR) && wait_fd(fd, POLLOUT, kServerTimeoutMs, stop))
        continue;
      return false;
    }
    off += static_cast<std::size_t>(w);
  }
  return true;
}

std::string framed(std::string_view msg) {
  std::string s(2, '\0');
  set16(s, 0, static_cast<std::uint16_t>(msg.size()));
  s.append(msg);
  return s;
}

// The upstream query for `q`: its question only, our id, RD, and an OPT record when the
// tracee used EDNS (so the answer may be as large as the tracee said it can take).
std::string upstream_query(const Message& q, std::uint16_t id) {
  std::string s = build_query(id, q.questions[0].name, q.questions[0].type);
  if (q.edns) {
    set16(s, 10, 1);  // ARCOUNT
    const char opt[] = {0, 0, 41, static_cast<char>(kEdnsSize >> 8),
                        static_cast<char>(kEdnsSize & 0xff), 0, 0, 0, 0, 0, 0};
    s.append(opt, sizeof opt);
  }
  return s;
}

// The answer to a query we do not forward: the question echoed when there is exactly one
// (resolvers match answers on it), else the header alone; "" when not even a header.
std::string refusal(std::string_view query, std::uint8_t rcode) {
  std::string s = build_error_answer(query, rcode);
  if (!s.empty() || query.size() < 12) return s;
  s.assign(query.substr(0, 12));
  s[2] = static_cast<char>(0x80 | (s[2] & 0x79));  // QR, the opcode and RD kept
  s[3] = static_cast<char>(rcode & 0xf);
  std::memset(s.data() + 4, 0, 8);  // no sections
  return s;
}

}  // namespace

Gate::Gate(GateOptions opts) : o_(std::move(opts)), hosts_(hosts_entries()) {}

Result<std::unique_ptr<Gate>> Gate::start(GateOptions opts) {
  if (const char* up = std::getenv("GUARDIAN_DNS_UPSTREAM"); up && *up) {
    policy::NetAddr a;
    std::string host, storage, err;
    if (!policy::parse_concrete_address(up, &a, &host, &storage, &err) ||
        a.kind != policy::NetAddr::Kind::ip)
      return fail(std::string("bad GUARDIAN_DNS_UPSTREAM '") + up + "': expected IP:PORT");
    opts.upstream = {a};
  }
  if (opts.upstream.empty()) opts.upstream = opts.resolvers;
  std::unique_ptr<Gate> g(new Gate(std::move(opts)));
  sockaddr_in lo{};
  lo.sin_family = AF_INET;
  lo.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof lo;
  g->udp_.reset(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  g->tcp_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  g->wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!g->udp_ || !g->tcp_ || !g->wake_ ||
      ::bind(g->udp_.get(), reinterpret_cast<sockaddr*>(&lo), sizeof lo) < 0 ||
      ::bind(g->tcp_.get(), reinterpret_cast<sockaddr*>(&lo), sizeof lo) < 0 ||
      ::listen(g->tcp_.get(), 64) < 0)
    return fail_errno("cannot open the DNS gate on 127.0.0.1", errno);
  sockaddr_in got{};
  ::getsockname(g->udp_.get(), reinterpret_cast<sockaddr*>(&got), &len);
  g->udp_port_ = ntohs(got.sin_port);
  len = sizeof got;
  ::getsockname(g->tcp_.get(), reinterpret_cast<sockaddr*>(&got), &len);
  g->tcp_port_ = ntohs(got.sin_port);
  try {
    g->thread_ = std::thread([p = g.get()] { p->loop(); });
  } catch (const std::system_error& e) {
    return fail(std::string("cannot start the DNS gate's thread: ") + e.what());
  }
  return g;
}

Gate::~Gate() {
  stop_ = true;
  std::uint64_t one = 1;
  if (wake_) (void)!::write(wake_.get(), &one, sizeof one);
  if (thread_.joinable()) thread_.join();
  // Workers notice stop_ within one poll slice; they use our members until they end.
  while (busy_.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

bool Gate::is_resolver(const policy::NetAddr& a) const { return dns::is_resolver(a, o_.resolvers); }

bool Gate::gate_address(int family, int type, sockaddr_storage& ss, socklen_t& len) const {
  std::uint16_t port = type == SOCK_DGRAM ? udp_port_ : type == SOCK_STREAM ? tcp_port_ : 0;
  if (!port) return false;
  std::memset(&ss, 0, sizeof ss);
  if (family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof *in;
    return true;
  }
  if (family == AF_INET6) {
    // ::ffff:127.0.0.1 — an IPv6 socket reaches the IPv4 gate (unless IPV6_V6ONLY, then the
    // connect fails, closed).
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    in6->sin6_addr.s6_addr[10] = 0xff;
    in6->sin6_addr.s6_addr[11] = 0xff;
    in6->sin6_addr.s6_addr[12] = 127;
    in6->sin6_addr.s6_addr[15] = 1;
    len = sizeof *in6;
    return true;
  }
  return false;
}

bool Gate::is_gate_udp(const sockaddr* sa, socklen_t len) const {
  if (sa->sa_family == AF_INET && len >= sizeof(sockaddr_in)) {
    auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    return ntohs(in->sin_port) == udp_port_ && in->sin_addr.s_addr == htonl(INADDR_LOOPBACK);
  }
  if (sa->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    const auto* b = in6->sin6_addr.s6_addr;
    return ntohs(in6->sin6_port) == udp_port_ && IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) &&
           b[12] == 127 && b[13] == 0 && b[14] == 0 && b[15] == 1;
  }
  return false;
}

void Gate::register_client(std::uint16_t port, Client c) {
  std::lock_guard lk(mu_);
  if (clients_.size() > 8192) clients_.clear();  // stale ports of closed sockets
  clients_[port] = std::move(c);
}

Client Gate::client(std::uint16_t port) const {
  std::lock_guard lk(mu_);
  auto it = clients_.find(port);
  if (it != clients_.end()) return it->second;
  Client c;
  if (!o_.resolvers.empty()) c.resolver = o_.resolvers.front();
  return c;
}

std::vector<std::string> Gate::names_for(const policy::NetAddr& ip) const {
  std::vector<std::string> out;
  if (ip.kind != policy::NetAddr::Kind::ip) return out;
  out = cache_.lookup_all(ip.ip, ip.v4);
  auto [b, e] = hosts_.equal_range(address_key(ip.ip, ip.v4));
  for (auto it = b; it != e; ++it) out.push_back(it->second);
  return out;
}

void Gate::record(const Client& c, const std::string& host, policy::Verdict v,
                  const policy::RuleOrigin* rule, const std::string& why) {
  if (!o_.log) return;
  if (v == policy::Verdict::allow && !o_.audit_allows) {
    o_.log->count_allow();  // not written (audit: {decisions: deny}), still counted
    return;
  }
  audit::DecisionRecord r;
  r.pid = c.pid;
  r.tid = c.tid;
  r.ppid = c.ppid;
  r.exe = c.exe;
  r.syscall = "dns";
  r.category = policy::Category::network;
  r.op = policy::Op::connect;
  r.addr = policy::format_address(c.resolver);
  r.host = host;
  r.decision = v;
  r.rule = rule;
  r.err = v == policy::Verdict::allow ? 0 : o_.deny_errno;
  if (v != policy::Verdict::allow) {
    // The smallest rule that would let the name resolve (the gate ignores the port).
    r.tip = host.empty() ? "# " + why
                         : "network: {connect: [\"" + host + ":*\"]}  # " + why;
  }
  r.via = o_.via;
  o_.log->decision(r);
}

void Gate::loop() {
  pollfd fds[3] = {{udp_.get(), POLLIN, 0}, {tcp_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
  while (!stop_) {
    int n = ::poll(fds, 3, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[0].revents & POLLIN) serve_udp();
    if (fds[1].revents & POLLIN) {
      for (;;) {
        sockaddr_in from{};
        socklen_t fl = sizeof from;
        UniqueFd conn(::accept4(tcp_.get(), reinterpret_cast<sockaddr*>(&from), &fl,
                                SOCK_CLOEXEC | SOCK_NONBLOCK));
        if (!conn) break;
        if (busy_.load() >= kMaxWorkers) continue;  // closed: the client retries or fails
        ++busy_;
        try {
          std::thread([this, c = std::move(conn), port = ntohs(from.sin_port)]() mutable {
            serve_tcp(std::move(c), port);
            --busy_;
          }).detach();
        } catch (const std::system_error&) {
          --busy_;  // no thread (the uid's process limit): the connection is closed
        }
      }
    }
  }
}

void Gate::serve_udp() {
  for (;;) {
    char buf[65536];
    sockaddr_storage from{};
    socklen_t fl = sizeof from;
    ssize_t n = ::recvfrom(udp_.get(), buf, sizeof buf, MSG_DONTWAIT,
                           reinterpret_cast<sockaddr*>(&from), &fl);
    if (n < 0) return;
    std::uint16_t port = ntohs(reinterpret_cast<sockaddr_in*>(&from)->sin_port);
    std::string query(buf, static_cast<std::size_t>(n));
    auto servfail = [&] {
      std::string a = refusal(query, kRcodeServFail);
      if (!a.empty())
        ::sendto(udp_.get(), a.data(), a.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), fl);
    };
    if (busy_.load() >= kMaxWorkers) {
      servfail();
      continue;
    }
    ++busy_;
    try {
      std::thread([this, query, from, fl, port] {
        std::string a = answer(query, port, false);
        if (!a.empty())
          ::sendto(udp_.get(), a.data(), a.size(), MSG_DONTWAIT,
                   reinterpret_cast<const sockaddr*>(&from), fl);
        --busy_;
      }).detach();
    } catch (const std::system_error&) {
      --busy_;  // no thread (the uid's process limit): fail this query, not guardian
      servfail();
    }
  }
}

void Gate::serve_tcp(UniqueFd conn, std::uint16_t port) {
  while (!stop_) {
    char len[2];
    if (!read_full(conn.get(), len, 2, kTcpIdleMs, stop_)) return;
    std::string q(get16(std::string_view(len, 2), 0), '\0');
    if (!read_full(conn.get(), q.data(), q.size(), kServerTimeoutMs, stop_)) return;
    std::string a = answer(q, port, true);
    if (a.empty() || !write_full(conn.get(), framed(a), stop_)) return;
  }
}

std::string Gate::answer(std::string_view query, std::uint16_t port, bool tcp) {
  std::string err;
  auto q = parse(query, &err);
  Client c = client(port);
  if (!q) {
    record(c, "", policy::Verdict::deny, nullptr, "malformed DNS query refused: " + err);
    // FORMERR with the id echoed and no question: all a broken query can be answered.
    return refusal(query.substr(0, std::min<std::size_t>(query.size(), 12)), kRcodeFormErr);
  }
  if (q->response) return {};  // not a query: nothing to answer
  if (q->opcode != 0 || q->questions.size() != 1 || q->questions[0].klass != kClassIn ||
      !q->answers.empty()) {
    std::string host = q->questions.empty() ? "" : q->questions[0].name;
    record(c, host, policy::Verdict::deny, nullptr,
           "only standard queries with one question of class IN pass the DNS gate");
    return refusal(query, kRcodeRefused);
  }
  const std::string& name = q->questions[0].name;
  const policy::RuleOrigin* rule = nullptr;
  bool allowed = o_.rules.allows(name, &rule);
  if (!allowed) {
    record(c, name, o_.complain ? policy::Verdict::would_deny : policy::Verdict::deny, rule,
           "no host rule allows resolving this name");
    if (!o_.complain) return refusal(query, kRcodeRefused);
  }
  err.clear();
  std::string reply = forward(upstream_query(*q, 0), tcp, &err);
  if (reply.empty() && !err.empty()) {
    // The resolver said something we cannot read: refuse rather than relay it.
    record(c, name, policy::Verdict::deny, nullptr, "malformed DNS answer refused: " + err);
    return refusal(query, kRcodeRefused);
  }
  if (reply.empty()) return refusal(query, kRcodeServFail);
  auto a = parse(reply, nullptr);  // forward() checked it parses
  std::vector<std::string> names;
  std::uint32_t ttl = 0;
  auto addrs = addresses_for(*a, name, &names, &ttl);
  for (std::size_t i = 1; i < names.size(); ++i) {
    const policy::RuleOrigin* r2 = nullptr;
    if (o_.rules.allows(names[i], &r2)) continue;
    record(c, names[i], o_.complain ? policy::Verdict::would_deny : policy::Verdict::deny, r2,
           "'" + name + "' is an alias (CNAME) of this name, which no host rule allows");
    if (!o_.complain) return refusal(query, kRcodeRefused);
  }
  // Relayed (complain mode included): the addresses now have these names for connect().
  for (const Record& r : addrs)
    for (const std::string& n : names) cache_.record(n, r.ip, r.v4, ttl);
  if (allowed) record(c, name, policy::Verdict::allow, rule, "");
  set16(reply, 0, q->id);  // the tracee's id back
  return reply;
}

// Sends `query` to each upstream server in turn until one answers it; the answer must
// parse, be a response with the query's id and question. Returns "" when none did.
std::string Gate::forward(std::string_view query_in, bool tcp, std::string* error) {
  std::string query(query_in);
  auto q = parse(query, nullptr);
  for (const policy::NetAddr& up : o_.upstream) {
    std::uint16_t id = random_id();
    set16(query, 0, id);
    sockaddr_storage ss;
    socklen_t sl = to_sockaddr(up, ss);
    UniqueFd s(::socket(ss.ss_family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!s) continue;
    if (::connect(s.get(), reinterpret_cast<sockaddr*>(&ss), sl) < 0 && errno != EINPROGRESS)
      continue;
    if (tcp) {
      if (!wait_fd(s.get(), POLLOUT, kServerTimeoutMs, stop_) ||
          !write_full(s.get(), framed(query), stop_))
        continue;
    } else if (::send(s.get(), query.data(), query.size(), MSG_DONTWAIT) < 0) {
      continue;
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kServerTimeoutMs);
    while (!stop_) {
      int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      deadline - std::chrono::steady_clock::now())
                                      .count());
      if (left <= 0) break;
      std::string reply;
      if (tcp) {
        char len[2];
        if (!read_full(s.get(), len, 2, left, stop_)) break;
        reply.assign(get16(std::string_view(len, 2), 0), '\0');
        if (!read_full(s.get(), reply.data(), reply.size(), left, stop_)) break;
      } else {
        if (!wait_fd(s.get(), POLLIN, left, stop_)) break;
        char buf[65536];
        ssize_t n = ::recv(s.get(), buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0) continue;
        reply.assign(buf, static_cast<std::size_t>(n));
      }
      std::string perr;
      auto a = parse(reply, &perr);
      if (!a && error->empty()) *error = perr;
      bool same = a && a->response && a->id == id && a->questions.size() == 1 && q &&
                  a->questions[0].name == q->questions[0].name &&
                  a->questions[0].type == q->questions[0].type;
      if (same) {
        error->clear();
        return reply;
      }
      if (tcp) break;  // a stream carries one answer: a wrong one ends this server
      // UDP: a stray or spoofed datagram; keep waiting for the real answer.
    }
  }
  return {};
}

}  // namespace guardian::dns
