// The shim's fast path (see fastpath.hpp): the session's compiled profile, the decision
// ring, and the hooked calls performed with the session token. Async-signal-safe on every
// call path: stack buffers, raw syscalls, CAS on shared memory; the engine's decide() does
// not allocate. Allocation happens once, in init() (the library constructor).
#undef _FILE_OFFSET_BITS
#include "fastpath.hpp"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <limits.h>

#include <new>
#include <string_view>

#include "fastpath_image.hpp"
#include "fastpath_impl.hpp"
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
bool g_altstack_seen = false;

namespace {

using policy::Op;

bool parse_int(const char*& p, long& out) {
  if (*p < '0' || *p > '9') return false;
  long v = 0;
  while (*p >= '0' && *p <= '9' && v < 1000000) v = v * 10 + (*p++ - '0');
  out = v;
  return true;
}

// A signal handler on an alternate stack may have little room (decide() and our buffers
// want ~20 KiB): asked only once the program installed one through libc (hooks_fast.cpp).
bool on_alt_stack() {
  if (!__atomic_load_n(&g_altstack_seen, __ATOMIC_RELAXED)) return false;
  stack_t ss;
  if (syscall(SYS_sigaltstack, nullptr, &ss) != 0) return true;
  return (ss.ss_flags & SS_ONSTACK) != 0;
}

// This process's pid as of init or its last fork through libc (pthread_atfork): no getpid
// per call. A vfork child, or a child of a raw clone, still holds its parent's here, which
// current_dir() allows for.
std::int32_t g_pid = 0;

// The process's current directory, cached: getcwd is the dearest call of a relative
// lookup. Valid while the ring's cwd_gen has not moved (the supervisor bumps it before any
// chdir, fchdir, chroot or rename of the session proceeds) and for the process that filled
// it. A vfork child shares our memory but not our cwd: until it changes directory (which
// moves cwd_gen) our cwd is its cwd too; after that it finds the cache stale, asks the
// kernel, and may not refill the cache, because its getpid() is not g_pid (only the
// process g_pid names writes; a raw-clone child, which also holds a stale g_pid, likewise
// asks the kernel each time once it moved). A sequence count makes readers retry around a
// writer, whoever it is (another thread, a signal handler).
struct CwdCache {
  std::uint32_t seq;  // odd while being written
  std::int32_t pid;
  std::uint64_t gen;
  std::uint32_t len;
  char path[kMax];
};
CwdCache g_cwd;

bool current_dir(const void* ring, char* out, std::size_t cap, std::size_t* len) {
  const auto* hdr = static_cast<const gfast_ring*>(ring);
  const std::uint64_t gen = __atomic_load_n(&hdr->cwd_gen, __ATOMIC_ACQUIRE);
  const std::int32_t pid = __atomic_load_n(&g_pid, __ATOMIC_RELAXED);
  std::uint32_t s1 = __atomic_load_n(&g_cwd.seq, __ATOMIC_ACQUIRE);
  if (!(s1 & 1) && g_cwd.pid == pid && g_cwd.gen == gen && g_cwd.len > 0 && g_cwd.len < cap) {
    std::size_t n = g_cwd.len;
    memcpy(out, g_cwd.path, n);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (__atomic_load_n(&g_cwd.seq, __ATOMIC_RELAXED) == s1 && out[0] == '/') {
      out[n] = '\0';
      *len = n;
      return true;
    }
  }
  long r = syscall(SYS_getcwd, out, cap);
  if (r <= 0 || out[0] != '/') return false;
  std::size_t n = strnlen(out, cap);
  std::uint32_t s = __atomic_load_n(&g_cwd.seq, __ATOMIC_RELAXED);
  if (!(s & 1) && syscall(SYS_getpid) == pid &&
      __atomic_compare_exchange_n(&g_cwd.seq, &s, s + 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
    g_cwd.pid = pid;
    g_cwd.gen = gen;
    g_cwd.len = static_cast<std::uint32_t>(n);
    memcpy(g_cwd.path, out, n);
    __atomic_store_n(&g_cwd.seq, s + 2, __ATOMIC_RELEASE);
  }
  *len = n;
  return true;
}

alignas(policy::Engine) unsigned char g_engine_storage[sizeof(policy::Engine)];

// Far above any profile's snapshot (tools/bench's is 8.5 KB): the header's word for its
// size is never believed beyond this.
constexpr std::uint32_t kMaxSnapshot = 64u << 20;

}  // namespace

void FastPath::init() {
  const char* env = getenv(GUARDIAN_FAST_ENV);
  long pfd = -1, rfd = -1, ifd = -1;
  if (!env || !parse_int(env, pfd) || *env++ != ':' || !parse_int(env, rfd) || *env++ != ':' ||
      !parse_int(env, ifd) || *env != '\0')
    return;
  // The profile memfd: sealed, so what we decide from is what the supervisor wrote.
  long seals = fcntl(static_cast<int>(pfd), F_GET_SEALS);
  const long need = F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
  if (seals < 0 || (seals & need) != need) return;
  // Read, not mapped: one pread instead of mmap + munmap and their page faults, in every
  // process the shim is loaded into. No fstat for the size: a short read says the file is
  // too small, for the header here and for the snapshot below (which is read only when
  // there is no engine image to load).
  gfast_profile hdr_copy;
  if (pread(static_cast<int>(pfd), &hdr_copy, sizeof hdr_copy, 0) != static_cast<ssize_t>(sizeof hdr_copy))
    return;
  const gfast_profile* hdr = &hdr_copy;
  if (hdr->magic != GFAST_PROFILE_MAGIC || hdr->version != GFAST_VERSION ||
      hdr->snapshot_size > kMaxSnapshot)
    return;
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
  auto* rhdr = static_cast<gfast_ring*>(ring);
  if (rhdr->magic != GFAST_RING_MAGIC) {
    munmap(ring, GFAST_RING_BYTES);
    return;
  }
  // The engine image likewise only from the memfd the supervisor named.
  struct stat is;
  const bool image = syscall(SYS_fstat, ifd, &is) == 0 && static_cast<std::uint64_t>(is.st_dev) == hdr->image_dev &&
                     static_cast<std::uint64_t>(is.st_ino) == hdr->image_ino &&
                     static_cast<std::uint64_t>(is.st_size) == hdr->image_size && hdr->image_size > GFAST_IMAGE_DATA;
  // The same Engine code the supervisor decides with, built from the same rule lists in the
  // same order (so rule ids agree). Never destroyed: hooks may run during exit. Loaded from
  // the session's image when there is one (fastpath_image.hpp); the first process to get
  // here makes it.
  const policy::Engine* e = nullptr;
  try {
    std::uint64_t state = image ? __atomic_load_n(&rhdr->image_state, __ATOMIC_ACQUIRE) : GFAST_IMAGE_FAILED;
    if (state == GFAST_IMAGE_READY)
      e = fastpath::image_load(static_cast<int>(ifd), hdr->image_size, hdr->snapshot_size);
    const bool build_image =
        state == GFAST_IMAGE_NONE && __atomic_compare_exchange_n(&rhdr->image_state, &state, GFAST_IMAGE_BUILDING,
                                                                 false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
    if (!e) {
      std::string snap(hdr->snapshot_size, '\0');
      if (pread(static_cast<int>(pfd), snap.data(), snap.size(), sizeof(gfast_profile)) ==
          static_cast<ssize_t>(snap.size())) {
        if (build_image) {
          e = fastpath::image_build(static_cast<int>(ifd), hdr->image_size, snap);
          __atomic_store_n(&rhdr->image_state, e ? GFAST_IMAGE_READY : GFAST_IMAGE_FAILED, __ATOMIC_RELEASE);
        }
        policy::Profile prof;
        if (!e && policy::decode_snapshot(snap, prof)) e = new (g_engine_storage) policy::Engine(std::move(prof));
      } else if (build_image) {
        __atomic_store_n(&rhdr->image_state, GFAST_IMAGE_FAILED, __ATOMIC_RELEASE);
      }
    }
  } catch (...) {
    e = nullptr;
  }
  if (!e) {
    munmap(ring, GFAST_RING_BYTES);
    return;
  }
  metadata_open_ = e->metadata_open();
  // Allows are recorded only when something writes them (an audit destination and
  // `audit: {decisions: all}`); otherwise they would be counted nowhere.
  audit_allows_ = e->profile().audit == policy::AuditLevel::all && (hdr->flags & GFAST_P_RECORD);
  may_deny_ = (hdr->flags & GFAST_P_DENY) != 0;
  token_ = hdr->token;
  g_pid = static_cast<std::int32_t>(syscall(SYS_getpid));
  pthread_atfork(nullptr, nullptr,
                 [] { __atomic_store_n(&g_pid, static_cast<std::int32_t>(syscall(SYS_getpid)), __ATOMIC_RELAXED); });
  ring_ = ring;
  engine_ = e;  // last: the hooks test engine_ alone
}

// Builds the absolute path the kernel will be given and its normalised form; false for
// what the supervisor must resolve (dirfd-relative, /proc, too long).
bool FastPath::absolute(int dirfd, const char* raw, Path& p) {
  if (!engine_ || !raw) return false;
  std::size_t rl = strnlen(raw, kMax);
  if (rl == 0 || rl >= kMax) return false;
  if (raw[0] == '/') {
    memcpy(p.abs, raw, rl + 1);
    p.abs_len = rl;
    p.cwd_len = 0;
  } else {
    // Relative to the cwd only (a dirfd's path is not ours to know without asking). The
    // kernel's answer names the real directory, as /proc/PID/cwd does for the supervisor.
    if (dirfd != AT_FDCWD) return false;
    std::size_t cl = 0;
    if (!current_dir(ring_, p.abs, kMax, &cl)) return false;
    if (cl + 1 + rl >= kMax) return false;
    p.cwd_len = cl;
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
  p.raw = raw;
  p.raw_len = rl;
  return true;
}

// Asks the engine about `path` (absolute, normalised, no symlink on the way) and, when it
// allows and allows are recorded, claims a ring slot and fills the record. False: the
// supervisor must decide (a denial, a full ring, a record too long).
bool FastPath::decide(int op, int nr, std::string_view raw, std::string_view path, std::int32_t pid,
                      Claim& c, std::string_view lexical, bool exec, char* const* argv) {
  policy::Request req;
  req.category = exec ? policy::Category::exec : policy::Category::file;
  req.op = static_cast<Op>(op);
  req.path = path;
  // No link followed: openat2 refused them, the path is the object's. Links followed: the
  // links were not looked at, so the written form may deny but not allow (the supervisor's
  // Resolver::follow answer; what it does not allow goes to the supervisor, which walks).
  // (Empty when no link was followed: the engine drops a lexical path equal to the path,
  // so leaving it out decides alike and spares it a second normalisation check.)
  req.lexical_path = lexical;
  req.lexical_trusted = lexical.empty();
  c.slot = nullptr;
  // base's /dev/shm objects: only the supervisor knows which the session made (its
  // guardian:own-shm), so an open of one there is its to decide.
  if (!exec && (req.op == Op::read || req.op == Op::write) && policy::shm_shared_name(path)) {
    c.denied = false;
    return false;
  }
  policy::Decision d = engine_->decide(req);
  if (d.verdict != policy::Verdict::allow) {
    // Denials are the supervisor's, but for the one case refuse_missing() may take.
    c.denied = may_deny_ && lexical.empty() && d.verdict == policy::Verdict::deny && d.err > 0 &&
               d.err < 4096;
    c.err = static_cast<std::uint16_t>(d.err);
    c.rule = engine_->rule_id(d.rule);
    return false;
  }
  if (!audit_allows_) return true;  // nothing would write them
  return record(c, op, nr, raw, path, pid, engine_->rule_id(d.rule), exec, 0, argv);
}

bool FastPath::record(Claim& c, int op, int nr, std::string_view raw, std::string_view path,
                      std::int32_t pid, std::uint32_t rule, bool exec, int err, char* const* argv) {
  const bool same = raw == path;
  const std::size_t text = same ? path.size() : raw.size() + path.size();
  if (text > GFAST_TEXT || raw.size() > 0xffff) return false;  // too long to record: ask instead
  c.tid = static_cast<std::uint32_t>(syscall(SYS_gettid));
  c.slot = fastpath::ring_claim(ring_, c.tid, &c.pos);
  if (!c.slot) return false;  // ring full: the supervisor decides (and records) it
  gfast_slot* s = c.slot;
  s->pid = pid ? pid : static_cast<std::int32_t>(syscall(SYS_getpid));
  s->tid = static_cast<std::int32_t>(c.tid);
  s->nr = static_cast<std::uint16_t>(nr);
  s->op = static_cast<std::uint8_t>(op);
  s->flags = static_cast<std::uint8_t>((same ? 0 : GFAST_F_RAW) | (err ? GFAST_F_DENY : 0) |
                                       (exec ? GFAST_F_EXEC : 0));
  s->rule = rule;
  s->raw_len = static_cast<std::uint16_t>(same ? 0 : raw.size());
  s->path_len = static_cast<std::uint16_t>(path.size());
  s->err = static_cast<std::uint16_t>(err);
  s->argv_len = 0;
  std::size_t at = 0;
  if (!same) {
    memcpy(s->text, raw.data(), raw.size());
    at = raw.size();
  }
  memcpy(s->text + at, path.data(), path.size());
  at += path.size();
  // The arguments of an exec, as many whole ones as fit (the supervisor records argv too).
  for (int i = 0; exec && argv && argv[i] && i < 256; ++i) {
    const std::size_t n = strnlen(argv[i], GFAST_TEXT) + 1;
    if (at + n > GFAST_TEXT) break;
    memcpy(s->text + at, argv[i], n);
    at += n;
    s->argv_len = static_cast<std::uint16_t>(s->argv_len + n);
  }
  return true;
}

// Is `norm`'s directory an entry of this process's PATH (lexically; no allocation)?
bool FastPath::in_search_path(std::string_view norm) {
  const std::size_t slash = norm.rfind('/');
  if (slash == std::string_view::npos) return false;
  const std::string_view dir = norm.substr(0, slash == 0 ? 1 : slash);
  const char* path = getenv("PATH");
  if (!path) return false;
  std::string_view rest(path);
  while (!rest.empty()) {
    const std::size_t colon = rest.find(':');
    std::string_view e = rest.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
    while (e.size() > 1 && e.back() == '/') e.remove_suffix(1);
    if (!e.empty() && e[0] == '/' && e == dir) return true;
  }
  return false;
}

bool FastPath::refuse_missing(const Path& p, int op, int nr, Claim& c, bool exec, char* const* argv) {
  if (!c.denied) return false;
  c.denied = false;
  // The supervisor's Resolver::fast: openat2(RESOLVE_NO_SYMLINKS) of the path as given says
  // ENOENT, so it decides the lexical path whichever component is missing. A dangling
  // link, a link on the way (ELOOP), a file in the middle (ENOTDIR): its walk decides.
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC;
  how.resolve = RESOLVE_NO_SYMLINKS;
  long fd = syscall(SYS_openat2, AT_FDCWD, p.abs, &how, sizeof how, 0, token_);
  if (fd >= 0) {
    syscall(SYS_close, fd);
    return false;  // it exists: a real denial, the supervisor's (with its backtrace)
  }
  if (errno != ENOENT) return false;
  // A name missing right in a directory of the PATH, that no rule names: ENOENT without a
  // record, as the supervisor answers it (HandlerOptions::search_dirs).
  if (c.rule == 0 && in_search_path(p.norm)) {
    c.err = ENOENT;
    return true;
  }
  // A name no rule names, missing below a directory the process may look at: ENOENT without
  // a record, as the supervisor answers it (Handler::Impl::missing_but_visible). Recorded as
  // a denial, every probe of a config file up the tree (node's package.json, ~/.toolrc,
  // ../setup.cfg) was EACCES (Python's PermissionError where natively FileNotFoundError)
  // and a summary line, under --fast-path only.
  if (c.rule == 0 && op != static_cast<int>(Op::write) && missing_visible(p.norm)) {
    c.err = ENOENT;
    return true;
  }
  if (!record(c, op, nr, std::string_view(p.raw, p.raw_len), p.norm, p.pid, c.rule, exec, c.err, argv))
    return false;
  finish(c, true);
  return true;
}

bool FastPath::missing_visible(std::string_view norm) {
  policy::Request q;
  q.category = policy::Category::file;
  q.op = Op::stat;
  q.path = norm;
  q.lexical_trusted = true;
  const policy::Decision ds = engine_->decide(q);
  if (ds.verdict == policy::Verdict::allow) return true;
  // A name a rule denies (a secret's place: ~/.npmrc, .env) says nothing either way.
  if (ds.rule) return false;
  // The nearest directory that exists: refuse_missing's openat2 said ENOENT with no symbolic
  // link walked, so the lexical ancestors up to the missing name are the real ones.
  if (norm.size() >= kMax || norm.empty() || norm[0] != '/') return false;
  char dir[kMax];
  memcpy(dir, norm.data(), norm.size());
  std::size_t len = norm.size();
  dir[len] = '\0';
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC;
  how.resolve = RESOLVE_NO_SYMLINKS;
  // The name itself is missing (a path such as "missing/../x" names an x that may exist).
  long fd = syscall(SYS_openat2, AT_FDCWD, dir, &how, sizeof how, 0, token_);
  if (fd >= 0) syscall(SYS_close, fd);
  if (fd >= 0 || errno != ENOENT) return false;
  for (;;) {
    if (len <= 1) return false;
    while (len > 0 && dir[len - 1] != '/') --len;
    if (len > 1) --len;  // keep "/" itself
    dir[len] = '\0';
    fd = syscall(SYS_openat2, AT_FDCWD, dir, &how, sizeof how, 0, token_);
    if (fd >= 0) break;
    if (errno != ENOENT) return false;
  }
  struct stat st;
  const bool is_dir = syscall(SYS_fstat, fd, &st) == 0 && S_ISDIR(st.st_mode);
  syscall(SYS_close, fd);
  if (!is_dir) return false;
  q.path = std::string_view(dir, len);
  return engine_->decide(q).verdict == policy::Verdict::allow;
}

long FastPath::follow_path(const char* abs, bool nofollow, char* real, std::size_t* real_len) {
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = O_PATH | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0);
  how.resolve = RESOLVE_NO_MAGICLINKS;
  long fd = syscall(SYS_openat2, AT_FDCWD, abs, &how, sizeof how, 0, token_);
  if (fd < 0) return errno == ENOENT ? kMissing : -1;
  // /proc/self/fd/N, without snprintf (not async-signal-safe).
  char link[32] = "/proc/self/fd/";
  char digits[12];
  int nd = 0;
  for (long v = fd; nd == 0 || v > 0; v /= 10) digits[nd++] = static_cast<char>('0' + v % 10);
  std::size_t at = 14;
  while (nd > 0) link[at++] = digits[--nd];
  link[at] = '\0';
  struct statfs sf;
  long n = -1;
  // The object's own file system must not be /proc (its names are the supervisor's).
  if (syscall(SYS_fstatfs, fd, &sf) == 0 && sf.f_type != PROC_SUPER_MAGIC)
    n = syscall(SYS_readlinkat, AT_FDCWD, link, real, kMax, 0, token_);
  constexpr std::string_view kDeleted = " (deleted)";
  if (n <= 0 || n >= static_cast<long>(kMax) || real[0] != '/' ||
      (static_cast<std::size_t>(n) >= kDeleted.size() &&
       std::string_view(real + n - kDeleted.size(), kDeleted.size()) == kDeleted)) {
    syscall(SYS_close, fd);
    return -1;
  }
  real[n] = '\0';
  *real_len = static_cast<std::size_t>(n);
  return fd;
}

// A name missing behind symbolic links (the kernel's lookup of p.abs said ENOENT): when
// the parent, followed as the kernel follows it, is an existing directory, the name is
// what is missing, and the supervisor's walk decides the parent's real path and the name
// (then the kernel answers ENOENT): so do we. False: the supervisor's to do.
bool FastPath::missing_name(const Path& p, int op, int nr, Claim& c) {
  std::size_t end = p.abs_len;
  for (;;) {  // "NAME/", "NAME/." and "NAME/./" all stand for NAME
    while (end > 1 && p.abs[end - 1] == '/') --end;
    if (end > 2 && p.abs[end - 1] == '.' && p.abs[end - 2] == '/') {
      --end;
      continue;
    }
    break;
  }
  // The deepest ancestor that exists (followed as the kernel follows it): the supervisor's
  // walk stops at the first missing component and decides that directory's real path with
  // the rest of the path joined to it. A few levels up at most (a compiler probing
  // LIBRARY_PATH/x86_64-linux-gnu/12/specs behind a link); plain names only in the rest.
  std::size_t slash = end;
  char parent[kMax], real[kMax];
  std::size_t len = 0;
  long fd = -1;
  for (int up = 0;; ++up) {
    const std::size_t comp_end = slash;
    while (slash > 0 && p.abs[slash - 1] != '/') --slash;
    if (slash < 2 || up >= 8) return false;  // "/" (or none) as the parent: no link before
    const std::string_view comp(p.abs + slash, comp_end - slash);
    if (comp.empty() || comp == "." || comp == "..") return false;
    std::size_t plen = slash - 1;
    while (plen > 1 && p.abs[plen - 1] == '/') --plen;
    memcpy(parent, p.abs, plen);
    parent[plen] = '\0';
    fd = follow_path(parent, false, real, &len);
    if (fd >= 0) break;
    if (fd != kMissing) return false;
    slash = plen;  // the parent is missing too: one level up
  }
  struct stat st;
  const bool dir = syscall(SYS_fstat, fd, &st) == 0 && S_ISDIR(st.st_mode);
  syscall(SYS_close, fd);
  if (!dir) return false;
  // real + "/" + the rest, with its slashes single; first_end: where the first name ends.
  std::size_t first_end = 0;
  for (std::size_t i = slash; i < end;) {
    while (i < end && p.abs[i] == '/') ++i;
    std::size_t j = i;
    while (j < end && p.abs[j] != '/') ++j;
    if (j == i) break;
    if (len + 1 + (j - i) >= kMax) return false;
    if (len > 1) real[len++] = '/';
    memcpy(real + len, p.abs + i, j - i);
    len += j - i;
    if (!first_end) first_end = len;
    i = j;
  }
  if (!first_end) return false;
  // Nothing at all by the first missing name: not even a dangling link (the supervisor
  // would follow it and decide its target).
  const char saved = real[first_end];
  real[first_end] = '\0';
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC;
  how.resolve = RESOLVE_NO_SYMLINKS;
  fd = syscall(SYS_openat2, AT_FDCWD, real, &how, sizeof how, 0, token_);
  real[first_end] = saved;
  real[len] = '\0';
  if (fd >= 0) syscall(SYS_close, fd);
  if (fd >= 0 || errno != ENOENT) return false;
  return decide(op, nr, std::string_view(p.raw, p.raw_len), std::string_view(real, len), p.pid, c, p.norm);
}

bool FastPath::prepare(int dirfd, const char* raw, int op, int nr, Path& p, Claim& c) {
  return absolute(dirfd, raw, p) &&
         decide(op, nr, std::string_view(p.raw, p.raw_len), p.norm, p.pid, c);
}

void FastPath::finish(Claim& c, bool record) {
  // A record while the supervisor's drain sleeps with nothing to do: wake it (one writer
  // does; the drain then looks every few milliseconds until the ring stays empty).
  if (c.slot && fastpath::ring_publish(c.slot, c.pos, c.tid, record) && record && fastpath::ring_bell(ring_)) {
    const int saved = errno;
    syscall(SYS_futex, &static_cast<gfast_ring*>(ring_)->drain_asleep, FUTEX_WAKE, 1, nullptr, nullptr, 0);
    errno = saved;
  }
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
    // A denied name that does not exist (no O_CREAT: a create decides on its parent).
    if (!(flags & O_CREAT) && refuse_missing(p, static_cast<int>(policy::open_op(flags)), SYS_openat, c)) {
      *rc = -1;
      errno = c.err;
      return true;
    }
    errno = saved;
    return false;
  }
  long fd = open_path(p, flags, mode);
  if (fd < 0 && errno == ELOOP && !(flags & O_CREAT)) {
    // A symbolic link on the way: decided again as the object it leads to, then opened by
    // that object's real path, which has none (the supervisor's kernel_follow answer; it
    // does not use it for O_CREAT, nor do we).
    finish(c, false);
    char real[kMax];
    std::size_t real_len = 0;
    long opath = follow_path(p.abs, flags & O_NOFOLLOW, real, &real_len);
    if (opath == kMissing && missing_name(p, static_cast<int>(policy::open_op(flags)), SYS_openat, c)) {
      finish(c, true);
      *rc = -1;
      errno = ENOENT;
      return true;
    }
    if (opath < 0) {
      errno = saved;
      return false;
    }
    syscall(SYS_close, opath);
    if (!decide(static_cast<int>(policy::open_op(flags)), SYS_openat, std::string_view(p.raw, p.raw_len),
                std::string_view(real, real_len), p.pid, c, p.norm)) {
      errno = saved;
      return false;
    }
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = static_cast<std::uint64_t>(static_cast<unsigned>(flags));
    how.resolve = RESOLVE_NO_SYMLINKS;
    fd = syscall(SYS_openat2, AT_FDCWD, real, &how, sizeof how, 0, token_);
  }
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

bool FastPath::exec_missing(const char* raw, char* const argv[], int* err) {
  if (!engine_ || !raw || raw[0] != '/') return false;  // execvp's candidates are absolute
  const int saved = errno;
  Path p;
  Claim c;
  const int op = static_cast<int>(Op::exec);
  if (!absolute(AT_FDCWD, raw, p)) {
    errno = saved;
    return false;
  }
  const std::string_view rawv(p.raw, p.raw_len);
  if (decide(op, SYS_execve, rawv, p.norm, p.pid, c, {}, true, argv)) {
    // Allowed: only a name that does not exist is ours to answer (the supervisor's answer
    // to it is ENOENT after the decision); anything else is a real exec, the supervisor's.
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC;
    how.resolve = RESOLVE_NO_SYMLINKS;
    long fd = syscall(SYS_openat2, AT_FDCWD, p.abs, &how, sizeof how, 0, token_);
    const bool missing = fd < 0 && errno == ENOENT;
    if (fd >= 0) syscall(SYS_close, fd);
    finish(c, missing);
    errno = saved;
    if (!missing) return false;
    *err = ENOENT;
    return true;
  }
  const bool refused = refuse_missing(p, op, SYS_execve, c, true, argv);
  errno = saved;
  if (refused) *err = c.err;
  return refused;
}

}  // namespace guardian::preload
