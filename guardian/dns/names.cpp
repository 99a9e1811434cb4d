// Host-name rule matching for DNS queries, the answered-address cache, resolv.conf reading.
#include "dns/names.hpp"

#include <arpa/inet.h>

#include <limits.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace guardian::dns {

using policy::AddressPattern;

namespace {
// Parses a rule; keeps host-name and `*` patterns (deny rules only when they cover every
// port: a name denied on one port may still be resolved for another).
bool host_pattern(std::string_view text, bool all_ports_only, AddressPattern* out) {
  std::string err;
  auto p = policy::parse_address_pattern(text, &err);
  if (!p) return false;  // the loader rejected malformed rules already
  if (p->kind != AddressPattern::Kind::host && p->kind != AddressPattern::Kind::any_host)
    return false;
  if (all_ports_only && (p->port_lo != 0 || p->port_hi != 65535)) return false;
  *out = std::move(*p);
  return true;
}
}  // namespace

NameRules::NameRules(const policy::Profile& profile) {
  for (const auto& r : profile.connect) {
    Entry e;
    if (!host_pattern(r.text, false, &e.pat)) continue;
    named_ |= e.pat.kind == AddressPattern::Kind::host;
    e.origin = r.origin;
    allow_.push_back(std::move(e));
  }
  for (const auto& r : profile.net_deny) {
    Entry e;
    if (!host_pattern(r.text, true, &e.pat)) continue;
    e.origin = r.origin;
    deny_.push_back(std::move(e));
  }
}

void NameRules::add_connect(std::string_view text) {
  Entry e;
  if (!host_pattern(text, false, &e.pat)) return;
  named_ |= e.pat.kind == AddressPattern::Kind::host;
  e.origin.file = "command line";
  e.origin.pattern = std::string(text);
  allow_.push_back(std::move(e));
}

bool NameRules::allows(std::string_view name, const policy::RuleOrigin** rule) const {
  if (rule) *rule = nullptr;
  while (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty()) return false;
  auto names_it = [&](const AddressPattern& p) {
    if (p.kind == AddressPattern::Kind::any_host) return true;
    // A query has no port: ask at a port the rule covers, so only the name decides.
    policy::NetAddr a;
    a.port = p.port_lo;
    return p.matches(a, name);
  };
  for (const auto& e : deny_)
    if (names_it(e.pat)) {
      if (rule) *rule = &e.origin;
      return false;
    }
  for (const auto& e : allow_)
    if (names_it(e.pat)) {
      if (rule) *rule = &e.origin;
      return true;
    }
  return false;
}

std::array<std::uint8_t, 17> address_key(const std::array<std::uint8_t, 16>& ip, bool v4) {
  std::array<std::uint8_t, 17> k{};
  std::copy(ip.begin(), ip.end(), k.begin());
  if (v4) std::fill(k.begin(), k.begin() + 12, 0);
  k[16] = v4;
  return k;
}

namespace {
auto key(const std::array<std::uint8_t, 16>& ip, bool v4) { return address_key(ip, v4); }
}  // namespace

void NameCache::record(std::string_view name, const std::array<std::uint8_t, 16>& ip, bool v4,
                       std::uint32_t ttl, Clock::time_point now) {
  ttl = std::clamp<std::uint32_t>(ttl, 1, 86400);
  std::lock_guard lk(mu_);
  if (by_ip_.size() >= kMaxAddresses) {
    // A long session that resolved very many names: forget what has expired first, and if
    // that is not enough, everything (a later connect then needs its name resolved again).
    for (auto it = by_ip_.begin(); it != by_ip_.end();) {
      std::erase_if(it->second, [&](const Entry& e) { return e.expires <= now; });
      it = it->second.empty() ? by_ip_.erase(it) : std::next(it);
    }
    if (by_ip_.size() >= kMaxAddresses) by_ip_.clear();
  }
  auto& v = by_ip_[key(ip, v4)];
  std::erase_if(v, [&](const Entry& e) { return e.expires <= now || e.name == name; });
  v.push_back(Entry{std::string(name), now + std::chrono::seconds(ttl)});
}

std::optional<std::string> NameCache::lookup(const std::array<std::uint8_t, 16>& ip, bool v4,
                                             Clock::time_point now) const {
  std::lock_guard lk(mu_);
  auto it = by_ip_.find(key(ip, v4));
  if (it == by_ip_.end()) return std::nullopt;
  for (auto e = it->second.rbegin(); e != it->second.rend(); ++e)
    if (e->expires > now) return e->name;
  return std::nullopt;
}

std::vector<std::string> NameCache::lookup_all(const std::array<std::uint8_t, 16>& ip, bool v4,
                                               Clock::time_point now) const {
  std::vector<std::string> out;
  std::lock_guard lk(mu_);
  auto it = by_ip_.find(key(ip, v4));
  if (it == by_ip_.end()) return out;
  for (auto e = it->second.rbegin(); e != it->second.rend(); ++e)
    if (e->expires > now) out.push_back(e->name);
  return out;
}

namespace {
// An address as written in resolv.conf or hosts(5); IPv4-mapped IPv6 counts as IPv4.
bool parse_ip_text(std::string addr, std::array<std::uint8_t, 16>* ip, bool* v4) {
  if (auto pct = addr.find('%'); pct != std::string::npos) addr.resize(pct);  // scope id
  ip->fill(0);
  if (inet_pton(AF_INET, addr.c_str(), &(*ip)[12]) == 1) {
    *v4 = true;
    return true;
  }
  if (inet_pton(AF_INET6, addr.c_str(), ip->data()) == 1) {
    *v4 = (*ip)[10] == 0xff && (*ip)[11] == 0xff &&
          std::all_of(ip->begin(), ip->begin() + 10, [](auto b) { return b == 0; });
    return true;
  }
  return false;
}

std::string read_file(const char* env, const char* fallback) {
  const char* e = std::getenv(env);
  std::ifstream f(e && *e ? e : fallback);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
}  // namespace

std::multimap<std::array<std::uint8_t, 17>, std::string> parse_hosts(std::string_view text) {
  std::multimap<std::array<std::uint8_t, 17>, std::string> out;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::istringstream ls(line);
    std::string addr, name;
    std::array<std::uint8_t, 16> ip{};
    bool v4 = false;
    if (!(ls >> addr) || !parse_ip_text(addr, &ip, &v4)) continue;
    while (ls >> name) {
      for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      while (!name.empty() && name.back() == '.') name.pop_back();
      if (!name.empty()) out.emplace(address_key(ip, v4), name);
    }
  }
  return out;
}

std::multimap<std::array<std::uint8_t, 17>, std::string> hosts_entries() {
  return parse_hosts(read_file("GUARDIAN_HOSTS", "/etc/hosts"));
}

std::vector<policy::NetAddr> parse_resolv_conf(std::string_view text) {
  std::vector<policy::NetAddr> out;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string kw, addr;
    if (!(ls >> kw >> addr) || kw != "nameserver") continue;
    policy::NetAddr a;
    a.kind = policy::NetAddr::Kind::ip;
    a.port = 53;
    if (!parse_ip_text(addr, &a.ip, &a.v4)) continue;
    out.push_back(a);
  }
  return out;
}

void allow_resolver_config(policy::Profile& profile) {
  // The tracee's libc reads the real file whatever GUARDIAN_RESOLV_CONF says.
  const std::string path = "/etc/resolv.conf";
  policy::PathRule rule;
  rule.pattern = path;
  char* real = ::realpath(path.c_str(), nullptr);
  rule.resolved = real ? real : path;
  std::free(real);
  rule.origin.file = "guardian:dns";
  rule.origin.pattern = path;
  profile.read.push_back(std::move(rule));
}

std::vector<policy::NetAddr> resolvers() {
  return parse_resolv_conf(read_file("GUARDIAN_RESOLV_CONF", "/etc/resolv.conf"));
}

bool is_resolver(const policy::NetAddr& a, const std::vector<policy::NetAddr>& servers) {
  if (a.kind != policy::NetAddr::Kind::ip || a.port != 53) return false;
  for (const auto& s : servers) {
    if (s.v4 != a.v4) continue;
    if (a.v4 ? std::equal(a.ip.begin() + 12, a.ip.end(), s.ip.begin() + 12) : a.ip == s.ip)
      return true;
  }
  return false;
}

}  // namespace guardian::dns
