// The shim's core: resolving the real libc entry points once, the session channel, and the
// two reports (call-site context after a denial, host names after a lookup). Only
// async-signal-safe calls on report paths: the interposers may run in signal handlers,
// after fork in a multi-threaded parent, or in a vfork child sharing its parent's memory.
#undef _FILE_OFFSET_BITS
#include "shim.hpp"

#ifdef GUARDIAN_FAST_PATH
#include "fastpath.hpp"
#include "fastpath_arena.hpp"
#endif

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <pthread.h>
#include <sys/single_threaded.h>
#include <unwind.h>

#include <cstddef>
#include <cstdint>

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

namespace guardian::preload {

constinit Shim g_shim;

namespace {

// How long a denied call waits for the supervisor to read our memory map. Only failed calls
// with the deny errno wait, and the supervisor answers at once when nothing of ours matches.
constexpr int kAckTimeoutMs = 300;

template <typename F>
void resolve(F& slot, const char* name) {
  slot = reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

// The pre-2.33 stat entry points survive in glibc only as compat symbols, which plain
// dlsym does not find: asked for by the version they were introduced with on x86-64
// (__fxstatat came with 2.4, the others with the base version), then by plain name. A
// failed lookup is not free: it makes dlerror's message, whose malloc() would initialise
// the allocator (getrandom, two brk) in every process, even one that never allocates.
template <typename F>
void resolve_compat(F& slot, const char* name, const char* version) {
  slot = reinterpret_cast<F>(dlvsym(RTLD_NEXT, name, version));
  if (!slot) slot = reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

// Small parsers that neither allocate nor touch errno's callers' expectations.
bool parse_ull(const char*& p, unsigned long long& out) {
  if (*p < '0' || *p > '9') return false;
  unsigned long long v = 0;
  while (*p >= '0' && *p <= '9') v = v * 10 + static_cast<unsigned>(*p++ - '0');
  out = v;
  return true;
}

void copy_str(char* dst, std::size_t cap, const char* src) {
  std::size_t i = 0;
  if (src)
    for (; i + 1 < cap && src[i]; ++i) dst[i] = src[i];
  dst[i] = '\0';
}

struct Frames {
  std::uint64_t* out;
  unsigned n, max;
};

_Unwind_Reason_Code on_frame(struct _Unwind_Context* ctx, void* arg) {
  auto* f = static_cast<Frames*>(arg);
  if (f->n >= f->max) return _URC_END_OF_STACK;
  std::uint64_t ip = _Unwind_GetIP(ctx);
  if (ip == 0) return _URC_END_OF_STACK;
  f->out[f->n++] = ip;
  return _URC_NO_REASON;
}

}  // namespace

void Shim::init() {
  Real r{};
  resolve(r.open, "open");
  resolve(r.open64, "open64");
  resolve(r.openat, "openat");
  resolve(r.openat64, "openat64");
  resolve(r.creat, "creat");
  resolve(r.creat64, "creat64");
  resolve(r.open_2, "__open_2");
  resolve(r.open64_2, "__open64_2");
  resolve(r.openat_2, "__openat_2");
  resolve(r.openat64_2, "__openat64_2");
  resolve(r.fopen, "fopen");
  resolve(r.fopen64, "fopen64");
  resolve(r.freopen, "freopen");
  resolve(r.freopen64, "freopen64");
  resolve(r.stat, "stat");
  resolve(r.stat64, "stat64");
  resolve(r.lstat, "lstat");
  resolve(r.lstat64, "lstat64");
  resolve(r.fstatat, "fstatat");
  resolve(r.fstatat64, "fstatat64");
  resolve_compat(r.xstat, "__xstat", "GLIBC_2.2.5");
  resolve_compat(r.xstat64, "__xstat64", "GLIBC_2.2.5");
  resolve_compat(r.lxstat, "__lxstat", "GLIBC_2.2.5");
  resolve_compat(r.lxstat64, "__lxstat64", "GLIBC_2.2.5");
  resolve_compat(r.fxstatat, "__fxstatat", "GLIBC_2.4");
  resolve_compat(r.fxstatat64, "__fxstatat64", "GLIBC_2.4");
  resolve(r.statx, "statx");
  resolve(r.access, "access");
  resolve(r.faccessat, "faccessat");
  resolve(r.euidaccess, "euidaccess");
  resolve(r.eaccess, "eaccess");
  resolve(r.execve, "execve");
  resolve(r.execv, "execv");
  resolve(r.execvp, "execvp");
  resolve(r.execvpe, "execvpe");
  resolve(r.posix_spawn, "posix_spawn");
  resolve(r.posix_spawnp, "posix_spawnp");
  resolve(r.connect, "connect");
  resolve(r.socket, "socket");
  resolve(r.sendto, "sendto");
  resolve(r.getaddrinfo, "getaddrinfo");
  resolve(r.gethostbyname, "gethostbyname");
  resolve(r.gethostbyname2, "gethostbyname2");
  resolve(r.gethostbyname_r, "gethostbyname_r");
  resolve(r.gethostbyname2_r, "gethostbyname2_r");
  resolve(r.opendir, "opendir");
  resolve(r.realpath, "realpath");
  resolve(r.realpath_chk, "__realpath_chk");
  real_ = r;

  // GUARDIAN_SHIM=FD:ERRNO:COOKIE. Anything malformed leaves the shim a pure pass-through.
  const char* env = getenv(GUARDIAN_SHIM_ENV);
  unsigned long long fd = 0, err = 0, cookie = 0;
  if (env && parse_ull(env, fd) && *env++ == ':' && parse_ull(env, err) && *env++ == ':' &&
      parse_ull(env, cookie) && *env == '\0' && fd < 65536 && err > 0 && err < 4096) {
    fd_ = static_cast<int>(fd);
    deny_errno_ = static_cast<int>(err);
    cookie_ = cookie;
    enabled_ = true;
  }
  resolved_ = true;
  pthread_atfork([] { g_shim.before_fork(); }, nullptr, [] { g_shim.in_child(); });
  // No hello to the supervisor: it looks the library up in a process's memory map at the
  // process's first denial it could hold (ContextLog::carries_shim), instead of every
  // process paying a message and the supervisor's context thread a wake-up.
}

// Is fd_ still the socket guardian gave us? A program may have closed it (close_fds in a
// spawner) and the number may now name one of its own files.
bool Shim::channel_ok() const {
  if (!enabled_) return false;
  unsigned long long c = 0;
  socklen_t len = sizeof c;
  if (getsockopt(fd_, SOL_SOCKET, SO_COOKIE, &c, &len) != 0) return false;
  return len == sizeof c && c == cookie_;
}

void Shim::failed(int err, gshim_family family, const char* func, const char* path,
                  void* caller) {
  if (!resolved_ || !enabled_ || err != deny_errno_) return;
  const int saved = errno;
  if (!channel_ok()) {
    errno = saved;
    return;
  }
  gshim_context msg;
  memset(&msg, 0, sizeof msg);
  msg.h.magic = GSHIM_MAGIC;
  msg.h.kind = GSHIM_CONTEXT;
  msg.h.size = sizeof msg;
  msg.h.pid = static_cast<std::int32_t>(syscall(SYS_getpid));
  msg.h.tid = static_cast<std::int32_t>(syscall(SYS_gettid));
  msg.family = static_cast<std::uint16_t>(family);
  msg.err = err;
  copy_str(msg.func, sizeof msg.func, func);
  if (path) {
    // Keep the prefix when too long; the supervisor matches truncated paths by prefix.
    std::size_t i = 0;
    for (; i < sizeof msg.path && path[i]; ++i) msg.path[i] = path[i];
  }
  Frames frames{msg.frames, 0, GSHIM_MAX_FRAMES};
  if (!unwind_unsafe_) _Unwind_Backtrace(on_frame, &frames);
  if (frames.n == 0 && caller) {
    // Only the call site: the supervisor symbolises it like any return address. Frame 0 is
    // by convention the unwinder's own pc, so put a marker of ours (skipped as the shim's).
    msg.frames[frames.n++] = reinterpret_cast<std::uint64_t>(&on_frame);
    msg.frames[frames.n++] = reinterpret_cast<std::uint64_t>(caller);
  }
  msg.nframes = static_cast<std::uint16_t>(frames.n);

  // The eventfd rides along so the supervisor can tell us when it has read our memory map:
  // a program that exits right after the failure must not take its map with it.
  int efd = eventfd(0, EFD_CLOEXEC);
  struct iovec iov = {&msg, sizeof msg};
  alignas(struct cmsghdr) char cbuf[CMSG_SPACE(sizeof(int))];
  struct msghdr mh;
  memset(&mh, 0, sizeof mh);
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  if (efd >= 0) {
    memset(cbuf, 0, sizeof cbuf);
    mh.msg_control = cbuf;
    mh.msg_controllen = sizeof cbuf;
    struct cmsghdr* c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &efd, sizeof efd);
  }
  ssize_t sent = sendmsg(fd_, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (sent < 0 && efd >= 0) {
    // Without the ack channel (e.g. a profile that refuses sendmsg): context on a best-effort basis.
    close(efd);
    efd = -1;
    mh.msg_control = nullptr;
    mh.msg_controllen = 0;
    sent = sendmsg(fd_, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
  }
  if (sent >= 0 && efd >= 0) {
    struct pollfd p = {efd, POLLIN, 0};
    for (int tries = 0; tries < 3; ++tries)
      if (poll(&p, 1, kAckTimeoutMs) >= 0 || errno != EINTR) break;
  }
  if (efd >= 0) close(efd);
  errno = saved;
}

void Shim::before_fork() { forking_multithreaded_ = !__libc_single_threaded; }

void Shim::in_child() { unwind_unsafe_ = forking_multithreaded_; }

void Shim::send_host(gshim_host& msg) {
  msg.h.magic = GSHIM_MAGIC;
  msg.h.kind = GSHIM_HOST;
  msg.h.size = sizeof msg;
  msg.h.pid = static_cast<std::int32_t>(syscall(SYS_getpid));
  msg.h.tid = static_cast<std::int32_t>(syscall(SYS_gettid));
  // send() without a destination is a plain write on a connected socket: the filter lets
  // it through without a notification.
  send(fd_, &msg, sizeof msg, MSG_DONTWAIT | MSG_NOSIGNAL);
}

namespace {

void add_addr(gshim_host& msg, int family, const void* bytes) {
  if (msg.naddrs >= GSHIM_MAX_ADDRS) return;
  gshim_addr a;
  memset(&a, 0, sizeof a);
  a.family = family == AF_INET ? 4 : 6;
  memcpy(a.bytes, bytes, family == AF_INET ? 4 : 16);
  for (unsigned i = 0; i < msg.naddrs; ++i)
    if (memcmp(&msg.addrs[i], &a, sizeof a) == 0) return;
  msg.addrs[msg.naddrs++] = a;
}

// Numeric "hosts" (getaddrinfo("127.0.0.1")) name nothing worth recording.
bool numeric(const char* name) {
  unsigned char buf[16];
  return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

}  // namespace

void Shim::resolved(const char* name, const struct addrinfo* ai) {
  if (!resolved_ || !name || !*name || !ai) return;
  const int saved = errno;
  if (!numeric(name) && channel_ok()) {
    gshim_host msg;
    memset(&msg, 0, sizeof msg);
    copy_str(msg.name, sizeof msg.name, name);
    for (; ai; ai = ai->ai_next) {
      if (ai->ai_family == AF_INET && ai->ai_addr)
        add_addr(msg, AF_INET, &reinterpret_cast<const sockaddr_in*>(ai->ai_addr)->sin_addr);
      else if (ai->ai_family == AF_INET6 && ai->ai_addr)
        add_addr(msg, AF_INET6, &reinterpret_cast<const sockaddr_in6*>(ai->ai_addr)->sin6_addr);
    }
    if (msg.naddrs) send_host(msg);
  }
  errno = saved;
}

void Shim::resolved(const char* name, const struct hostent* he) {
  if (!resolved_ || !name || !*name || !he || !he->h_addr_list) return;
  if (he->h_addrtype != AF_INET && he->h_addrtype != AF_INET6) return;
  const int saved = errno;
  if (!numeric(name) && channel_ok()) {
    gshim_host msg;
    memset(&msg, 0, sizeof msg);
    copy_str(msg.name, sizeof msg.name, name);
    for (char** p = he->h_addr_list; *p; ++p) add_addr(msg, he->h_addrtype, *p);
    if (msg.naddrs) send_host(msg);
  }
  errno = saved;
}

}  // namespace guardian::preload

// Resolve before main() and before any other constructor of the program can call a hook
// from a second thread.
__attribute__((constructor(101))) static void guardian_preload_init() {
  guardian::preload::g_shim.real();  // initialises unless an earlier hook already did
#ifdef GUARDIAN_FAST_PATH
  // After the real entry points: until the engine is built every hook takes the ordinary
  // path, which the supervisor decides.
  guardian::preload::g_fast.init();
  // Last: the library's own allocations are done (fastpath_arena.hpp).
  guardian::fastpath::refuse_eh_pool();
#endif
}

// AddressSanitizer refuses to start unless its runtime is the first library of the link map
// ("ASan runtime does not come first in initial library list"), and LD_PRELOAD puts the shim
// before it: every program built with -fsanitize=address exited 1 at once under guardian.
// The order matters to ASan only so that its interceptors come before the program's other
// libraries; the shim's hooks reach them through dlsym(RTLD_NEXT) as they reach libc, and
// its runtime is initialised from the program's preinit array, before any constructor of
// ours runs. So the shim gives ASan the default that skips the check: the weak hook ASan
// asks first, which the program's own definition overrides and ASAN_OPTIONS follows.
extern "C" __attribute__((visibility("default"))) const char* __asan_default_options() {
  return "verify_asan_link_order=0";
}
