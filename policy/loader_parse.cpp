// The sections of a profile file: key checks, types, variables, patterns and addresses.
#include <cctype>
#include <set>

#include "policy/address.hpp"
#include "policy/glob.hpp"
#include "policy/loader_impl.hpp"
#include "policy/values.hpp"

namespace guardian::policy {

namespace {

constexpr std::size_t kMaxRules = 20000;
constexpr std::size_t kMaxExpansion = 64 * 1024;
const char* const kBuiltinVars[] = {"HOME", "CWD", "TMPDIR", "USER", "UID", "PROFILE_DIR"};

bool valid_var_name(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

// A scalar YAML types as a string ("1", '1', !!str 1): wrong where a number or a boolean is
// expected (spec §2: wrong types are errors, never read as what they look like).
bool string_typed(const YAML::Node& n) {
  return n.IsScalar() && (n.Tag() == "!" || n.Tag() == "tag:yaml.org,2002:str");
}

bool is_builtin_var(std::string_view s) {
  for (const char* b : kBuiltinVars)
    if (s == b) return true;
  return false;
}

std::string glob_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '*' || c == '?' || c == '{' || c == '}' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

std::string quote_list(const std::vector<std::string_view>& v) {
  std::string out;
  for (std::string_view s : v) out += (out.empty() ? "" : ", ") + std::string(s);
  return out;
}

}  // namespace

RuleOrigin Loader::origin(const Unit& u, const YAML::Node& n, const std::string& pattern) const {
  return RuleOrigin{u.display, n.Mark().line + 1, n.Mark().column + 1, pattern};
}

bool Loader::fields(const Unit& u, const YAML::Node& map, const std::string& section,
                    const std::vector<std::string_view>& allowed, Fields* out) {
  std::map<std::string, int> seen;
  bool ok = true;
  std::string where = section.empty() ? "" : " in '" + section + "'";
  for (auto it = map.begin(); it != map.end(); ++it) {
    YAML::Node k = it->first;
    if (!k.IsScalar()) {
      error(u.display, k.Mark(), "keys must be plain names" + where);
      ok = false;
      continue;
    }
    std::string key = k.Scalar();
    bool known = false;
    for (std::string_view a : allowed) known = known || a == key;
    if (!known) {
      std::string hint = did_you_mean(key, allowed);
      error(u.display, k.Mark(),
            "unknown key '" + key + "'" + where +
                (hint.empty() ? " (expected one of: " + quote_list(allowed) + ")" : " (did you mean '" + hint + "'?)"));
      ok = false;
      continue;
    }
    if (auto s = seen.find(key); s != seen.end()) {
      error(u.display, k.Mark(), "duplicate key '" + key + "'" + where + " (first at line " + std::to_string(s->second) + ")");
      ok = false;
      continue;
    }
    seen[key] = k.Mark().line + 1;
    out->push_back({key, {k, it->second}});
  }
  return ok;
}

bool Loader::scalar(const Unit& u, const YAML::Node& n, const std::string& what, std::string* out) {
  if (!n.IsScalar()) {
    error(u.display, n.Mark(), "'" + what + "' must be a string");
    return false;
  }
  *out = n.Scalar();
  return true;
}

bool Loader::string_list(const Unit& u, const YAML::Node& n, const std::string& what, std::vector<YAML::Node>* out) {
  if (n.IsNull()) return true;  // "read:" with nothing: an empty list
  if (!n.IsSequence()) {
    error(u.display, n.Mark(), "'" + what + "' must be a list of strings");
    return false;
  }
  bool ok = true;
  for (const YAML::Node& e : n) {
    if (!e.IsScalar()) {
      error(u.display, e.Mark(), "'" + what + "' entries must be strings");
      ok = false;
      continue;
    }
    if (++rule_count_ > kMaxRules) {
      error(u.display, e.Mark(), "too many rules (more than 20000)");
      return false;
    }
    out->push_back(e);
  }
  return ok;
}

bool Loader::expand(const Unit& u, const YAML::Node& at, const std::string& in, Mode mode, std::string* out, int depth) {
  if (depth > 16) {
    error(u.display, at.Mark(), "variables nested more than 16 levels deep (a variable refers to itself?)");
    return false;
  }
  auto value_of = [&](const std::string& name, std::string* v) -> bool {
    referenced_.insert(name);
    if (auto o = ctx_.overrides.find(name); o != ctx_.overrides.end()) return expand(u, at, o->second, mode, v, depth + 1);
    if (auto o = unit_vars_.find(name); o != unit_vars_.end()) return expand(u, at, o->second, mode, v, depth + 1);
    std::string raw;
    if (name == "PROFILE_DIR") {
      if (u.builtin) {
        error(u.display, at.Mark(), "${PROFILE_DIR} is not defined in a built-in profile");
        return false;
      }
      raw = u.dir;
    } else if (auto b = ctx_.builtins.find(name); b != ctx_.builtins.end()) {
      raw = b->second;
    } else if (name == "CWD" || name == "HOME" || name == "USER") {
      // Built-ins the environment left without a value: said once, with why, since every
      // rule naming it would repeat the same line.
      if (missing_said_.insert(name).second)
        error(u.display, at.Mark(),
              name == "CWD"    ? "${CWD} has no value: the current directory cannot be read (was it removed?)"
              : name == "HOME" ? "${HOME} has no value: HOME is not set and the password database has no home "
                                 "directory for this user"
                               : "${USER} has no value: the password database has no entry for this user and "
                                 "USER is not set");
      return false;
    } else {
      error(u.display, at.Mark(), "undefined variable '" + name + "'");
      return false;
    }
    *v = mode == Mode::pattern ? glob_escape(raw) : raw;
    return true;
  };
  std::string r;
  std::size_t i = 0;
  if (!in.empty() && in[0] == '~' && (in.size() == 1 || in[1] == '/')) {
    std::string home;
    if (!value_of("HOME", &home)) return false;
    r = home;
    i = 1;
  }
  while (i < in.size()) {
    if (in[i] == '$' && i + 1 < in.size() && in[i + 1] == '{') {
      std::size_t close = in.find('}', i + 2);
      if (close == std::string::npos) {
        error(u.display, at.Mark(), "unterminated '${' in '" + in + "'");
        return false;
      }
      std::string name = in.substr(i + 2, close - i - 2);
      if (!valid_var_name(name)) {
        error(u.display, at.Mark(), "bad variable name '" + name + "' in '" + in + "'");
        return false;
      }
      std::string v;
      if (!value_of(name, &v)) return false;
      r += v;
      // Variables that each name another several times grow exponentially with depth (a
      // "billion laughs"): stop at a size no path or value needs.
      if (r.size() > kMaxExpansion) {
        error(u.display, at.Mark(), "this value expands to more than 64 KiB (variables that repeat each other?)");
        return false;
      }
      i = close + 1;
      continue;
    }
    r.push_back(in[i++]);
  }
  *out = std::move(r);
  return true;
}

bool Loader::path_pattern(const Unit& u, const YAML::Node& n, const std::string& what, PathRule* out) {
  std::string written = n.Scalar(), p;
  if (written.empty()) {
    error(u.display, n.Mark(), "empty pattern in '" + what + "'");
    return false;
  }
  if (!expand(u, n, written, Mode::pattern, &p)) return false;
  if (p.substr(0, 2) == "**") p = "/" + p;
  if (p.empty() || p[0] != '/') {
    error(u.display, n.Mark(), "pattern '" + written + "' in '" + what +
                                   "' is not an absolute path (start it with '/', '~', '**' or a variable such as ${CWD})");
    return false;
  }
  if (dotdot_after_wildcard(p)) {
    error(u.display, n.Mark(), "bad pattern '" + written + "': '..' after a wildcard");
    return false;
  }
  bool trailing_slash = p.size() > 1 && p.back() == '/';
  p = normalize_path(p);
  if (trailing_slash && p != "/") p += "/**";  // "dir/" means the directory and what is below
  std::string err;
  if (parse_pattern(p, &err).empty()) {
    error(u.display, n.Mark(), "bad pattern '" + written + "': " + err);
    return false;
  }
  *out = PathRule{p, origin(u, n, written), resolve_pattern_prefix(p, *facts_)};
  return true;
}

void Loader::path_list(const Unit& u, const YAML::Node& n, const std::string& what, std::vector<PathRule>* out) {
  std::vector<YAML::Node> items;
  string_list(u, n, what, &items);
  for (const YAML::Node& e : items) {
    PathRule r;
    if (path_pattern(u, e, what, &r)) out->push_back(std::move(r));
  }
}

void Loader::net_list(const Unit& u, const YAML::Node& n, const std::string& what, std::vector<NetRule>* out) {
  std::vector<YAML::Node> items;
  string_list(u, n, what, &items);
  for (const YAML::Node& e : items) {
    std::string written = e.Scalar(), text, err;
    bool is_unix_path = written.substr(0, 5) == "unix:" && written.substr(0, 6) != "unix:@";
    if (!expand(u, e, written, is_unix_path ? Mode::pattern : Mode::plain, &text)) continue;
    if (is_unix_path && text.size() > 5) {
      std::string path = text.substr(5);
      if (path[0] == '~') {
        std::string home;
        expand(u, e, path, Mode::pattern, &home);
        path = home;
      }
      if (path[0] == '/') text = "unix:" + normalize_path(path);
    }
    if (!parse_address_pattern(text, &err)) {
      error(u.display, e.Mark(), "bad address '" + written + "': " + err);
      continue;
    }
    NetRule r{text, origin(u, e, written), {}};
    if (is_unix_path && text.size() > 6) r.resolved = "unix:" + resolve_pattern_prefix(text.substr(5), *facts_);
    out->push_back(std::move(r));
  }
}

void Loader::parse_vars(const Unit& u, const YAML::Node& n) {
  if (n.IsNull()) return;
  if (!n.IsMap()) {
    error(u.display, n.Mark(), "'vars' must be a map of names to strings");
    return;
  }
  Fields fs;
  std::map<std::string, int> seen;
  for (auto it = n.begin(); it != n.end(); ++it) {
    std::string name;
    if (!it->first.IsScalar()) {
      error(u.display, it->first.Mark(), "variable names must be plain names");
      continue;
    }
    name = it->first.Scalar();
    if (!valid_var_name(name)) {
      error(u.display, it->first.Mark(), "bad variable name '" + name + "' (letters, digits and '_', not starting with a digit)");
      continue;
    }
    if (is_builtin_var(name)) {
      error(u.display, it->first.Mark(), "'" + name + "' is a built-in variable and cannot be redefined in 'vars'");
      continue;
    }
    if (auto s = seen.find(name); s != seen.end()) {
      error(u.display, it->first.Mark(), "duplicate key '" + name + "' in 'vars' (first at line " + std::to_string(s->second) + ")");
      continue;
    }
    seen[name] = it->first.Mark().line + 1;
    if (!it->second.IsScalar()) {
      error(u.display, it->second.Mark(), "'vars." + name + "' must be a string");
      continue;
    }
    unit_vars_[name] = it->second.Scalar();
  }
  // Check every value expands, and record the final (plain) values for consumers.
  for (auto it = n.begin(); it != n.end(); ++it) {
    if (!it->first.IsScalar()) continue;
    auto v = unit_vars_.find(it->first.Scalar());
    if (v == unit_vars_.end()) continue;
    std::string out;
    if (expand(u, it->second, v->second, Mode::plain, &out)) profile_.vars[v->first] = out;
  }
}

void Loader::parse_unit(const Unit& u, const YAML::Node& root, bool top) {
  if (!root || root.IsNull()) {
    error_at(u.display, 1, 1, "empty profile (expected a map starting with 'version: 1')");
    return;
  }
  if (!root.IsMap()) {
    error(u.display, root.Mark(), "a profile must be a YAML map (keys such as 'version', 'files', 'network')");
    return;
  }
  static const std::vector<std::string_view> top_keys = {
      "version", "name", "extends", "vars", "files", "exec", "network", "limits", "env", "on_deny", "deny_errno", "audit"};
  Fields fs;
  fields(u, root, "", top_keys, &fs);
  auto get = [&](std::string_view key) -> const std::pair<YAML::Node, YAML::Node>* {
    for (const auto& f : fs)
      if (f.first == key) return &f.second;
    return nullptr;
  };
  // version first: nothing else means anything without it.
  if (auto v = get("version")) {
    if (string_typed(v->second)) {
      error(u.display, v->second.Mark(), "'version' must be the number 1, not a string (write version: 1)");
      return;
    }
    if (!v->second.IsScalar() || v->second.Scalar() != "1") {
      error(u.display, v->second.Mark(),
            "unsupported version '" + (v->second.IsScalar() ? v->second.Scalar() : std::string("?")) +
                "' (this guardian reads version 1)");
      return;
    }
  } else {
    error_at(u.display, root.Mark().line + 1, root.Mark().column + 1, "missing required key 'version' (add 'version: 1')");
    return;
  }
  if (auto v = get("name")) {
    std::string name;
    if (scalar(u, v->second, "name", &name) && top) profile_.name = name;
  } else if (top) {
    if (u.builtin) {
      profile_.name = u.builtin_name;
    } else {
      std::string base = u.display.substr(u.display.rfind('/') + 1);
      for (const char* ext : {".yaml", ".yml"}) {
        std::string e(ext);
        if (base.size() > e.size() && base.compare(base.size() - e.size(), e.size(), e) == 0) base.resize(base.size() - e.size());
      }
      profile_.name = base;
    }
  }
  if (auto v = get("extends")) {
    const YAML::Node& ex = v->second;
    if (ex.IsScalar()) {
      error(u.display, ex.Mark(), "'extends' must be a list (write extends: [" + ex.Scalar() + "])");
    } else {
      std::vector<YAML::Node> items;
      string_list(u, ex, "extends", &items);
      for (const YAML::Node& e : items) {
        std::string ref;
        unit_vars_.clear();
        if (!expand(u, e, e.Scalar(), Mode::plain, &ref)) continue;
        if (ref.empty()) {
          error(u.display, e.Mark(), "empty entry in 'extends'");
          continue;
        }
        load_extends(u, ref, e.Mark());
      }
    }
  }
  unit_vars_.clear();
  if (auto v = get("vars")) parse_vars(u, v->second);
  if (auto v = get("files")) parse_files(u, v->second);
  if (auto v = get("exec")) parse_exec(u, v->second);
  if (auto v = get("network")) parse_network(u, v->second);
  if (auto v = get("limits")) parse_limits(u, v->second);
  if (auto v = get("env")) parse_env(u, v->second);
  if (auto v = get("audit")) parse_audit(u, v->second);
  if (auto v = get("on_deny")) {
    std::string s;
    if (scalar(u, v->second, "on_deny", &s)) {
      if (s == "errno") profile_.on_deny = OnDeny::errno_;
      else if (s == "kill") profile_.on_deny = OnDeny::kill;
      else if (s == "ask") profile_.on_deny = OnDeny::ask;
      else error(u.display, v->second.Mark(), "'on_deny' must be 'errno', 'kill' or 'ask', not '" + s + "'");
    }
  }
  if (auto v = get("deny_errno")) {
    std::string s;
    if (scalar(u, v->second, "deny_errno", &s)) {
      if (auto e = parse_errno(s)) profile_.deny_errno = *e;
      else error(u.display, v->second.Mark(), "'deny_errno' must be an errno name such as EACCES or EPERM, or a number, not '" + s + "'");
    }
  }
}

void Loader::parse_files(const Unit& u, const YAML::Node& n) {
  if (n.IsNull()) return;
  if (!n.IsMap()) {
    error(u.display, n.Mark(), "'files' must be a map (keys read, write, deny, deny_write, metadata)");
    return;
  }
  Fields fs;
  fields(u, n, "files", {"read", "write", "deny", "deny_write", "metadata"}, &fs);
  for (const auto& [key, kv] : fs) {
    const YAML::Node& v = kv.second;
    if (key == "read") path_list(u, v, "files.read", &profile_.read);
    else if (key == "write") path_list(u, v, "files.write", &profile_.write);
    else if (key == "deny") path_list(u, v, "files.deny", &profile_.deny);
    else if (key == "deny_write") path_list(u, v, "files.deny_write", &profile_.deny_write);
    else if (key == "metadata") {
      std::string s;
      if (!scalar(u, v, "files.metadata", &s)) continue;
      if (s == "checked") profile_.metadata = MetadataMode::checked;
      else if (s == "open") profile_.metadata = MetadataMode::open;
      else {
        error(u.display, v.Mark(), "'files.metadata' must be 'checked' or 'open', not '" + s + "'");
        continue;
      }
      profile_.metadata_origin = origin(u, v, "metadata: " + s);
    }
  }
}

void Loader::parse_exec(const Unit& u, const YAML::Node& n) {
  if (n.IsNull()) return;
  if (!n.IsMap()) {
    error(u.display, n.Mark(), "'exec' must be a map (keys allow, deny)");
    return;
  }
  Fields fs;
  fields(u, n, "exec", {"allow", "deny"}, &fs);
  for (const auto& [key, kv] : fs)
    path_list(u, kv.second, "exec." + key, key == "allow" ? &profile_.exec_allow : &profile_.exec_deny);
}

void Loader::parse_network(const Unit& u, const YAML::Node& n) {
  if (n.IsNull()) return;
  if (!n.IsMap()) {
    error(u.display, n.Mark(), "'network' must be a map (keys connect, bind, deny, dns)");
    return;
  }
  Fields fs;
  fields(u, n, "network", {"connect", "bind", "deny", "dns"}, &fs);
  for (const auto& [key, kv] : fs) {
    const YAML::Node& v = kv.second;
    if (key == "connect") net_list(u, v, "network.connect", &profile_.connect);
    else if (key == "bind") net_list(u, v, "network.bind", &profile_.bind);
    else if (key == "deny") net_list(u, v, "network.deny", &profile_.net_deny);
    else if (!v.IsScalar() || string_typed(v) || (v.Scalar() != "true" && v.Scalar() != "false"))
      error(u.display, v.Mark(), "'network.dns' must be true or false (a boolean, not a string)");
    else profile_.dns = v.Scalar() == "true";
  }
}

void Loader::parse_limits(const Unit& u, const YAML::Node& n) {
  if (n.IsNull()) return;
  if (!n.IsMap()) {
    error(u.display, n.Mark(), "'limits' must be a map (keys wall, cpu, memory, pids, nofile)");
    return;
  }
  Fields fs;
  fields(u, n, "limits", {"wall", "cpu", "memory", "pids", "nofile"}, &fs);
  for (const auto& [key, kv] : fs) {
    std::string s;
    std::string what = "limits." + key;
    if (!scalar(u, kv.second, what, &s)) continue;
    const YAML::Mark m = kv.second.Mark();
    if (key == "wall" || key == "cpu") {
      auto d = parse_duration(s);
      if (!d) error(u.display, m, "bad duration '" + s + "' for '" + what + "' (expected e.g. 90s, 10m, 1h30m)");
      else (key == "wall" ? profile_.limits.wall_s : profile_.limits.cpu_s) = *d;
    } else if (key == "memory") {
      auto b = parse_size(s);
      if (!b) error(u.display, m, "bad size '" + s + "' for '" + what + "' (expected e.g. 512M, 2GiB)");
      else profile_.limits.memory_bytes = *b;
    } else {
      unsigned long v = 0;
      bool ok = !string_typed(kv.second) && !s.empty() && s.size() <= 9 &&
                s.find_first_not_of("0123456789") == std::string::npos;
      if (ok) v = std::stoul(s);
      if (!ok || v == 0)
        error(u.display, m, "'" + what + "' must be a positive integer, not " +
                                (string_typed(kv.second) ? "the string '" : "'") + s + "'");
      else (key == "pids" ? profile_.limits.pids : profile_.limits.nofile) = static_cast<std::uint32_t>(v);
    }
  }
}

void Loader::parse_env(const Unit& u, const YAML::Node& n) {
  if (n.IsNull()) return;
  if (n.IsScalar() && n.Scalar() == "default") {
    env_drop_given_ = true;
    for (const std::string& d : default_env_drop()) profile_.env.drop.push_back(d);
    return;
  }
  if (!n.IsMap()) {
    error(u.display, n.Mark(), "'env' must be a map (keys keep, drop, set) or 'default'");
    return;
  }
  Fields fs;
  fields(u, n, "env", {"keep", "drop", "set"}, &fs);
  for (const auto& [key, kv] : fs) {
    const YAML::Node& v = kv.second;
    if (key == "set") {
      if (v.IsNull()) continue;
      if (!v.IsMap()) {
        error(u.display, v.Mark(), "'env.set' must be a map of names to strings");
        continue;
      }
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!it->first.IsScalar() || !it->second.IsScalar()) {
          error(u.display, it->second.Mark(), "'env.set' must be a map of names to strings");
          continue;
        }
        std::string name = it->first.Scalar(), val;
        if (name.empty() || name.find('=') != std::string::npos) {
          error(u.display, it->first.Mark(), "bad environment variable name '" + name + "'");
          continue;
        }
        if (!expand(u, it->second, it->second.Scalar(), Mode::plain, &val)) continue;
        profile_.env.set.emplace_back(name, val);
      }
      continue;
    }
    std::vector<YAML::Node> items;
    string_list(u, v, "env." + key, &items);
    if (key == "keep") profile_.env.has_keep = true;
    else env_drop_given_ = true;
    for (const YAML::Node& e : items) {
      if (key == "drop" && e.Scalar() == "default") {
        for (const std::string& d : default_env_drop()) profile_.env.drop.push_back(d);
        continue;
      }
      (key == "keep" ? profile_.env.keep : profile_.env.drop).push_back(e.Scalar());
    }
  }
}

void Loader::parse_audit(const Unit& u, const YAML::Node& n) {
  if (n.IsNull()) return;
  if (!n.IsMap()) {
    error(u.display, n.Mark(), "'audit' must be a map (key decisions)");
    return;
  }
  Fields fs;
  fields(u, n, "audit", {"decisions"}, &fs);
  for (const auto& [key, kv] : fs) {
    std::string s;
    if (!scalar(u, kv.second, "audit.decisions", &s)) continue;
    if (s == "all") profile_.audit = AuditLevel::all;
    else if (s == "deny") profile_.audit = AuditLevel::deny;
    else error(u.display, kv.second.Mark(), "'audit.decisions' must be 'all' or 'deny', not '" + s + "'");
  }
}

}  // namespace guardian::policy
