// Network address patterns: parsing (inet_pton, no resolution) and matching.
#include "policy/address.hpp"

#include <arpa/inet.h>

#include <cctype>
#include <cstring>

namespace guardian::policy {

namespace {

bool parse_uint(std::string_view s, unsigned long max, unsigned long* out) {
  if (s.empty() || s.size() > 10) return false;
  unsigned long v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned long>(c - '0');
  }
  if (v > max) return false;
  *out = v;
  return true;
}

bool parse_ports(std::string_view s, AddressPattern* a, std::string* error) {
  if (s == "*") {
    a->port_lo = 0;
    a->port_hi = 65535;
    return true;
  }
  std::size_t dash = s.find('-');
  unsigned long lo = 0, hi = 0;
  if (dash == std::string_view::npos) {
    if (!parse_uint(s, 65535, &lo)) {
      *error = "bad port '" + std::string(s) + "' (expected 0-65535, LOW-HIGH or *)";
      return false;
    }
    hi = lo;
  } else {
    if (!parse_uint(s.substr(0, dash), 65535, &lo) || !parse_uint(s.substr(dash + 1), 65535, &hi)) {
      *error = "bad port range '" + std::string(s) + "' (expected LOW-HIGH within 0-65535)";
      return false;
    }
    if (lo > hi) {
      *error = "bad port range '" + std::string(s) + "' (LOW is greater than HIGH)";
      return false;
    }
  }
  a->port_lo = static_cast<std::uint16_t>(lo);
  a->port_hi = static_cast<std::uint16_t>(hi);
  return true;
}

// Parses an IP literal (v4 dotted or v6 without brackets) into 16 bytes; v4 and v4-mapped
// end up with v4 = true and the address in bytes 12..15.
bool parse_ip(std::string_view s, std::array<std::uint8_t, 16>* ip, bool* v4) {
  char buf[64];
  if (s.empty() || s.size() >= sizeof buf) return false;
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  ip->fill(0);
  in_addr a4{};
  if (::inet_pton(AF_INET, buf, &a4) == 1) {
    std::memcpy(ip->data() + 12, &a4, 4);
    *v4 = true;
    return true;
  }
  in6_addr a6{};
  if (::inet_pton(AF_INET6, buf, &a6) == 1) {
    std::memcpy(ip->data(), &a6, 16);
    static const std::uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    *v4 = std::memcmp(ip->data(), mapped, 12) == 0;
    return true;
  }
  return false;
}

bool valid_host_name(std::string_view h) {
  if (h.empty() || h.size() > 253 || h.front() == '.' || h.back() == '.') return false;
  std::size_t label = 0;
  for (char c : h) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
    if (++label > 63) return false;
  }
  return true;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool prefix_equal(const std::uint8_t* a, const std::uint8_t* b, int bits) {
  int bytes = bits / 8, rem = bits % 8;
  if (std::memcmp(a, b, static_cast<std::size_t>(bytes)) != 0) return false;
  if (rem == 0) return true;
  std::uint8_t mask = static_cast<std::uint8_t>(0xff << (8 - rem));
  return (a[bytes] & mask) == (b[bytes] & mask);
}

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

}  // namespace

std::optional<AddressPattern> parse_address_pattern(std::string_view text, std::string* error) {
  AddressPattern a;
  if (text.substr(0, 5) == "unix:") {
    std::string_view rest = text.substr(5);
    if (rest.empty()) {
      *error = "empty unix socket address (expected unix:/PATH or unix:@NAME)";
      return std::nullopt;
    }
    if (rest[0] == '@') {
      a.kind = AddressPattern::Kind::unix_abstract;
      a.unix_name = std::string(rest.substr(1));
      if (a.unix_name.empty()) {
        *error = "empty abstract socket name after 'unix:@'";
        return std::nullopt;
      }
      return a;
    }
    if (rest[0] != '/') {
      *error = "unix socket path '" + std::string(rest) + "' is not absolute";
      return std::nullopt;
    }
    a.kind = AddressPattern::Kind::unix_path;
    a.unix_path = parse_pattern(rest, error);
    if (a.unix_path.empty()) return std::nullopt;
    return a;
  }
  std::string_view host, ports;
  if (!text.empty() && text[0] == '[') {
    std::size_t close = text.find(']');
    if (close == std::string_view::npos) {
      *error = "missing ']' in IPv6 address '" + std::string(text) + "'";
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    std::string_view after = text.substr(close + 1);
    if (after.empty() || after[0] != ':') {
      *error = "missing port in '" + std::string(text) + "' (expected [IPv6]:PORT)";
      return std::nullopt;
    }
    ports = after.substr(1);
    std::size_t slash = host.find('/');
    std::string_view ipt = host.substr(0, slash);
    bool v4 = false;
    if (ipt.find(':') == std::string_view::npos || !parse_ip(ipt, &a.net, &v4)) {
      *error = "bad IPv6 address '" + std::string(ipt) + "'";
      return std::nullopt;
    }
    a.kind = AddressPattern::Kind::ip;
    a.v4 = v4;
    unsigned long bits = 128;
    if (slash != std::string_view::npos && !parse_uint(host.substr(slash + 1), 128, &bits)) {
      *error = "bad CIDR prefix length '" + std::string(host.substr(slash + 1)) + "' (expected 0-128)";
      return std::nullopt;
    }
    if (v4) {
      if (bits < 96) {
        *error = "bad CIDR prefix length for an IPv4-mapped address (expected 96-128)";
        return std::nullopt;
      }
      bits -= 96;
    }
    a.prefix = static_cast<int>(bits);
  } else {
    std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      *error = "missing port in '" + std::string(text) + "' (expected HOST:PORT, HOST:LOW-HIGH or HOST:*)";
      return std::nullopt;
    }
    host = text.substr(0, colon);
    ports = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      *error = "IPv6 address must be bracketed: '[" + std::string(host) + "]:PORT'";
      return std::nullopt;
    }
    std::size_t slash = host.find('/');
    bool v4 = false;
    if (host == "*") {
      a.kind = AddressPattern::Kind::any_host;
    } else if (slash != std::string_view::npos) {
      if (!parse_ip(host.substr(0, slash), &a.net, &v4) || !v4) {
        *error = "bad CIDR block '" + std::string(host) + "'";
        return std::nullopt;
      }
      unsigned long bits = 0;
      if (!parse_uint(host.substr(slash + 1), 32, &bits)) {
        *error = "bad CIDR prefix length '" + std::string(host.substr(slash + 1)) + "' (expected 0-32)";
        return std::nullopt;
      }
      a.kind = AddressPattern::Kind::ip;
      a.v4 = true;
      a.prefix = static_cast<int>(bits);
    } else if (parse_ip(host, &a.net, &v4)) {
      a.kind = AddressPattern::Kind::ip;
      a.v4 = true;
      a.prefix = 32;
    } else if (host.substr(0, 2) == "*." && valid_host_name(host.substr(2))) {
      a.kind = AddressPattern::Kind::host;
      a.host = lower(host.substr(1));
      a.host_suffix = true;
    } else if (valid_host_name(host)) {
      bool digits_and_dots = host.find_first_not_of("0123456789.") == std::string_view::npos;
      if (digits_and_dots) {
        *error = "bad IPv4 address '" + std::string(host) + "'";
        return std::nullopt;
      }
      a.kind = AddressPattern::Kind::host;
      a.host = lower(host);
    } else {
      *error = host.empty() ? "missing host in '" + std::string(text) + "'"
                            : "bad host '" + std::string(host) + "'";
      return std::nullopt;
    }
  }
  if (!parse_ports(ports, &a, error)) return std::nullopt;
  if (a.kind == AddressPattern::Kind::ip) {
    // Clear host bits so that matching compares only the prefix.
    int base = a.v4 ? 12 : 0;
    int bits = a.prefix;
    for (int i = 0; i < (a.v4 ? 4 : 16); ++i) {
      int keep = bits >= 8 ? 8 : (bits > 0 ? bits : 0);
      bits -= 8;
      a.net[base + i] &= static_cast<std::uint8_t>(keep == 8 ? 0xff : (0xff << (8 - keep)) & 0xff);
    }
  }
  return a;
}

bool AddressPattern::matches(const NetAddr& addr, std::string_view req_host) const noexcept {
  switch (kind) {
    case Kind::unix_path:
      if (addr.kind != NetAddr::Kind::unix_path) return false;
      for (const Glob& g : unix_path)
        if (g.match(addr.unix_name)) return true;
      return false;
    case Kind::unix_abstract:
      return addr.kind == NetAddr::Kind::unix_abstract && wildcard_match(unix_name, addr.unix_name);
    default:
      break;
  }
  bool ip = addr.kind == NetAddr::Kind::ip;
  if (!ip && !(addr.kind == NetAddr::Kind::none && !req_host.empty())) return false;
  if (addr.port < port_lo || addr.port > port_hi) return false;
  switch (kind) {
    case Kind::any_host:
      return true;
    case Kind::ip:
      if (!ip || addr.v4 != v4) return false;
      return v4 ? prefix_equal(addr.ip.data() + 12, net.data() + 12, prefix)
                : prefix_equal(addr.ip.data(), net.data(), prefix);
    case Kind::host:
      if (req_host.empty()) return false;
      if (req_host.back() == '.') req_host.remove_suffix(1);  // absolute DNS name
      if (!host_suffix) return iequal(req_host, host);
      return req_host.size() > host.size() &&
             iequal(req_host.substr(req_host.size() - host.size()), host);
    default:
      return false;
  }
}

bool parse_concrete_address(std::string_view text, NetAddr* addr, std::string* host,
                            std::string* storage, std::string* error) {
  *addr = NetAddr{};
  host->clear();
  if (text.substr(0, 5) == "unix:") {
    std::string_view rest = text.substr(5);
    if (rest.empty()) {
      *error = "empty unix socket address";
      return false;
    }
    if (rest[0] == '@') {
      *storage = std::string(rest.substr(1));
      addr->kind = NetAddr::Kind::unix_abstract;
    } else {
      *storage = normalize_path(rest);
      if (storage->empty()) {
        *error = "unix socket path '" + std::string(rest) + "' is not absolute";
        return false;
      }
      addr->kind = NetAddr::Kind::unix_path;
    }
    addr->unix_name = *storage;
    return true;
  }
  auto pat = parse_address_pattern(text, error);
  if (!pat) return false;
  if (pat->port_lo != pat->port_hi) {
    *error = "'" + std::string(text) + "' is not a single address (one port expected)";
    return false;
  }
  addr->port = pat->port_lo;
  if (pat->kind == AddressPattern::Kind::ip && pat->prefix == (pat->v4 ? 32 : 128)) {
    addr->kind = NetAddr::Kind::ip;
    addr->v4 = pat->v4;
    addr->ip = pat->net;
    return true;
  }
  if (pat->kind == AddressPattern::Kind::host && !pat->host_suffix) {
    *host = pat->host;
    return true;
  }
  *error = "'" + std::string(text) + "' is not a single address";
  return false;
}

std::string format_address(const NetAddr& addr) {
  switch (addr.kind) {
    case NetAddr::Kind::unix_path:
      return "unix:" + std::string(addr.unix_name);
    case NetAddr::Kind::unix_abstract:
      return "unix:@" + std::string(addr.unix_name);
    case NetAddr::Kind::unix_unnamed:
      return "unix:";
    case NetAddr::Kind::none:
      return "";
    case NetAddr::Kind::ip:
      break;
  }
  char buf[INET6_ADDRSTRLEN] = {};
  std::string out;
  if (addr.v4) {
    ::inet_ntop(AF_INET, addr.ip.data() + 12, buf, sizeof buf);
    out = buf;
  } else {
    ::inet_ntop(AF_INET6, addr.ip.data(), buf, sizeof buf);
    out = "[" + std::string(buf) + "]";
  }
  return out + ":" + std::to_string(addr.port);
}

}  // namespace guardian::policy
