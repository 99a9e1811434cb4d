// Observations -> rules, the way a careful human would write them.
//
// Choices, and why:
// - Paths under ${CWD}, ${HOME}, ${TMPDIR} are written with the variable (the longest
//   matching root wins), so the profile works for another user or checkout.
// - Temporary names become patterns only where they can be temporary: in a temporary
//   directory (TMPDIR, /tmp, /var/tmp, /dev/shm) or at a path the session itself created.
//   Recognised: mkstemp/mktemp tails (>= 6 random-looking alphanumerics), Python's
//   tempfile names (tmp + 8 of [a-z0-9_]), hashes (>= 16 hex digits, and git-style
//   two-hex fan-out directories above them), and PIDs of the session inside names.
//   /proc/PID of the process itself becomes /proc/self.
// - A directory becomes DIR/** for reading only when the command used at least
//   tree_min_paths (8) distinct paths below it spread over at least tree_min_branches (2)
//   of its children; the highest such directory wins. Never at /, never one level below
//   / (no /usr/**, /etc/**), never at system containers (/usr/lib, /usr/share, ...),
//   never at or above ${HOME}, ${CWD}, ${TMPDIR}, and never inside /proc or /dev.
// - Writes are never widened by counting: a written path is listed as written, except
//   below a directory the session created (mkdir), which becomes DIR/** for writing; the
//   same limits on where a tree may start apply, and in ${HOME} it must be two levels down.
// - Writing implies reading: no read rule is written for what a write rule covers.
// - Metadata-only paths (stat, access, readlink) need no rule when they are ancestors of
//   an allowed path; the rest join the read rules, or, past metadata_open_min of them,
//   turn into `metadata: open`.
#include "policy/learn/generalise.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <map>
#include <set>

namespace guardian::policy::learn {

namespace {

std::vector<std::string_view> split(std::string_view p) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < p.size()) {
    if (p[i] == '/') { ++i; continue; }
    std::size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    out.push_back(p.substr(i, j - i));
    i = j;
  }
  return out;
}

bool under(std::string_view path, std::string_view root) {
  if (root.empty()) return false;
  if (root == "/") return true;
  return path == root || (path.size() > root.size() && path.substr(0, root.size()) == root &&
                          path[root.size()] == '/');
}

bool is_hex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
}
bool is_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}
bool is_alnum(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }

// A literal piece of a name, with every glob or variable character replaced by '?' (one
// character, so the rule still names exactly that spelling up to the odd character).
std::string esc(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool meta = c == '*' || c == '?' || c == '[' || c == ']' || c == '{' || c == '}' || c == '\\' ||
                c == '$' || c == ',' || (i == 0 && c == '~') || static_cast<unsigned char>(c) < 0x20;
    out += meta ? '?' : c;
  }
  return out;
}

// Random-looking: mixes letters with digits, or upper with lower case.
bool random_looking(std::string_view r) {
  bool digit = false, lower = false, upper = false;
  for (char c : r) {
    if (c >= '0' && c <= '9') digit = true;
    else if (is_lower(c)) lower = true;
    else if (c >= 'A' && c <= 'Z') upper = true;
  }
  return (digit && (lower || upper)) || (lower && upper);
}

// Replaces PIDs of the session inside a name by '*'; the rest escaped.
std::string pid_pattern(std::string_view name, const std::set<std::int64_t>& pids, bool& changed) {
  std::string out;
  std::size_t i = 0;
  while (i < name.size()) {
    if (name[i] >= '0' && name[i] <= '9') {
      std::size_t j = i;
      while (j < name.size() && name[j] >= '0' && name[j] <= '9') ++j;
      std::string_view run = name.substr(i, j - i);
      bool bounded = (i == 0 || !is_alnum(name[i - 1])) && (j == name.size() || !is_alnum(name[j]));
      if (run.size() >= 2 && run.size() <= 10 && bounded && pids.count(std::stoll(std::string(run)))) {
        out += '*';
        changed = true;
      } else {
        out += esc(run);
      }
      i = j;
    } else {
      std::size_t j = i;
      while (j < name.size() && !(name[j] >= '0' && name[j] <= '9')) ++j;
      out += esc(name.substr(i, j - i));
      i = j;
    }
  }
  return out;
}

// The pattern for one name that may be temporary; the escaped name when it does not look so.
// `in_temp`: the name lies in a temporary directory, where any name may be random: Python's
// tempfile also creates bare 8-character names, and a random run may happen to look like a word.
std::string temp_component(std::string_view name, const std::set<std::int64_t>& pids, bool in_temp) {
  auto py_char = [](char c) { return is_lower(c) || (c >= '0' && c <= '9') || c == '_'; };
  if (name.size() >= 16 && is_hex(name)) return "*";  // content hashes (git objects, caches)
  // Python's tempfile probes a new TMPDIR with a bare name of 8 of [a-z0-9_]
  if (name.size() == 8 && std::all_of(name.begin(), name.end(), py_char) &&
      (in_temp || random_looking(name) || name.find('_') != std::string_view::npos))
    return "????????";
  // Python tempfile: "tmp" + 8 of [a-z0-9_], then the caller's suffix. Outside a temporary
  // directory "tmp_..." is more likely a word; inside one the random part may start with
  // '_' (1 name in 37), and the next run's name would otherwise be denied.
  if (name.size() >= 11 && name.substr(0, 3) == "tmp" && name[3] != '.' &&
      (name[3] != '_' || in_temp) && name[3] != '-') {
    std::string_view r = name.substr(3, 8);
    bool ok = std::all_of(r.begin(), r.end(), py_char);
    if (ok && (name.size() == 11 || name[11] == '.' || name[11] == '-' || name[11] == '_'))
      return "tmp????????" + esc(name.substr(11));
  }
  // mkstemp / mktemp: runs of >= 6 random-looking alphanumerics anywhere in the name
  // ("ccMnWY7o.cdtor.c", "tmp.Q2wE4rT6yU"); at the start of the name, the leading lowercase
  // letters are a literal prefix as long as 6 characters remain ("cc" + XXXXXX).
  // One '?' per random character: "cc??????.s" cannot match a longer name such as
  // mktemp's "tmp.XXXXXXXXXX" holding the working directory.
  std::string out;
  bool templated = false;
  std::size_t i = 0;
  while (i < name.size()) {
    if (!is_alnum(name[i])) {
      out += esc(name.substr(i, 1));
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < name.size() && is_alnum(name[j])) ++j;
    std::string_view run = name.substr(i, j - i);
    std::size_t keep = 0;
    bool random = false;
    if (run.size() >= 6) {
      if (i == 0) {
        while (keep < run.size() && is_lower(run[keep])) ++keep;
        keep = std::min(keep, run.size() - 6);
      }
      random = random_looking(run.substr(keep)) || (in_temp && i == 0 && run.size() >= 8);
    }
    if (random) {
      out += esc(run.substr(0, keep)) + std::string(run.size() - keep, '?');
      templated = true;
    } else {
      bool changed = false;
      out += pid_pattern(run, pids, changed);
    }
    i = j;
  }
  if (templated) return out;
  bool changed = false;
  return pid_pattern(name, pids, changed);
}

const char* const kContainers[] = {
    "/usr/lib", "/usr/lib32", "/usr/lib64", "/usr/libx32", "/usr/libexec", "/usr/share", "/usr/local",
    "/usr/bin", "/usr/sbin", "/usr/src", "/var/lib", "/var/cache", "/var/log", "/var/spool",
    "/var/tmp", "/run/user", "/usr/local/lib", "/usr/local/share", "/opt", "/srv", "/mnt", "/media",
};
const char* const kTempRoots[] = {"/tmp", "/var/tmp", "/dev/shm"};

struct Agg {
  std::uint64_t ops = 0;
  std::string example;
  std::string real;  // the real path of the first observation (for ancestor checks)
  bool read = false, write = false, stat = false, mkdir = false;
  bool renamed = false;  // a rename's end (a directory moved there brings what lies below)
};

struct Node {
  std::map<std::string, Node, std::less<>> kids;
  const Agg* leaf = nullptr;  // a path ends here
  std::size_t paths = 0;      // distinct paths in the subtree
};

// A key with its leading variable replaced by the value: a pattern over real paths.
std::string expand(std::string_view key, const LearnOptions& o) {
  const std::pair<std::string_view, const std::string*> roots[] = {
      {"${CWD}", &o.cwd}, {"${HOME}", &o.home}, {"${TMPDIR}", &o.tmpdir}};
  for (const auto& [var, val] : roots)
    if (key.substr(0, var.size()) == var && (key.size() == var.size() || key[var.size()] == '/'))
      return *val + std::string(key.substr(var.size()));
  return std::string(key);
}

// True when the pattern (or a tree at it) would reach ${CWD}, ${HOME} or ${TMPDIR}
// themselves or one of their ancestors: such a wildcard would hand the roots over.
bool reaches_root(std::string_view key, const LearnOptions& o) {
  std::string ex = expand(key, o);
  if (ex.size() > 3 && ex.substr(ex.size() - 3) == "/**") ex.resize(ex.size() - 3);
  for (const std::string* v : {&o.cwd, &o.home, &o.tmpdir})
    if (!v->empty() && pattern_covers(ex + "/**", *v)) return true;
  return false;
}

// The expanded (real) spelling of a key's literal prefix (up to the first wildcard).
std::string real_prefix(std::string_view key, const LearnOptions& o) {
  std::string out;
  auto comps = split(key);
  for (std::size_t i = 0; i < comps.size(); ++i) {
    std::string_view c = comps[i];
    if (i == 0 && c == "${CWD}") { out = o.cwd; continue; }
    if (i == 0 && c == "${HOME}") { out = o.home; continue; }
    if (i == 0 && c == "${TMPDIR}") { out = o.tmpdir; continue; }
    if (c.find_first_of("*?") != std::string_view::npos) break;
    out += '/';
    out += c;
  }
  return out.empty() ? "/" : out;
}

class Generaliser {
 public:
  Generaliser(const std::vector<Observation>& obs, const LearnOptions& o) : obs_(obs), o_(o) {
    pids_.insert(o.pids.begin(), o.pids.end());
  }

  Learned run() {
    Learned L;
    std::set<std::string> written;  // real paths the session wrote (created)
    for (const auto& ob : obs_)
      if (ob.op == Op::write && ob.category == Category::file) written.insert(ob.path);
    // "DIR/*" asks whether the session wrote a hash-named entry in DIR (a fan-out directory)
    std::set<std::string> fanout;
    for (const auto& w : written) {
      auto slash = w.rfind('/');
      std::string_view leaf = std::string_view(w).substr(slash + 1);
      if (slash != std::string::npos && slash > 0 && leaf.size() >= 16 && is_hex(leaf))
        fanout.insert(w.substr(0, slash) + "/*");
    }
    auto created = [&](std::string_view p) {
      return written.count(std::string(p)) > 0 || fanout.count(std::string(p)) > 0;
    };

    // Hosts bound on port 0 (the kernel picks the port): the listen() that follows is decided
    // on the port picked, another each run, so both learn HOST:* (a test suite's server on
    // 127.0.0.1:0 was refused its listen with the port of the learning run).
    std::set<std::string> ephemeral;
    for (const auto& ob : obs_)
      if (ob.category == Category::network && ob.op == Op::bind && ob.addr.size() > 2 &&
          ob.addr.compare(ob.addr.size() - 2, 2, ":0") == 0)
        ephemeral.insert(ob.addr.substr(0, ob.addr.size() - 2));
    std::map<std::string, Agg> files;  // key -> evidence
    std::map<std::string, Agg> execs;
    std::map<std::string, Agg> connects, binds;
    std::set<std::string> allowed_real;  // real paths that will be allowed (for ancestors)
    for (const auto& ob : obs_) {
      L.total_ops += ob.count;
      if (o_.already_allowed && o_.already_allowed(ob)) {
        L.covered_ops += ob.count;
        if (ob.op != Op::stat) allowed_real.insert(ob.path);
        continue;
      }
      if (ob.category == Category::network) {
        if (ob.op == Op::connect && ob.addr.size() > 3 && ob.addr.substr(ob.addr.size() - 3) == ":53" &&
            ob.addr.rfind("unix:", 0) != 0) {
          L.dns = true;
          L.dns_ops += ob.count;
          continue;
        }
        std::string k = net_key(ob, created);
        if (ob.op == Op::bind && ob.addr.rfind("unix:", 0) != 0) {
          auto colon = ob.addr.rfind(':');
          std::string host = colon == std::string::npos ? "" : ob.addr.substr(0, colon);
          bool port0 = colon != std::string::npos && ob.addr.size() == colon + 2 && ob.addr[colon + 1] == '0';
          if (ephemeral.count(host) && (port0 || ob.syscall == "listen")) k = host + ":*";
        }
        Agg& a = (ob.op == Op::bind ? binds : connects)[k];
        add(a, ob);
        continue;
      }
      if (ob.category == Category::file && ob.op != Op::read && ob.op != Op::write && ob.op != Op::stat &&
          ob.op != Op::exec)
        continue;  // not something a files rule describes
      // guardian's own LD_PRELOAD shim: `guardian run` allows it by itself, wherever installed
      if (ob.path.size() >= 23 && ob.path.compare(ob.path.size() - 23, 23, "/libguardian-preload.so") == 0) {
        L.covered_ops += ob.count;
        continue;
      }
      std::string k = path_key(ob.path, o_, ob.pid, created);
      if (ob.op == Op::exec || ob.category == Category::exec) {
        add(execs[k], ob);
        allowed_real.insert(ob.path);
        continue;
      }
      Agg& a = files[k];
      add(a, ob);
      if (ob.op == Op::write) {
        a.write = true;
        if (ob.syscall.find("mkdir") != std::string::npos) a.mkdir = true;
        if (ob.syscall.find("rename") != std::string::npos) a.renamed = true;
      } else if (ob.op == Op::stat) {
        a.stat = true;
      } else {
        a.read = true;
      }
      if (ob.op != Op::stat) allowed_real.insert(ob.path);
    }

    // A directory the session moved into place (`mv build.tmp build`, cp -a then mv) is
    // one it made as much as by mkdir: the move is decided on the whole tree below both
    // ends, so the rule must be DIR/** (a rule for each path seen below it refused the same
    // move next time). Known as a directory by the paths seen below it.
    for (auto& [k, a] : files) {
      if (!a.renamed || a.mkdir) continue;
      auto below = files.lower_bound(k + "/");
      if (below != files.end() && below->first.compare(0, k.size() + 1, k + "/") == 0) a.mkdir = true;
    }
    // Writes: trees below directories the session created, then single paths.
    std::vector<std::string> trees;
    for (auto& [k, a] : files) {
      if (!a.mkdir || !write_tree_ok(k)) continue;
      // A named copy: clang 14 (tools/fuzz) cannot capture a structured binding in a lambda.
      const std::string& dir = k;
      bool inner = std::any_of(trees.begin(), trees.end(), [&](const std::string& t) { return pattern_covers(t, dir); });
      if (!inner) trees.push_back(k + "/**");
    }
    for (const auto& t : trees) L.write.push_back(LearnedRule{t, 0, 0, "", false});
    for (auto& [k, a] : files) {
      if (!a.write) continue;
      if (LearnedRule* r = covering(L.write, k)) {
        account(*r, a);
        continue;
      }
      LearnedRule r{k, 0, 0, "", false};
      account(r, a);
      L.write.push_back(r);
    }
    for (const auto& r : L.write) allowed_real.insert(real_prefix(r.pattern, o_));

    // Every ancestor of an allowed path may be stat'ed: collect them.
    std::set<std::string> ancestors;
    for (const auto& p : allowed_real) {
      std::string cur = p;
      while (true) {
        auto slash = cur.rfind('/');
        if (slash == std::string::npos) break;
        cur = slash == 0 ? "/" : cur.substr(0, slash);
        if (!ancestors.insert(cur).second) break;
        if (cur == "/") break;
      }
    }

    // Reads (and metadata): what no write rule covers, collapsed into trees on evidence.
    Node root;
    for (auto& [k, a] : files) {
      if (a.write) continue;
      if (LearnedRule* r = covering(L.write, k)) {
        account(*r, a);
        continue;
      }
      if (!a.read && a.stat && ancestors.count(a.real)) {
        L.ancestor_ops += a.ops;
        continue;
      }
      Node* n = &root;
      n->paths++;
      for (auto c : split(k)) {
        n = &n->kids[std::string(c)];
        n->paths++;
      }
      n->leaf = &a;
    }
    collapse(root, "", 0, L.read);

    std::size_t stat_rules = 0;
    for (const auto& r : L.read) stat_rules += r.stat_only ? 1 : 0;
    if (stat_rules >= o_.thresholds.metadata_open_min) {
      L.metadata_open = true;
      std::vector<LearnedRule> keep;
      for (auto& r : L.read) {
        if (r.stat_only) L.metadata_ops += r.ops;
        else keep.push_back(std::move(r));
      }
      L.read = std::move(keep);
    }

    for (auto& [k, a] : execs) L.exec.push_back(LearnedRule{k, a.ops, 1, a.example, false});
    for (auto& [k, a] : connects) L.connect.push_back(LearnedRule{k, a.ops, 1, a.example, false});
    for (auto& [k, a] : binds) L.bind.push_back(LearnedRule{k, a.ops, 1, a.example, false});
    return L;
  }

 private:
  static void add(Agg& a, const Observation& ob) {
    if (a.ops == 0) {
      a.example = ob.category == Category::network ? ob.addr : ob.path;
      a.real = ob.path;
    }
    a.ops += ob.count;
  }
  static void account(LearnedRule& r, const Agg& a) {
    if (r.paths == 0) r.example = a.example;
    r.ops += a.ops;
    r.paths += 1;
  }
  static LearnedRule* covering(std::vector<LearnedRule>& rules, std::string_view key) {
    for (auto& r : rules)
      if (pattern_covers(r.pattern, key)) return &r;
    return nullptr;
  }

  std::string net_key(const Observation& ob, const std::function<bool(std::string_view)>& created) const {
    if (ob.addr.rfind("unix:/", 0) == 0) return "unix:" + path_key(ob.addr.substr(5), o_, ob.pid, created);
    if (ob.addr.rfind("unix:", 0) == 0) return "unix:" + esc(ob.addr.substr(5));
    if (!ob.host.empty()) {  // a name the program asked for outlives the address it got
      auto colon = ob.addr.rfind(':');
      if (colon != std::string::npos) return ob.host + ob.addr.substr(colon);
    }
    return ob.addr;
  }

  // The key's root (variable or temp root) and the depth below it, or depth below '/'.
  struct Where {
    std::string root;  // "${CWD}"... or "/tmp" or "" (absolute system path)
    std::size_t depth = 0;
  };
  Where where(std::string_view key) const {
    auto comps = split(key);
    Where w;
    if (!comps.empty() && comps[0].substr(0, 2) == "${") {
      w.root = std::string(comps[0]);
      w.depth = comps.size() - 1;
      return w;
    }
    std::string real(key);
    for (const char* t : kTempRoots)
      if (under(real, t)) {
        w.root = t;
        w.depth = split(key).size() - split(t).size();
        return w;
      }
    w.depth = comps.size();
    return w;
  }

  // May DIR (a key) become DIR/** at all? Shared limits for read and write trees.
  bool tree_ok(std::string_view key) const {
    if (key.find("**") != std::string_view::npos) return false;
    if (reaches_root(key, o_)) return false;  // also a tree holding another root
    Where w = where(key);
    if (!w.root.empty()) return w.depth >= 1;
    if (w.depth < 2) return false;
    std::string real(key);
    for (const char* c : kContainers)
      if (real == c) return false;
    if (under(real, "/proc") || under(real, "/dev")) return false;
    return real.find_first_of("*?") == std::string::npos;
  }

  bool write_tree_ok(std::string_view key) const {
    if (!tree_ok(key)) return false;
    Where w = where(key);
    if (w.root == "${HOME}" && w.depth < 2) return false;  // ~/.cache/** would be every tool's cache
    return true;
  }

  // Top-down: the highest directory with enough spread evidence becomes DIR/**.
  void collapse(const Node& n, const std::string& key, std::size_t depth, std::vector<LearnedRule>& out) const {
    if (depth > 0 && n.kids.size() >= o_.thresholds.tree_min_branches && n.paths >= o_.thresholds.tree_min_paths &&
        tree_ok(key)) {
      LearnedRule r{key + "/**", 0, 0, "", true};
      gather(n, r);
      out.push_back(std::move(r));
      return;
    }
    if (n.leaf != nullptr) {
      LearnedRule r{key.empty() ? "/" : key, 0, 0, "", true};
      add_leaf(*n.leaf, r);
      out.push_back(std::move(r));
    }
    for (const auto& [c, kid] : n.kids) {
      std::string k = (depth == 0 && c.substr(0, 2) == "${") ? c : key + "/" + c;
      collapse(kid, k, depth + 1, out);
    }
  }
  static void add_leaf(const Agg& a, LearnedRule& r) {
    account(r, a);
    if (a.read) r.stat_only = false;
  }
  static void gather(const Node& n, LearnedRule& r) {
    if (n.leaf != nullptr) add_leaf(*n.leaf, r);
    for (const auto& [c, kid] : n.kids) gather(kid, r);
  }

  const std::vector<Observation>& obs_;
  const LearnOptions& o_;
  std::set<std::int64_t> pids_;
};

}  // namespace

bool pattern_covers(std::string_view pattern, std::string_view key) {
  auto pc = split(pattern);
  auto kc = split(key);
  bool tree = !pc.empty() && pc.back() == "**";
  if (tree) pc.pop_back();
  if (tree ? kc.size() < pc.size() : kc.size() != pc.size()) return false;
  for (std::size_t i = 0; i < pc.size(); ++i) {
    std::string p(pc[i]), k(kc[i]);
    if (p == k) continue;
    if (fnmatch(p.c_str(), k.c_str(), 0) != 0) return false;
  }
  return true;
}

namespace {

std::string key_impl(std::string_view path, const LearnOptions& o, std::int64_t pid,
                     const std::function<bool(std::string_view)>& created, bool templates) {
  std::set<std::int64_t> pids(o.pids.begin(), o.pids.end());
  if (pid > 0) pids.insert(pid);
  // The longest variable root that holds the path.
  std::string out;
  std::size_t skip = 0;
  std::size_t best = 0;
  const std::pair<const char*, const std::string*> roots[] = {
      {"${CWD}", &o.cwd}, {"${HOME}", &o.home}, {"${TMPDIR}", &o.tmpdir}};
  bool in_temp = false;
  for (const auto& [var, val] : roots) {
    if (val->empty() || *val == "/" || !under(path, *val) || val->size() <= best) continue;
    best = val->size();
    out = var;
    skip = val->size();
    in_temp = std::string_view(var) == "${TMPDIR}";
  }
  if (best == 0)
    for (const char* t : kTempRoots)
      if (under(path, t)) in_temp = true;
  std::string real(path.substr(0, skip));
  auto comps = split(path.substr(skip));
  bool proc = best == 0 && !comps.empty() && comps[0] == "proc";
  bool templated = false;
  for (std::size_t i = 0; i < comps.size(); ++i) {
    std::string_view c = comps[i];
    real += '/';
    real += c;
    out += '/';
    if (proc && i == 1 && is_digits(c)) {
      out += (pid > 0 && c == std::to_string(pid)) ? "self" : "*";
      continue;
    }
    if (proc && i >= 3 && comps[i - 1] == "task" && is_digits(c)) {
      out += '*';
      continue;
    }
    bool maybe_temp = templates && (in_temp || (created && created(real)));
    // A two-hex fan-out directory that was there before, above a hash name the session
    // wrote (a new object in an older repository: git commit, the hard links of a local
    // git clone): the next object lands in another one, so it is a '*' as where the
    // session made it. Literal, the learned rule refused the same clone of a changed repository.
    if (!maybe_temp && templates && created && c.size() == 2 && is_hex(c) && i + 1 < comps.size() &&
        comps[i + 1].size() >= 16 && is_hex(comps[i + 1]) &&
        created(real + "/" + std::string(comps[i + 1]))) {
      out += '*';
      continue;
    }
    if (!maybe_temp) {
      out += esc(c);
      continue;
    }
    // git-style fan-out: a two-hex directory above a hash name
    if (c.size() == 2 && is_hex(c) &&
        (i + 1 < comps.size() ? comps[i + 1].size() >= 16 && is_hex(comps[i + 1])
                              : created && created(real + "/*"))) {
      out += '*';
      continue;
    }
    std::string t = temp_component(c, pids, in_temp);
    templated = templated || t != esc(c);
    out += t;
  }
  if (templated && reaches_root(out, o)) {
    // a temporary-name pattern that would also match a root (or hold one): keep it literal
    return key_impl(path, o, pid, created, false);
  }
  return out.empty() ? "/" : out;
}

}  // namespace

std::string path_key(std::string_view path, const LearnOptions& o, std::int64_t pid,
                     const std::function<bool(std::string_view)>& created) {
  return key_impl(path, o, pid, created, true);
}

Learned generalise(const std::vector<Observation>& obs, const LearnOptions& opts) {
  return Generaliser(obs, opts).run();
}

}  // namespace guardian::policy::learn
