// The one object behind every interposer: the real libc entry points (resolved once with
// dlsym(RTLD_NEXT)), the session's channel to the supervisor, and the two reports the shim
// makes (call-site context after a denial, name -> addresses after a lookup). Everything
// here is async-signal-safe on the hook paths: no allocation, no locks, stack buffers only.
#pragma once

#include <dirent.h>
#include <netdb.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "protocol.h"

struct statx;

namespace guardian::preload {

// Real entry points. Plain function pointers, written once (constructor or first use, when
// the process is still single-threaded) and only read afterwards.
struct Real {
  int (*open)(const char*, int, ...);
  int (*open64)(const char*, int, ...);
  int (*openat)(int, const char*, int, ...);
  int (*openat64)(int, const char*, int, ...);
  int (*creat)(const char*, mode_t);
  int (*creat64)(const char*, mode_t);
  int (*open_2)(const char*, int);
  int (*open64_2)(const char*, int);
  int (*openat_2)(int, const char*, int);
  int (*openat64_2)(int, const char*, int);
  FILE* (*fopen)(const char*, const char*);
  FILE* (*fopen64)(const char*, const char*);
  FILE* (*freopen)(const char*, const char*, FILE*);
  FILE* (*freopen64)(const char*, const char*, FILE*);
  int (*stat)(const char*, struct stat*);
  int (*stat64)(const char*, struct stat64*);
  int (*lstat)(const char*, struct stat*);
  int (*lstat64)(const char*, struct stat64*);
  int (*fstatat)(int, const char*, struct stat*, int);
  int (*fstatat64)(int, const char*, struct stat64*, int);
  int (*xstat)(int, const char*, struct stat*);
  int (*xstat64)(int, const char*, struct stat64*);
  int (*lxstat)(int, const char*, struct stat*);
  int (*lxstat64)(int, const char*, struct stat64*);
  int (*fxstatat)(int, int, const char*, struct stat*, int);
  int (*fxstatat64)(int, int, const char*, struct stat64*, int);
  int (*statx)(int, const char*, int, unsigned int, struct statx*);
  int (*access)(const char*, int);
  int (*faccessat)(int, const char*, int, int);
  int (*euidaccess)(const char*, int);
  int (*eaccess)(const char*, int);
  int (*execve)(const char*, char* const[], char* const[]);
  int (*execv)(const char*, char* const[]);
  int (*execvp)(const char*, char* const[]);
  int (*execvpe)(const char*, char* const[], char* const[]);
  int (*posix_spawn)(pid_t*, const char*, const posix_spawn_file_actions_t*,
                     const posix_spawnattr_t*, char* const[], char* const[]);
  int (*posix_spawnp)(pid_t*, const char*, const posix_spawn_file_actions_t*,
                      const posix_spawnattr_t*, char* const[], char* const[]);
  int (*connect)(int, const struct sockaddr*, socklen_t);
  int (*socket)(int, int, int);
  ssize_t (*sendto)(int, const void*, size_t, int, const struct sockaddr*, socklen_t);
  int (*getaddrinfo)(const char*, const char*, const struct addrinfo*, struct addrinfo**);
  struct hostent* (*gethostbyname)(const char*);
  struct hostent* (*gethostbyname2)(const char*, int);
  int (*gethostbyname_r)(const char*, struct hostent*, char*, size_t, struct hostent**, int*);
  int (*gethostbyname2_r)(const char*, int, struct hostent*, char*, size_t, struct hostent**,
                          int*);
  DIR* (*opendir)(const char*);  // hooked only by the fast path's library
  char* (*realpath)(const char*, char*);  // likewise
  char* (*realpath_chk)(const char*, char*, size_t);  // likewise
};

class Shim {
 public:
  // Resolves the real entry points and reads GUARDIAN_SHIM. Idempotent; called from the
  // library constructor and, defensively, by a hook that runs before it.
  void init();
  const Real& real() {
    if (!resolved_) init();
    return real_;
  }
  // After a hooked call failed with errno `err`: if that is the session's deny errno, send
  // the caller's stack, pid/tid, the function and its path to the supervisor and wait
  // briefly for its acknowledgement (it reads /proc/PID/maps while we are still alive).
  // `caller` is the hook's return address, the only frame sent when unwinding is unsafe
  // (a child forked from a multi-threaded parent: another thread may have held the
  // loader's lock that the unwinder takes). Preserves errno.
  void failed(int err, gshim_family family, const char* func, const char* path, void* caller);
  // pthread_atfork handlers (registered by init()).
  void before_fork();
  void in_child();
  // After a successful name lookup: record name -> addresses (advisory, for `host`).
  void resolved(const char* name, const struct addrinfo* ai);
  void resolved(const char* name, const struct hostent* he);

 private:
  bool channel_ok() const;
  void send_host(gshim_host& msg);

  Real real_{};
  bool resolved_ = false;
  bool enabled_ = false;
  bool forking_multithreaded_ = false;  // set in the parent just before fork
  bool unwind_unsafe_ = false;          // in a child of a multi-threaded fork, until exec
  int fd_ = -1;
  int deny_errno_ = 0;
  unsigned long long cookie_ = 0;
};

// The single instance. Constant-initialised (no constructor runs), so a hook called before
// the library's constructor still finds a valid object.
extern Shim g_shim;

}  // namespace guardian::preload
