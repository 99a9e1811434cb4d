// Host-name rules for the DNS gate, and the session's cache of what each allowed name
// resolved to (address -> name, for the answer's TTL), which lets connect() decisions set
// policy::Request::host from what guardian itself saw answered, never from the tracee.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/address.hpp"
#include "policy/profile.hpp"

namespace guardian::dns {

// The host-name patterns of a profile's network rules, compiled for deciding DNS queries.
class NameRules {
 public:
  // Compiles the host and `*` patterns of profile.connect and profile.net_deny (rules of
  // other kinds are ignored here; the engine decides them).
  NameRules() = default;  // no rules: nothing may be resolved
  explicit NameRules(const policy::Profile& profile);

  // Adds one connect rule given on the command line (--allow-connect), origin line 0.
  // Rules that are not host names or `*` are ignored, as in the constructor.
  void add_connect(std::string_view text);

  // True when `name` may be resolved: some connect rule names it (`name`, `*.domain`
  // for names strictly below domain, or `*`), and no deny rule covering every port
  // names it. Case-insensitive; a final dot is ignored. `rule` (optional) receives the
  // rule that decided (the deny rule, or the first allow rule), nullptr when none did;
  // it points into this object.
  bool allows(std::string_view name, const policy::RuleOrigin** rule = nullptr) const;

  // True when the profile has any host-name rule (then the gate is worth running).
  // `*:PORT` alone does not count: it matches every address without names.
  bool any_host_rules() const { return named_; }

 private:
  struct Entry {
    policy::AddressPattern pat;
    policy::RuleOrigin origin;
  };
  std::vector<Entry> allow_, deny_;
  bool named_ = false;
};

// name -> addresses seen in answers, with expiry. Thread-safe.
class NameCache {
 public:
  using Clock = std::chrono::steady_clock;

  // Records that `name` was answered with `ip` (network order, v4 in bytes 12..15) valid
  // for `ttl` seconds from `now` (at least 1 s, at most one day).
  void record(std::string_view name, const std::array<std::uint8_t, 16>& ip, bool v4,
              std::uint32_t ttl, Clock::time_point now = Clock::now());

  // The name `ip` was most recently answered for and which has not expired; nullopt if none.
  std::optional<std::string> lookup(const std::array<std::uint8_t, 16>& ip, bool v4,
                                    Clock::time_point now = Clock::now()) const;

  // Every unexpired name `ip` was answered for, most recent first.
  std::vector<std::string> lookup_all(const std::array<std::uint8_t, 16>& ip, bool v4,
                                      Clock::time_point now = Clock::now()) const;

 private:
  static constexpr std::size_t kMaxAddresses = 1 << 16;  // memory bound of the cache
  struct Entry {
    std::string name;
    Clock::time_point expires;
  };
  mutable std::mutex mu_;
  std::map<std::array<std::uint8_t, 17>, std::vector<Entry>> by_ip_;
};

// Reads the nameserver addresses of a resolv.conf file: the file named by the environment
// variable GUARDIAN_RESOLV_CONF when set (for tests), /etc/resolv.conf otherwise.
std::vector<policy::NetAddr> resolvers();

// Host names of a hosts(5) file by address: the file named by GUARDIAN_HOSTS when set (for
// tests), /etc/hosts otherwise. Names are lower case. An unreadable file gives no entries.
std::multimap<std::array<std::uint8_t, 17>, std::string> hosts_entries();

// Parses hosts(5) text: "ADDRESS NAME [ALIAS...]" lines, '#' comments.
std::multimap<std::array<std::uint8_t, 17>, std::string> parse_hosts(std::string_view text);

// The key hosts_entries() and NameCache use for an address (v4 in bytes 12..15, byte 16 = v4).
std::array<std::uint8_t, 17> address_key(const std::array<std::uint8_t, 16>& ip, bool v4);

// Lets the session read the resolver configuration it needs to resolve names at all
// (/etc/resolv.conf and where it links to), origin "guardian:dns". Called when the
// profile names hosts or sets `dns: true`.
void allow_resolver_config(policy::Profile& profile);

// Parses resolv.conf text (nameserver lines; IPv4 and IPv6, port 53).
std::vector<policy::NetAddr> parse_resolv_conf(std::string_view text);

// True when `a` is one of `servers` on port 53.
bool is_resolver(const policy::NetAddr& a, const std::vector<policy::NetAddr>& servers);

}  // namespace guardian::dns
