// Profile -> Landlock envelope (see landlock_envelope.hpp): prefixes, ports and scopes.
#include "landlock_envelope.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <map>
#include <optional>
#include <unordered_map>

#include <fmt/format.h>

#include "fs_facts.hpp"
#include "link_cache.hpp"
#include "landlock_ports.hpp"

namespace guardian::policy {
namespace {

// Entries an alias scan reads in one directory before it stops (and says so).
constexpr std::size_t kScanBudget = 4096;

bool has_glob(std::string_view comp) {
  return comp.find_first_of("*?[{\\") != std::string_view::npos;
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

// Directories whose links are never followed: the root and the kernel's pseudo file systems.
bool is_unscanned(const std::string& dir) {
  return dir == "/" || dir == "/proc" || dir == "/sys" || dir == "/dev";
}

class Builder {
 public:
  Builder(Envelope& env, bool follow_aliases, std::shared_ptr<FsFacts> facts, LinkCache* cache, bool reuse)
      : env_(env), owned_facts_(facts ? std::move(facts) : std::make_shared<FsFacts>()),
        facts_(owned_facts_.get()), follow_aliases_(follow_aliases), reader_{kScanBudget + 1, kScanBudget, cache, reuse} {}

  // Adds the envelope entry for one path pattern with the given access. Write rules must be
  // added before read and exec rules (expansion below asks what is writable).
  void add_pattern(const std::string& pattern, std::uint8_t access, const std::string& why, int depth = 0) {
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
      bool dir = facts_->is_dir(*real).value_or(false);
      std::string rest = prefix.size() < pattern.size() ? pattern.substr(prefix.size()) : "";
      while (!rest.empty() && rest[0] == '/') rest.erase(0, 1);
      if (dir && !rest.empty() && depth < 4 && expand(*real, rest, access, why, depth)) return;
      put(*real, access, dir, why);
      // Links in a writable directory could have been planted: never followed, never scanned.
      if (dir && !rest.empty() && !(access & kEnvWrite) && !covered(*real, kEnvWrite)) {
        Scan sc{*real, rest.substr(0, rest.find('/')), access, why};
        bool dup = std::any_of(scans_.begin(), scans_.end(), [&](const Scan& o) {
          return o.dir == sc.dir && o.component == sc.component && (o.access & sc.access) == sc.access;
        });
        if (!dup) {
          // Its links are read from now on, while the other rules are resolved.
          if (follow_aliases_ && !is_unscanned(sc.dir)) reader_.add(sc.dir);
          scans_.push_back(std::move(sc));
        }
      }
      return;
    }
    // Creating the path needs write rights on the deepest ancestor that exists.
    std::string anc = parent_of(prefix);
    while (anc != "/" && !resolve(anc)) anc = parent_of(anc);
    std::string real = resolve(anc).value_or("/");
    if (!(access & kEnvWrite)) {
      // Nothing there to read or run now. A whole tree the session may create (a build's
      // output directory, `exec: ${CWD}/build/**`, which cargo and cmake make on their first
      // run): what it creates there is read or run as the rule says, so the right is widened
      // to the ancestor it creates it in (the supervisor decides each exec and read; a
      // tracer's hand-over is then refused, exec_gap.cpp). Narrower rules (default's
      // ${CWD}/.git/hooks/*) and places the session cannot create: nothing.
      std::string tail = pattern.substr(std::min(prefix.size(), pattern.size()));
      if (real != "/" && (tail == "/**" || tail == "**") && covered(real, kEnvWrite)) {
        note(fmt::format("'{}' does not exist yet: {} widened to '{}' for {}", prefix,
                         access & kEnvExec ? "exec" : "read", real, why));
        put(real, access, true, why);
        return;
      }
      note(fmt::format("'{}' does not exist: nothing granted for {}", prefix, why));
      return;
    }
    note(fmt::format("'{}' does not exist yet: write widened to '{}' for {}", prefix, real, why));
    put(real, access, true, why);
  }

  // A glob in a component other than `**` below a directory nobody in the session can write
  // ("/etc/python3*/**", "/usr/bin/python3*") is expanded against what exists now, so the
  // envelope names the matches rather than the whole directory (/etc). Not for write rules
  // (their matches may not exist yet) nor beneath write prefixes (the session may create new
  // matches there). Returns false to fall back to the directory itself.
  bool expand(const std::string& dir, const std::string& rest, std::uint8_t access, const std::string& why,
              int depth) {
    std::string comp = rest.substr(0, rest.find('/'));
    std::string tail = rest.size() > comp.size() ? rest.substr(comp.size()) : "";
    if ((access & kEnvWrite) || comp.find("**") != std::string::npos ||
        comp.find_first_of("{\\") != std::string::npos || covered(dir, kEnvWrite))
      return false;
    // The whole directory, kept for later lookups in it. Read once per computation: the
    // profile's load has often listed it already (/etc, for its many rules there), and
    // default and base expand several globs in /etc, each of which read it again (open,
    // getdents of 4.6 KiB, two hundred names copied) on the envelope's critical path. Only
    // listings read now are held here: those kept from earlier runs (LinkCache) enter the
    // facts in follow_aliases, after every expansion.
    const std::vector<FsFacts::Entry>* held = facts_->complete_listing(dir);
    std::vector<FsFacts::Entry> read;
    bool complete = held != nullptr;
    if (!held) {
      int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0) return false;
      complete = FsFacts::read_dir(fd, read);
      ::close(fd);
    }
    const std::vector<FsFacts::Entry>& listing = held ? *held : read;
    std::vector<std::string> matches;
    bool too_many = false;
    for (const auto& [name, type] : listing) {
      if (name == "." || name == ".." || ::fnmatch(comp.c_str(), name.c_str(), 0) != 0) continue;
      if (matches.size() >= 64) {
        too_many = true;
        break;
      }
      matches.push_back(name);
    }
    if (complete && !held) facts_->add_listing(dir, std::move(read), false);
    if (too_many) return false;
    if (matches.empty()) note(fmt::format("'{}/{}' matches nothing now: nothing granted for {}", dir, rest, why));
    std::sort(matches.begin(), matches.end());
    for (const auto& m : matches) {
      std::string path = (dir == "/" ? "" : dir) + "/" + m;
      // A symlink among the matches counts only if the session could not have planted it.
      bool is_dir = false;
      auto target = trusted_target(path, is_dir);
      if (!target) continue;
      if (tail.empty()) {
        put(*target, access, is_dir, why);
      } else if (is_dir) {
        add_pattern(*target + tail, access, why, depth + 1);
      }
    }
    return true;
  }

  // Adds one exact file (loader, the command) with exec access, if it exists.
  void add_file(const std::string& path, std::uint8_t access, const std::string& why) {
    auto real = resolve(path);
    if (!real) return;
    auto dir = facts_->is_dir(*real);
    if (!dir) return;
    put(*real, access, *dir, why);
  }

  // Symlinks in a rule's directory that point elsewhere (/usr/bin/clang -> /usr/lib/llvm/..,
  // /usr/bin/java -> /etc/alternatives/java -> /usr/lib/jvm/..): the supervisor matches the
  // link's own name when every link on the way lies where the session cannot write (spec §2,
  // system aliases), but Landlock checks the target's inode. Add such targets so the
  // envelope stays a superset. Only the rule's own directory is scanned (one level), and
  // only entries its next pattern component matches.
  void follow_aliases() {
    // One pass per directory, whatever number of rules (read via /bin/**, exec via
    // /usr/bin/**) asked for it: each link is resolved once.
    std::map<std::string, std::vector<const Scan*>> by_dir;
    for (const auto& sc : scans_)
      if (!is_unscanned(sc.dir)) by_dir[sc.dir].push_back(&sc);
    // Listings and link texts were read by reader_ since each directory was named (the
    // bulk of the syscalls, on two threads now); the chains are followed in order, one
    // directory after another, as before.
    reader_.finish();
    std::vector<FsFacts::DirLinks*> dirs;
    std::vector<const std::vector<const Scan*>*> scans_of;
    bool cached = false;  // some listing came from the cache: chains that add are re-read
    for (const auto& [dir, scans] : by_dir) {
      FsFacts::DirLinks* d = reader_.find(dir);
      if (!d) continue;  // cannot happen: every scan's directory was added
      cached = cached || d->from_cache;
      dirs.push_back(d);
      scans_of.push_back(&scans);
    }
    // Every listing is kept before any chain is followed: a chain from one directory
    // through a link of another (/usr/bin/java -> /etc/alternatives/java) finds it read.
    std::vector<std::pair<const std::vector<FsFacts::Entry>*, const std::vector<FsFacts::Node>*>> kept;
    for (FsFacts::DirLinks* d : dirs)
      kept.push_back(d->entries.size() <= kScanBudget ? facts_->add_listing(std::move(*d))
                                                      : std::pair{&d->entries, &d->nodes});
    std::vector<const Scan*> wanted;
    for (std::size_t k = 0; k < dirs.size(); ++k) {
      if (!dirs[k]->opened) continue;
      const std::string& dir = dirs[k]->dir;
      const auto& [entries, nodes] = kept[k];
      std::string prefix = dir + "/";
      for (std::size_t i = 0; i < entries->size(); ++i) {
        if (i == kScanBudget) {
          note(fmt::format("alias scan of '{}' stopped after 4096 entries", dir));
          break;
        }
        const FsFacts::Node& first = (*nodes)[i];
        if (first.kind == FsFacts::Kind::unasked) continue;  // not a link
        const std::string& name = (*entries)[i].first;
        std::uint8_t access = wanted_by(*scans_of[k], name, &wanted);
        if (access == 0) continue;  // no rule of this directory wants it
        std::string link = prefix + name;
        bool is_dir = false;
        auto target = trusted_target(link, is_dir, access, true, &first);
        if (!target) continue;
        bool adds = std::any_of(wanted.begin(), wanted.end(), [&](const Scan* sc) { return !covered(*target, sc->access); });
        if (adds && cached && !verified(link, *target, is_dir, access)) {
          cache_mismatch_ = true;  // compute_envelope starts again without the cache
          return;
        }
        for (const Scan* sc : wanted)
          if (!covered(*target, sc->access))
            put(*target, sc->access, is_dir, fmt::format("alias {} of {}", link, sc->why));
      }
    }
  }

  // A listing from the cache said something that did not match the file system.
  bool cache_mismatch() const { return cache_mismatch_; }

  void note(std::string n) {
    if (std::find(env_.notes.begin(), env_.notes.end(), n) == env_.notes.end())
      env_.notes.push_back(std::move(n));
  }

  // Sorted, one entry per path; entries covered by an ancestor with the same rights dropped.
  // The ancestors are looked up (each prefix ending before a '/', and "/"), not searched
  // for among all entries: alias scans make a few hundred entries.
  void finish() {
    std::vector<EnvelopePath*> sorted;
    sorted.reserve(by_path_.size());
    for (auto& kv : by_path_) sorted.push_back(&kv.second);
    std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->path < b->path; });
    std::vector<EnvelopePath> out;
    out.reserve(sorted.size());
    for (EnvelopePath* ep : sorted) {
      EnvelopePath& e = *ep;
      const std::string& path = e.path;
      auto grants = [&](std::string_view a) {
        auto it = by_path_.find(a);
        return it != by_path_.end() && it->second.is_dir && (it->second.access & e.access) == e.access;
      };
      bool covered = false;
      std::string_view p(path);
      while (!covered && p.size() > 1) {
        std::size_t slash = p.rfind('/');
        if (slash == std::string_view::npos) break;
        p = slash == 0 ? std::string_view("/") : p.substr(0, slash);
        covered = grants(p);
      }
      if (!covered && path != "/" && path[0] != '/') covered = grants("/");
      if (!covered) out.push_back(std::move(e));  // only keys, is_dir and access are read after this
    }
    env_.paths = std::move(out);
  }

  // Where /dev/ptmx may be opened for writing, the supervisor lets a process reopen
  // /dev/pts/N of a terminal the session holds (guardian/decode/pty.hpp), which no rule
  // names: the envelope must not refuse that. The user's other terminals there stay the
  // supervisor's to refuse.
  void session_ptys() {
    if (covered("/dev/ptmx", kEnvWrite))
      put("/dev/pts", kEnvWrite, true, "the session's own pseudo-terminals (/dev/ptmx is writable)");
  }

 private:
  struct Scan {
    std::string dir;        // resolved rule directory
    std::string component;  // the pattern component right below it ("*", "python3*", "**")
    std::uint8_t access;
    std::string why;
  };

  // The rights the scans of a directory want for its entry `name` (their next component
  // matches it); the scans themselves into `out` when given.
  static std::uint8_t wanted_by(const std::vector<const Scan*>& scans, const std::string& name,
                                std::vector<const Scan*>* out = nullptr) {
    std::uint8_t access = 0;
    if (out) out->clear();
    for (const Scan* sc : scans) {
      if (sc->component != "**" && ::fnmatch(sc->component.c_str(), name.c_str(), 0) != 0) continue;
      access |= sc->access;
      if (out) out->push_back(sc);
    }
    return access;
  }

  // Is `path` an entry granting `access`, or beneath a directory entry granting it (each
  // prefix ending before a '/', and "/")? An alias scan asks this at every hop of every
  // chain; what the ancestors grant is remembered per directory (dir_masks).
  bool covered(const std::string& path, std::uint8_t access) const {
    if (access == kEnvWrite) return write_covered(path);
    if (path.empty() || path[0] != '/') return false;
    auto it = by_path_.find(std::string_view(path));
    if (it != by_path_.end() && (it->second.access & access) == access) return true;
    if (path.size() == 1) return false;
    std::size_t slash = path.rfind('/');
    return (dir_masks(slash == 0 ? std::string_view("/") : std::string_view(path).substr(0, slash)) >> access) & 1;
  }

  // Bit m set: some directory entry at or above `dir` grants every right in m (m = 0..7).
  // Forgotten whenever a directory entry is added or widened (alias targets are mostly files).
  std::uint8_t dir_masks(std::string_view dir) const {
    if (auto it = masks_.find(dir); it != masks_.end()) return it->second;
    std::uint8_t m = 0;
    if (auto e = by_path_.find(dir); e != by_path_.end() && e->second.is_dir)
      for (unsigned want = 0; want < 8; ++want)
        if ((e->second.access & want) == want) m |= static_cast<std::uint8_t>(1U << want);
    if (dir.size() > 1) {
      std::size_t slash = dir.rfind('/');
      m |= dir_masks(slash == 0 ? std::string_view("/") : dir.substr(0, slash));
    }
    masks_.emplace(std::string(dir), m);
    return m;
  }

  // covered(path, kEnvWrite), asked at every hop of every chain: the write entries are few
  // (the session's own directories, a few devices), so they are compared one by one.
  bool write_covered(std::string_view path) const {
    if (path.empty() || path[0] != '/') return false;
    for (const EnvelopePath* w : writers_) {
      const std::string& a = w->path;
      if (a == path) return true;
      if (!w->is_dir) continue;
      if (a == "/" || (path.size() > a.size() && path.compare(0, a.size(), a) == 0 && path[a.size()] == '/'))
        return true;
    }
    return false;
  }

  // The resolved target of `link` when every symlink on the way lies where the session may
  // not write (so the session cannot have planted it); nullopt otherwise. Walks at most 16
  // links; every lookup goes through facts_ (made once). `is_dir` receives whether the target is a directory. With `enough` non-zero, stops early
  // (nullopt) once the chain reaches a place an entry already grants `enough` on: links
  // found there are not followed further (alias scans are one level deep anyway).
  // `parent_resolved`: the caller knows `cur`'s directory is resolved already (an alias
  // scan's directory); a relative one-component target stays in a resolved directory too.
  // `first`: what `cur` itself is, when the caller read it already.
  std::optional<std::string> trusted_target(std::string cur, bool& is_dir, std::uint8_t enough = 0,
                                            bool parent_resolved = false, const FsFacts::Node* first = nullptr) {
    std::string dir, built;
    for (int hop = 0; hop < 16; ++hop) {
      // In a resolved directory `cur` is its own resolved form; else its directory is resolved.
      if (!parent_resolved) {
        dir = resolved_dir(parent_of(cur));
        built = (dir == "/" ? "" : dir) + "/" + cur.substr(cur.rfind('/') + 1);
      }
      const std::string& here = parent_resolved ? cur : built;
      // What `here` is comes from facts_: a listing of its directory when one was read
      // (the scanned directory itself, or one where many chains end), else readlink().
      const FsFacts::Node& node = hop == 0 && first ? *first : facts_->node(here);
      if (node.kind == FsFacts::Kind::absent) return std::nullopt;
      if (node.kind != FsFacts::Kind::link) {
        auto d = facts_->is_dir(here);
        if (!d) return std::nullopt;
        is_dir = *d;
        return here;
      }
      const std::string& target = node.text;
      if (covered(here, kEnvWrite)) return std::nullopt;
      if (target[0] == '/') {
        cur = target;
        parent_resolved = false;
        if (enough && covered(cur, enough)) return std::nullopt;
        continue;
      }
      // `dir` is fully resolved, so leading "../" and "./" fold lexically; the cache of
      // resolved directories then hits (/usr/bin/../lib/llvm-14/bin -> /usr/lib/llvm-14/bin).
      std::string base = parent_resolved ? parent_of(here) : dir;
      std::string_view t = target;
      while (true) {
        if (t.substr(0, 2) == "./") {
          t.remove_prefix(2);
        } else if (t.substr(0, 3) == "../") {
          base = parent_of(base);
          t.remove_prefix(3);
        } else {
          break;
        }
      }
      if (base == "/") base.clear();
      base += '/';
      base += t;
      cur = std::move(base);
      parent_resolved = t.find('/') == std::string_view::npos;
      if (enough && covered(cur, enough)) return std::nullopt;
    }
    return std::nullopt;
  }

  // The chain from `link` read afresh (no listing from the cache, every link read now)
  // ends where the cached one did: only then may it widen the envelope. A forged or stale
  // cache can so make the envelope narrower (a chain wrongly found covered), never wider.
  bool verified(const std::string& link, const std::string& target, bool is_dir, std::uint8_t access) {
    FsFacts* kept = facts_;
    facts_ = &fresh_facts_;
    bool fresh_dir = false;
    auto fresh = trusted_target(link, fresh_dir, access, true, nullptr);
    facts_ = kept;
    return fresh && *fresh == target && fresh_dir == is_dir;
  }

  std::string resolved_dir(const std::string& dir) { return resolve(dir).value_or(dir); }

  // realpath(3), answered from facts_ (prefixes share their leading components).
  const std::optional<std::string>& resolve(const std::string& path) { return facts_->realpath(path); }

  void widen_proc(std::uint8_t access, const std::string& why) {
    note("rules under /proc/self or /proc/PID are widened to /proc (Landlock names inodes, and "
         "those differ per process); other processes' entries stay closed by ptrace checks and "
         "Landlock's own ptrace scoping");
    put("/proc", access, true, why);
  }

  void put(const std::string& path, std::uint8_t access, bool dir, const std::string& why) {
    if (access & kEnvWrite) access |= kEnvRead;
    auto it = by_path_.find(path);
    bool was_writable = false;
    if (it == by_path_.end()) {
      it = by_path_.emplace(path, EnvelopePath{path, access, dir, why}).first;
      if (dir) masks_.clear();
    } else {
      was_writable = (it->second.access & kEnvWrite) != 0;
      if (it->second.is_dir && (it->second.access | access) != it->second.access) masks_.clear();
      it->second.access |= access;
    }
    if (!was_writable && (it->second.access & kEnvWrite)) writers_.push_back(&it->second);
  }

  Envelope& env_;
  // Hashed by path, looked up by string_view: covered() asks for every ancestor of every
  // link an alias scan meets; finish() sorts.
  struct PathHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, EnvelopePath, PathHash, std::equal_to<>> by_path_;
  std::vector<const EnvelopePath*> writers_;  // entries of by_path_ granting write
  mutable std::unordered_map<std::string, std::uint8_t, PathHash, std::equal_to<>> masks_;  // dir_masks
  std::vector<Scan> scans_;
  std::shared_ptr<FsFacts> owned_facts_;
  FsFacts* facts_;  // every readlink/stat/listing of this computation, made once
  // Lookups made afresh to check a chain that used a listing from the cache (verified()).
  FsFacts fresh_facts_;
  bool cache_mismatch_ = false;
  bool follow_aliases_;
  // Reads the scans' directories as they are found (EnvelopeOptions::follow_aliases only).
  LinkReader reader_;
};

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
  Builder b(env, opts.follow_aliases, opts.facts, opts.link_cache, opts.reuse_link_cache);
  // Write rules first: expanding read and exec globs depends on what is writable.
  for (const auto& r : profile.write) b.add_pattern(r.pattern, kEnvWrite, describe("write", r.pattern, r.origin));
  for (const auto& p : opts.extra_write) b.add_pattern(p, kEnvWrite, "write " + p + " (command line)");
  b.session_ptys();
  for (const auto& r : profile.read) b.add_pattern(r.pattern, kEnvRead, describe("read", r.pattern, r.origin));
  for (const auto& r : profile.exec_allow) b.add_pattern(r.pattern, kEnvExec, describe("exec", r.pattern, r.origin));
  for (const auto& p : opts.extra_read) b.add_pattern(p, kEnvRead, "read " + p + " (command line)");
  for (const auto& p : opts.extra_exec_rules) b.add_pattern(p, kEnvExec, "exec " + p + " (command line)");
  for (const auto& p : opts.extra_exec) b.add_file(p, kEnvExec, "the command itself");
  for (const auto& p : opts.loaders) b.add_file(p, kEnvExec, "dynamic loader");
  if (opts.follow_aliases) b.follow_aliases();
  if (b.cache_mismatch()) {
    // Read everything afresh (and keep that in the cache instead).
    EnvelopeOptions fresh = opts;
    fresh.facts = nullptr;
    fresh.reuse_link_cache = false;
    return compute_envelope(profile, fresh);
  }
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

  if (!profile.deny.empty() || !profile.deny_write.empty() || !profile.exec_deny.empty() || !profile.net_deny.empty())
    env.notes.push_back("deny rules are not in the envelope: Landlock can only allow; the supervisor enforces them");
  if (!env.scope_abstract_unix)
    env.notes.push_back("abstract unix sockets not scoped: the profile connects to one (unix:@...)");
  env.notes.push_back("Landlock restricts TCP ports only, not hosts, UDP or other socket families");
  return env;
}

bool is_alias_entry(const EnvelopePath& p) { return p.why.rfind("alias ", 0) == 0; }

std::string envelope_paths_text(const Envelope& env, std::uint8_t access_bit, bool with_aliases) {
  std::string out;
  for (const auto& p : env.paths) {
    if (!(p.access & access_bit)) continue;
    if (!with_aliases && is_alias_entry(p)) continue;
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

std::string format_envelope(const Envelope& env, bool verbose) {
  std::string out;
  std::size_t width = 4, aliases = 0;
  const EnvelopePath* example = nullptr;
  auto is_alias = is_alias_entry;
  for (const auto& p : env.paths)
    if (verbose || !is_alias(p)) width = std::max(width, p.path.size());
  for (const auto& p : env.paths) {
    if (!verbose && is_alias(p)) {
      if (!example) example = &p;
      ++aliases;
      continue;
    }
    std::string acc;
    acc += (p.access & kEnvRead) ? 'r' : '-';
    acc += (p.access & kEnvWrite) ? 'w' : '-';
    acc += (p.access & kEnvExec) ? 'x' : '-';
    out += fmt::format("{} {:<{}}  {}{}\n", acc, p.path, width, p.is_dir ? "" : "[file] ", p.why);
  }
  if (aliases > 0)
    out += fmt::format("# and {} targets of system symlinks in those directories, e.g. {} ({}); --verbose lists them\n",
                       aliases, example->path, example->why);
  out += fmt::format("tcp connect: {}\n", port_set_text(env.connect));
  out += fmt::format("tcp bind: {}\n", port_set_text(env.bind));
  out += fmt::format("scoped: {}\n", scopes_text(env));
  for (const auto& n : env.notes) out += "note: " + n + "\n";
  return out;
}

}  // namespace guardian::policy
