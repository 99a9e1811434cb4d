// File-system facts for one envelope computation (see fs_facts.hpp): memoised readlink,
// stat and realpath, answered from directory listings where there is one.
#include "fs_facts.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <system_error>
#include <thread>

#include "glob.hpp"
#include "link_cache.hpp"

namespace guardian::policy {
namespace {

// An entry name a listing can answer for ("", "." and ".." are not entries).
bool plain_name(std::string_view n) { return !n.empty() && n != "." && n != ".."; }

std::string_view dir_of(std::string_view path) {
  auto slash = path.rfind('/');
  return slash == 0 || slash == std::string_view::npos ? std::string_view("/") : path.substr(0, slash);
}

// As the kernel lays out struct linux_dirent64.
struct Dirent64 {
  std::uint64_t d_ino;
  std::int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

}  // namespace

bool FsFacts::read_dir(int fd, std::vector<Entry>& out, std::size_t max) {
  alignas(8) char buf[32768];
  while (out.size() < max) {
    long n = ::syscall(SYS_getdents64, fd, buf, sizeof buf);
    if (n < 0) return false;
    if (n == 0) return true;
    for (long off = 0; off < n;) {
      const auto* d = reinterpret_cast<const Dirent64*>(buf + off);
      if (out.size() >= max) return false;
      out.emplace_back(d->d_name, d->d_type);
      off += d->d_reclen;
    }
  }
  // Exactly `max` read: complete only if nothing follows.
  long n = ::syscall(SYS_getdents64, fd, buf, sizeof buf);
  return n == 0;
}

// Links read per task: small enough that two threads share a big directory evenly, large
// enough that the queue costs nothing next to the syscalls.
constexpr std::uint32_t kLinkChunk = 64;

LinkReader::~LinkReader() { finish(); }

void LinkReader::add(const std::string& dir) {
  std::unique_lock lock(mu_);
  if (by_name_.count(dir)) return;
  Dir& d = dirs_.emplace_back();
  d.d.dir = dir;
  by_name_.emplace(dir, &d);
  if (cache_) {
    // Kept from an earlier run under the identity it has now: nothing to read (one stat).
    struct timespec now {};
    ::clock_gettime(CLOCK_REALTIME, &now);
    if (::stat(dir.c_str(), &d.st) == 0) {
      if (reuse_ && cache_->get(dir, d.st, d.d)) {
        d.d.from_cache = true;
        return;
      }
      d.read_at = now.tv_sec;
    }
  }
  tasks_.push_back(Task{&d, 0, 0});
  if (!helper_.joinable() && !finishing_) {
    try {
      helper_ = std::thread([this] { helper_loop(); });
    } catch (const std::system_error&) {
      // No helper: finish() reads everything on the calling thread.
    }
  }
  lock.unlock();
  cv_.notify_one();
}

void LinkReader::list(Dir& dir) {
  FsFacts::DirLinks& d = dir.d;
  dir.fd = ::open(d.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir.fd < 0) return;
  d.opened = true;
  d.complete = FsFacts::read_dir(dir.fd, d.entries, max_);
  d.nodes.assign(d.entries.size(), FsFacts::Node{FsFacts::Kind::unasked, {}});
  for (std::size_t i = 0; i < d.entries.size() && i < asked_; ++i) {
    unsigned char type = d.entries[i].second;
    if (type == DT_LNK || type == DT_UNKNOWN) dir.links.push_back(static_cast<std::uint32_t>(i));
  }
}

void LinkReader::run(const Task& t) {
  Dir& dir = *t.dir;
  if (t.from == t.to) {
    list(dir);
    std::unique_lock lock(mu_);
    auto n = static_cast<std::uint32_t>(dir.links.size());
    for (std::uint32_t from = 0; from < n; from += kLinkChunk) {
      tasks_.push_back(Task{&dir, from, std::min(n, from + kLinkChunk)});
      ++dir.chunks_left;
    }
    if (dir.chunks_left == 0 && dir.fd >= 0) {
      ::close(dir.fd);
      dir.fd = -1;
    }
    lock.unlock();
    cv_.notify_all();
    // Indexed here, beside the other thread's reads, rather than on the first lookup later.
    FsFacts::DirLinks& d = dir.d;
    if (d.complete) {
      d.index.reserve(d.entries.size());
      for (std::size_t i = 0; i < d.entries.size(); ++i) d.index.emplace(d.entries[i].first, static_cast<std::uint32_t>(i));
    }
    return;
  }
  char buf[PATH_MAX];
  bool searchable = false;
  for (std::uint32_t k = t.from; k < t.to; ++k) {
    std::uint32_t i = dir.links[k];
    // readlinkat on the open directory skips a path walk (/usr/bin holds 500 links).
    long n = ::readlinkat(dir.fd, dir.d.entries[i].first.c_str(), buf, sizeof buf - 1);
    dir.d.nodes[i] = FsFacts::node_of(n, errno, buf);
    if (dir.d.nodes[i].kind != FsFacts::Kind::absent) searchable = true;
  }
  if (searchable) dir.searchable.store(true, std::memory_order_relaxed);
  std::unique_lock lock(mu_);
  if (--dir.chunks_left == 0) {
    ::close(dir.fd);
    dir.fd = -1;
  }
}

// Runs one queued task (the lock released meanwhile); false when there is none.
bool LinkReader::work_one(std::unique_lock<std::mutex>& lock) {
  if (tasks_.empty()) return false;
  Task t = tasks_.front();
  tasks_.pop_front();
  ++busy_;
  lock.unlock();
  run(t);
  lock.lock();
  --busy_;
  if (tasks_.empty() && busy_ == 0) cv_.notify_all();
  return true;
}

void LinkReader::helper_loop() {
  std::unique_lock lock(mu_);
  while (true) {
    if (work_one(lock)) continue;
    if (finishing_) return;
    cv_.wait(lock);
  }
}

void LinkReader::finish() {
  std::unique_lock lock(mu_);
  finishing_ = true;
  cv_.notify_all();
  while (true) {
    if (work_one(lock)) continue;
    if (busy_ == 0) break;
    cv_.wait(lock);  // the other thread's task may queue more
  }
  lock.unlock();
  if (helper_.joinable()) helper_.join();
  for (Dir& d : dirs_)
    if (!d.d.from_cache) d.d.searchable = d.searchable.load(std::memory_order_relaxed);
  if (cache_ && !kept_) {
    kept_ = true;
    for (Dir& d : dirs_)
      if (!d.d.from_cache && d.read_at >= 0) cache_->put(d.st, d.read_at, d.d);
    cache_->save();  // only when something was put: a run that read nothing writes nothing
  }
}

FsFacts::DirLinks* LinkReader::find(const std::string& dir) {
  auto it = by_name_.find(dir);
  return it == by_name_.end() ? nullptr : &it->second->d;
}

std::string resolve_pattern_prefix(std::string_view pattern, FsFacts& facts) {
  return resolve_pattern_prefix_with(pattern, [&facts](const std::string& p) { return facts.realpath(p); });
}

FsFacts::Node& FsFacts::put(const std::string& path, Node n) {
  return nodes_.insert_or_assign(path, std::move(n)).first->second;
}

FsFacts::Node FsFacts::node_of(long n, int err, const char* buf) {
  Node node;
  if (n > 0) {
    node.kind = Kind::link;
    node.text.assign(buf, static_cast<std::size_t>(n));
  } else if (n == 0 || err == EINVAL) {
    node.kind = Kind::nonlink;  // EINVAL: not a link (cheaper than an lstat first)
  }
  return node;
}

// readlink(2) as the kernel answers it. Success also proves the directory searchable,
// which its listing alone would not.
FsFacts::Node& FsFacts::syscall_node(const std::string& path) {
  char buf[PATH_MAX];
  ++counts_.readlink;
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
  Node& node = put(path, node_of(n, errno, buf));
  if (node.kind != Kind::absent) {
    auto it = listings_.find(std::string(dir_of(path)));
    if (it != listings_.end()) it->second.searchable = true;
  }
  return node;
}

void FsFacts::add_listing(const std::string& dir, std::vector<Entry> entries, bool searchable) {
  Listing& l = listings_[dir];
  l.index.clear();
  l.entries = std::move(entries);
  l.nodes.clear();
  l.complete = true;
  l.searchable = l.searchable || searchable;
}

std::pair<const std::vector<FsFacts::Entry>*, const std::vector<FsFacts::Node>*> FsFacts::add_listing(DirLinks&& d) {
  if (!d.opened || !d.complete) return {&d.entries, &d.nodes};
  add_listing(d.dir, std::move(d.entries), d.searchable);
  Listing& l = listings_[d.dir];
  l.nodes = std::move(d.nodes);
  l.index = std::move(d.index);  // its views stay valid: the entries' strings did not move
  return {&l.entries, &l.nodes};
}

// Lists `dir` for lookups when they have become many for its size (see kListAfter).
void FsFacts::list_dir(const std::string& dir, Listing& l) {
  // /proc lists every process of the machine (each entry a dentry the kernel makes for the
  // listing: 0.2-0.3 ms of start-up with a few hundred processes), and rules name a dozen
  // files there: those are read one by one.
  if (dir == "/proc") {
    l.refused = true;
    return;
  }
  if (l.size < 0) {
    struct stat st{};
    ++counts_.stat;
    if (::stat(dir.c_str(), &st) != 0) {
      l.refused = true;
      return;
    }
    l.size = st.st_size;
  }
  if (static_cast<long>(l.probes) * kListBytesPerProbe < l.size) return;  // not yet
  l.refused = true;  // whatever happens now, one attempt
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  std::vector<Entry> entries;
  bool ok = read_dir(fd, entries);
  ::close(fd);
  if (!ok) return;
  ++counts_.listed;
  add_listing(dir, std::move(entries), false);
}

const std::vector<FsFacts::Entry>* FsFacts::complete_listing(const std::string& dir) const {
  auto it = listings_.find(dir);
  return it != listings_.end() && it->second.complete ? &it->second.entries : nullptr;
}

FsFacts::Listing* FsFacts::listing_for(std::string_view dir) {
  auto it = listings_.find(std::string(dir));
  if (it == listings_.end()) it = listings_.emplace(std::string(dir), Listing{}).first;
  Listing& l = it->second;
  if (!l.complete) {
    if (l.refused || ++l.probes < kListAfter || !l.searchable) return nullptr;
    list_dir(it->first, l);
  }
  if (!l.complete || !l.searchable) return nullptr;
  if (l.index.empty() && !l.entries.empty()) {
    l.index.reserve(l.entries.size());
    for (std::size_t i = 0; i < l.entries.size(); ++i)
      l.index.emplace(l.entries[i].first, static_cast<std::uint32_t>(i));
  }
  return &l;
}

FsFacts::Node& FsFacts::lookup(const std::string& path) {
  auto it = nodes_.find(path);
  if (it != nodes_.end()) return it->second;
  std::size_t slash = path.rfind('/');
  std::string_view name = slash == std::string::npos ? std::string_view() : std::string_view(path).substr(slash + 1);
  if (plain_name(name)) {
    if (Listing* l = listing_for(dir_of(path))) {
      auto e = l->index.find(name);
      if (e == l->index.end()) return put(path, Node{Kind::absent, {}});
      // A link read ahead answers from the listing itself (not copied into nodes_).
      if (!l->nodes.empty() && l->nodes[e->second].kind != Kind::unasked) return l->nodes[e->second];
      switch (l->entries[e->second].second) {
        case DT_LNK: return syscall_node(path);  // the text is not in the listing
        case DT_DIR: return put(path, Node{Kind::dir, {}});
        case DT_UNKNOWN: return syscall_node(path);
        default: return put(path, Node{Kind::file, {}});
      }
    }
  }
  return syscall_node(path);
}

std::optional<bool> FsFacts::is_dir(const std::string& path) {
  Node& n = lookup(path);
  if (n.kind == Kind::dir) return true;
  if (n.kind == Kind::file) return false;
  if (n.kind != Kind::nonlink) return std::nullopt;
  struct stat st{};
  ++counts_.stat;
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;  // not remembered: as the kernel says next time
  n.kind = S_ISDIR(st.st_mode) ? Kind::dir : Kind::file;
  return n.kind == Kind::dir;
}

const std::optional<std::string>& FsFacts::realpath(const std::string& path) {
  if (auto it = real_.find(path); it != real_.end()) return it->second;
  std::optional<std::string> out;
  if (path.empty() || path[0] != '/' || (path.size() > 1 && path.back() == '/')) {
    char buf[PATH_MAX];
    if (::realpath(path.c_str(), buf) != nullptr) out = buf;
    return real_.emplace(path, std::move(out)).first->second;
  }
  // Components still to walk, last first; a link pushes its text's components.
  std::vector<std::string> todo;
  auto push = [&todo](std::string_view p) {
    std::size_t end = p.size();
    while (end > 0) {
      std::size_t slash = p.rfind('/', end - 1);
      std::size_t begin = slash == std::string_view::npos ? 0 : slash + 1;
      todo.emplace_back(p.substr(begin, end - begin));
      if (slash == std::string_view::npos) break;
      end = slash;
    }
  };
  push(path);
  std::string r;  // resolved so far; "" is "/"
  int links = 0;
  while (true) {
    if (todo.empty()) {
      out = r.empty() ? "/" : r;
      break;
    }
    std::string comp = std::move(todo.back());
    todo.pop_back();
    if (comp.empty() || comp == ".") continue;
    if (comp == "..") {
      std::size_t slash = r.rfind('/');
      r.erase(slash == std::string::npos ? 0 : slash);
      continue;
    }
    std::string cand = r + "/" + comp;
    Node& n = lookup(cand);
    if (n.kind == Kind::absent) break;
    if (n.kind == Kind::link) {
      if (++links > 40) break;  // ELOOP, as glibc counts
      if (n.text[0] == '/') r.clear();
      push(n.text);
      continue;
    }
    if (!todo.empty()) {
      // Components after a non-directory: ENOTDIR. An ordinary name fails its own lookup;
      // "", "." and ".." need the type now (as glibc checks them).
      if (n.kind == Kind::file) break;
      const std::string& next = todo.back();
      if (n.kind == Kind::nonlink && (next.empty() || next == "." || next == "..") && is_dir(cand) != true) break;
    }
    r = std::move(cand);
  }
  if (out && out->size() >= PATH_MAX) out.reset();
  return real_.emplace(path, std::move(out)).first->second;
}

}  // namespace guardian::policy
