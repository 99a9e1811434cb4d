// Network address patterns of profile format v1 (HOST:PORT, unix:PATH, unix:@NAME) and
// concrete addresses as typed on the command line (`profile explain --connect`).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "glob.hpp"
#include "request.hpp"

namespace guardian::policy {

// A compiled network rule. Grammar:
//   HOST:PORT | HOST:LOW-HIGH | HOST:*        HOST = IPv4 | [IPv6] | CIDR | name | *.domain | *
//   unix:PATH-PATTERN (a path glob, see glob.hpp) | unix:@NAME (NAME may use * and ?)
// IPv6 and IPv6 CIDR are bracketed: "[::1]:53", "[fd00::/8]:443". IPv4-mapped IPv6
// ("[::ffff:10.0.0.1]") is stored and matched as IPv4.
// Host names and *.domain are kept as text: they match Request::host (the name the DNS gate
// saw resolved to this address), case-insensitively; "*.example.com" matches every name
// below example.com but not example.com itself.
struct AddressPattern {
  enum class Kind : std::uint8_t { ip, host, any_host, unix_path, unix_abstract };
  Kind kind = Kind::any_host;
  bool v4 = false;
  std::array<std::uint8_t, 16> net{};  // network order; v4 in bytes 12..15
  int prefix = 0;                      // CIDR bits (32 for a v4 address, 128 for v6)
  std::string host;                    // lower case; for "*.domain": ".domain"
  bool host_suffix = false;            // "*.domain"
  std::uint16_t port_lo = 0, port_hi = 65535;
  std::vector<Glob> unix_path;         // unix_path: the alternatives of the path pattern
  std::string unix_name;               // unix_abstract: the name pattern (without '@')

  // True when `addr` (and, for name rules, `host`) falls under this pattern. No allocation.
  bool matches(const NetAddr& addr, std::string_view host) const noexcept;
};

// Parses a rule; nullopt with `error` set (a message without location) when malformed.
// unix path patterns must be absolute (the loader expands variables before).
std::optional<AddressPattern> parse_address_pattern(std::string_view text, std::string* error);

// A concrete address typed by a user: "1.2.3.4:80", "[::1]:53", "example.com:443",
// "unix:/run/x.sock", "unix:@name". `storage` keeps the text NetAddr::unix_name and the
// host view point into; `host` receives the name for host-name addresses (addr.kind none).
bool parse_concrete_address(std::string_view text, NetAddr* addr, std::string* host,
                            std::string* storage, std::string* error);

// Formats an address for messages and tips: "1.2.3.4:80", "[::1]:53", "unix:/p", "unix:@n".
std::string format_address(const NetAddr& addr);

}  // namespace guardian::policy
