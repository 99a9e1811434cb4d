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
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fastpath_dirs.hpp"
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

// glibc's suffix_requires_dir_check: the rest of the name is "/", "/." or "/.." (with any
// slashes), after which glibc checks the directory with another call.
bool suffix_requires_dir_check(const char* end) {
  while (*end == '/') {
    do ++end;
    while (*end == '/');
    switch (*end++) {
      default: return false;
      case '\0': return true;
      case '.': break;
    }
    if (!*end || (*end == '.' && (!end[1] || end[1] == '/'))) return true;
  }
  return false;
}

}  // namespace

// glibc's realpath walk with symbolic links expanded as glibc expands them (its
// canonicalize.c, step for step): each readlink glibc would make is decided (a stat of the
// path so far, which never has a link before its last component) and made here on an
// O_PATH descriptor of that very component. Only the successful walk is ours: any error,
// a directory check glibc would add, too many links or components, and the real realpath
// does it all again from the start (nothing is recorded then).
bool FastPath::realpath_links(const Path& p, const char* raw, char* rname, std::size_t* out_len) {
  constexpr int kMaxParts = 64;
  constexpr int kMaxLinks = 40;  // glibc's __eloop_threshold()
  Claim claims[kMaxParts];
  int n = 0, links = 0;
  bool ok = false, last_was_link = false;
  char extra[kMax], target[kMax];
  std::size_t dest;
  if (raw[0] == '/') {
    rname[0] = '/';
    dest = 1;
  } else {
    memcpy(rname, p.abs, p.cwd_len);
    dest = p.cwd_len;
  }
  const char* start = raw;
  const char* end;
  for (;; start = end) {
    while (*start == '/') ++start;
    for (end = start; *end && *end != '/'; ++end) {
    }
    const std::size_t cl = static_cast<std::size_t>(end - start);
    if (cl == 0) {
      ok = true;
      break;
    }
    if (cl == 1 && start[0] == '.') continue;
    if (cl == 2 && start[0] == '.' && start[1] == '.') {
      if (dest > 1)
        for (--dest; dest > 0 && rname[dest - 1] != '/'; --dest) {
        }
      continue;
    }
    if (rname[dest - 1] != '/') rname[dest++] = '/';
    if (dest + cl + 1 >= kMax || n == kMaxParts) break;
    memcpy(rname + dest, start, cl);
    dest += cl;
    rname[dest] = '\0';
    std::string_view so_far(rname, dest);
    if (so_far.substr(0, 5) == "/proc" && (dest == 5 || rname[5] == '/')) break;  // the supervisor's
    if (!decide(static_cast<int>(Op::stat), SYS_readlink, so_far, so_far, p.pid, claims[n])) break;
    ++n;
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC;
    how.resolve = RESOLVE_NO_SYMLINKS;
    long fd = syscall(SYS_openat2, AT_FDCWD, rname, &how, sizeof how, 0, token_);
    if (fd < 0) break;  // glibc's error to report, or a race: the real realpath's
    struct stat st;
    long len = -1;
    bool is_link = syscall(SYS_fstat, fd, &st) == 0 && S_ISLNK(st.st_mode);
    if (is_link) len = syscall(SYS_readlinkat, fd, "", target, kMax - 1, 0, token_);
    syscall(SYS_close, fd);
    if (!is_link) {
      // glibc: readlink fails with EINVAL; before "/", "/." or "/.." it then checks the
      // component is a directory with faccessat(PATH "/", F_OK, AT_EACCESS): decided as the
      // supervisor would (a stat of the path), answered by the fstat above.
      if (suffix_requires_dir_check(end)) {
        if (!S_ISDIR(st.st_mode) || n == kMaxParts) break;
        memcpy(target, rname, dest);
        target[dest] = '/';
        if (!decide(static_cast<int>(Op::stat), SYS_faccessat2, std::string_view(target, dest + 1), so_far,
                    p.pid, claims[n]))
          break;
        ++n;
      }
      last_was_link = false;
      continue;
    }
    if (len <= 0 || len >= static_cast<long>(kMax) - 1 || ++links > kMaxLinks) break;
    last_was_link = true;
    // The link's text, then the rest of the name, becomes the name still to walk.
    const std::size_t rest = strlen(end);
    if (static_cast<std::size_t>(len) + rest + 1 > kMax) break;
    memmove(extra + len, end, rest + 1);
    memcpy(extra, target, static_cast<std::size_t>(len));
    end = extra;
    if (target[0] == '/') {
      dest = 1;
    } else if (dest > 1) {
      for (--dest; dest > 0 && rname[dest - 1] != '/'; --dest) {
      }
    }
  }
  // The last readlink glibc made must have failed (EINVAL): that is the errno it leaves.
  ok = ok && n > 0 && !last_was_link;
  for (int i = 0; i < n; ++i) finish(claims[i], ok);
  if (!ok) return false;
  if (dest > 1 && rname[dest - 1] == '/') --dest;
  rname[dest] = '\0';
  *out_len = dest;
  return true;
}

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
    // What the kernel finds on glibc's walk: kExists (every component, none a link),
    // kLinks (a link on the way), kFails (component `recorded` fails with `err`, as
    // glibc's readlink would), or kUnsure (the supervisor's).
    enum { kExists, kLinks, kFails, kUnsure } found = kUnsure;
    if (p.norm.data() == p.abs && p.norm.size() == p.abs_len) {
      // Written normalised: glibc's walk is the prefixes of p.abs. Directories known to
      // be reached with no link (fastpath_dirs.hpp) cost nothing; the first that is not
      // known is asked about, and the last component's own type says the rest.
      int k = 0;
      // Every prefix so far a plain directory (a relative path's start: the current one).
      bool dirs = raw[0] == '/' || fastpath::plain_dir(ring_, std::string_view(p.abs, p.cwd_len), token_);
      each_component(raw, p.abs, p.cwd_len, rname, sizeof rname, kMaxParts, [&](std::string_view so_far) {
        const bool last = ++k == n;
        int e = 0;
        long r;
        if (!last && dirs) {
          if (fastpath::plain_dir(ring_, so_far, token_, &e)) return true;
          if (e != ENOENT && e != EACCES) dirs = false;  // else so_far is what fails
        }
        struct statx sx;
        if (e == ENOENT || e == EACCES) {
          r = -1;
        } else if (last && dirs) {
          r = syscall(SYS_statx, AT_FDCWD, rname, AT_SYMLINK_NOFOLLOW, STATX_TYPE, &sx, token_);
          if (r == 0 && (!(sx.stx_mask & STATX_TYPE) || S_ISLNK(sx.stx_mode))) {
            found = kLinks;
            return false;
          }
          e = errno;
        } else {
          struct open_how how;
          memset(&how, 0, sizeof how);
          how.flags = O_PATH | O_CLOEXEC;  // a last component that is a link: ELOOP
          how.resolve = RESOLVE_NO_SYMLINKS;
          r = syscall(SYS_openat2, AT_FDCWD, rname, &how, sizeof how, 0, token_);
          e = errno;
          if (r >= 0) syscall(SYS_close, r);
        }
        if (r >= 0) {
          if (last) found = kExists;
          return !last;  // a file in the middle: the next component fails (ENOTDIR)
        }
        if (e == ELOOP) {
          found = kLinks;
        } else if (walk_error(e)) {
          found = kFails;
          err = e;
          recorded = k;
          len = so_far.size();
        }
        return false;
      });
    }
    if (found == kUnsure) {
      long fd = open_path(p, O_PATH | O_CLOEXEC, 0);
      if (fd >= 0) {
        syscall(SYS_close, fd);
        found = kExists;
      } else if (errno == ELOOP) {
        found = kLinks;
      } else if (walk_error(errno)) {
        // Which component fails, as glibc's readlink would find: walk again, one at a time.
        int i = 0;
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
            found = kFails;
            err = errno;
            recorded = i;
            len = so_far.size();
          }
          return false;  // found it, or a symlink: stop
        });
      }
    }
    if (found == kExists) {
      recorded = n;
    } else if (found == kLinks) {
      // A symbolic link on the way: glibc's walk with the links expanded, decided again
      // from the start (the claims of the lexical walk are given back).
      for (int i = 0; i < n; ++i) finish(claims[i], false);
      n = 0;
      ok = realpath_links(p, raw, rname, &len);
      if (!ok) {
        errno = saved;
        return false;
      }
      recorded = 0;
    } else if (found == kUnsure) {
      ok = false;
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
