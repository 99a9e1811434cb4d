// Cached procfs directory descriptors (see procfs.hpp for why each is safe).
#include "base/procfs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace guardian::procfs {

namespace {
// More live threads than this is rare; dropping them all then costs one open each.
constexpr std::size_t kMaxDirs = 512;

// The cache may hold a quarter of our descriptor limit at most: under `ulimit -n 64` a
// session of many threads must not leave the supervisor without descriptors for the opens
// it makes for the tracees (which then failed with EMFILE where natively they succeed).
std::size_t max_dirs() {
  static const std::size_t n = [] {
    struct rlimit rl {};
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return kMaxDirs;
    return std::min<std::size_t>(kMaxDirs, std::max<rlim_t>(rl.rlim_cur / 4, 1));
  }();
  return n;
}

// How many held links (PidDirs::Link) our descriptor limit allows: a quarter of what the
// directory cache may hold, at most 32 (none under a very low limit).
std::size_t link_slots() {
  static const std::size_t n = std::min<std::size_t>(32, max_dirs() / 4);
  return n;
}

// "fd/N" -> N, "cwd" -> -1, anything else -> -2 (not held).
int link_key(const char* rel) {
  if (std::strcmp(rel, "cwd") == 0) return -1;
  if (std::strncmp(rel, "fd/", 3) != 0 || !rel[3]) return -2;
  long v = 0;
  for (const char* p = rel + 3; *p; ++p) {
    if (*p < '0' || *p > '9' || v > (1L << 30)) return -2;
    v = v * 10 + (*p - '0');
  }
  return static_cast<int>(v);
}
}  // namespace

int self_fd_dir() {
  static const int fd = ::open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
  return fd;
}

const char* fd_name(int fd, char* buf) {
  *std::to_chars(buf, buf + 11, fd).ptr = '\0';
  return buf;
}

const char* fd_rel(int fd, char* buf) {
  buf[0] = 'f';
  buf[1] = 'd';
  buf[2] = '/';
  fd_name(fd, buf + 3);
  return buf;
}

int PidDirs::dir(pid_t tid, bool fresh, int& err) {
  if (!fresh) {
    auto it = dirs_.find(tid);
    if (it != dirs_.end()) return it->second.get();
  }
  char path[32];
  std::snprintf(path, sizeof path, "/proc/%d", tid);
  int fd = ::open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 && (errno == EMFILE || errno == ENFILE) && !dirs_.empty()) {
    dirs_.clear();  // our descriptors are needed more than the cache
    forget_links();
    fd = ::open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  }
  if (fd < 0) {
    err = errno == ENOENT ? ESRCH : errno;
    dirs_.erase(tid);
    return -1;
  }
  if (dirs_.size() >= max_dirs()) dirs_.clear();
  dirs_[tid].reset(fd);
  return fd;
}

void PidDirs::forget_links() noexcept {
  for (Link& l : links_) l = Link{};
}

// Held links. readlinkat(held, "") reads the link the way a lookup of /proc/TID/fd/N would
// (the kernel takes descriptor N of that thread, or its cwd, when the link is read, not
// when it was opened), without the lookup of its name and of its directory. Why safe
// against PID reuse: as the directories, the link is bound to that thread's struct pid; a
// read after the thread is gone fails and the entry is dropped. Descriptor N closed: the
// read fails too, and the lookup below answers as before. An O_PATH descriptor of the link
// holds nothing of the file it names (no open file, no lock, no writer count).
bool PidDirs::readlink(pid_t tid, const char* rel, std::string& out, int& err) {
  char buf[4096];
  const int key = link_slots() ? link_key(rel) : -2;
  Link* slot = nullptr;
  if (key != -2) {
    auto h = static_cast<std::size_t>(tid) * 31u + static_cast<std::size_t>(key + 2);
    slot = &links_[h % link_slots()];
    if (slot->tid == tid && slot->fd == key && slot->link) {
      ssize_t n = ::readlinkat(slot->link.get(), "", buf, sizeof buf);
      if (n >= 0 && n < static_cast<ssize_t>(sizeof buf)) {
        out.assign(buf, static_cast<std::size_t>(n));
        return true;
      }
      slot->link.reset();  // the long way says what happened
    }
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    int d = dir(tid, attempt > 0, err);
    if (d < 0) return false;
    ssize_t n = ::readlinkat(d, rel, buf, sizeof buf);
    if (n >= 0) {
      if (n == static_cast<ssize_t>(sizeof buf)) {
        err = ENAMETOOLONG;
        return false;
      }
      out.assign(buf, static_cast<std::size_t>(n));
      if (slot) {
        // Held from the second read on: a link read once (most descriptors) costs no open.
        if (slot->tid == tid && slot->fd == key) {
          int l = ::openat(d, rel, O_PATH | O_NOFOLLOW | O_CLOEXEC);
          if (l >= 0) slot->link.reset(l);
        } else {
          *slot = Link{};
          slot->tid = tid;
          slot->fd = key;
        }
      }
      return true;
    }
    err = errno;
    if (err != ENOENT && err != ESRCH) return false;
  }
  return false;
}

int PidDirs::open(pid_t tid, const char* rel, int flags, int& err) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    int d = dir(tid, attempt > 0, err);
    if (d < 0) return -1;
    int fd = ::openat(d, rel, flags | O_CLOEXEC);
    if (fd >= 0) return fd;
    err = errno;
    if (err != ENOENT && err != ESRCH) return -1;
  }
  return -1;
}

bool PidDirs::stat(pid_t tid, const char* rel, struct ::stat& st, int& err) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    int d = dir(tid, attempt > 0, err);
    if (d < 0) return false;
    if (::fstatat(d, rel, &st, 0) == 0) return true;
    err = errno;
    if (err != ENOENT && err != ESRCH) return false;
  }
  return false;
}

PidDirs& pid_dirs() {
  static PidDirs dirs;
  return dirs;
}

// The size procfs gives /proc/TID/fd (Linux 6.2+) is the number of descriptors open in the
// thread's table. Fewer than the limit: some number below the limit is free, whatever the
// numbers (those below the limit are at most all of them), so the kernel's own open would
// get one. Otherwise (or with an older kernel, which says 0) the listing decides:
// /proc/TID/fd lists the descriptors in increasing order, so the first number missing from
// the listing is the lowest free one, the one the kernel would give: reading stops there.
bool fd_slot_free(pid_t tid) {
  struct rlimit rl {};
  if (::prlimit(tid, RLIMIT_NOFILE, nullptr, &rl) != 0) return true;
  int err = 0;
  struct ::stat st {};
  if (pid_dirs().stat(tid, "fd", st, err) && st.st_size > 0 &&
      static_cast<rlim_t>(st.st_size) < rl.rlim_cur)
    return true;
  UniqueFd dir(pid_dirs().open(tid, "fd", O_RDONLY | O_DIRECTORY, err));
  if (!dir) return true;
  rlim_t expect = 0;  // the lowest number not seen yet
  alignas(8) char buf[16384];
  for (;;) {
    long n = ::syscall(SYS_getdents64, dir.get(), buf, sizeof buf);
    if (n <= 0) return n < 0 || expect < rl.rlim_cur;
    for (long off = 0; off < n;) {
      auto* d = reinterpret_cast<struct dirent64*>(buf + off);
      off += d->d_reclen;
      if (d->d_name[0] < '0' || d->d_name[0] > '9') continue;  // "." and ".."
      if (std::strtoull(d->d_name, nullptr, 10) != expect) return expect < rl.rlim_cur;
      if (++expect >= rl.rlim_cur) return false;
    }
  }
}

bool read_small(const char* path, char* buf, std::size_t cap) {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || cap == 0) {
    if (fd >= 0) ::close(fd);
    return false;
  }
  ssize_t n = ::read(fd, buf, cap - 1);
  ::close(fd);
  if (n <= 0) return false;
  buf[n] = '\0';
  return true;
}

}  // namespace guardian::procfs
