// Alias-scan listings kept between runs (see link_cache.hpp): lookup by directory
// identity, and the file: NUL-separated fields after a one-line header, written whole.
#include "link_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <string_view>

namespace guardian::policy {
namespace {

// The format's version and the scan budgets it was read with (a listing cut at another
// budget is another listing).
constexpr std::string_view kHeader = "guardian-alias-links 1\n";

// Only under a directory of our own: `sudo guardian run` keeps HOME=/home/USER, where root
// must not make a directory the user then cannot use (nor read one the user made).
std::string cache_file() {
  auto own = [](const char* dir) {
    struct stat st {};
    return ::stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == ::geteuid();
  };
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg && xdg[0] == '/') return own(xdg) ? std::string(xdg) + "/guardian/alias-links" : std::string();
  const char* home = std::getenv("HOME");
  if (home && home[0] == '/' && own(home)) return std::string(home) + "/.cache/guardian/alias-links";
  return {};
}

// Creates the directories of `file` that are missing (0700: the user's own).
bool make_parents(const std::string& file) {
  for (std::size_t slash = file.find('/', 1); slash != std::string::npos; slash = file.find('/', slash + 1)) {
    std::string dir = file.substr(0, slash);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return false;
  }
  return true;
}

// The directory of `file`, opened only if it is itself no symlink, is the user's own and
// no one else may write it (so no one else can have put or replaced the file); -1 if not.
int open_own_dir(const std::string& file) {
  std::size_t slash = file.rfind('/');
  if (slash == std::string::npos || slash == 0) return -1;
  int fd = ::open(file.substr(0, slash).c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || st.st_uid != ::geteuid() || (st.st_mode & 022)) {
    ::close(fd);
    return -1;
  }
  return fd;
}

const char* base_name(const std::string& file) { return file.c_str() + file.rfind('/') + 1; }

// Reads NUL-terminated fields from the file's text.
class Fields {
 public:
  explicit Fields(std::string_view s) : s_(s) {}
  bool next(std::string_view& out) {
    std::size_t nul = s_.find('\0', pos_);
    if (nul == std::string_view::npos) return false;
    out = s_.substr(pos_, nul - pos_);
    pos_ = nul + 1;
    return true;
  }
  template <typename T>
  bool number(T& out) {
    std::string_view f;
    if (!next(f) || f.empty()) return false;
    auto [p, ec] = std::from_chars(f.data(), f.data() + f.size(), out);
    return ec == std::errc() && p == f.data() + f.size();
  }
  bool at_end() const { return pos_ == s_.size(); }
  std::size_t pos() const { return pos_; }

 private:
  std::string_view s_;
  std::size_t pos_ = 0;
};

void field(std::string& out, std::string_view f) {
  out.append(f);
  out.push_back('\0');
}
template <typename T>
void number(std::string& out, T v) {
  field(out, std::to_string(v));
}

bool same_identity(const struct stat& st, dev_t dev, ino_t ino, long ms, long mns, long cs, long cns) {
  return st.st_dev == dev && st.st_ino == ino && st.st_mtim.tv_sec == ms && st.st_mtim.tv_nsec == mns &&
         st.st_ctim.tv_sec == cs && st.st_ctim.tv_nsec == cns;
}

}  // namespace

LinkCache& LinkCache::user() {
  static LinkCache cache(cache_file());
  return cache;
}

LinkCache::LinkCache(std::string file, long settle_s) : file_(std::move(file)), settle_s_(settle_s) {}

void LinkCache::load() {
  loaded_ = true;
  if (file_.empty()) return;
  int dir = open_own_dir(file_);
  if (dir < 0) return;
  int fd = ::openat(dir, base_name(file_), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  ::close(dir);
  if (fd < 0) return;
  struct stat st {};
  std::string text;
  // Only the user's own regular file that nobody else may write.
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == ::geteuid() && !(st.st_mode & 022) &&
      st.st_size > 0 && st.st_size <= kMaxBytes) {
    text.resize(static_cast<std::size_t>(st.st_size));
    std::size_t got = 0;
    while (got < text.size()) {
      ssize_t n = ::read(fd, text.data() + got, text.size() - got);
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    text.resize(got);
  }
  ::close(fd);
  text_ = std::move(text);
  if (!parse()) kept_.clear();  // all or nothing
}

void LinkCache::preload() {
  std::lock_guard lock(mu_);
  if (!loaded_) load();
  // Unpacking a listing (/usr/bin: 1,300 names and link texts made into strings) was a
  // quarter of the envelope's time, after the profile was parsed; done here, it runs while
  // the envelope's thread waits for the profile.
  std::size_t budget = kPreparseEntries;
  for (auto& [dir, k] : kept_) {
    if (k.parsed || k.ready || k.count > budget) continue;
    FsFacts::DirLinks d;
    if (!entries_of(k.raw, k.count, d)) continue;  // get() finds it malformed and drops it
    budget -= k.count;
    k.ready_entries = std::move(d.entries);
    k.ready_nodes = std::move(d.nodes);
    k.ready = true;
  }
}

// One record's entries, "NAME\0TYPE\0KIND\0TEXT\0" each, into `out`; false if malformed.
bool LinkCache::entries_of(std::string_view raw, std::size_t count, FsFacts::DirLinks& out) {
  Fields f(raw);
  out.entries.clear();
  out.nodes.clear();
  out.entries.reserve(count);
  out.nodes.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    std::string_view name, text_field;
    unsigned type = 0, kind = 0;
    if (!f.next(name) || !f.number(type) || !f.number(kind) || !f.next(text_field) || type > 255 || kind > 255)
      return false;
    // What a listing can hold: a name without '/', a link with a text, the reader's kinds.
    if (name.empty() || name.find('/') != std::string_view::npos) return false;
    auto kd = static_cast<FsFacts::Kind>(kind);
    if (kd != FsFacts::Kind::link && kd != FsFacts::Kind::nonlink && kd != FsFacts::Kind::unasked) return false;
    if ((kd == FsFacts::Kind::link) == text_field.empty()) return false;
    out.entries.emplace_back(std::string(name), static_cast<unsigned char>(type));
    out.nodes.push_back(FsFacts::Node{kd, std::string(text_field)});
  }
  return f.at_end();
}

// Finds the records and their identities; a record's entries are only parsed when asked for
// (get), and written back as they were read (save) unless put again.
bool LinkCache::parse() {
  if (text_.compare(0, kHeader.size(), kHeader) != 0) return false;
  std::string_view body = std::string_view(text_).substr(kHeader.size());
  Fields f(body);
  while (!f.at_end()) {
    std::string_view tag, dir;
    Kept k;
    unsigned complete = 0, searchable = 0;
    std::size_t count = 0;
    if (!f.next(tag) || tag != "D" || !f.next(dir) || dir.empty() || dir[0] != '/' || !f.number(k.dev) ||
        !f.number(k.ino) || !f.number(k.mtime_s) || !f.number(k.mtime_ns) || !f.number(k.ctime_s) ||
        !f.number(k.ctime_ns) || !f.number(complete) || !f.number(searchable) || !f.number(count) ||
        complete > 1 || searchable > 1 || count > (1U << 20))
      return false;
    k.complete = complete;
    k.searchable = searchable;
    k.count = count;
    std::size_t from = f.pos();
    std::string_view skipped;
    for (std::size_t i = 0; i < 4 * count; ++i)
      if (!f.next(skipped)) return false;
    k.raw = body.substr(from, f.pos() - from);
    kept_.insert_or_assign(std::string(dir), std::move(k));
  }
  return true;
}

std::string LinkCache::serialise() const {
  std::string out(kHeader);
  for (const auto& [dir, k] : kept_) {
    field(out, "D");
    field(out, dir);
    number(out, k.dev);
    number(out, k.ino);
    number(out, k.mtime_s);
    number(out, k.mtime_ns);
    number(out, k.ctime_s);
    number(out, k.ctime_ns);
    number(out, k.complete ? 1 : 0);
    number(out, k.searchable ? 1 : 0);
    if (!k.parsed) {  // as it was read
      number(out, k.count);
      out.append(k.raw);
      continue;
    }
    number(out, k.entries.size());
    for (std::size_t i = 0; i < k.entries.size(); ++i) {
      field(out, k.entries[i].first);
      number(out, static_cast<unsigned>(k.entries[i].second));
      number(out, static_cast<unsigned>(k.nodes[i].kind));
      field(out, k.nodes[i].text);
    }
  }
  return out;
}

bool LinkCache::get(const std::string& dir, const struct stat& st, FsFacts::DirLinks& out) {
  std::lock_guard lock(mu_);
  if (!loaded_) load();
  auto it = kept_.find(dir);
  if (it == kept_.end()) return false;
  Kept& k = it->second;
  if (!same_identity(st, k.dev, k.ino, k.mtime_s, k.mtime_ns, k.ctime_s, k.ctime_ns)) return false;
  if (k.parsed) {
    out.entries = k.entries;
    out.nodes = k.nodes;
  } else if (k.ready) {
    // Once: a later get of the same directory unpacks `raw` again.
    out.entries = std::move(k.ready_entries);
    out.nodes = std::move(k.ready_nodes);
    k.ready = false;
    k.ready_entries.clear();
    k.ready_nodes.clear();
  } else if (!entries_of(k.raw, k.count, out)) {
    kept_.erase(it);  // malformed: as if never kept (and gone from the next file)
    dirty_ = true;
    return false;
  }
  k.used = ++generation_;
  out.dir = dir;
  out.opened = true;
  out.complete = k.complete;
  out.searchable = k.searchable;
  // Indexed at the first lookup in it (FsFacts::listing_for), if any: most kept listings
  // (/usr/bin's 1,300 entries) are only walked for their links.
  out.index.clear();
  return true;
}

void LinkCache::put(const struct stat& st, long read_at, const FsFacts::DirLinks& d) {
  if (!d.opened || !d.complete || d.nodes.size() != d.entries.size()) return;
  if (st.st_mtim.tv_sec > read_at - settle_s_ || st.st_ctim.tv_sec > read_at - settle_s_) return;
  for (const auto& n : d.nodes)
    if (n.kind == FsFacts::Kind::absent || (n.kind == FsFacts::Kind::link && n.text.empty())) return;
  for (const auto& e : d.entries)
    if (e.first.empty() || e.first.find('/') != std::string::npos) return;
  std::lock_guard lock(mu_);
  if (!loaded_) load();
  Kept k;
  k.dev = st.st_dev;
  k.ino = st.st_ino;
  k.mtime_s = st.st_mtim.tv_sec;
  k.mtime_ns = st.st_mtim.tv_nsec;
  k.ctime_s = st.st_ctim.tv_sec;
  k.ctime_ns = st.st_ctim.tv_nsec;
  k.complete = d.complete;
  k.searchable = d.searchable;
  k.entries = d.entries;
  k.nodes = d.nodes;
  k.parsed = true;
  k.used = ++generation_;
  kept_.insert_or_assign(d.dir, std::move(k));
  dirty_ = true;
}

void LinkCache::save() {
  std::lock_guard lock(mu_);
  if (!dirty_ || file_.empty()) return;
  dirty_ = false;
  // The least recently used beyond kMaxDirs go (another profile's scans come back later).
  while (kept_.size() > kMaxDirs) {
    auto oldest = std::min_element(kept_.begin(), kept_.end(),
                                   [](const auto& a, const auto& b) { return a.second.used < b.second.used; });
    kept_.erase(oldest);
  }
  std::string text = serialise();
  if (static_cast<long>(text.size()) > kMaxBytes || !make_parents(file_)) return;
  int dir = open_own_dir(file_);
  if (dir < 0) return;
  std::string tmp = std::string(base_name(file_)) + "." + std::to_string(::getpid()) + ".tmp";
  int fd = ::openat(dir, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    ::close(dir);
    return;
  }
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  bool ok = ::close(fd) == 0 && done == text.size();
  if (!ok || ::renameat(dir, tmp.c_str(), dir, base_name(file_)) != 0) ::unlinkat(dir, tmp.c_str(), 0);
  ::close(dir);
}

}  // namespace guardian::policy
