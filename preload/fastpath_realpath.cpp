// The fast path's realpath(3): glibc walks a path with one readlink per component, each a
// notification; done here, decided and recorded component by component as the supervisor
// would, when no symbolic link is on the way (see FastPath::realpath).
#undef _FILE_OFFSET_BITS
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fastpath_impl.hpp"
#include "policy/request.hpp"

namespace guardian::preload {

using policy::Op;

namespace {

// glibc's realpath walk: from the cwd (already canonical) or "/", each component appended
// (and readlink'ed by glibc), "." skipped, ".." dropping the last one. Calls f() with the
// path so far after each appended component; stops when f() returns false. False when the
// path outgrows `cap` or has more than `max_parts` components.
template <class F>
bool each_component(const char* raw, const char* cwd, std::size_t cwd_len, char* rname,
                    std::size_t cap, int max_parts, F&& f) {
  std::size_t len;
  if (raw[0] == '/') {
    rname[0] = '/';
    len = 1;
  } else {
    memcpy(rname, cwd, cwd_len);
    len = cwd_len;
  }
  int parts = 0;
  for (const char* c = raw; *c;) {
    while (*c == '/') ++c;
    const char* e = c;
    while (*e && *e != '/') ++e;
    const std::size_t cl = static_cast<std::size_t>(e - c);
    if (cl == 0) break;
    if (cl == 2 && c[0] == '.' && c[1] == '.') {
      while (len > 1 && rname[len - 1] != '/') --len;
      if (len > 1) --len;
    } else if (!(cl == 1 && c[0] == '.')) {
      if (len + 1 + cl >= cap || parts == max_parts) return false;
      if (rname[len - 1] != '/') rname[len++] = '/';
      memcpy(rname + len, c, cl);
      len += cl;
      rname[len] = '\0';
      ++parts;
      if (!f(std::string_view(rname, len))) return true;
    }
    c = e;
  }
  return true;
}

// What glibc's realpath reports when readlink of a component fails this way.
bool walk_error(int e) { return e == ENOENT || e == ENOTDIR || e == EACCES; }

}  // namespace

bool FastPath::realpath(const char* raw, char* resolved, char** out) {
  if (!engine_ || !raw) return false;
  std::size_t rl = strnlen(raw, kMax);
  if (rl == 0 || rl >= kMax) return false;
  // A trailing "/", "." or "..": glibc checks the directory with another call; theirs.
  const char* last = strrchr(raw, '/');
  last = last ? last + 1 : raw;
  if (*last == '\0' || strcmp(last, ".") == 0 || strcmp(last, "..") == 0) return false;
  const int saved = errno;
  Path p;
  if (!absolute(AT_FDCWD, raw, p)) {
    errno = saved;
    return false;
  }
  // The supervisor would decide each of glibc's readlinks as a stat of the path so far:
  // so do we, one record each, all before any call is made.
  constexpr int kMaxParts = 64;
  Claim claims[kMaxParts];
  int n = 0;
  bool ok = true;
  char rname[kMax];
  std::size_t len = 0;
  ok = each_component(raw, p.abs, p.cwd_len, rname, sizeof rname, kMaxParts, [&](std::string_view so_far) {
    ok = decide(static_cast<int>(Op::stat), SYS_readlink, so_far, so_far, p.pid, claims[n]);
    if (ok) ++n;
    len = so_far.size();
    return ok;
  }) && ok && n > 0;
  int recorded = 0, err = 0;
  if (ok) {
    // Every component exists and none is a symbolic link: then the lexical walk above is
    // the kernel's, and its end is the answer.
    long fd = open_path(p, O_PATH | O_CLOEXEC, 0);
    if (fd >= 0) {
      syscall(SYS_close, fd);
      recorded = n;
    } else if (!walk_error(errno)) {
      ok = false;
    } else {
      // Which component fails, as glibc's readlink would find: walk again, one at a time.
      int i = 0;
      ok = false;
      each_component(raw, p.abs, p.cwd_len, rname, sizeof rname, kMaxParts, [&](std::string_view so_far) {
        struct open_how how;
        memset(&how, 0, sizeof how);
        how.flags = O_PATH | O_CLOEXEC;
        how.resolve = RESOLVE_NO_SYMLINKS;
        long f = syscall(SYS_openat2, AT_FDCWD, so_far.data(), &how, sizeof how, 0, token_);
        ++i;
        if (f >= 0) {
          syscall(SYS_close, f);
          return true;
        }
        if (walk_error(errno)) {
          ok = true;
          err = errno;
          recorded = i;
          len = so_far.size();
        }
        return false;  // found it, or a symlink: stop
      });
    }
  }
  for (int i = 0; i < n; ++i) finish(claims[i], ok && i < recorded);
  if (!ok) {
    errno = saved;
    return false;
  }
  if (err) {
    // glibc leaves the path up to the missing or inaccessible component in the caller's
    // buffer (not for ENOTDIR).
    if (resolved && (err == ENOENT || err == EACCES) && len < PATH_MAX) {
      memcpy(resolved, rname, len);
      resolved[len] = '\0';
    }
    errno = err;
    *out = nullptr;
    return true;
  }
  char* dst = resolved ? resolved : static_cast<char*>(malloc(len + 1));
  if (!dst) {
    errno = ENOMEM;
    *out = nullptr;
    return true;
  }
  memcpy(dst, rname, len);
  dst[len] = '\0';
  // glibc's answer leaves errno as its last readlink set it: EINVAL, "not a symlink".
  errno = EINVAL;
  *out = dst;
  return true;
}

}  // namespace guardian::preload
