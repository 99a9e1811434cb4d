// DNS gate pieces: the wire parser against hostile packets, CNAME chains, refusals, host
// name rule matching for queries, the answered-address cache and resolv.conf reading.
#include <doctest/doctest.h>

#include <string>

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
