// How open(2) flags map to the profile's operations: shared by the supervisor's open
// decoder and the shim's fast path, so both ask the engine the same question. Also the
// name of a pseudo-terminal, shared by the decoder and `learn`.
#pragma once

#include <fcntl.h>

#include <charconv>
#include <optional>
#include <string_view>

#include "profile.hpp"
#include "request.hpp"

namespace guardian::policy {

// O_PATH gives metadata only (stat); any write intent (O_WRONLY, O_RDWR, O_CREAT, O_TRUNC,
// O_TMPFILE) is a write; everything else reads. O_TMPFILE contains O_DIRECTORY's bit, so it
// is tested as a whole.
inline Op open_op(int flags) noexcept {
  const bool tmpfile = (flags & O_TMPFILE) == O_TMPFILE;
  const bool opath = flags & O_PATH;
  const int acc = flags & O_ACCMODE;
  const bool creat = (flags & O_CREAT) && !opath;
  if (opath) return Op::stat;
  if (acc != O_RDONLY || creat || (flags & O_TRUNC) || tmpfile) return Op::write;
  return Op::read;
}

// The built-in `default` profile's write protection of git repositories (.git/hooks,
// .git/config and their submodule counterparts): what a repository made in the session
// itself is spared from (decode: guardian:new-repository), so that git init and git clone
// work while the repositories that were there before stay protected.
inline bool repository_guard(const RuleOrigin& o) noexcept {
  return o.file == "builtin:default" && o.pattern.find("/.git/") != std::string::npos;
}

// The built-in `base` profile's POSIX semaphores and Python's multiprocessing arenas
// (/dev/shm/sem.*, /dev/shm/pym-*): a directory the user's other programs share by name,
// where base means the session's own objects, never another program's (decode:
// guardian:own-shm). True for a path below /dev/shm that such a rule allows; the shim's
// fast path leaves those to the supervisor, which knows what the session made.
inline bool under_dev_shm(std::string_view path) noexcept {
  constexpr std::string_view kShm = "/dev/shm/";
  return path.size() > kShm.size() && path.substr(0, kShm.size()) == kShm;
}
// A path below /dev/shm that may name one of those objects: its first component is one of
// base's shared names (sem.*, pym-*), or not a plain name ("", ".", ".."), which only a
// full resolution can place. The quick routes (the supervisor's continued and kept opens,
// the shim's fast path) leave these to the long way's own_shm; anything else below
// /dev/shm (a project or a benchmark on that tmpfs) no base rule allows, so they keep it.
inline bool shm_shared_name(std::string_view path) noexcept {
  if (!under_dev_shm(path)) return false;
  std::string_view first = path.substr(9);  // after "/dev/shm/"
  first = first.substr(0, first.find('/'));
  return first.empty() || first == "." || first == ".." || first.substr(0, 4) == "sem." ||
         first.substr(0, 4) == "pym-";
}
inline bool own_shm_guard(const RuleOrigin& o) noexcept {
  return o.file == "builtin:base" && under_dev_shm(o.pattern);
}

// N when `path` is exactly /dev/pts/N (a decimal number, no leading zero): a terminal of
// the devpts instance mounted at /dev/pts.
inline std::optional<unsigned> pts_index(std::string_view path) noexcept {
  constexpr std::string_view kPts = "/dev/pts/";
  if (path.substr(0, kPts.size()) != kPts) return std::nullopt;
  std::string_view num = path.substr(kPts.size());
  if (num.empty() || num.size() > 9 || (num.size() > 1 && num[0] == '0')) return std::nullopt;
  unsigned v = 0;
  auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
  if (ec != std::errc() || end != num.data() + num.size()) return std::nullopt;
  return v;
}

}  // namespace guardian::policy
