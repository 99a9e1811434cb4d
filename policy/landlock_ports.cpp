// TCP ports of the Landlock envelope (see landlock_ports.hpp).
#include "landlock_ports.hpp"

#include <algorithm>
#include <optional>
#include <string_view>

#include <fmt/format.h>

namespace guardian::policy {
namespace {

// More distinct ports than this in one direction: treat as "all ports" rather than adding
// tens of thousands of kernel rules at every launch.
constexpr std::size_t kMaxPorts = 16384;

struct ParsedPorts {
  bool all = false;
  std::optional<PortRange> range;
  bool abstract_unix = false;
  bool unix = false;
};

// Parses the port part of a network rule: "HOST:PORT", "HOST:LOW-HIGH", "HOST:*",
// "[v6]:PORT", "unix:..." (not TCP). Anything unparsable widens to all ports.
ParsedPorts parse_ports(std::string_view text) {
  ParsedPorts r;
  if (text.substr(0, 5) == "unix:") {
    r.unix = true;
    r.abstract_unix = text.substr(5, 1) == "@";
    return r;
  }
  std::size_t colon;
  if (!text.empty() && text[0] == '[') {
    auto close = text.find("]:");
    colon = close == std::string_view::npos ? std::string_view::npos : close + 1;
  } else {
    colon = text.rfind(':');
  }
  if (colon == std::string_view::npos) {
    r.all = true;
    return r;
  }
  std::string_view port = text.substr(colon + 1);
  if (port == "*" || port.empty()) {
    r.all = true;
    return r;
  }
  auto num = [](std::string_view s) -> std::optional<unsigned> {
    if (s.empty() || s.size() > 5) return std::nullopt;
    unsigned v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v > 65535) return std::nullopt;
    return v;
  };
  auto dash = port.find('-');
  auto lo = num(port.substr(0, dash));
  auto hi = dash == std::string_view::npos ? lo : num(port.substr(dash + 1));
  if (!lo || !hi || *lo > *hi) {
    r.all = true;
    return r;
  }
  r.range = PortRange{static_cast<std::uint16_t>(*lo), static_cast<std::uint16_t>(*hi)};
  return r;
}

}  // namespace

void merge_ports(PortSet& set, const char* what, std::vector<std::string>& notes) {
  if (set.all) {
    set.ports.clear();
    return;
  }
  auto& v = set.ports;
  std::sort(v.begin(), v.end(), [](auto a, auto b) { return a.lo < b.lo || (a.lo == b.lo && a.hi < b.hi); });
  std::vector<PortRange> out;
  for (auto r : v) {
    if (!out.empty() && static_cast<unsigned>(r.lo) <= static_cast<unsigned>(out.back().hi) + 1) {
      out.back().hi = std::max(out.back().hi, r.hi);
    } else {
      out.push_back(r);
    }
  }
  std::size_t count = 0;
  for (auto r : out) count += static_cast<std::size_t>(r.hi - r.lo) + 1;
  if (count > kMaxPorts) {
    notes.push_back(fmt::format("tcp {}: {} ports allowed; the envelope allows every port", what, count));
    set.all = true;
    out.clear();
  }
  v = std::move(out);
}

void add_net(PortSet& set, Envelope& env, const std::string& text, const char* what) {
  ParsedPorts p = parse_ports(text);
  if (p.unix) {
    if (p.abstract_unix && std::string_view(what) == "connect") env.scope_abstract_unix = false;
    return;
  }
  if (p.all) {
    set.all = true;
    return;
  }
  if (p.range) set.ports.push_back(*p.range);
}

}  // namespace guardian::policy
