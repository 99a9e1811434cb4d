// Interposers for exec (execve family, posix_spawn), the socket calls guardian decides
// (socket, connect, sendto) and the name lookups whose answers give connect records a `host`.
#undef _FILE_OFFSET_BITS
#include <errno.h>
#include <netdb.h>
#include <spawn.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>

#include "restart.hpp"
#include "shim.hpp"

#ifdef GUARDIAN_FAST_PATH
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "fastpath.hpp"
#endif

using guardian::preload::g_shim;
using guardian::preload::restart_eintr;

#define GUARDIAN_EXPORT extern "C" __attribute__((visibility("default")))
// The hook's own return address: the program's call site, known without unwinding.
#define CALLER __builtin_return_address(0)

namespace {

inline int after(void* caller, int rc, gshim_family fam, const char* func, const char* path) {
  if (rc < 0) {
    const int e = errno;
    g_shim.failed(e, fam, func, path, caller);
    errno = e;
  }
  return rc;
}

// posix_spawn returns the error instead of setting errno.
inline int after_spawn(void* caller, int rc, const char* func, const char* path) {
  if (rc != 0) {
    const int e = errno;
    g_shim.failed(rc, GSHIM_FAM_EXEC, func, path, caller);
    errno = e;
  }
  return rc;
}

// posix_spawn reports the child's exec failure as its result: EINTR there is the same
// interrupted-before-received case as restart_eintr's (the child is gone; spawn again).
template <class Call>
inline int spawn_again(Call call) {
  int rc = call();
  for (int i = 0; rc == EINTR && i < guardian::preload::kMaxRestarts; ++i) rc = call();
  return rc;
}

#define REAL_OR_ENOSYS(fn, ...) \
  do {                          \
    if (!g_shim.real().fn) {    \
      errno = ENOSYS;           \
      return __VA_ARGS__;       \
    }                           \
  } while (0)

// ldd runs the loader with LD_TRACE_LOADED_OBJECTS set (or as `ld-linux... --list`), and the
// loader then lists every object it maps: the shim too, where natively the listing has only
// the program's own. For that exec the shim leaves itself out of LD_PRELOAD (it enforces
// nothing; the supervisor decides the exec and every open either way). On the stack only
// (vfork children; no allocation): a larger environment, or a longer LD_PRELOAD, is passed
// on unchanged.
constexpr std::size_t kMaxEnv = 1024;
constexpr std::size_t kMaxPreload = 4096;
struct ListingEnv {
  char* vec[kMaxEnv + 1];
  char preload[kMaxPreload];
};

bool lists_objects(const char* path, char* const argv[], char* const envp[]) {
  for (char* const* e = envp; e && *e; ++e)
    if (std::strncmp(*e, "LD_TRACE_LOADED_OBJECTS=", 24) == 0 && (*e)[24] != '\0') return true;
  if (!path || !argv || !argv[0] || !argv[1] || std::strcmp(argv[1], "--list") != 0) return false;
  const char* base = std::strrchr(path, '/');
  return std::strncmp(base ? base + 1 : path, "ld-", 3) == 0;
}

// True when `token` (length n) names the shim: a file libguardian-preload*.so.
bool is_shim(const char* token, std::size_t n) {
  const char* base = token;
  for (std::size_t i = 0; i < n; ++i)
    if (token[i] == '/') base = token + i + 1;
  constexpr char kName[] = "libguardian-preload";
  return static_cast<std::size_t>(token + n - base) >= sizeof kName - 1 &&
         std::strncmp(base, kName, sizeof kName - 1) == 0;
}

// `envp` with the shim's entries taken out of LD_PRELOAD (the variable dropped when nothing
// else is left), or `envp` itself when it cannot be done here.
char* const* without_shim(char* const envp[], ListingEnv& out) {
  std::size_t n = 0;
  for (char* const* e = envp; e && *e; ++e) {
    if (n == kMaxEnv) return envp;
    if (std::strncmp(*e, "LD_PRELOAD=", 11) != 0) {
      out.vec[n++] = *e;
      continue;
    }
    std::size_t len = 11;
    std::memcpy(out.preload, "LD_PRELOAD=", 11);
    for (const char* p = *e + 11; *p;) {
      std::size_t t = std::strcspn(p, ": ");
      if (t && !is_shim(p, t)) {
        if (len + t + 2 > kMaxPreload) return envp;
        if (len > 11) out.preload[len++] = ':';
        std::memcpy(out.preload + len, p, t);
        len += t;
      }
      p += t;
      if (*p) ++p;
    }
    out.preload[len] = '\0';
    if (len > 11) out.vec[n++] = out.preload;
  }
  out.vec[n] = nullptr;
  return out.vec;
}

}  // namespace

extern "C" char** environ;

// Under --fast-path an absolute name that does not exist is answered in the process (a
// program's own PATH loop: Python's subprocess tries execve in every PATH entry), decided
// and recorded as the supervisor would (see FastPath::exec_missing). No call-site report:
// the fast path's denials carry none.
#ifdef GUARDIAN_FAST_PATH
#define FAST_EXEC_MISSING(path, argv)                                   \
  do {                                                                  \
    int fast_err_;                                                      \
    if (guardian::preload::g_fast.exec_missing(path, argv, &fast_err_)) { \
      errno = fast_err_;                                                \
      return -1;                                                        \
    }                                                                   \
  } while (0)
#else
#define FAST_EXEC_MISSING(path, argv) do {} while (0)
#endif

GUARDIAN_EXPORT int execve(const char* path, char* const argv[], char* const envp[]) {
  REAL_OR_ENOSYS(execve, -1);
  FAST_EXEC_MISSING(path, argv);
  ListingEnv listing;
  if (lists_objects(path, argv, envp)) envp = without_shim(envp, listing);
  return after(CALLER, restart_eintr([&] { return g_shim.real().execve(path, argv, envp); }), GSHIM_FAM_EXEC, "execve", path);
}

GUARDIAN_EXPORT int execv(const char* path, char* const argv[]) {
  REAL_OR_ENOSYS(execv, -1);
  FAST_EXEC_MISSING(path, argv);
  return after(CALLER, restart_eintr([&] { return g_shim.real().execv(path, argv); }), GSHIM_FAM_EXEC, "execv", path);
}

#ifdef GUARDIAN_FAST_PATH
namespace {

// execvp's PATH search as glibc makes it (__execvpe), with the probes of names that do not
// exist answered by the fast path instead of by an execve the supervisor must answer (a
// compiler looking for `as` tries every PATH entry before /usr/bin). The candidate that
// exists goes to glibc's own execvpe (a name with a slash: execve, then /bin/sh for a
// script without `#!`), which the supervisor decides as ever. Only when every PATH entry is
// absolute (an empty or relative one names the current directory: glibc's search then).
bool fast_execvpe(const char* file, char* const argv[], char* const envp[], int* rc) {
  if (!guardian::preload::g_fast.on() || !file || !*file || strchr(file, '/') ||
      !g_shim.real().execvpe)
    return false;
  const char* path = getenv("PATH");
  if (!path || !*path) return false;
  const std::size_t flen = strnlen(file, NAME_MAX + 1);
  if (flen > NAME_MAX) return false;
  for (const char* p = path;;) {
    const char* e = strchrnul(p, ':');
    if (e == p || *p != '/' || static_cast<std::size_t>(e - p) + 1 + flen >= PATH_MAX) return false;
    if (!*e) break;
    p = e + 1;
  }
  char buf[PATH_MAX];
  bool eacces = false;
  int err = ENOENT;
  for (const char* p = path;;) {
    const char* e = strchrnul(p, ':');
    const std::size_t dl = static_cast<std::size_t>(e - p);
    memcpy(buf, p, dl);
    buf[dl] = '/';
    memcpy(buf + dl + 1, file, flen + 1);
    if (!guardian::preload::g_fast.exec_missing(buf, argv, &err)) {
      restart_eintr([&] { return g_shim.real().execvpe(buf, argv, envp); });
      err = errno;
    }
    switch (err) {
      case EACCES:
        eacces = true;
        break;
      case ENOENT: case ESTALE: case ENOTDIR: case ENODEV: case ETIMEDOUT:
        break;  // not here (or not executable by us): the next entry
      default:
        errno = err;  // found, but the exec failed
        *rc = -1;
        return true;
    }
    if (!*e) break;
    p = e + 1;
  }
  errno = eacces ? EACCES : err;
  *rc = -1;
  return true;
}

}  // namespace
#endif

GUARDIAN_EXPORT int execvp(const char* file, char* const argv[]) {
  REAL_OR_ENOSYS(execvp, -1);
#ifdef GUARDIAN_FAST_PATH
  int rc;
  if (fast_execvpe(file, argv, environ, &rc)) return after(CALLER, rc, GSHIM_FAM_EXEC, "execvp", file);
#endif
  return after(CALLER, restart_eintr([&] { return g_shim.real().execvp(file, argv); }), GSHIM_FAM_EXEC, "execvp", file);
}

GUARDIAN_EXPORT int execvpe(const char* file, char* const argv[], char* const envp[]) {
  REAL_OR_ENOSYS(execvpe, -1);
#ifdef GUARDIAN_FAST_PATH
  int rc;
  if (fast_execvpe(file, argv, envp, &rc)) return after(CALLER, rc, GSHIM_FAM_EXEC, "execvpe", file);
#endif
  return after(CALLER, restart_eintr([&] { return g_shim.real().execvpe(file, argv, envp); }), GSHIM_FAM_EXEC, "execvpe", file);
}

// The execl family is variadic: gather the arguments on the stack (as glibc itself does with
// alloca) and go through the execv hooks above, so the real call and the report are shared.
namespace {

std::size_t count_args(const char* arg0, va_list ap) {
  std::size_t n = 1;
  if (!arg0) return 0;
  while (va_arg(ap, const char*)) ++n;
  return n;
}

}  // namespace

GUARDIAN_EXPORT int execl(const char* path, const char* arg, ...) {
  va_list ap;
  va_start(ap, arg);
  std::size_t n = count_args(arg, ap);
  va_end(ap);
  char* argv[n + 1];
  va_start(ap, arg);
  if (n) argv[0] = const_cast<char*>(arg);
  for (std::size_t i = 1; i <= n; ++i) argv[i] = va_arg(ap, char*);
  va_end(ap);
  argv[n] = nullptr;
  REAL_OR_ENOSYS(execve, -1);
  return after(CALLER, restart_eintr([&] { return g_shim.real().execve(path, argv, environ); }), GSHIM_FAM_EXEC, "execl", path);
}

GUARDIAN_EXPORT int execlp(const char* file, const char* arg, ...) {
  va_list ap;
  va_start(ap, arg);
  std::size_t n = count_args(arg, ap);
  va_end(ap);
  char* argv[n + 1];
  va_start(ap, arg);
  if (n) argv[0] = const_cast<char*>(arg);
  for (std::size_t i = 1; i <= n; ++i) argv[i] = va_arg(ap, char*);
  va_end(ap);
  argv[n] = nullptr;
  REAL_OR_ENOSYS(execvp, -1);
  return after(CALLER, restart_eintr([&] { return g_shim.real().execvp(file, argv); }), GSHIM_FAM_EXEC, "execlp", file);
}

GUARDIAN_EXPORT int execle(const char* path, const char* arg, ...) {
  va_list ap;
  va_start(ap, arg);
  std::size_t n = count_args(arg, ap);
  va_end(ap);
  char* argv[n + 1];
  va_start(ap, arg);
  if (n) argv[0] = const_cast<char*>(arg);
  for (std::size_t i = 1; i <= n; ++i) argv[i] = va_arg(ap, char*);
  char* const* envp = va_arg(ap, char* const*);
  va_end(ap);
  argv[n] = nullptr;
  REAL_OR_ENOSYS(execve, -1);
  return after(CALLER, restart_eintr([&] { return g_shim.real().execve(path, argv, envp); }), GSHIM_FAM_EXEC, "execle", path);
}

GUARDIAN_EXPORT int posix_spawn(pid_t* pid, const char* path,
                                const posix_spawn_file_actions_t* actions,
                                const posix_spawnattr_t* attr, char* const argv[],
                                char* const envp[]) {
  if (!g_shim.real().posix_spawn) return ENOSYS;
  return after_spawn(CALLER, spawn_again([&] { return g_shim.real().posix_spawn(pid, path, actions, attr, argv, envp); }),
                     "posix_spawn", path);
}

GUARDIAN_EXPORT int posix_spawnp(pid_t* pid, const char* file,
                                 const posix_spawn_file_actions_t* actions,
                                 const posix_spawnattr_t* attr, char* const argv[],
                                 char* const envp[]) {
  if (!g_shim.real().posix_spawnp) return ENOSYS;
  return after_spawn(CALLER, spawn_again([&] { return g_shim.real().posix_spawnp(pid, file, actions, attr, argv, envp); }),
                     "posix_spawnp", file);
}

GUARDIAN_EXPORT int connect(int fd, const struct sockaddr* addr, socklen_t len) {
  REAL_OR_ENOSYS(connect, -1);
  return after(CALLER, g_shim.real().connect(fd, addr, len), GSHIM_FAM_CONNECT, "connect", nullptr);
}

GUARDIAN_EXPORT int socket(int domain, int type, int protocol) {
  REAL_OR_ENOSYS(socket, -1);
  return after(CALLER, g_shim.real().socket(domain, type, protocol), GSHIM_FAM_SOCKET, "socket",
               nullptr);
}

GUARDIAN_EXPORT ssize_t sendto(int fd, const void* buf, size_t n, int flags,
                               const struct sockaddr* addr, socklen_t len) {
  REAL_OR_ENOSYS(sendto, -1);
  ssize_t rc = g_shim.real().sendto(fd, buf, n, flags, addr, len);
  if (rc < 0 && addr) {  // without a destination guardian decides nothing
    const int e = errno;
    g_shim.failed(e, GSHIM_FAM_SENDTO, "sendto", nullptr, CALLER);
    errno = e;
  }
  return rc;
}

GUARDIAN_EXPORT int getaddrinfo(const char* node, const char* service,
                                const struct addrinfo* hints, struct addrinfo** res) {
  if (!g_shim.real().getaddrinfo) return EAI_SYSTEM;
  int rc = g_shim.real().getaddrinfo(node, service, hints, res);
  if (rc == 0 && res) g_shim.resolved(node, *res);
  return rc;
}

GUARDIAN_EXPORT struct hostent* gethostbyname(const char* name) {
  REAL_OR_ENOSYS(gethostbyname, nullptr);
  struct hostent* he = g_shim.real().gethostbyname(name);
  if (he) g_shim.resolved(name, he);
  return he;
}

GUARDIAN_EXPORT struct hostent* gethostbyname2(const char* name, int af) {
  REAL_OR_ENOSYS(gethostbyname2, nullptr);
  struct hostent* he = g_shim.real().gethostbyname2(name, af);
  if (he) g_shim.resolved(name, he);
  return he;
}

GUARDIAN_EXPORT int gethostbyname_r(const char* name, struct hostent* ret, char* buf, size_t len,
                                    struct hostent** result, int* h_errnop) {
  if (!g_shim.real().gethostbyname_r) return ENOSYS;
  int rc = g_shim.real().gethostbyname_r(name, ret, buf, len, result, h_errnop);
  if (rc == 0 && result && *result) g_shim.resolved(name, *result);
  return rc;
}

GUARDIAN_EXPORT int gethostbyname2_r(const char* name, int af, struct hostent* ret, char* buf,
                                     size_t len, struct hostent** result, int* h_errnop) {
  if (!g_shim.real().gethostbyname2_r) return ENOSYS;
  int rc = g_shim.real().gethostbyname2_r(name, af, ret, buf, len, result, h_errnop);
  if (rc == 0 && result && *result) g_shim.resolved(name, *result);
  return rc;
}
