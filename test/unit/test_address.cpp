// Network address patterns (spec §2): IPv4, [IPv6], CIDR, ports and ranges, *, host names,
// *.domain, unix paths and abstract names, IPv4-mapped IPv6 matched as IPv4.
#include "policy/address.hpp"

#include <arpa/inet.h>
#include <doctest/doctest.h>

#include <cstring>
#include <string>

using namespace guardian::policy;

namespace {

NetAddr ip(const char* text, std::uint16_t port) {
  NetAddr a;
  a.kind = NetAddr::Kind::ip;
  a.port = port;
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, text, &v4) == 1) {
    a.v4 = true;
    std::memcpy(a.ip.data() + 12, &v4, 4);
  } else {
    REQUIRE(inet_pton(AF_INET6, text, &v6) == 1);
    std::memcpy(a.ip.data(), &v6, 16);
    static const std::uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    a.v4 = std::memcmp(a.ip.data(), mapped, 12) == 0;
  }
  return a;
}

bool m(const char* rule, const NetAddr& a, std::string_view host = {}) {
  std::string err;
  auto p = parse_address_pattern(rule, &err);
  REQUIRE_MESSAGE(p.has_value(), rule << ": " << err);
  return p->matches(a, host);
}

std::string bad(const char* rule) {
  std::string err;
  auto p = parse_address_pattern(rule, &err);
  return p ? "(parsed)" : err;
}

NetAddr named(std::uint16_t port) {
  NetAddr a;
  a.port = port;
  return a;
}

}  // namespace

TEST_CASE("IPv4 address and port") {
  CHECK(m("127.0.0.1:8080", ip("127.0.0.1", 8080)));
  CHECK_FALSE(m("127.0.0.1:8080", ip("127.0.0.1", 8081)));
  CHECK_FALSE(m("127.0.0.1:8080", ip("127.0.0.2", 8080)));
}

TEST_CASE("port ranges and *") {
  CHECK(m("10.0.0.1:8000-8100", ip("10.0.0.1", 8000)));
  CHECK(m("10.0.0.1:8000-8100", ip("10.0.0.1", 8100)));
  CHECK_FALSE(m("10.0.0.1:8000-8100", ip("10.0.0.1", 8101)));
  CHECK(m("127.0.0.1:*", ip("127.0.0.1", 1)));
  CHECK(m("*:443", ip("1.2.3.4", 443)));
  CHECK(m("*:443", ip("2001:db8::1", 443)));
  CHECK_FALSE(m("*:443", ip("1.2.3.4", 80)));
}

TEST_CASE("CIDR blocks, v4 and v6") {
  CHECK(m("10.0.0.0/8:443", ip("10.255.1.2", 443)));
  CHECK_FALSE(m("10.0.0.0/8:443", ip("11.0.0.1", 443)));
  CHECK(m("192.168.1.77/24:22", ip("192.168.1.1", 22)));  // host bits ignored
  CHECK(m("0.0.0.0/0:53", ip("8.8.8.8", 53)));
  CHECK(m("[fd00::/8]:443", ip("fd12::1", 443)));
  CHECK_FALSE(m("[fd00::/8]:443", ip("fe80::1", 443)));
}

TEST_CASE("bracketed IPv6, and IPv4-mapped IPv6 as IPv4") {
  CHECK(m("[::1]:53", ip("::1", 53)));
  CHECK_FALSE(m("[::1]:53", ip("127.0.0.1", 53)));
  CHECK(m("127.0.0.1:80", ip("::ffff:127.0.0.1", 80)));  // mapped request, v4 rule
  CHECK(m("[::ffff:10.1.2.3]:80", ip("10.1.2.3", 80)));   // mapped rule, v4 request
  CHECK(m("10.0.0.0/8:80", ip("::ffff:10.9.9.9", 80)));
}

TEST_CASE("host names and *.domain match Request::host") {
  CHECK(m("api.github.com:443", named(443), "api.github.com"));
  CHECK(m("api.github.com:443", ip("140.82.1.1", 443), "API.GitHub.com."));
  CHECK_FALSE(m("api.github.com:443", ip("140.82.1.1", 443)));  // no name known
  CHECK_FALSE(m("api.github.com:443", named(80), "api.github.com"));
  CHECK(m("*.pypi.org:443", named(443), "files.pypi.org"));
  CHECK(m("*.pypi.org:443", named(443), "a.b.pypi.org"));
  CHECK_FALSE(m("*.pypi.org:443", named(443), "pypi.org"));
  CHECK_FALSE(m("*.pypi.org:443", named(443), "evilpypi.org"));
}

TEST_CASE("unix sockets: path patterns and abstract names") {
  NetAddr p;
  p.kind = NetAddr::Kind::unix_path;
  p.unix_name = "/run/app.sock";
  CHECK(m("unix:/run/app.sock", p));
  CHECK(m("unix:/run/*.sock", p));
  CHECK_FALSE(m("unix:/run/other.sock", p));
  CHECK_FALSE(m("unix:@app.sock", p));
  NetAddr a;
  a.kind = NetAddr::Kind::unix_abstract;
  a.unix_name = "dbus-xyz";
  CHECK(m("unix:@dbus-*", a));
  CHECK_FALSE(m("unix:@dbus", a));
  CHECK_FALSE(m("unix:/run/*.sock", a));
  CHECK_FALSE(m("*:*", p));  // an IP rule never matches a unix socket
}

TEST_CASE("malformed addresses") {
  CHECK(bad("10.0.0.1") == "missing port in '10.0.0.1' (expected HOST:PORT, HOST:LOW-HIGH or HOST:*)");
  CHECK(bad("10.0.0.0/33:1") == "bad CIDR prefix length '33' (expected 0-32)");
  CHECK(bad("1.2.3:80") == "bad IPv4 address '1.2.3'");
  CHECK(bad("h:70000") == "bad port '70000' (expected 0-65535, LOW-HIGH or *)");
  CHECK(bad("h:90-80") == "bad port range '90-80' (LOW is greater than HIGH)");
  CHECK(bad("::1:53") == "IPv6 address must be bracketed: '[::1]:PORT'");
  CHECK(bad("[::1:53") == "missing ']' in IPv6 address '[::1:53'");
  CHECK(bad("[zz::1]:5") == "bad IPv6 address 'zz::1'");
  CHECK(bad("unix:") == "empty unix socket address (expected unix:/PATH or unix:@NAME)");
  CHECK(bad("unix:rel.sock") == "unix socket path 'rel.sock' is not absolute");
  CHECK(bad("bad host!:80") == "bad host 'bad host!'");
}

TEST_CASE("concrete addresses for explain") {
  NetAddr a;
  std::string host, storage, err;
  REQUIRE(parse_concrete_address("[::1]:53", &a, &host, &storage, &err));
  CHECK(format_address(a) == "[::1]:53");
  REQUIRE(parse_concrete_address("example.com:443", &a, &host, &storage, &err));
  CHECK(host == "example.com");
  CHECK(a.port == 443);
  CHECK_FALSE(parse_concrete_address("1.2.3.4:1-2", &a, &host, &storage, &err));
  REQUIRE(parse_concrete_address("unix:/run/../run/x.sock", &a, &host, &storage, &err));
  CHECK(format_address(a) == "unix:/run/x.sock");
}
