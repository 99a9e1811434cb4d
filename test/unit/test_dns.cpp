// DNS gate pieces: the wire parser against hostile packets, CNAME chains, refusals, host
// name rule matching for queries, the answered-address cache, resolv.conf and hosts
// reading, and the gate itself against a fake upstream resolver on loopback.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "audit/log.hpp"
#include "dns/gate.hpp"
#include "dns/message.hpp"
#include "dns/names.hpp"

using namespace guardian;
using namespace guardian::dns;

namespace {

Record a_rec(const std::string& name, std::uint8_t last, std::uint32_t ttl = 60) {
  Record r;
  r.name = name;
  r.type = kTypeA;
  r.ttl = ttl;
  r.v4 = true;
  r.ip[12] = 10;
  r.ip[15] = last;
  return r;
}

Record cname(const std::string& name, const std::string& target, std::uint32_t ttl = 60) {
  Record r;
  r.name = name;
  r.type = kTypeCname;
  r.ttl = ttl;
  r.target = target;
  return r;
}

policy::Profile profile(std::initializer_list<const char*> allow,
                        std::initializer_list<const char*> deny = {}) {
  policy::Profile p;
  for (auto* t : allow) p.connect.push_back(policy::NetRule{t, {}});
  for (auto* t : deny) p.net_deny.push_back(policy::NetRule{t, {}});
  return p;
}

}  // namespace

TEST_CASE("a query round-trips through the parser") {
  std::string q = build_query(0x1234, "Api.GitHub.com.", kTypeAaaa);
  std::string err;
  auto m = parse(q, &err);
  REQUIRE_MESSAGE(m, err);
  CHECK(m->id == 0x1234);
  CHECK_FALSE(m->response);
  CHECK(m->rd);
  REQUIRE(m->questions.size() == 1);
  CHECK(m->questions[0].name == "api.github.com");
  CHECK(m->questions[0].type == kTypeAaaa);
}

TEST_CASE("an answer with a CNAME chain yields the final addresses, every name and the least TTL") {
  Question q{"www.example.test", kTypeA, kClassIn};
  std::string w = build_answer(7, q, {cname("www.example.test", "cdn.example.test", 300),
                                      cname("cdn.example.test", "edge.other.test", 30),
                                      a_rec("edge.other.test", 5, 120), a_rec("unrelated.test", 9)});
  std::string err;
  auto m = parse(w, &err);
  REQUIRE_MESSAGE(m, err);
  CHECK(m->response);
  std::vector<std::string> names;
  std::uint32_t ttl = 0;
  auto addrs = addresses_for(*m, "WWW.example.test.", &names, &ttl);
  REQUIRE(addrs.size() == 1);
  CHECK(addrs[0].ip[15] == 5);
  CHECK(ttl == 30);
  CHECK(names == std::vector<std::string>{"www.example.test", "cdn.example.test", "edge.other.test"});
}

TEST_CASE("a CNAME loop in an answer ends without addresses") {
  Question q{"a.test", kTypeA, kClassIn};
  auto m = parse(build_answer(1, q, {cname("a.test", "b.test"), cname("b.test", "a.test")}), nullptr);
  REQUIRE(m);
  CHECK(addresses_for(*m, "a.test", nullptr, nullptr).empty());
}

TEST_CASE("EDNS OPT in the additional section is tolerated") {
  std::string q = build_query(9, "x.test", kTypeA);
  q[11] = 1;  // ARCOUNT = 1
  q += std::string("\0\0\x29\x10\0\0\0\0\0\0\0", 11);  // root name, OPT, udp 4096, ttl 0, rdlen 0
  std::string err;
  auto m = parse(q, &err);
  REQUIRE_MESSAGE(m, err);
  CHECK(m->edns);
}

TEST_CASE("hostile packets are refused, never crash") {
  std::string good = build_query(1, "a.example.test", kTypeA);
  std::string err;
  // Every truncation of a valid query is refused.
  for (std::size_t n = 0; n < good.size(); ++n) CHECK_FALSE(parse(good.substr(0, n), &err));
  // Trailing bytes.
  CHECK_FALSE(parse(good + "x", &err));
  // A compression pointer to itself (loop) and forwards.
  std::string loop = std::string("\0\1\1\0\0\1\0\0\0\0\0\0", 12) + "\xc0\x0c" + std::string("\0\1\0\1", 4);
  CHECK_FALSE(parse(loop, &err));
  CHECK(err.find("backwards") != std::string::npos);
  std::string fwd = std::string("\0\1\1\0\0\1\0\0\0\0\0\0", 12) + "\xc0\x20" + std::string("\0\1\0\1", 4);
  CHECK_FALSE(parse(fwd, &err));
  // A label longer than 63 (0x40 is a reserved label type) and a name over 255 bytes.
  std::string big = std::string("\0\1\1\0\0\1\0\0\0\0\0\0", 12);
  for (int i = 0; i < 5; ++i) big += std::string(1, '\x3f') + std::string(63, 'a');
  big += std::string("\0\0\1\0\1", 5);
  CHECK_FALSE(parse(big, &err));
  CHECK(err.find("255") != std::string::npos);
  // Counts claiming 65535 records in a tiny packet.
  std::string counts = good;
  counts[6] = counts[7] = '\xff';
  CHECK_FALSE(parse(counts, &err));
  // An A record of the wrong length.
  Question q{"x.test", kTypeA, kClassIn};
  std::string ans = build_answer(1, q, {a_rec("x.test", 1)});
  ans[ans.size() - 5] = 5;  // rdlength 4 -> 5, now pointing past the end
  CHECK_FALSE(parse(ans, &err));
  // Every byte of an answer flipped to every value: parse may refuse, must not crash.
  std::string base = build_answer(3, q, {cname("x.test", "y.test"), a_rec("y.test", 2)});
  for (std::size_t i = 0; i < base.size(); ++i)
    for (int v = 0; v < 256; v += 7) {
      std::string t = base;
      t[i] = static_cast<char>(v);
      if (auto m = parse(t, nullptr)) addresses_for(*m, "x.test", nullptr, nullptr);
    }
}

TEST_CASE("a refusal echoes the id and question with rcode REFUSED") {
  std::string q = build_query(0xbeef, "secret-data.evil.test", kTypeA);
  auto m = parse(build_error_answer(q, kRcodeRefused), nullptr);
  REQUIRE(m);
  CHECK(m->id == 0xbeef);
  CHECK(m->response);
  CHECK(m->rcode == kRcodeRefused);
  REQUIRE(m->questions.size() == 1);
  CHECK(m->questions[0].name == "secret-data.evil.test");
  CHECK(build_error_answer("garbage", kRcodeRefused).empty());
}

TEST_CASE("query names are decided by the host rules of network.connect") {
  NameRules r(profile({"api.github.com:443", "*.pypi.org:443", "10.0.0.0/8:*"},
                      {"*.evil.pypi.org:*", "bad.pypi.org:22"}));
  CHECK(r.any_host_rules());
  CHECK(r.allows("api.github.com"));
  CHECK(r.allows("API.GitHub.com."));
  CHECK_FALSE(r.allows("github.com"));
  CHECK_FALSE(r.allows("x.api.github.com"));
  CHECK(r.allows("files.pypi.org"));
  CHECK_FALSE(r.allows("pypi.org"));  // *.domain: subdomains only
  CHECK_FALSE(r.allows("aGVsbG8.evil.pypi.org"));  // a deny on every port refuses resolution
  CHECK(r.allows("bad.pypi.org"));                  // a deny on one port does not
  CHECK_FALSE(r.allows("evilpypi.org"));
  CHECK_FALSE(r.allows(""));
  NameRules ip_only(profile({"10.0.0.0/8:*"}));
  CHECK_FALSE(ip_only.any_host_rules());
  CHECK_FALSE(ip_only.allows("anything.test"));
  NameRules star(profile({"*:443"}));
  CHECK(star.allows("anything.test"));
}

TEST_CASE("the cache maps answered addresses to names until the TTL ends") {
  NameCache c;
  auto t0 = NameCache::Clock::time_point{} + std::chrono::hours(1);
  Record a = a_rec("x", 7);
  c.record("api.github.com", a.ip, true, 60, t0);
  CHECK(c.lookup(a.ip, true, t0 + std::chrono::seconds(59)) == "api.github.com");
  CHECK_FALSE(c.lookup(a.ip, true, t0 + std::chrono::seconds(60)));
  Record other = a_rec("x", 8);
  CHECK_FALSE(c.lookup(other.ip, true, t0));
  CHECK_FALSE(c.lookup(a.ip, false, t0));  // the same bytes as IPv6 are another address
  c.record("b.test", a.ip, true, 0, t0);  // TTL 0 still lives one second
  CHECK(c.lookup(a.ip, true, t0) == "b.test");
}

TEST_CASE("resolv.conf nameservers are read, others ignored") {
  auto s = parse_resolv_conf("# c\nsearch x\nnameserver 127.0.0.53\nnameserver ::1\n"
                             "nameserver fe80::1%eth0\nnameserver bogus\n");
  REQUIRE(s.size() == 3);
  CHECK(s[0].v4);
  CHECK(s[0].ip[12] == 127);
  CHECK(s[0].port == 53);
  policy::NetAddr a = s[0];
  CHECK(is_resolver(a, s));
  a.port = 5353;
  CHECK_FALSE(is_resolver(a, s));
  CHECK_FALSE(s[1].v4);
  CHECK(is_resolver(s[1], s));
}

TEST_CASE("the rule that decided a name is reported; command-line rules count") {
  policy::Profile p = profile({"10.0.0.0/8:*", "api.github.com:443"}, {"*.evil.test:*"});
  p.connect[1].origin.line = 7;
  p.net_deny[0].origin.line = 9;
  NameRules r(p);
  const policy::RuleOrigin* rule = nullptr;
  CHECK(r.allows("api.github.com", &rule));
  REQUIRE(rule);
  CHECK(rule->line == 7);
  CHECK_FALSE(r.allows("x.evil.test", &rule));
  REQUIRE(rule);
  CHECK(rule->line == 9);  // the deny rule
  CHECK_FALSE(r.allows("other.test", &rule));
  CHECK(rule == nullptr);  // nothing matched
  NameRules ip_only(profile({"10.0.0.0/8:*", "*:443"}));
  CHECK_FALSE(ip_only.any_host_rules());  // `*` names no host: no gate needed
  ip_only.add_connect("pypi.org:443");
  CHECK(ip_only.any_host_rules());
  CHECK(ip_only.allows("pypi.org", &rule));
}

TEST_CASE("hosts(5) names are found by address; comments and bad lines ignored") {
  auto h = parse_hosts("# c\n127.0.0.1 localhost\n10.1.2.3  Build.Test. alias  # x\n"
                       "::1 ip6-localhost\nbogus name\n::ffff:10.9.9.9 mapped.test\n");
  std::array<std::uint8_t, 16> ip{};
  ip[12] = 10, ip[13] = 1, ip[14] = 2, ip[15] = 3;
  auto [b, e] = h.equal_range(address_key(ip, true));
  std::vector<std::string> names;
  for (auto it = b; it != e; ++it) names.push_back(it->second);
  CHECK(names == std::vector<std::string>{"build.test", "alias"});
  ip[13] = 9, ip[14] = 9, ip[15] = 9;
  CHECK(h.count(address_key(ip, true)) == 1);  // IPv4-mapped is IPv4
  CHECK(h.size() == 5);
}

TEST_CASE("lookup_all gives every unexpired name, most recent first") {
  NameCache c;
  auto t0 = NameCache::Clock::time_point{} + std::chrono::hours(1);
  Record a = a_rec("x", 7);
  c.record("a.test", a.ip, true, 10, t0);
  c.record("b.test", a.ip, true, 100, t0);
  CHECK(c.lookup_all(a.ip, true, t0) == std::vector<std::string>{"b.test", "a.test"});
  CHECK(c.lookup_all(a.ip, true, t0 + std::chrono::seconds(20)) == std::vector<std::string>{"b.test"});
}

// ---- the gate itself, against a fake upstream resolver on loopback --------------------

namespace {

struct Recorded {
  std::string host, tip;
  policy::Verdict v;
  bool has_rule;
};

class FakeLog final : public audit::AuditLog {
 public:
  void session_start(const audit::SessionStart&) override {}
  void decision(const audit::DecisionRecord& r) override {
    std::lock_guard lk(mu);
    recs.push_back({r.host, r.tip, r.decision, r.rule != nullptr});
  }
  void process(const audit::ProcessRecord&) override {}
  void limit(const audit::LimitRecord&) override {}
  void session_end(const audit::SessionEnd&) override {}
  void flush() override {}
  std::string denial_summary() const override { return {}; }
  std::vector<Recorded> all() {
    std::lock_guard lk(mu);
    return recs;
  }
  std::mutex mu;
  std::vector<Recorded> recs;
};

// Answers like a resolver, with faults chosen by the name asked.
struct FakeUpstream {
  int fd = -1;
  std::uint16_t port = 0;
  std::thread th;
  std::mutex mu;
  std::vector<std::string> seen;
  FakeUpstream() {
    fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t l = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &l);
    port = ntohs(a.sin_port);
    th = std::thread([this] { serve(); });
  }
  ~FakeUpstream() {
    ::shutdown(fd, SHUT_RDWR);
    th.join();
    ::close(fd);
  }
  void serve() {
    for (;;) {
      char buf[4096];
      sockaddr_in from{};
      socklen_t fl = sizeof from;
      ssize_t n = ::recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
      if (n <= 0) return;
      auto q = parse(std::string_view(buf, static_cast<std::size_t>(n)), nullptr);
      if (!q || q->questions.empty()) continue;
      const Question& qq = q->questions[0];
      {
        std::lock_guard lk(mu);
        seen.push_back(qq.name);
      }
      auto send = [&](const std::string& s) {
        ::sendto(fd, s.data(), s.size(), 0, reinterpret_cast<sockaddr*>(&from), fl);
      };
      if (qq.name == "garbage.test") {
        send(std::string("\x00\x01\x81\x80\x00\x01\x00\x05", 8));  // counts beyond the packet
      } else if (qq.name == "spoof.test") {
        send(build_answer(static_cast<std::uint16_t>(q->id + 1), qq, {a_rec("spoof.test", 66)}));
        send(build_answer(q->id, qq, {a_rec("spoof.test", 9)}));
      } else if (qq.name == "alias.test") {
        send(build_answer(q->id, qq, {cname("alias.test", "bad.test"), a_rec("bad.test", 8)}));
      } else {
        send(build_answer(q->id, qq, {a_rec(qq.name, 7)}));
      }
    }
  }
  bool saw(const std::string& suffix) {
    std::lock_guard lk(mu);
    for (auto& s : seen)
      if (s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0)
        return true;
    return false;
  }
};

// Sends `q` to the gate's UDP address and returns its answer ("" after 5 s).
std::string ask(const Gate& g, const std::string& q) {
  sockaddr_storage ss;
  socklen_t len;
  REQUIRE(g.gate_address(AF_INET, SOCK_DGRAM, ss, len));
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ::connect(s, reinterpret_cast<sockaddr*>(&ss), len);
  ::send(s, q.data(), q.size(), 0);
  pollfd p{s, POLLIN, 0};
  std::string out;
  if (::poll(&p, 1, 5000) == 1) {
    char buf[4096];
    ssize_t n = ::recv(s, buf, sizeof buf, 0);
    if (n > 0) out.assign(buf, static_cast<std::size_t>(n));
  }
  ::close(s);
  return out;
}

int rcode_of(const std::string& answer) {
  return answer.size() < 4 ? -1 : static_cast<std::uint8_t>(answer[3]) & 0xf;
}

}  // namespace

TEST_CASE("the gate forwards allowed names, refuses others, aliases and broken answers") {
  FakeUpstream up;
  char hosts[] = "/tmp/guardian-test-hosts-XXXXXX";
  int hfd = ::mkstemp(hosts);
  REQUIRE(hfd >= 0);
  ::close(hfd);
  ::setenv("GUARDIAN_HOSTS", hosts, 1);  // never the machine's /etc/hosts
  ::setenv("GUARDIAN_DNS_UPSTREAM", ("127.0.0.1:" + std::to_string(up.port)).c_str(), 1);
  FakeLog log;
  GateOptions o;
  o.rules = NameRules(profile({"good.test:443", "alias.test:443", "garbage.test:443",
                               "spoof.test:443", "*.wild.test:443"}));
  o.resolvers = parse_resolv_conf("nameserver 127.0.0.53\n");
  o.log = &log;
  auto started = Gate::start(std::move(o));
  ::unsetenv("GUARDIAN_DNS_UPSTREAM");
  ::unsetenv("GUARDIAN_HOSTS");
  REQUIRE(started);
  auto& g = *started.value();

  policy::NetAddr r = parse_resolv_conf("nameserver 127.0.0.53\n")[0];
  CHECK(g.is_resolver(r));
  r.port = 54;
  CHECK_FALSE(g.is_resolver(r));

  std::string a = ask(g, build_query(0x1234, "good.test", kTypeA));
  auto m = parse(a, nullptr);
  REQUIRE(m);
  CHECK(m->id == 0x1234);  // the tracee's id back, whatever the gate used upstream
  CHECK(m->rcode == kRcodeNoError);
  REQUIRE(m->answers.size() == 1);
  policy::NetAddr ip;
  ip.kind = policy::NetAddr::Kind::ip;
  ip.v4 = true;
  ip.ip = a_rec("x", 7).ip;
  CHECK(g.names_for(ip) == std::vector<std::string>{"good.test"});

  CHECK(rcode_of(ask(g, build_query(1, "bad.test", kTypeA))) == kRcodeRefused);
  CHECK(rcode_of(ask(g, build_query(2, "6578666c747261746564.bad.test", kTypeA))) == kRcodeRefused);
  CHECK(rcode_of(ask(g, build_query(3, "wild.test", kTypeA))) == kRcodeRefused);
  CHECK(rcode_of(ask(g, build_query(4, "a.wild.test", kTypeAaaa))) == kRcodeNoError);
  CHECK(rcode_of(ask(g, build_query(5, "alias.test", kTypeA))) == kRcodeRefused);
  CHECK(rcode_of(ask(g, build_query(6, "garbage.test", kTypeA))) == kRcodeRefused);
  CHECK(rcode_of(ask(g, build_query(7, "spoof.test", kTypeA))) == kRcodeNoError);
  ip.ip = a_rec("x", 9).ip;
  CHECK(g.names_for(ip) == std::vector<std::string>{"spoof.test"});  // the real answer
  ip.ip = a_rec("x", 66).ip;
  CHECK(g.names_for(ip).empty());  // the spoofed one was dropped
  ip.ip = a_rec("x", 8).ip;
  CHECK(g.names_for(ip).empty());  // a refused alias leaves nothing behind
  // Malformed queries: a short header gets nothing; a bad body gets FORMERR.
  CHECK(ask(g, std::string("\x12\x34\x01", 3)).empty());
  CHECK(rcode_of(ask(g, std::string("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www\xc0\x0c", 18))) ==
        kRcodeFormErr);
  // Two questions in one query are refused.
  std::string two = build_query(8, "good.test", kTypeA);
  two[5] = 2;
  two += two.substr(12);
  CHECK(rcode_of(ask(g, two)) == kRcodeRefused);

  CHECK(up.saw("good.test"));
  CHECK_FALSE(up.saw("bad.test"));  // neither the denied name nor the exfiltration query

  auto recs = log.all();
  auto has = [&](const std::string& host, policy::Verdict v, const char* tip_part) {
    for (auto& x : recs)
      if (x.host == host && x.v == v && x.tip.find(tip_part) != std::string::npos) return true;
    return false;
  };
  CHECK(has("good.test", policy::Verdict::allow, ""));
  CHECK(has("bad.test", policy::Verdict::deny, "no host rule"));
  CHECK(has("6578666c747261746564.bad.test", policy::Verdict::deny, "bad.test:*"));
  CHECK(has("bad.test", policy::Verdict::deny, "alias (CNAME)"));
  CHECK(has("garbage.test", policy::Verdict::deny, "malformed DNS answer"));
  CHECK(has("", policy::Verdict::deny, "malformed DNS query"));
  ::unlink(hosts);
}
