// The decision engine: rules indexed in a trie of literal path components; a query walks
// the trie once per path form, evaluating only the rules anchored on its way.
#include "policy/engine.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <vector>

#include "policy/address.hpp"
#include "policy/glob.hpp"

namespace guardian::policy {

namespace {

enum : std::uint8_t {
  kRead = 1,
  kWrite = 2,
  kExec = 4,
  kDeny = 8,
  kDenyWrite = 16,
  kExecDeny = 32,
};
constexpr std::uint8_t kAllowKinds = kRead | kWrite | kExec;
constexpr std::size_t kPathMax = 4096;

struct Entry {
  Glob glob;
  std::uint8_t kind;
  const RuleOrigin* origin;
};

// FNV-1a over a path component: children are found by hash first, then by name.
inline std::uint64_t component_hash(std::string_view c) noexcept {
  std::uint64_t h = 1469598103934665603ULL;
  for (char ch : c) h = (h ^ static_cast<unsigned char>(ch)) * 1099511628211ULL;
  return h;
}

struct Child {
  std::uint64_t hash;
  std::uint32_t node;
};

struct Node {
  std::string name;
  std::vector<Child> children;
  std::vector<Entry> entries;
  std::uint8_t below = 0;                 // allow kinds anchored strictly below this node
  const RuleOrigin* below_rule = nullptr;  // one of them, for provenance
};

struct NetEntry {
  AddressPattern pat;
  const RuleOrigin* origin;
};

std::string yaml_quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string glob_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '*' || c == '?' || c == '{' || c == '}' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

}  // namespace

struct Engine::Impl {
  Profile profile;
  std::deque<RuleOrigin> origins;  // stable addresses for Decision::rule
  std::vector<Node> nodes;         // nodes[0] is "/"
  std::vector<NetEntry> connect, bind, net_deny;
  RuleOrigin metadata_origin;

  Impl() { nodes.emplace_back(); }

  std::uint32_t child(std::uint32_t n, std::string_view name) {
    for (const Child& c : nodes[n].children)
      if (nodes[c.node].name == name) return c.node;
    nodes.push_back(Node{std::string(name), {}, {}, 0, nullptr});
    auto id = static_cast<std::uint32_t>(nodes.size() - 1);
    nodes[n].children.push_back(Child{component_hash(name), id});
    return id;
  }

  void insert(Glob g, std::uint8_t kind, const RuleOrigin* origin) {
    std::uint32_t n = 0;
    std::string_view a = g.anchor();
    std::size_t i = 0;
    while (i < a.size()) {
      while (i < a.size() && a[i] == '/') ++i;
      std::size_t j = a.find('/', i);
      if (j == std::string_view::npos) j = a.size();
      if (j > i) n = child(n, a.substr(i, j - i));
      i = j;
    }
    nodes[n].entries.push_back(Entry{std::move(g), kind, origin});
  }

  void add_path_rule(const PathRule& r, std::uint8_t kind) {
    origins.push_back(r.origin);
    const RuleOrigin* o = &origins.back();
    std::string error;
    auto add = [&](const std::string& pattern) {
      auto globs = parse_pattern(pattern, &error);
      if (globs.empty())
        throw std::invalid_argument("bad pattern '" + r.origin.pattern + "': " + error);
      for (Glob& g : globs) insert(std::move(g), kind, o);
    };
    add(r.pattern);
    if (!r.resolved.empty() && r.resolved != r.pattern) add(r.resolved);
  }

  void add_net_rule(const NetRule& r, std::vector<NetEntry>* list) {
    origins.push_back(r.origin);
    std::string error;
    auto pat = parse_address_pattern(r.text, &error);
    if (!pat) throw std::invalid_argument("bad address '" + r.origin.pattern + "': " + error);
    list->push_back(NetEntry{std::move(*pat), &origins.back()});
    if (!r.resolved.empty() && r.resolved != r.text) {
      auto res = parse_address_pattern(r.resolved, &error);
      if (res) list->push_back(NetEntry{std::move(*res), &origins.back()});
    }
  }

  // Recomputes Node::below bottom-up (children always have larger indices).
  void finish() {
    for (Node& n : nodes) {
      n.below = 0;
      n.below_rule = nullptr;
    }
    for (std::size_t i = nodes.size(); i-- > 0;) {
      Node& n = nodes[i];
      for (const Child& c : n.children) {
        const Node& ch = nodes[c.node];
        std::uint8_t own = 0;
        const RuleOrigin* rule = ch.below_rule;
        for (const Entry& e : ch.entries)
          if (e.kind & kAllowKinds) {
            own |= e.kind;
            if (!rule) rule = e.origin;
          }
        std::uint8_t m = static_cast<std::uint8_t>((own | ch.below) & kAllowKinds);
        if (m) {
          n.below |= m;
          if (!n.below_rule) n.below_rule = rule;
        }
      }
    }
  }

  // Calls f(node) for the root and each node named by a leading component run of `path`.
  // Returns the last node when the whole path was consumed, else -1.
  template <class F>
  long walk(std::string_view path, F&& f) const noexcept {
    std::uint32_t n = 0;
    if (!f(nodes[0])) return -2;
    std::size_t i = 1;
    while (i < path.size()) {
      std::size_t j = path.find('/', i);
      if (j == std::string_view::npos) j = path.size();
      std::string_view comp = path.substr(i, j - i);
      std::uint32_t next = 0;
      std::uint64_t h = component_hash(comp);
      for (const Child& c : nodes[n].children) {
        if (c.hash != h) continue;
        const std::string& nm = nodes[c.node].name;
        if (nm.size() == comp.size() && std::memcmp(nm.data(), comp.data(), comp.size()) == 0) {
          next = c.node;
          break;
        }
      }
      if (next == 0) return -1;
      n = next;
      if (!f(nodes[n])) return -2;
      i = j + 1;
    }
    return static_cast<long>(n);
  }

  // One walk for both answers: the most specific deny rule of `deny_kinds` and the most
  // specific allow rule of `allow_kinds` (not looked for once a deny matched).
  void scan(std::string_view path, std::uint8_t deny_kinds, std::uint8_t allow_kinds, const RuleOrigin** deny,
            const RuleOrigin** allow) const noexcept {
    walk(path, [&](const Node& n) {
      bool allow_here = false;
      for (const Entry& e : n.entries) {
        if (e.kind & deny_kinds) {
          if (e.glob.match(path)) *deny = e.origin;  // deeper nodes overwrite: most specific
        } else if ((e.kind & allow_kinds) && !allow_here && !*deny && e.glob.match(path)) {
          *allow = e.origin;
          allow_here = true;
        }
      }
      return true;
    });
  }

  // Ancestor: some allow rule may match a path strictly below `dir`.
  const RuleOrigin* find_ancestor(std::string_view dir) const noexcept {
    const RuleOrigin* found = nullptr;
    long last = walk(dir, [&](const Node& n) {
      for (const Entry& e : n.entries)
        if ((e.kind & kAllowKinds) && e.glob.may_match_below(dir)) {
          found = e.origin;
          return false;
        }
      return true;
    });
    if (found) return found;
    if (last >= 0 && nodes[static_cast<std::size_t>(last)].below) return nodes[static_cast<std::size_t>(last)].below_rule;
    return nullptr;
  }
};

Engine::Engine(const Profile& profile) : Engine(Profile(profile)) {}

Engine::Engine(Profile&& moved) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.profile = std::move(moved);
  const Profile& profile = m.profile;
  for (const PathRule& r : profile.read) m.add_path_rule(r, kRead);
  for (const PathRule& r : profile.write) m.add_path_rule(r, kWrite);
  for (const PathRule& r : profile.deny) m.add_path_rule(r, kDeny);
  for (const PathRule& r : profile.deny_write) m.add_path_rule(r, kDenyWrite);
  for (const PathRule& r : profile.exec_allow) m.add_path_rule(r, kExec);
  for (const PathRule& r : profile.exec_deny) m.add_path_rule(r, kExecDeny);
  for (const NetRule& r : profile.connect) m.add_net_rule(r, &m.connect);
  for (const NetRule& r : profile.bind) m.add_net_rule(r, &m.bind);
  for (const NetRule& r : profile.net_deny) m.add_net_rule(r, &m.net_deny);
  m.metadata_origin = profile.metadata_origin;
  m.finish();
}

Engine::~Engine() = default;
Engine::Engine(Engine&&) noexcept = default;
Engine& Engine::operator=(Engine&&) noexcept = default;

const Profile& Engine::profile() const noexcept { return impl_->profile; }
bool Engine::metadata_open() const noexcept { return impl_->profile.metadata == MetadataMode::open; }

std::uint32_t Engine::rule_id(const RuleOrigin* rule) const noexcept {
  if (!rule) return 0;
  const Impl& m = *impl_;
  std::uint32_t i = 1;
  for (const RuleOrigin& o : m.origins) {
    if (&o == rule) return i;
    ++i;
  }
  return rule == &m.metadata_origin ? i : 0;
}

const RuleOrigin* Engine::rule_by_id(std::uint32_t id) const noexcept {
  const Impl& m = *impl_;
  if (id == 0) return nullptr;
  if (id <= m.origins.size()) return &m.origins[id - 1];
  return id == m.origins.size() + 1 ? &m.metadata_origin : nullptr;
}

Decision Engine::decide(const Request& req) const noexcept {
  const Impl& m = *impl_;
  Decision d;
  d.err = m.profile.deny_errno;
  auto allow = [&](const RuleOrigin* r, bool ancestor = false) {
    d.verdict = Verdict::allow;
    d.rule = r;
    d.err = 0;
    d.ancestor = ancestor;
    return d;
  };
  auto deny = [&](const RuleOrigin* r) {
    d.verdict = Verdict::deny;
    d.rule = r;
    return d;
  };

  if (req.category == Category::network) {
    if (req.op != Op::connect && req.op != Op::bind) return deny(nullptr);
    for (const NetEntry& e : m.net_deny)
      if (e.pat.matches(req.addr, req.host)) return deny(e.origin);
    for (const NetEntry& e : req.op == Op::connect ? m.connect : m.bind)
      if (e.pat.matches(req.addr, req.host)) return allow(e.origin);
    return deny(nullptr);
  }
  if (req.category != Category::file && req.category != Category::exec) return deny(nullptr);

  Op op = req.category == Category::exec ? Op::exec : req.op;
  std::uint8_t deny_kinds, allow_kinds;
  switch (op) {
    case Op::read: deny_kinds = kDeny; allow_kinds = kRead | kWrite; break;
    case Op::write: deny_kinds = kDeny | kDenyWrite; allow_kinds = kWrite; break;
    case Op::stat: deny_kinds = kDeny; allow_kinds = kRead | kWrite | kExec; break;
    case Op::exec: deny_kinds = kDeny | kExecDeny; allow_kinds = kExec; break;
    default: return deny(nullptr);
  }

  // Normalise into stack buffers only when needed.
  char pbuf[kPathMax], lbuf[kPathMax], abuf[kPathMax];
  std::string_view path = req.path, lex = req.lexical_path, alias;
  // Longer than any path the kernel resolves: undecidable, so denied (and globs need not
  // handle more components than a 4095-byte path can hold).
  if (path.size() >= kPathMax || lex.size() >= kPathMax) return deny(nullptr);
  if (!is_normalized_path(path) && !normalize_path(req.path, pbuf, sizeof pbuf, &path)) return deny(nullptr);
  if (!lex.empty() && !is_normalized_path(lex) && !normalize_path(req.lexical_path, lbuf, sizeof lbuf, &lex))
    return deny(nullptr);
  if (lex == path) lex = std::string_view();
  if (req.pid > 0 && path.substr(0, 6) == "/proc/") {
    // "/proc/PID[/...]" of the asking process also answers to "/proc/self[/...]".
    char num[16];
    int len = 0;
    for (std::int32_t v = req.pid; v > 0 && len < 15; v /= 10) num[len++] = static_cast<char>('0' + v % 10);
    std::string_view rest = path.substr(6);
    bool same = rest.size() >= static_cast<std::size_t>(len);
    for (int k = 0; same && k < len; ++k) same = rest[static_cast<std::size_t>(k)] == num[len - 1 - k];
    if (same && (rest.size() == static_cast<std::size_t>(len) || rest[static_cast<std::size_t>(len)] == '/')) {
      std::string_view tail = rest.substr(static_cast<std::size_t>(len));
      if (10 + tail.size() < sizeof abuf) {
        std::memcpy(abuf, "/proc/self", 10);
        std::memcpy(abuf + 10, tail.data(), tail.size());
        alias = std::string_view(abuf, 10 + tail.size());
      }
    }
  }

  // 1. deny rules (path as resolved and as given), 2. allow rules, in one walk per form.
  const RuleOrigin *denied = nullptr, *allowed = nullptr, *lex_allowed = nullptr, *alias_allowed = nullptr;
  m.scan(path, deny_kinds, allow_kinds, &denied, &allowed);
  if (!denied && !lex.empty())
    m.scan(lex, deny_kinds, req.lexical_trusted ? allow_kinds : 0, &denied, &lex_allowed);
  if (!denied && !alias.empty()) m.scan(alias, deny_kinds, allow_kinds, &denied, &alias_allowed);
  if (denied) return deny(denied);

  if (op == Op::stat && m.profile.metadata == MetadataMode::open) return allow(&m.metadata_origin);
  if (allowed) return allow(allowed);
  if (alias_allowed) return allow(alias_allowed);
  if (lex_allowed) return allow(lex_allowed);

  // 3. ancestors of allowed paths: metadata only.
  if (op == Op::stat) {
    if (const RuleOrigin* r = m.find_ancestor(path)) return allow(r, true);
    if (!alias.empty())
      if (const RuleOrigin* r = m.find_ancestor(alias)) return allow(r, true);
    if (req.lexical_trusted && !lex.empty())
      if (const RuleOrigin* r = m.find_ancestor(lex)) return allow(r, true);
  }
  return deny(nullptr);
}

Decision Engine::decide_move(std::string_view from_in, std::string_view to_in) const {
  const Impl& m = *impl_;
  Decision d;
  d.err = m.profile.deny_errno;
  std::string from = normalize_path(from_in), to = normalize_path(to_in);
  if (from.empty() || to.empty() || from.size() >= kPathMax || to.size() >= kPathMax) return d;
  struct Residual {
    std::uint8_t kind;
    std::string text;
    const RuleOrigin* rule;
    // deny_write, deny, then write: a deny rule is the one to name
    bool operator<(const Residual& o) const { return kind != o.kind ? kind > o.kind : text < o.text; }
    bool operator==(const Residual& o) const { return kind == o.kind && text == o.text; }
  };
  std::vector<Residual> below[2];
  std::vector<std::string> tmp;
  for (const Node& n : m.nodes)
    for (const Entry& e : n.entries) {
      // Read, exec and exec.deny rules cannot be widened by a move (what moves was writable).
      std::uint8_t k = e.kind & kWrite ? kWrite : e.kind & (kDeny | kDenyWrite);
      if (!k) continue;
      for (int side = 0; side < 2; ++side) {
        tmp.clear();
        if (!e.glob.residuals_below(side ? to : from, &tmp)) return d;
        for (std::string& r : tmp) below[side].push_back(Residual{k, std::move(r), e.origin});
      }
    }
  for (auto& v : below) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
  }
  // The first residual on one side only names the rule that tells the two apart.
  std::size_t i = 0, j = 0;
  while (i < below[0].size() || j < below[1].size()) {
    const Residual* odd = nullptr;
    if (j == below[1].size() || (i < below[0].size() && below[0][i] < below[1][j])) odd = &below[0][i];
    else if (i == below[0].size() || below[1][j] < below[0][i]) odd = &below[1][j];
    if (odd) {
      d.verdict = Verdict::deny;
      d.rule = odd->kind == kWrite ? nullptr : odd->rule;
      return d;
    }
    ++i;
    ++j;
  }
  d.verdict = Verdict::allow;
  d.err = 0;
  return d;
}

std::string Engine::tip(const Request& req) const {
  Decision d = decide(req);
  if (d.verdict == Verdict::allow) return {};
  if (d.rule) {
    return "# denied by " + d.rule->file + ":" + std::to_string(d.rule->line) + " (" + d.rule->pattern +
           "); deny rules override every allow";
  }
  // decide() refuses these before any rule is looked at: no rule would help.
  if (req.category != Category::network && (req.path.size() >= kPathMax || req.lexical_path.size() >= kPathMax))
    return "# refused whatever the profile says: the path is longer than PATH_MAX (4095 bytes), "
           "e.g. relative to a working directory nested that deep";
  const Profile& p = impl_->profile;
  if (req.category == Category::network) {
    if (req.op != Op::connect && req.op != Op::bind) return {};
    std::string addr = format_address(req.addr);
    if (!req.host.empty() && (req.addr.kind == NetAddr::Kind::ip || req.addr.kind == NetAddr::Kind::none))
      addr = std::string(req.host) + ":" + std::to_string(req.addr.port);
    if (addr.empty()) return {};
    return std::string("network: {") + (req.op == Op::connect ? "connect" : "bind") + ": [" + yaml_quote(addr) + "]}";
  }
  std::string path = normalize_path(req.path);
  if (path.empty()) return {};
  // Portable form: ${CWD} and ~ for the session's directory and home.
  std::string pat = glob_escape(path);
  auto under = [&](const char* var, const char* repl) {
    auto it = p.vars.find(var);
    if (it == p.vars.end() || it->second.size() <= 1) return false;
    const std::string& v = it->second;
    if (path == v || (path.size() > v.size() && path.compare(0, v.size(), v) == 0 && path[v.size()] == '/')) {
      pat = repl + glob_escape(std::string_view(path).substr(v.size()));
      return true;
    }
    return false;
  };
  if (!under("CWD", "${CWD}")) under("HOME", "~");
  Op op = req.category == Category::exec ? Op::exec : req.op;
  switch (op) {
    case Op::read:
    case Op::stat: return "files: {read: [" + yaml_quote(pat) + "]}";
    case Op::write: return "files: {write: [" + yaml_quote(pat) + "]}";
    case Op::exec: return "exec: {allow: [" + yaml_quote(pat) + "]}";
    default: return {};
  }
}

void Engine::add_rule(std::string_view kind, std::string_view pattern) {
  Impl& m = *impl_;
  RuleOrigin origin{"command line", 0, 0, std::string(pattern)};
  if (kind == "connect" || kind == "bind") {
    NetRule r{std::string(pattern), origin, {}};
    if (pattern.substr(0, 6) == "unix:/") r.resolved = "unix:" + resolve_pattern_prefix(pattern.substr(5));
    m.add_net_rule(r, kind == "connect" ? &m.connect : &m.bind);
    (kind == "connect" ? m.profile.connect : m.profile.bind).push_back(r);
    return;
  }
  std::vector<PathRule>* list = nullptr;
  std::uint8_t k = 0;
  if (kind == "read") list = &m.profile.read, k = kRead;
  else if (kind == "write") list = &m.profile.write, k = kWrite;
  else if (kind == "exec") list = &m.profile.exec_allow, k = kExec;
  else throw std::invalid_argument("unknown rule kind '" + std::string(kind) + "'");
  std::string p(pattern);
  auto var = [&](const char* n) {
    auto it = m.profile.vars.find(n);
    return it == m.profile.vars.end() ? std::string() : it->second;
  };
  // As a profile's patterns (loader: path_pattern), but relative to ${CWD}.
  if (!p.empty() && p[0] == '~' && (p.size() == 1 || p[1] == '/')) p = glob_escape(var("HOME")) + p.substr(1);
  else if (!p.empty() && p[0] != '/' && p.substr(0, 2) != "**") p = glob_escape(var("CWD")) + "/" + p;
  if (p.substr(0, 2) == "**") p = "/" + p;  // anywhere
  if (p.empty() || p[0] != '/') throw std::invalid_argument("bad pattern '" + std::string(pattern) + "': not an absolute path");
  if (dotdot_after_wildcard(p))
    throw std::invalid_argument("bad pattern '" + std::string(pattern) + "': '..' after a wildcard");
  bool trailing_slash = p.size() > 1 && p.back() == '/';
  if (std::string n = normalize_path(p); !n.empty()) p = n;
  if (trailing_slash && p != "/") p += "/**";  // "dir/" means the directory and what is below
  PathRule r{p, origin, resolve_pattern_prefix(p)};
  m.add_path_rule(r, k);
  list->push_back(r);
  m.finish();
}

}  // namespace guardian::policy
