// The shim's fast path (see fastpath.hpp): the session's compiled profile, the decision
// ring, and the hooked calls performed with the session token. Async-signal-safe on every
// call path: stack buffers, raw syscalls, CAS on shared memory; the engine's decide() does
// not allocate. Allocation happens once, in init() (the library constructor).
#undef _FILE_OFFSET_BITS
#include "fastpath.hpp"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <new>
#include <string_view>

#include "fastpath_ring.hpp"
#include "policy/engine.hpp"
#include "policy/file_ops.hpp"
#include "policy/glob.hpp"
#include "policy/snapshot.hpp"

#ifndef F_GET_SEALS
#define F_GET_SEALS 1034
#endif
#ifndef F_SEAL_SEAL
#define F_SEAL_SEAL 0x0001
#define F_SEAL_SHRINK 0x0002
#define F_SEAL_GROW 0x0004
#define F_SEAL_WRITE 0x0008
#endif
#ifndef AT_STATX_SYNC_TYPE
#define AT_STATX_SYNC_TYPE 0x6000
#endif

namespace guardian::preload {

constinit FastPath g_fast;

namespace {

using policy::Op;
constexpr std::size_t kMax = 4096;

// Errors after which the ordinary call must be made: the kernel refused the token call for
// a reason of its own (a symlink on the way: ELOOP; flags openat2 is stricter about than
// open: EINVAL; no openat2: ENOSYS...), not for a reason the program should see.
bool fall_back_on(int e) {
  switch (e) {
    case ELOOP: case EINVAL: case ENOSYS: case E2BIG: case EXDEV: case EAGAIN:
    case ENAMETOOLONG: case EFAULT: case EPERM:
      return true;
    default:
      return false;
  }
}

bool parse_int(const char*& p, long& out) {
  if (*p < '0' || *p > '9') return false;
  long v = 0;
  while (*p >= '0' && *p <= '9' && v < 1000000) v = v * 10 + (*p++ - '0');
  out = v;
  return true;
}

// A signal handler on an alternate stack may have little room; decide() wants ~12 KiB.
bool on_alt_stack() {
  stack_t ss;
  if (syscall(SYS_sigaltstack, nullptr, &ss) != 0) return true;
  return (ss.ss_flags & SS_ONSTACK) != 0;
}

alignas(policy::Engine) unsigned char g_engine_storage[sizeof(policy::Engine)];

}  // namespace

struct FastPath::Path {
  char abs[kMax];   // what the kernel is given: absolute, not normalised
  std::size_t abs_len = 0;
  char nbuf[kMax];  // normalised, when abs was not
  std::string_view norm;
  const char* raw = nullptr;
  std::size_t raw_len = 0;
};

struct FastPath::Claim {
  gfast_slot* slot = nullptr;
  std::uint64_t pos = 0;
  std::uint32_t tid = 0;
};

void FastPath::init() {
  const char* env = getenv(GUARDIAN_FAST_ENV);
  long pfd = -1, rfd = -1;
  if (!env || !parse_int(env, pfd) || *env++ != ':' || !parse_int(env, rfd) || *env != '\0')
    return;
  // The profile memfd: sealed, so what we decide from is what the supervisor wrote.
  long seals = fcntl(static_cast<int>(pfd), F_GET_SEALS);
  const long need = F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
  if (seals < 0 || (seals & need) != need) return;
  struct stat st;
  if (syscall(SYS_fstat, pfd, &st) != 0 || st.st_size < static_cast<off_t>(sizeof(gfast_profile)))
    return;
  void* pm = mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_SHARED,
                  static_cast<int>(pfd), 0);
  if (pm == MAP_FAILED) return;
  const auto* hdr = static_cast<const gfast_profile*>(pm);
  if (hdr->magic != GFAST_PROFILE_MAGIC || hdr->version != GFAST_VERSION ||
      sizeof(gfast_profile) + hdr->snapshot_size > static_cast<std::uint64_t>(st.st_size)) {
    munmap(pm, static_cast<std::size_t>(st.st_size));
    return;
  }
  // The ring: only the very memfd the supervisor named (a reused descriptor number must
  // never make us write into one of the program's files).
  struct stat rs;
  if (syscall(SYS_fstat, rfd, &rs) != 0 || static_cast<std::uint64_t>(rs.st_dev) != hdr->ring_dev ||
      static_cast<std::uint64_t>(rs.st_ino) != hdr->ring_ino ||
      static_cast<std::uint64_t>(rs.st_size) < GFAST_RING_BYTES)
    return;
  void* ring = mmap(nullptr, GFAST_RING_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED,
                    static_cast<int>(rfd), 0);
  if (ring == MAP_FAILED) return;
  if (static_cast<gfast_ring*>(ring)->magic != GFAST_RING_MAGIC) {
    munmap(ring, GFAST_RING_BYTES);
    return;
  }
  // The same Engine code the supervisor decides with, built from the same rule lists in the
  // same order (so rule ids agree). Never destroyed: hooks may run during exit.
  try {
    policy::Profile prof;
    std::string_view snap(reinterpret_cast<const char*>(hdr + 1), hdr->snapshot_size);
    if (!policy::decode_snapshot(snap, prof)) return;
    auto* e = new (g_engine_storage) policy::Engine(prof);
    metadata_open_ = e->metadata_open();
    audit_allows_ = prof.audit == policy::AuditLevel::all;
    token_ = hdr->token;
    ring_ = ring;
    engine_ = e;  // last: the hooks test engine_ alone
  } catch (...) {
    return;
  }
}

// Builds the absolute path, asks the engine, and claims a ring slot for the record.
bool FastPath::prepare(int dirfd, const char* raw, int op, int nr, Path& p, Claim& c) {
  if (!engine_ || !raw) return false;
  std::size_t rl = strnlen(raw, kMax);
  if (rl == 0 || rl >= kMax) return false;
  if (raw[0] == '/') {
    memcpy(p.abs, raw, rl + 1);
    p.abs_len = rl;
  } else {
    // Relative to the cwd only (a dirfd's path is not ours to know without asking). The
    // kernel's answer names the real directory, as /proc/PID/cwd does for the supervisor.
    if (dirfd != AT_FDCWD) return false;
    long n = syscall(SYS_getcwd, p.abs, kMax);
    if (n <= 0 || p.abs[0] != '/') return false;
    std::size_t cl = strnlen(p.abs, kMax);
    if (cl + 1 + rl >= kMax) return false;
    if (cl > 1) p.abs[cl++] = '/';
    memcpy(p.abs + cl, raw, rl + 1);
    p.abs_len = cl + rl;
  }
  std::string_view abs(p.abs, p.abs_len);
  if (policy::is_normalized_path(abs)) p.norm = abs;
  else if (!policy::normalize_path(abs, p.nbuf, sizeof p.nbuf, &p.norm)) return false;
  // /proc names processes and their magic links: the supervisor's to resolve.
  if (p.norm.substr(0, 5) == "/proc" && (p.norm.size() == 5 || p.norm[5] == '/')) return false;
  if (on_alt_stack()) return false;

  policy::Request req;
  req.category = policy::Category::file;
  req.op = static_cast<Op>(op);
  req.path = p.norm;
  req.lexical_path = p.norm;
  req.lexical_trusted = true;  // no symlink is followed: openat2 refuses them
  policy::Decision d = engine_->decide(req);
  if (d.verdict != policy::Verdict::allow) return false;  // denials: the supervisor's
  p.raw = raw;
  p.raw_len = rl;
  c.slot = nullptr;
  if (!audit_allows_) return true;  // `audit: {decisions: deny}`: allows are not recorded

  const bool same = rl == p.norm.size() && memcmp(raw, p.norm.data(), rl) == 0;
  const std::size_t text = same ? rl : rl + p.norm.size();
  if (text > GFAST_TEXT || rl > 0xffff) return false;  // too long to record: ask instead
  c.tid = static_cast<std::uint32_t>(syscall(SYS_gettid));
  c.slot = fastpath::ring_claim(ring_, c.tid, &c.pos);
  if (!c.slot) return false;  // ring full: the supervisor decides (and records) it
  gfast_slot* s = c.slot;
  s->pid = static_cast<std::int32_t>(syscall(SYS_getpid));
  s->tid = static_cast<std::int32_t>(c.tid);
  s->nr = static_cast<std::uint16_t>(nr);
  s->op = static_cast<std::uint8_t>(op);
  s->flags = same ? 0 : GFAST_F_RAW;
  s->rule = engine_->rule_id(d.rule);
  s->raw_len = static_cast<std::uint16_t>(same ? 0 : rl);
  s->path_len = static_cast<std::uint16_t>(p.norm.size());
  if (same) {
    memcpy(s->text, raw, rl);
  } else {
    memcpy(s->text, raw, rl);
    memcpy(s->text + rl, p.norm.data(), p.norm.size());
  }
  return true;
}

void FastPath::finish(Claim& c, bool record) {
  if (c.slot) fastpath::ring_publish(c.slot, c.pos, c.tid, record);
  c.slot = nullptr;
}

// openat2 of the absolute path as given, refusing every symlink (magic links too): the
// object opened is the one whose normalised path was decided. The token in the unused
// sixth argument lets the call past the filter without a notification.
long FastPath::open_path(const Path& p, int flags, unsigned mode) {
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = static_cast<std::uint64_t>(static_cast<unsigned>(flags));
  const bool wants_mode = (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
  how.mode = wants_mode ? (mode & 07777) : 0;
  how.resolve = RESOLVE_NO_SYMLINKS;
  return syscall(SYS_openat2, AT_FDCWD, p.abs, &how, sizeof how, 0, token_);
}

bool FastPath::open(int dirfd, const char* raw, int flags, unsigned mode, int* rc) {
  if ((flags & O_TMPFILE) == O_TMPFILE) return false;
  const int saved = errno;
  Path p;
  Claim c;
  if (!prepare(dirfd, raw, static_cast<int>(policy::open_op(flags)), SYS_openat, p, c)) {
    errno = saved;
    return false;
  }
  long fd = open_path(p, flags, mode);
  if (fd < 0 && fall_back_on(errno)) {
    finish(c, false);
    errno = saved;
    return false;
  }
  const int e = errno;
  finish(c, true);
  *rc = static_cast<int>(fd);
  errno = fd < 0 ? e : saved;
  return true;
}

bool FastPath::stat(int dirfd, const char* raw, struct stat* buf, int atflags, int* rc) {
  if (metadata_open_ || !buf || (atflags & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT))) return false;
  const int saved = errno;
  Path p;
  Claim c;
  if (!prepare(dirfd, raw, static_cast<int>(Op::stat), SYS_newfstatat, p, c)) {
    errno = saved;
    return false;
  }
  const int nofollow = (atflags & AT_SYMLINK_NOFOLLOW) ? O_NOFOLLOW : 0;
  long fd = open_path(p, O_PATH | O_CLOEXEC | nofollow, 0);
  if (fd < 0) {
    const int e = errno;
    finish(c, !fall_back_on(e));
    if (fall_back_on(e)) {
      errno = saved;
      return false;
    }
    *rc = -1;
    errno = e;
    return true;
  }
  long r = syscall(SYS_fstat, fd, buf);
  const int e = errno;
  syscall(SYS_close, fd);
  finish(c, true);
  *rc = static_cast<int>(r);
  errno = r < 0 ? e : saved;
  return true;
}

bool FastPath::statx(int dirfd, const char* raw, int atflags, unsigned mask, struct statx* buf,
                     int* rc) {
  if (metadata_open_ || !buf ||
      (atflags & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE)))
    return false;
  const int saved = errno;
  Path p;
  Claim c;
  if (!prepare(dirfd, raw, static_cast<int>(Op::stat), SYS_statx, p, c)) {
    errno = saved;
    return false;
  }
  const int nofollow = (atflags & AT_SYMLINK_NOFOLLOW) ? O_NOFOLLOW : 0;
  long fd = open_path(p, O_PATH | O_CLOEXEC | nofollow, 0);
  if (fd < 0) {
    const int e = errno;
    finish(c, !fall_back_on(e));
    if (fall_back_on(e)) {
      errno = saved;
      return false;
    }
    *rc = -1;
    errno = e;
    return true;
  }
  long r = syscall(SYS_statx, fd, "", AT_EMPTY_PATH | (atflags & (AT_STATX_SYNC_TYPE | AT_NO_AUTOMOUNT)),
                   mask, buf, token_);
  const int e = errno;
  syscall(SYS_close, fd);
  finish(c, true);
  *rc = static_cast<int>(r);
  errno = r < 0 ? e : saved;
  return true;
}

bool FastPath::access(int dirfd, const char* raw, int mode, int atflags, int nr, int* rc) {
  if (metadata_open_ || (mode & ~7) || (atflags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW))) return false;
  const int saved = errno;
  Path p;
  Claim c;
  if (!prepare(dirfd, raw, static_cast<int>(Op::stat), nr, p, c)) {
    errno = saved;
    return false;
  }
  const int nofollow = (atflags & AT_SYMLINK_NOFOLLOW) ? O_NOFOLLOW : 0;
  long fd = open_path(p, O_PATH | O_CLOEXEC | nofollow, 0);
  if (fd < 0) {
    const int e = errno;
    finish(c, !fall_back_on(e));
    if (fall_back_on(e)) {
      errno = saved;
      return false;
    }
    *rc = -1;
    errno = e;
    return true;
  }
  long r = syscall(SYS_faccessat2, fd, "", mode, AT_EMPTY_PATH | (atflags & AT_EACCESS), 0, token_);
  const int e = errno;
  syscall(SYS_close, fd);
  finish(c, true);
  *rc = static_cast<int>(r);
  errno = r < 0 ? e : saved;
  return true;
}

bool FastPath::fopen(const char* raw, const char* mode, FILE** out) {
  // Only the plain modes fopen and fdopen agree on; ",ccs=" and the rest: the real fopen.
  if (!engine_ || !raw || !mode) return false;
  int flags;
  switch (mode[0]) {
    case 'r': flags = O_RDONLY; break;
    case 'w': flags = O_WRONLY | O_CREAT | O_TRUNC; break;
    case 'a': flags = O_WRONLY | O_CREAT | O_APPEND; break;
    default: return false;
  }
  bool plus = false;
  for (int i = 1; mode[i]; ++i) {
    if (i > 6) return false;
    switch (mode[i]) {
      case '+': plus = true; break;
      case 'x': flags |= O_EXCL; break;
      case 'e': flags |= O_CLOEXEC; break;
      case 'b': case 'm': case 'c': break;
      default: return false;
    }
  }
  if (plus) flags = (flags & ~O_ACCMODE) | O_RDWR;
  int fd;
  if (!open(AT_FDCWD, raw, flags, 0666, &fd)) return false;
  if (fd < 0) {
    *out = nullptr;
    return true;
  }
  const int saved = errno;
  // fopen("a") starts at the end of the file (ftell says so); "a+" does not.
  if (mode[0] == 'a' && !plus) lseek(fd, 0, SEEK_END);
  FILE* f = fdopen(fd, mode);
  if (!f) {
    const int e = errno;
    syscall(SYS_close, fd);
    errno = e;
  } else {
    errno = saved;
  }
  *out = f;
  return true;
}

bool FastPath::opendir(const char* raw, DIR** out) {
  int fd;
  if (!open(AT_FDCWD, raw, O_RDONLY | O_NDELAY | O_DIRECTORY | O_CLOEXEC, 0, &fd)) return false;
  if (fd < 0) {
    *out = nullptr;
    return true;
  }
  DIR* d = fdopendir(fd);
  if (!d) {
    const int e = errno;
    syscall(SYS_close, fd);
    errno = e;
  }
  *out = d;
  return true;
}

bool FastPath::fstat(int fd, struct stat* buf, int* rc) {
  if (!engine_) return false;
  const int saved = errno;
  long r = syscall(SYS_fstat, fd, buf);
  if (r == 0) errno = saved;
  *rc = static_cast<int>(r);
  return true;
}

}  // namespace guardian::preload
