// SessionCgroup: create, join, limit, watch and kill the session's control groups
// (cgroup v2 where writable, v1 controllers on hybrid hosts).
#include "session/cgroup.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

namespace guardian::session {

namespace {

// One line of /proc/self/mountinfo that is a cgroup mount.
struct CgMount {
  std::string root;        // root of the mount inside the hierarchy
  std::string point;       // mount point
  bool v2 = false;
  std::set<std::string> controllers;  // v1: from the super options
};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  return out;
}

std::vector<CgMount> cgroup_mounts() {
  std::vector<CgMount> out;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    // id parent maj:min root point opts [optional...] - fstype source superopts
    auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream head(line.substr(0, dash));
    std::string id, parent, dev, root, point;
    head >> id >> parent >> dev >> root >> point;
    std::istringstream tail(line.substr(dash + 3));
    std::string fstype, source, superopts;
    tail >> fstype >> source >> superopts;
    if (fstype != "cgroup2" && fstype != "cgroup") continue;
    CgMount m{root, point, fstype == "cgroup2", {}};
    if (!m.v2)
      for (auto& o : split(superopts, ',')) m.controllers.insert(o);
    out.push_back(std::move(m));
  }
  return out;
}

// hierarchy line of /proc/self/cgroup: controllers -> path ("" for v2).
std::vector<std::pair<std::string, std::string>> own_cgroups() {
  std::vector<std::pair<std::string, std::string>> out;
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    auto a = line.find(':');
    auto b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    out.emplace_back(line.substr(a + 1, b - a - 1), line.substr(b + 1));
  }
  return out;
}

// The directory of our own group in a mount (path made relative to the mount's root).
std::string group_dir(const CgMount& m, const std::string& path) {
  std::string rel = path;
  if (m.root != "/" && rel.rfind(m.root, 0) == 0) rel = rel.substr(m.root.size());
  if (rel == "/") rel.clear();
  return m.point + rel;
}

bool write_file(const std::string& path, const std::string& value, int* err = nullptr) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    if (err) *err = errno;
    return false;
  }
  ssize_t n = ::write(fd, value.data(), value.size());
  int e = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(value.size())) {
    if (err) *err = n < 0 ? e : EIO;
    return false;
  }
  return true;
}

bool has_word(const std::string& text, const std::string& word) {
  std::istringstream in(text);
  std::string w;
  while (in >> w)
    if (w == word) return true;
  return false;
}

std::vector<pid_t> read_pids(const std::string& procs_file) {
  std::vector<pid_t> out;
  std::istringstream in(read_small_file(procs_file));
  long p;
  while (in >> p) out.push_back(static_cast<pid_t>(p));
  return out;
}

// Makes `dir` (fresh: an existing one may belong to a dead guardian of the same pid, which
// we reuse only if it is empty).
bool make_group(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0755) == 0) return true;
  if (errno != EEXIST) return false;
  return read_pids(dir + "/cgroup.procs").empty();
}

// Removes empty `guardian-<pid>` groups left in `parent` by a guardian that was killed
// before it could clean up (its pid no longer alive).
void remove_stale(const std::string& parent) {
  DIR* d = ::opendir(parent.c_str());
  if (!d) return;
  std::vector<std::string> stale;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n.rfind("guardian-", 0) != 0) continue;
    char* end = nullptr;
    long pid = std::strtol(n.c_str() + 9, &end, 10);
    if (pid <= 0 || (*end && std::strcmp(end, ".supervisor") != 0)) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
    stale.push_back(parent + "/" + n);
  }
  ::closedir(d);
  for (auto& dir : stale) ::rmdir(dir.c_str());  // fails (harmlessly) unless empty
}

// Enables controllers for our v2 group's children. The "no internal processes" rule forbids
// it while our group holds processes (unless it is the root); when guardian is alone in its
// group it moves itself into a leaf of its own first, as systemd does for delegated scopes.
// Returns what to undo at the end: the controllers enabled and the leaf guardian moved to.
struct V2Undo {
  std::string parent, self_leaf, enabled;  // enabled: "-memory -pids" style, to write back
};
V2Undo enable_v2_controllers(const std::string& parent, const CgroupRequest& req,
                             const std::string& leaf_name) {
  V2Undo undo{parent, {}, {}};
  std::string avail = read_small_file(parent + "/cgroup.controllers");
  std::string enabled = read_small_file(parent + "/cgroup.subtree_control");
  std::vector<std::string> want;
  if (req.memory && has_word(avail, "memory") && !has_word(enabled, "memory")) want.push_back("memory");
  if (req.pids && has_word(avail, "pids") && !has_word(enabled, "pids")) want.push_back("pids");
  for (auto& c : want) {
    int err = 0;
    if (!write_file(parent + "/cgroup.subtree_control", "+" + c, &err)) {
      if (err != EBUSY) continue;
      auto procs = read_pids(parent + "/cgroup.procs");
      if (procs.size() != 1 || procs[0] != ::getpid()) break;  // others live here: leave it
      std::string self_leaf = parent + "/" + leaf_name + ".supervisor";
      if (!make_group(self_leaf) ||
          !write_file(self_leaf + "/cgroup.procs", std::to_string(::getpid())))
        break;
      undo.self_leaf = self_leaf;
      if (!write_file(parent + "/cgroup.subtree_control", "+" + c)) continue;
    }
    undo.enabled += (undo.enabled.empty() ? "-" : " -") + c;
  }
  return undo;
}

// Puts our own group back as we found it (best effort): controllers off, guardian back in it.
void undo_v2(const V2Undo& u) {
  if (!u.enabled.empty()) write_file(u.parent + "/cgroup.subtree_control", u.enabled);
  if (!u.self_leaf.empty() &&
      write_file(u.parent + "/cgroup.procs", std::to_string(::getpid())))
    ::rmdir(u.self_leaf.c_str());
}

}  // namespace

const char* to_string(CgMech m) noexcept {
  switch (m) {
    case CgMech::v2: return "cgroup2";
    case CgMech::v1: return "cgroup1";
    case CgMech::none: break;
  }
  return "none";
}

std::string read_small_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

std::uint64_t keyed_value(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > key.size() && line.compare(0, key.size(), key) == 0 &&
        line[key.size()] == ' ')
      return std::strtoull(line.c_str() + key.size() + 1, nullptr, 10);
  }
  return 0;
}

Result<std::unique_ptr<SessionCgroup>> SessionCgroup::create(const CgroupRequest& req,
                                                             const std::string& name) {
  std::unique_ptr<SessionCgroup> cg(new SessionCgroup());
  std::string leaf = name.empty() ? "guardian-" + std::to_string(::getpid()) : name;
  auto mounts = cgroup_mounts();
  auto own = own_cgroups();

  // cgroup v2: the leaf gives cgroup.kill, cgroup.events and cpu.stat even without
  // controllers; memory and pids where the parent can delegate them.
  for (auto& m : mounts) {
    if (!m.v2) continue;
    std::string path;
    bool found = false;
    for (auto& [ctl, p] : own)
      if (ctl.empty()) path = p, found = true;
    if (!found) break;
    std::string parent = group_dir(m, path);
    remove_stale(parent);
    auto undo = enable_v2_controllers(parent, req, leaf);
    cg->undo_parent_ = undo.parent;
    cg->undo_self_leaf_ = undo.self_leaf;
    cg->undo_enabled_ = undo.enabled;
    std::string dir = parent + "/" + leaf;
    if (!make_group(dir)) break;
    cg->v2_path_ = dir;
    cg->v2_dir_.reset(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    std::string ctls = read_small_file(dir + "/cgroup.controllers");
    if (req.memory && has_word(ctls, "memory")) cg->mem_ = CgMech::v2, cg->mem_path_ = dir;
    if (req.pids && has_word(ctls, "pids")) cg->pids_ = CgMech::v2, cg->pids_path_ = dir;
    break;
  }

  // cgroup v1 controllers (hybrid hosts keep memory and pids there).
  auto v1_group = [&](const std::string& ctl) -> std::string {
    for (auto& m : mounts) {
      if (m.v2 || !m.controllers.count(ctl)) continue;
      for (auto& [ctls, p] : own) {
        bool match = false;
        for (auto& c : split(ctls, ',')) match = match || c == ctl;
        if (!match) continue;
        remove_stale(group_dir(m, p));
        std::string dir = group_dir(m, p) + "/" + leaf;
        if (!make_group(dir)) return {};
        cg->v1_paths_.push_back(dir);
        return dir;
      }
    }
    return {};
  };
  if (req.memory && cg->mem_ == CgMech::none) {
    auto d = v1_group("memory");
    if (!d.empty()) cg->mem_ = CgMech::v1, cg->mem_path_ = d;
  }
  if (req.pids && cg->pids_ == CgMech::none) {
    auto d = v1_group("pids");
    if (!d.empty()) cg->pids_ = CgMech::v1, cg->pids_path_ = d;
  }
  if (!cg->v2_dir_.valid()) {
    auto d = v1_group("cpuacct");
    if (!d.empty()) cg->cpuacct_ = CgMech::v1, cg->cpuacct_path_ = d;
  }

  if (!cg->v2_dir_.valid() && cg->v1_paths_.empty())
    return fail("cannot create a control group for the session (no writable cgroup hierarchy)");
  cg->display_path_ = !cg->v2_path_.empty() ? cg->v2_path_ : cg->v1_paths_.front();

  std::vector<std::string> procs;
  if (!cg->v2_path_.empty()) procs.push_back(cg->v2_path_ + "/cgroup.procs");
  for (auto& d : cg->v1_paths_) procs.push_back(d + "/cgroup.procs");
  for (auto& p : procs) {
    int fd = ::open(p.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return fail_errno("cannot open '" + p + "'", errno);
    cg->join_fds_.push_back(fd);
  }
  return cg;
}

SessionCgroup::~SessionCgroup() {
  remove_all();
  for (int fd : join_fds_) ::close(fd);
}

void SessionCgroup::remove_all() noexcept {
  // Kill, then wait (bounded) for the groups to empty: rmdir fails while they hold anyone.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  do {
    if (!populated()) break;
    signal_all(SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  } while (std::chrono::steady_clock::now() < deadline);
  if (!v2_path_.empty()) ::rmdir(v2_path_.c_str());
  for (auto& d : v1_paths_) ::rmdir(d.c_str());
  undo_v2({undo_parent_, undo_self_leaf_, undo_enabled_});
}

Result<void> SessionCgroup::set_memory_max(std::uint64_t bytes) {
  if (mem_ == CgMech::none) return fail("no memory controller for the session");
  int err = 0;
  if (mem_ == CgMech::v2) {
    if (!write_file(mem_path_ + "/memory.max", std::to_string(bytes), &err))
      return fail_errno("cannot set " + mem_path_ + "/memory.max", err);
    // No swap either: a limit the session could dodge by swapping is no limit.
    write_file(mem_path_ + "/memory.swap.max", "0");
    // One OOM kill ends the whole group, so a half-killed tree does not linger.
    write_file(mem_path_ + "/memory.oom.group", "1");
    return outcome::success();
  }
  if (!write_file(mem_path_ + "/memory.limit_in_bytes", std::to_string(bytes), &err))
    return fail_errno("cannot set " + mem_path_ + "/memory.limit_in_bytes", err);
  write_file(mem_path_ + "/memory.memsw.limit_in_bytes", std::to_string(bytes));
  return outcome::success();
}

Result<void> SessionCgroup::set_pids_max(std::uint32_t n) {
  if (pids_ == CgMech::none) return fail("no pids controller for the session");
  int err = 0;
  if (!write_file(pids_path_ + "/pids.max", std::to_string(n), &err))
    return fail_errno("cannot set " + pids_path_ + "/pids.max", err);
  return outcome::success();
}

Result<void> SessionCgroup::add(pid_t pid, bool skip_v2) {
  std::string s = std::to_string(pid);
  // join_fds_ holds the v2 group's cgroup.procs first when there is one.
  std::size_t first = skip_v2 && !v2_path_.empty() ? 1 : 0;
  for (std::size_t i = first; i < join_fds_.size(); ++i) {
    int fd = join_fds_[i];
    if (::pwrite(fd, s.data(), s.size(), 0) != static_cast<ssize_t>(s.size()))
      return fail_errno("cannot move process " + s + " into the session's control group", errno);
  }
  return outcome::success();
}

int SessionCgroup::signal_all(int sig) {
  if (sig == SIGKILL && !v2_path_.empty() && populated() &&
      write_file(v2_path_ + "/cgroup.kill", "1"))
    return 1;
  // v1 (or signals other than SIGKILL): one by one; callers repeat until empty.
  std::set<pid_t> all;
  if (!v2_path_.empty())
    for (pid_t p : read_pids(v2_path_ + "/cgroup.procs")) all.insert(p);
  for (auto& d : v1_paths_)
    for (pid_t p : read_pids(d + "/cgroup.procs")) all.insert(p);
  int n = 0;
  for (pid_t p : all)
    if (p > 0 && p != ::getpid() && ::kill(p, sig) == 0) ++n;
  return n;
}

bool SessionCgroup::populated() const {
  if (!v2_path_.empty()) {
    std::string ev = read_small_file(v2_path_ + "/cgroup.events");
    if (!ev.empty()) return keyed_value(ev, "populated") != 0;
  }
  for (auto& d : v1_paths_)
    if (!read_pids(d + "/cgroup.procs").empty()) return true;
  return false;
}

std::vector<pid_t> SessionCgroup::members() const {
  if (!v2_path_.empty()) return read_pids(v2_path_ + "/cgroup.procs");
  if (!v1_paths_.empty()) return read_pids(v1_paths_.front() + "/cgroup.procs");
  return {};
}

std::uint64_t SessionCgroup::cpu_usage_usec() const {
  if (!v2_path_.empty()) return keyed_value(read_small_file(v2_path_ + "/cpu.stat"), "usage_usec");
  if (!cpuacct_path_.empty())
    return std::strtoull(read_small_file(cpuacct_path_ + "/cpuacct.usage").c_str(), nullptr, 10) /
           1000;
  return 0;
}

std::uint64_t SessionCgroup::oom_kills() const {
  if (mem_ == CgMech::v2) return keyed_value(read_small_file(mem_path_ + "/memory.events"), "oom_kill");
  if (mem_ == CgMech::v1) {
    auto v = keyed_value(read_small_file(mem_path_ + "/memory.oom_control"), "oom_kill");
    return v;
  }
  return 0;
}

std::uint64_t SessionCgroup::pids_max_hits() const {
  if (pids_ == CgMech::none) return 0;
  return keyed_value(read_small_file(pids_path_ + "/pids.events"), "max");
}

}  // namespace guardian::session
