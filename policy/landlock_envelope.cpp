// Profile -> Landlock envelope (see landlock_envelope.hpp): prefixes, ports and scopes.
#include "landlock_envelope.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdlib>
#include <map>
#include <optional>

#include <fmt/format.h>

namespace guardian::policy {
namespace {

// More distinct ports than this in one direction: treat as "all ports" rather than adding
// tens of thousands of kernel rules at every launch.
constexpr std::size_t kMaxPorts = 16384;

bool has_glob(std::string_view comp) {
  return comp.find_first_of("*?[{\\") != std::string_view::npos;
}

std::optional<std::string> resolve(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) return std::nullopt;
  return std::string(buf);
}

std::string parent_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return "/";
  return path.substr(0, slash);
}

// /proc/self, /proc/thread-self and /proc/PID name a different inode for every process, and
// Landlock rules attach to inodes: such rules can only be widened to /proc itself.
bool is_per_process_proc(std::string_view p) {
  if (p.substr(0, 6) != "/proc/") return false;
  std::string_view rest = p.substr(6);
  std::string_view first = rest.substr(0, rest.find('/'));
  if (first == "self" || first == "thread-self") return true;
  return !first.empty() &&
         std::all_of(first.begin(), first.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string describe(const char* kind, const std::string& expanded, const RuleOrigin& o) {
  const std::string& pat = o.pattern.empty() ? expanded : o.pattern;
  if (o.file.empty()) return fmt::format("{} {}", kind, pat);
  if (o.line > 0) return fmt::format("{} {} ({}:{})", kind, pat, o.file, o.line);
  return fmt::format("{} {} ({})", kind, pat, o.file);
}

class Builder {
 public:
  explicit Builder(Envelope& env) : env_(env) {}

  // Adds the envelope entry for one path pattern with the given access.
  void add_pattern(const std::string& pattern, std::uint8_t access, const std::string& why) {
    if (pattern.empty() || pattern[0] != '/') {
      note(fmt::format("skipped '{}': not an absolute pattern", pattern));
      return;
    }
    std::string prefix = literal_prefix(pattern);
    if (is_per_process_proc(prefix)) {
      widen_proc(access, why);
      return;
    }
    if (auto real = resolve(prefix)) {
      if (is_per_process_proc(*real)) {
        widen_proc(access, why);
        return;
      }
      struct stat st{};
      bool dir = ::stat(real->c_str(), &st) == 0 && S_ISDIR(st.st_mode);
      put(*real, access, dir, why);
      return;
    }
    if (!(access & kEnvWrite)) {
      // Nothing there to read or run now; if the session creates it, a write rule covers it.
      note(fmt::format("'{}' does not exist: nothing granted for {}", prefix, why));
      return;
    }
    // Creating the path needs write rights on the deepest ancestor that exists.
    std::string anc = parent_of(prefix);
    while (anc != "/" && !resolve(anc)) anc = parent_of(anc);
    std::string real = resolve(anc).value_or("/");
    note(fmt::format("'{}' does not exist yet: write widened to '{}' for {}", prefix, real, why));
    put(real, access, true, why);
  }

  // Adds one exact file (loader, the command) with exec access, if it exists.
  void add_file(const std::string& path, std::uint8_t access, const std::string& why) {
    auto real = resolve(path);
    if (!real) return;
    struct stat st{};
    if (::stat(real->c_str(), &st) != 0) return;
    put(*real, access, S_ISDIR(st.st_mode), why);
  }

  void note(std::string n) {
    if (std::find(env_.notes.begin(), env_.notes.end(), n) == env_.notes.end())
      env_.notes.push_back(std::move(n));
  }

  // Sorted, one entry per path; entries covered by an ancestor with the same rights dropped.
  void finish() {
    std::vector<EnvelopePath> out;
    for (auto& [path, e] : by_path_) {
      bool covered = false;
      for (auto& [apath, a] : by_path_) {
        if (!a.is_dir || apath == path || (a.access & e.access) != e.access) continue;
        if (apath == "/" || (path.size() > apath.size() && path.compare(0, apath.size(), apath) == 0 &&
                             path[apath.size()] == '/')) {
          covered = true;
          break;
        }
      }
      if (!covered) out.push_back(e);
    }
    env_.paths = std::move(out);
  }

 private:
  void widen_proc(std::uint8_t access, const std::string& why) {
    note("rules under /proc/self or /proc/PID are widened to /proc (Landlock names inodes, and "
         "those differ per process); other processes' entries stay closed by ptrace checks and "
         "Landlock's own ptrace scoping");
    put("/proc", access, true, why);
  }

  void put(const std::string& path, std::uint8_t access, bool dir, const std::string& why) {
    if (access & kEnvWrite) access |= kEnvRead;
    auto it = by_path_.find(path);
    if (it == by_path_.end()) {
      by_path_.emplace(path, EnvelopePath{path, access, dir, why});
    } else {
      it->second.access |= access;
    }
  }

  Envelope& env_;
  std::map<std::string, EnvelopePath> by_path_;
};

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

}  // namespace

std::string literal_prefix(const std::string& pattern) {
  std::string out;
  std::size_t i = 0;
  while (i < pattern.size()) {
    while (i < pattern.size() && pattern[i] == '/') ++i;
    if (i >= pattern.size()) break;
    std::size_t j = pattern.find('/', i);
    if (j == std::string::npos) j = pattern.size();
    std::string_view comp(pattern.data() + i, j - i);
    if (has_glob(comp)) break;
    out += '/';
    out += comp;
    i = j;
  }
  return out.empty() ? "/" : out;
}

Envelope compute_envelope(const Profile& profile, const EnvelopeOptions& opts) {
  Envelope env;
  Builder b(env);
  for (const auto& r : profile.read) b.add_pattern(r.pattern, kEnvRead, describe("read", r.pattern, r.origin));
  for (const auto& r : profile.write) b.add_pattern(r.pattern, kEnvWrite, describe("write", r.pattern, r.origin));
  for (const auto& r : profile.exec_allow) b.add_pattern(r.pattern, kEnvExec, describe("exec", r.pattern, r.origin));
  for (const auto& p : opts.extra_read) b.add_pattern(p, kEnvRead, "read " + p + " (command line)");
  for (const auto& p : opts.extra_write) b.add_pattern(p, kEnvWrite, "write " + p + " (command line)");
  for (const auto& p : opts.extra_exec_rules) b.add_pattern(p, kEnvExec, "exec " + p + " (command line)");
  for (const auto& p : opts.extra_exec) b.add_file(p, kEnvExec, "the command itself");
  for (const auto& p : opts.loaders) b.add_file(p, kEnvExec, "dynamic loader");
  b.finish();

  for (const auto& r : profile.connect) add_net(env.connect, env, r.text, "connect");
  for (const auto& t : opts.extra_connect) add_net(env.connect, env, t, "connect");
  for (const auto& r : profile.bind) add_net(env.bind, env, r.text, "bind");
  for (const auto& t : opts.extra_bind) add_net(env.bind, env, t, "bind");
  if (profile.dns && !env.connect.all) {
    // Resolvers answer over UDP (not restricted by Landlock) and fall back to TCP port 53.
    env.connect.ports.push_back({53, 53});
  }
  merge_ports(env.connect, "connect", env.notes);
  merge_ports(env.bind, "bind", env.notes);

  if (!profile.deny.empty() || !profile.exec_deny.empty() || !profile.net_deny.empty())
    env.notes.push_back("deny rules are not in the envelope: Landlock can only allow; the supervisor enforces them");
  if (!env.scope_abstract_unix)
    env.notes.push_back("abstract unix sockets not scoped: the profile connects to one (unix:@...)");
  env.notes.push_back("Landlock restricts TCP ports only, not hosts, UDP or other socket families");
  return env;
}

std::string envelope_paths_text(const Envelope& env, std::uint8_t access_bit) {
  std::string out;
  for (const auto& p : env.paths) {
    if (!(p.access & access_bit)) continue;
    // Read entries that also allow writing are listed under write only.
    if (access_bit == kEnvRead && (p.access & kEnvWrite)) continue;
    if (!out.empty()) out += ' ';
    out += p.path;
  }
  return out.empty() ? "none" : out;
}

std::string port_set_text(const PortSet& ports) {
  if (ports.all) return "all";
  if (ports.ports.empty()) return "none";
  std::string out;
  for (auto r : ports.ports) {
    if (!out.empty()) out += ',';
    out += r.lo == r.hi ? fmt::format("{}", r.lo) : fmt::format("{}-{}", r.lo, r.hi);
  }
  return out;
}

std::string scopes_text(const Envelope& env) {
  std::string out;
  if (env.scope_abstract_unix) out += "abstract-unix";
  if (env.scope_signal) out += out.empty() ? "signal" : " signal";
  return out.empty() ? "none" : out;
}

std::string format_envelope(const Envelope& env) {
  std::string out;
  std::size_t width = 4;
  for (const auto& p : env.paths) width = std::max(width, p.path.size());
  for (const auto& p : env.paths) {
    std::string acc;
    acc += (p.access & kEnvRead) ? 'r' : '-';
    acc += (p.access & kEnvWrite) ? 'w' : '-';
    acc += (p.access & kEnvExec) ? 'x' : '-';
    out += fmt::format("{} {:<{}}  {}{}\n", acc, p.path, width, p.is_dir ? "" : "[file] ", p.why);
  }
  out += fmt::format("tcp connect: {}\n", port_set_text(env.connect));
  out += fmt::format("tcp bind: {}\n", port_set_text(env.bind));
  out += fmt::format("scoped: {}\n", scopes_text(env));
  for (const auto& n : env.notes) out += "note: " + n + "\n";
  return out;
}

}  // namespace guardian::policy
