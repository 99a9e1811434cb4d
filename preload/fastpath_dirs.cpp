// Directories known to be reached with no symbolic link (see fastpath_dirs.hpp). A small
// direct-mapped table in the process's memory, each entry under its own sequence count:
// readers retry nothing (a busy or torn entry is a miss), a writer takes an entry by CAS
// and skips it when someone else holds it, so a signal handler, another thread or a vfork
// child never waits.
//
// Why a remembered answer may be used, the supervisor's own rule (decode/path_cache.hpp):
// every change the session can make to the names on a path — unlink, rmdir, rename, link,
// symlink, and chroot or a mount — reaches the supervisor, which bumps the ring's names_gen
// before letting it proceed, and that forgets every entry; creating a file or directory
// cannot turn a directory's path into another one. What the session cannot cause (a process
// outside it replacing a directory with a symlink) is bounded by the entry's lifetime, one
// second, as the supervisor's kept resolutions are.
#undef _FILE_OFFSET_BITS
#include "fastpath_dirs.hpp"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cstddef>

#include "fastpath_protocol.h"

namespace guardian::preload::fastpath {

namespace {

constexpr std::size_t kEntries = 256;  // a power of two; two ways per key
constexpr std::size_t kPathMax = 224;  // longer directories are asked about each time
constexpr std::int64_t kLifetimeNs = 1'000'000'000;

struct DirEntry {
  std::uint32_t seq;  // odd while being written
  std::uint32_t len;
  std::uint64_t gen;  // names_gen when the kernel was asked
  std::int64_t born;  // CLOCK_MONOTONIC_COARSE when the kernel was asked
  std::uint64_t hash;
  char path[kPathMax];
};
static_assert(sizeof(DirEntry) == 256, "entry layout");

DirEntry g_dirs[kEntries];

std::int64_t now_ns() {
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) != 0) return -1;
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::uint64_t hash_of(std::string_view s) {
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a, then a finaliser: FNV's low bits
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;  // alone cluster sibling names
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

bool holds(const DirEntry& e, std::string_view dir, std::uint64_t h, std::uint64_t gen, std::int64_t now) {
  const std::uint32_t s1 = __atomic_load_n(&e.seq, __ATOMIC_ACQUIRE);
  if ((s1 & 1) || e.hash != h || e.len != dir.size() || e.gen != gen || now < e.born ||
      now - e.born >= kLifetimeNs || memcmp(e.path, dir.data(), dir.size()) != 0)
    return false;
  __atomic_thread_fence(__ATOMIC_ACQUIRE);
  return __atomic_load_n(&e.seq, __ATOMIC_RELAXED) == s1;
}

}  // namespace

bool plain_dir(const void* ring, std::string_view dir, std::uint64_t token, int* err) {
  if (err) *err = ENAMETOOLONG;
  if (dir == "/") return true;  // the root itself: nothing followed on the way
  if (dir.size() < 2 || dir[0] != '/' || dir.size() >= 4096) return false;
  const auto* hdr = static_cast<const gfast_ring*>(ring);
  // Both read before the kernel is asked: a change meanwhile makes the entry stale at once.
  const std::uint64_t gen = __atomic_load_n(&hdr->names_gen, __ATOMIC_ACQUIRE);
  const std::int64_t now = now_ns();
  const std::uint64_t h = hash_of(dir);
  DirEntry* const way = &g_dirs[h & (kEntries - 2)];  // way[0], way[1]
  const bool keep = now >= 0 && dir.size() < kPathMax;
  if (keep && (holds(way[0], dir, h, gen, now) || holds(way[1], dir, h, gen, now))) return true;
  // Ask the kernel: a directory, reached with every symbolic link (and magic link) refused.
  char path[4096];
  memcpy(path, dir.data(), dir.size());
  path[dir.size()] = '\0';
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_NO_SYMLINKS;
  const int saved = errno;
  const long fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how, 0, token);
  if (fd < 0 && err) *err = errno;
  if (fd >= 0) syscall(SYS_close, fd);
  errno = saved;
  if (fd < 0) return false;
  if (keep) {
    // Into the way that holds nothing current (else the older one).
    DirEntry& e = (way[0].gen != gen || way[0].born <= way[1].born) ? way[0] : way[1];
    std::uint32_t s = __atomic_load_n(&e.seq, __ATOMIC_RELAXED);
    if (!(s & 1) && __atomic_compare_exchange_n(&e.seq, &s, s + 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
      e.hash = h;
      e.len = static_cast<std::uint32_t>(dir.size());
      e.gen = gen;
      e.born = now;
      memcpy(e.path, dir.data(), dir.size());
      __atomic_store_n(&e.seq, s + 2, __ATOMIC_RELEASE);
    }
  }
  return true;
}

void forget_dirs() {
  for (DirEntry& e : g_dirs) {
    std::uint32_t s = __atomic_load_n(&e.seq, __ATOMIC_RELAXED);
    if (!(s & 1) && __atomic_compare_exchange_n(&e.seq, &s, s + 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
      e.len = 0;
      __atomic_store_n(&e.seq, s + 2, __ATOMIC_RELEASE);
    }
  }
}

}  // namespace guardian::preload::fastpath
