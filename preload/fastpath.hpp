// The cooperative fast path (`guardian run --fast-path`, issue 8): hooked libc calls decided
// in-process by the session's own policy engine, performed with openat2(RESOLVE_NO_SYMLINKS)
// so that the kernel opens exactly the path that was decided, and recorded in the shared
// ring the supervisor drains into the audit log. Anything the shim is not sure of — a
// denial, a relative path against a dirfd, /proc, a symlink on the way, a full ring, a
// signal handler on an alternate stack — returns false and the caller makes the ordinary
// call, which the supervisor decides. Built only into libguardian-preload-fast.so.
#pragma once

#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

struct statx;

namespace guardian::policy {
class Engine;
}

namespace guardian::preload {

class FastPath {
 public:
  // Maps the session's memfds (GUARDIAN_FAST) and builds the engine; leaves the fast path
  // off on anything unexpected. Called once from the library constructor.
  void init();
  bool on() const { return engine_ != nullptr; }

  // Each returns true when it decided and performed the call (the result in *rc / *out and
  // errno set as the libc call would), false when the caller must make the ordinary call.
  // `nr` is the syscall the libc function stands for (for the audit record).
  bool open(int dirfd, const char* path, int flags, unsigned mode, int* rc);
  bool stat(int dirfd, const char* path, struct stat* buf, int atflags, int* rc);
  bool statx(int dirfd, const char* path, int atflags, unsigned mask, struct statx* buf, int* rc);
  bool access(int dirfd, const char* path, int mode, int atflags, int nr, int* rc);
  bool fopen(const char* path, const char* mode, FILE** out);
  bool opendir(const char* path, DIR** out);
  // fstat on a descriptor is never a path decision: the plain fstat syscall (which the
  // filter does not notify) instead of glibc's newfstatat(fd, "", AT_EMPTY_PATH), which it
  // must. Always handles the call when the fast path is on.
  bool fstat(int fd, struct stat* buf, int* rc);
  // realpath(3): with no symbolic link on the way, the lexical answer checked by one
  // openat2(RESOLVE_NO_SYMLINKS); with links, glibc's own walk expanding them. Either way
  // decided (and recorded) as each readlink (and directory check) glibc's realpath would
  // make. *out as realpath returns it.
  bool realpath(const char* path, char* resolved, char** out);
  // execve(2) of `path` (absolute) when nothing by that name exists (execvp's PATH probes):
  // decided as the supervisor decides it, recorded, and answered here with *err = ENOENT
  // (allowed) or the profile's deny errno (denied). False: make the real call.
  bool exec_missing(const char* path, char* const argv[], int* err);

 private:
  struct Path;
  struct Claim;
  bool absolute(int dirfd, const char* raw, Path& p);
  // `lexical`: the path as written when `path` is the one symbolic links led to (then
  // allow rules match `path` only, deny rules both: the supervisor's question); empty when
  // no link was followed.
  // `exec`: Category::exec (else file). On a denial returns false with c.denied set when
  // the shim may take that denial itself (see refuse_missing()).
  bool decide(int op, int nr, std::string_view raw, std::string_view path, std::int32_t pid,
              Claim& c, std::string_view lexical = {}, bool exec = false,
              char* const* argv = nullptr);
  // Claims a slot and fills the record (allow, or a denial with errno `err`). False: the
  // ring is full or the record too long (the supervisor must decide it).
  bool record(Claim& c, int op, int nr, std::string_view raw, std::string_view path, std::int32_t pid,
              std::uint32_t rule, bool exec, int err, char* const* argv = nullptr);
  // After decide() denied p (c.denied): when p names nothing — no object, no symbolic link
  // on the part that exists, so the supervisor decides p.norm as we did — records the
  // denial and returns true (the caller fails with c.err). False: the supervisor's to do.
  bool refuse_missing(const Path& p, int op, int nr, Claim& c, bool exec = false,
                      char* const* argv = nullptr);
  static bool in_search_path(std::string_view norm);
  // `norm` (absolute, normalised, no symbolic link on the way) is missing, no rule names it
  // for a stat, and the nearest directory that exists may be stat'ed: the supervisor's
  // missing_but_visible, which answers ENOENT undecided.
  bool missing_visible(std::string_view norm);
  // O_PATH descriptor of what p.abs names with symbolic links followed as the kernel
  // follows them (magic links refused) and its real path in `real`: how the supervisor
  // decides an existing object behind links. -1 when that is the supervisor's to do.
  // kMissing: the lookup found no such file (ENOENT), see missing_name().
  long follow_path(const char* abs, bool nofollow, char* real, std::size_t* real_len);
  static constexpr long kMissing = -2;
  bool missing_name(const Path& p, int op, int nr, Claim& c);
  bool prepare(int dirfd, const char* raw, int op, int nr, Path& p, Claim& c);
  long open_path(const Path& p, int flags, unsigned mode);
  // realpath() with symbolic links on the way (fastpath_realpath.cpp): the canonical name
  // in rname (kMax bytes), or false for the real realpath.
  bool realpath_links(const Path& p, const char* raw, char* rname, std::size_t* len);
  static constexpr long kFallBack = -100000;
  long opath_of(const Path& p, int nr, bool nofollow, Claim& c);
  void finish(Claim& c, bool record);
  // The stat family's and access's common body: decide, then `direct(path)` when the
  // kernel walks p exactly as written with no symbolic link before its last component
  // (plain_parent()); else (or when direct answers kFallBack: a last component that is a
  // link to follow) open the path O_PATH, `query(fd)`, close.
  template <class Query, class Direct>
  bool stat_by_opath(int dirfd, const char* raw, int nr, int atflags, int* rc, Query query,
                     Direct direct);
  // True when p.abs is normalised and its directory a fastpath::plain_dir(): then the
  // kernel's walk of p.abs is the lexical one up to its last component.
  bool plain_parent(const Path& p) const;

  const policy::Engine* engine_ = nullptr;
  void* ring_ = nullptr;
  std::uint64_t token_ = 0;
  bool metadata_open_ = false;
  bool audit_allows_ = true;
  bool may_deny_ = false;  // GFAST_P_DENY
};

extern FastPath g_fast;
// Set once the program installs a signal stack through libc: from then on the fast path
// checks it is not running on one (hooks_fast.cpp).
extern bool g_altstack_seen;

}  // namespace guardian::preload
