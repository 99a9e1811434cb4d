// A short-lived cache of how stat-family paths resolved, so that a repeated stat, access or
// readlink of the same path costs no openat2 of ours (see PathCache).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "decode/resolve.hpp"

namespace guardian::decode {

// What a stat-family decision needs from a resolution: the path decided and how it was
// reached. Only plain resolutions are kept: no magic link, nothing under /proc, no error
// other than a missing last component, and either no symlink on the way (path == lexical)
// or the kernel's own follow (followed_fast, re-checked by the walk on a denial).
//
// Why it is safe to reuse one: every change the session can make to the names on a path
// (unlink, rmdir, rename, link, symlink) is performed by the supervisor itself and clears
// the whole cache (Handler::Impl::handle); creating a file or directory cannot turn a kept
// path into another one. What the session cannot cause — a process outside it replacing a
// directory with a symlink — is bounded by the entry's lifetime (kLifetimeNs). The kernel
// still performs the stat itself (CONTINUE), so at worst such a race shows another file's
// metadata, as a thread racing the check can (guardian(1) BUGS).
class PathCache {
 public:
  static constexpr std::int64_t kLifetimeNs = 1'000'000'000;
  static constexpr std::size_t kMaxEntries = 1 << 16;

  struct Entry {
    std::string path, lexical;
    bool exists = false, trusted = true, followed_fast = false;
    std::int64_t born = 0;
  };

  // The key for `raw` as the tracee gave it, from the text of its start directory
  // (`start`: empty for an absolute path). `follow`: a trailing symlink is followed.
  static void key(std::string_view start, std::string_view raw, bool follow, std::string& out);
  // True when `r` may be kept (see above).
  static bool keepable(const Resolved& r);

  // The entry for `key` if it is younger than kLifetimeNs; else null.
  const Entry* find(const std::string& key);
  void put(const std::string& key, const Resolved& r);
  // Forgets everything: the session changed names.
  void clear() noexcept { map_.clear(); }
  std::size_t size() const noexcept { return map_.size(); }

 private:
  std::unordered_map<std::string, Entry> map_;
};

// Fills `r` from a kept entry (descriptors and stat left empty: stat-family decisions do
// not use them).
void fill_from(const PathCache::Entry& e, Resolved& r);

}  // namespace guardian::decode
