// Host-name rule matching for DNS queries, the answered-address cache, resolv.conf reading.
#include "dns/names.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace guardian::dns {

using policy::AddressPattern;

NameRules::NameRules(const policy::Profile& profile) {
  auto take = [](const std::vector<policy::NetRule>& rules, std::vector<AddressPattern>& out,
                 bool all_ports_only) {
    for (const auto& r : rules) {
      std::string err;
      auto p = policy::parse_address_pattern(r.text, &err);
      if (!p) continue;  // the loader rejected malformed rules already
      if (p->kind != AddressPattern::Kind::host && p->kind != AddressPattern::Kind::any_host)
        continue;
      if (all_ports_only && (p->port_lo != 0 || p->port_hi != 65535)) continue;
      out.push_back(std::move(*p));
    }
  };
  take(profile.connect, allow_, false);
  take(profile.net_deny, deny_, true);
}

bool NameRules::allows(std::string_view name) const {
  while (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty()) return false;
  auto names_it = [&](const AddressPattern& p) {
    if (p.kind == AddressPattern::Kind::any_host) return true;
    // A query has no port: ask at a port the rule covers, so only the name decides.
    policy::NetAddr a;
    a.port = p.port_lo;
    return p.matches(a, name);
  };
  for (const auto& p : deny_)
    if (names_it(p)) return false;
  return std::any_of(allow_.begin(), allow_.end(), names_it);
}

namespace {
std::array<std::uint8_t, 17> key(const std::array<std::uint8_t, 16>& ip, bool v4) {
  std::array<std::uint8_t, 17> k{};
  std::copy(ip.begin(), ip.end(), k.begin());
  if (v4) std::fill(k.begin(), k.begin() + 12, 0);
  k[16] = v4;
  return k;
}
}  // namespace

void NameCache::record(std::string_view name, const std::array<std::uint8_t, 16>& ip, bool v4,
                       std::uint32_t ttl, Clock::time_point now) {
  ttl = std::clamp<std::uint32_t>(ttl, 1, 86400);
  std::lock_guard lk(mu_);
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

std::vector<policy::NetAddr> parse_resolv_conf(std::string_view text) {
  std::vector<policy::NetAddr> out;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string kw, addr;
    if (!(ls >> kw >> addr) || kw != "nameserver") continue;
    if (auto pct = addr.find('%'); pct != std::string::npos) addr.resize(pct);  // scope id
    policy::NetAddr a;
    a.kind = policy::NetAddr::Kind::ip;
    a.port = 53;
    if (inet_pton(AF_INET, addr.c_str(), &a.ip[12]) == 1) {
      a.v4 = true;
    } else if (inet_pton(AF_INET6, addr.c_str(), a.ip.data()) == 1) {
      a.v4 = a.ip[10] == 0xff && a.ip[11] == 0xff &&
             std::all_of(a.ip.begin(), a.ip.begin() + 10, [](auto b) { return b == 0; });
    } else {
      continue;
    }
    out.push_back(a);
  }
  return out;
}

std::vector<policy::NetAddr> resolvers() {
  const char* env = std::getenv("GUARDIAN_RESOLV_CONF");
  std::ifstream f(env && *env ? env : "/etc/resolv.conf");
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_resolv_conf(ss.str());
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
