// The supervisor's side of the shim's fast path (see fastpath.hpp).
#include "context/fastpath.hpp"

#include <fcntl.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>

#include "decode/syscalls.hpp"
#include "policy/snapshot.hpp"
#include "preload/fastpath_ring.hpp"

#ifndef MFD_ALLOW_SEALING
#define MFD_ALLOW_SEALING 0x0002U
#endif
#ifndef F_ADD_SEALS
#define F_ADD_SEALS 1033
#endif
#ifndef F_SEAL_SEAL
#define F_SEAL_SEAL 0x0001
#define F_SEAL_SHRINK 0x0002
#define F_SEAL_GROW 0x0004
#define F_SEAL_WRITE 0x0008
#endif

namespace guardian::context {

namespace {

// How long a slot may stay claimed before we look whether its writer still exists. A live
// writer (an open of a FIFO that blocks) is waited for: its record is never dropped.
constexpr auto kBusyGrace = std::chrono::milliseconds(500);
constexpr auto kDrainEvery = std::chrono::milliseconds(5);
// How long the drain sleeps on the doorbell at most (a writer killed between its record
// and its wake-up: that record is written at the latest then, or at its process's exit).
constexpr auto kIdleCheck = std::chrono::seconds(1);

UniqueFd make_memfd(const char* name) {
  return UniqueFd(static_cast<int>(
      syscall(SYS_memfd_create, name, MFD_CLOEXEC | MFD_ALLOW_SEALING)));
}

bool write_all(int fd, const void* data, std::size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

// A thread is gone when /proc has no entry for it or it is a zombie.
bool thread_gone(std::uint32_t tid) {
  char file[48], buf[512];
  std::snprintf(file, sizeof file, "/proc/%u/stat", tid);
  int fd = ::open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return true;
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return true;
  buf[n] = 0;
  const char* close_paren = std::strrchr(buf, ')');
  if (!close_paren || close_paren[1] != ' ') return false;
  char state = close_paren[2];
  return state == 'Z' || state == 'X';
}

bool read_proc_exe(pid_t pid, std::string& out) {
  char link[48], buf[4096];
  std::snprintf(link, sizeof link, "/proc/%d/exe", pid);
  ssize_t n = ::readlink(link, buf, sizeof buf);
  if (n <= 0) return false;
  out.assign(buf, static_cast<std::size_t>(n));
  return true;
}

pid_t read_proc_ppid(pid_t pid) {
  char file[48], buf[512];
  std::snprintf(file, sizeof file, "/proc/%d/stat", pid);
  int fd = ::open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  const char* p = std::strrchr(buf, ')');
  int ppid = 0;
  char state;
  if (!p || std::sscanf(p + 1, " %c %d", &state, &ppid) != 2) return 0;
  return ppid;
}

}  // namespace

// --- FastPathSession --------------------------------------------------------------------

FastPathSession::FastPathSession(FastPathSession&& o) noexcept
    : profile_fd_(std::move(o.profile_fd_)),
      ring_fd_(std::move(o.ring_fd_)),
      image_fd_(std::move(o.image_fd_)),
      token_(o.token_),
      snapshot_(std::move(o.snapshot_)),
      ring_(o.ring_),
      record_(o.record_),
      deny_(o.deny_),
      tip_vars_(std::move(o.tip_vars_)) {
  o.ring_ = nullptr;
}

FastPathSession& FastPathSession::operator=(FastPathSession&& o) noexcept {
  if (this != &o) {
    if (ring_) ::munmap(ring_, GFAST_RING_BYTES);
    profile_fd_ = std::move(o.profile_fd_);
    ring_fd_ = std::move(o.ring_fd_);
    image_fd_ = std::move(o.image_fd_);
    token_ = o.token_;
    snapshot_ = std::move(o.snapshot_);
    ring_ = o.ring_;
    record_ = o.record_;
    deny_ = o.deny_;
    tip_vars_ = std::move(o.tip_vars_);
    o.ring_ = nullptr;
  }
  return *this;
}

FastPathSession::~FastPathSession() {
  if (ring_) ::munmap(ring_, GFAST_RING_BYTES);
}

std::unique_ptr<policy::Engine> FastPathSession::canonical(const policy::Engine& engine) {
  policy::Profile copy = engine.profile();
  return std::make_unique<policy::Engine>(copy);
}

void FastPathSession::before_syscall(int nr) noexcept {
  if (!ring_) return;
  auto* hdr = static_cast<gfast_ring*>(ring_);
  switch (nr) {
    case SYS_chdir: case SYS_fchdir:
      __atomic_add_fetch(&hdr->cwd_gen, 1, __ATOMIC_ACQ_REL);
      break;
    // What a path names: both a kept current directory and the directories known to have
    // no symbolic link on their path may be stale after these.
    case SYS_chroot: case SYS_pivot_root: case SYS_rename: case SYS_renameat:
    case SYS_renameat2: case SYS_mount: case SYS_umount2: case SYS_move_mount:
      __atomic_add_fetch(&hdr->cwd_gen, 1, __ATOMIC_ACQ_REL);
      __atomic_add_fetch(&hdr->names_gen, 1, __ATOMIC_ACQ_REL);
      break;
    // Names removed or added other than by creating a file or directory (the supervisor's
    // own PathCache forgets its resolutions at the same calls).
    case SYS_unlink: case SYS_unlinkat: case SYS_rmdir: case SYS_link: case SYS_linkat:
    case SYS_symlink: case SYS_symlinkat:
      __atomic_add_fetch(&hdr->names_gen, 1, __ATOMIC_ACQ_REL);
      break;
    default:
      break;
  }
}

Result<FastPathSession> FastPathSession::prepare(const policy::Engine& engine, bool record,
                                                 bool deny) {
  FastPathSession s;
  while (s.token_ == 0)
    if (::getrandom(&s.token_, sizeof s.token_, 0) != sizeof s.token_)
      return fail_errno("--fast-path: cannot draw the session token (getrandom)", errno);

  // The ring first: the profile header names its inode.
  s.ring_fd_ = make_memfd("guardian-fast-ring");
  if (!s.ring_fd_) return fail_errno("--fast-path: cannot create the ring (memfd_create)", errno);
  if (::ftruncate(s.ring_fd_.get(), static_cast<off_t>(GFAST_RING_BYTES)) != 0)
    return fail_errno("--fast-path: cannot size the ring", errno);
  // Fixed size for good: neither side can be made to fault on a shrunk mapping.
  if (::fcntl(s.ring_fd_.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
    return fail_errno("--fast-path: cannot seal the ring", errno);
  void* ring = ::mmap(nullptr, GFAST_RING_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED,
                      s.ring_fd_.get(), 0);
  if (ring == MAP_FAILED) return fail_errno("--fast-path: cannot map the ring", errno);
  s.ring_ = ring;
  fastpath::ring_init(ring);
  s.record_ = record;
  s.deny_ = deny;
  struct stat rs {};
  if (::fstat(s.ring_fd_.get(), &rs) != 0) return fail_errno("--fast-path: cannot stat the ring", errno);

  s.snapshot_ = policy::encode_snapshot(engine.profile());
  for (const char* v : {"CWD", "HOME"})
    if (auto it = engine.profile().vars.find(v); it != engine.profile().vars.end()) s.tip_vars_[v] = it->second;
  // The engine image: written once by the first shim (an arena of up to 64 bytes per
  // snapshot byte plus 512 KiB, then 4 bytes per pointer word), then sealed by it. Sparse
  // until then; fixed in size.
  const std::size_t arena_max = 64 * s.snapshot_.size() + 512 * 1024;
  const std::size_t image_size = GFAST_IMAGE_DATA + arena_max + arena_max / 2;
  s.image_fd_ = make_memfd("guardian-fast-image");
  struct stat is {};
  if (!s.image_fd_ || ::ftruncate(s.image_fd_.get(), static_cast<off_t>(image_size)) != 0 ||
      ::fcntl(s.image_fd_.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) != 0 || ::fstat(s.image_fd_.get(), &is) != 0)
    return fail_errno("--fast-path: cannot create the engine image (memfd_create)", errno);
  gfast_profile hdr{};
  hdr.magic = GFAST_PROFILE_MAGIC;
  hdr.version = GFAST_VERSION;
  hdr.token = s.token_;
  hdr.ring_dev = static_cast<std::uint64_t>(rs.st_dev);
  hdr.ring_ino = static_cast<std::uint64_t>(rs.st_ino);
  hdr.snapshot_size = static_cast<std::uint32_t>(s.snapshot_.size());
  hdr.flags = (record ? GFAST_P_RECORD : 0) | (deny ? GFAST_P_DENY : 0);
  hdr.image_dev = static_cast<std::uint64_t>(is.st_dev);
  hdr.image_ino = static_cast<std::uint64_t>(is.st_ino);
  hdr.image_size = image_size;
  s.profile_fd_ = make_memfd("guardian-fast-profile");
  if (!s.profile_fd_) return fail_errno("--fast-path: cannot create the profile snapshot (memfd_create)", errno);
  if (!write_all(s.profile_fd_.get(), &hdr, sizeof hdr) ||
      !write_all(s.profile_fd_.get(), s.snapshot_.data(), s.snapshot_.size()))
    return fail_errno("--fast-path: cannot write the profile snapshot", errno);
  // Read-only for everyone from now on: the shim refuses a snapshot without these seals.
  if (::fcntl(s.profile_fd_.get(), F_ADD_SEALS,
              F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
    return fail_errno("--fast-path: cannot seal the profile snapshot", errno);
  return s;
}

void FastPathSession::inject_env(std::vector<std::string>& envp) const {
  const std::string prefix = std::string(GUARDIAN_FAST_ENV) + "=";
  std::erase_if(envp, [&](const std::string& e) { return e.starts_with(prefix); });
  envp.push_back(prefix + std::to_string(profile_fd_.get()) + ":" + std::to_string(ring_fd_.get()) + ":" +
                 std::to_string(image_fd_.get()));
}

std::unique_ptr<audit::AuditLog> FastPathSession::wrap(std::unique_ptr<audit::AuditLog> log) {
  // The shims record nothing without an audit destination and denials of their own: no
  // ring to drain, no thread.
  if (!record_ && !deny_) return log;
  void* ring = ::mmap(nullptr, GFAST_RING_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED,
                      ring_fd_.get(), 0);
  if (ring == MAP_FAILED) ring = nullptr;  // no drain: the shim's records stay in the ring
  return std::make_unique<FastPathLog>(std::move(log), ring, snapshot_, tip_vars_);
}

// --- FastPathLog ------------------------------------------------------------------------

FastPathLog::FastPathLog(std::unique_ptr<audit::AuditLog> inner, void* ring,
                         const std::string& snapshot, std::map<std::string, std::string> tip_vars)
    : inner_(std::move(inner)), ring_(ring), snapshot_(snapshot), tip_vars_(std::move(tip_vars)) {
  rec_.via = "preload";
  thread_ = std::thread([this] { run(); });
}

FastPathLog::~FastPathLog() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (ring_) {
    // Out of a doorbell sleep too (run() looks at stop_ before it sleeps again).
    auto* hdr = static_cast<gfast_ring*>(ring_);
    __atomic_store_n(&hdr->drain_asleep, 0u, __ATOMIC_SEQ_CST);
    ::syscall(SYS_futex, &hdr->drain_asleep, FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
  }
  if (thread_.joinable()) thread_.join();
  if (ring_) ::munmap(ring_, GFAST_RING_BYTES);
}

// While records come, the ring is looked at every kDrainEvery; after a look that found
// nothing at all, the thread sleeps on the ring's doorbell until a shim publishes a record
// (or kIdleCheck passes), instead of waking 200 times a second for a ring that stays empty
// (a session without an audit log records only the shims' own denials, few or none).
void FastPathLog::run() {
  std::unique_lock lk(mu_);
  std::uint64_t seen = drained_;
  while (!stop_) {
    drain_locked(false);
    const bool idle = drained_ == seen && ring_ &&
                      fastpath::ring_peek(ring_, tail_, nullptr) == fastpath::Peek::empty;
    seen = drained_;
    if (!idle || !fastpath::drain_may_sleep(ring_, tail_)) {
      cv_.wait_for(lk, kDrainEvery, [this] { return stop_; });
      continue;
    }
    lk.unlock();
    auto* hdr = static_cast<gfast_ring*>(ring_);
    struct timespec ts {kIdleCheck.count(), 0};
    ::syscall(SYS_futex, &hdr->drain_asleep, FUTEX_WAIT, 1u, &ts, nullptr, 0);
    __atomic_store_n(&hdr->drain_asleep, 0u, __ATOMIC_RELAXED);
    lk.lock();
  }
}

void FastPathLog::drain(bool final) {
  std::lock_guard lk(mu_);
  drain_locked(final);
}

const FastPathLog::Proc& FastPathLog::proc_of(pid_t pid) {
  auto it = procs_.find(pid);
  if (it != procs_.end()) return it->second;
  // Not seen in a process record (the command itself): ask /proc while it is alive. The
  // pid comes from session memory: bound what a confused writer can make us keep.
  if (procs_.size() > 65536) procs_.clear();
  Proc p;
  p.ppid = read_proc_ppid(pid);
  read_proc_exe(pid, p.exe);
  return procs_.emplace(pid, std::move(p)).first->second;
}

void FastPathLog::drain_locked(bool final) {
  if (!ring_) return;
  for (;;) {
    std::uint32_t busy_tid = 0;
    std::uint64_t st = fastpath::slot_state(ring_, tail_);
    switch (fastpath::ring_peek(ring_, tail_, &busy_tid)) {
      case fastpath::Peek::empty:
        return;
      case fastpath::Peek::busy: {
        // Claimed, not yet published. Skipped only once its writer is gone (then it never
        // made the call it claimed the slot for... or died after it: either way nothing
        // more will come).
        auto now = std::chrono::steady_clock::now();
        if (busy_pos_ != tail_) {
          busy_pos_ = tail_;
          busy_since_ = now;
        }
        if (!final && (now - busy_since_ < kBusyGrace || !thread_gone(busy_tid))) return;
        if (fastpath::ring_release(ring_, tail_, st)) ++tail_;
        continue;
      }
      case fastpath::Peek::void_:
        if (fastpath::ring_release(ring_, tail_, st)) ++tail_;
        continue;
      case fastpath::Peek::ready:
        break;
    }
    // Copy out first: the slot is in memory the session can write.
    gfast_slot s;
    std::memcpy(&s, fastpath::slot_at(ring_, tail_), sizeof s);
    if (fastpath::ring_release(ring_, tail_, st)) ++tail_;
    else continue;
    const std::size_t raw_len = (s.flags & GFAST_F_RAW) ? s.raw_len : 0;
    const bool exec = (s.flags & GFAST_F_EXEC) != 0;
    const std::size_t argv_len = exec ? s.argv_len : 0;
    const auto op = static_cast<policy::Op>(s.op);
    // Malformed (the slot is in memory the session can write): dropped.
    if (raw_len + s.path_len + argv_len > GFAST_TEXT || s.path_len == 0 ||
        (exec ? op != policy::Op::exec : s.op > 2))
      continue;
    const decode::SyscallInfo* sc = decode::find_syscall(s.nr);
    if (!mirror_ && !snapshot_.empty()) {
      // Built at the first record, not at start-up: most sessions without an audit log
      // have few records of the shim's (its denials) or none.
      policy::Profile p;
      if (policy::decode_snapshot(snapshot_, p)) {
        for (const auto& [k, v] : tip_vars_) p.vars[k] = v;  // tips only: rules are already expanded
        mirror_ = std::make_unique<policy::Engine>(std::move(p));
      }
      snapshot_.clear();
    }
    rec_.pid = s.pid;
    rec_.tid = s.tid;
    const Proc& proc = proc_of(s.pid);
    rec_.ppid = proc.ppid;
    rec_.exe = proc.exe;
    rec_.syscall.assign(sc ? sc->name : std::string_view("openat"));
    rec_.category = exec ? policy::Category::exec : policy::Category::file;
    rec_.op = op;
    rec_.path.assign(s.text + raw_len, s.path_len);
    if (raw_len) rec_.raw_path.assign(s.text, raw_len);
    else rec_.raw_path = rec_.path;
    rec_.addr.clear();
    rec_.host.clear();
    rec_.rule = mirror_ ? mirror_->rule_by_id(s.rule) : nullptr;
    rec_.tip.clear();
    if (s.flags & GFAST_F_DENY) {
      // A denial the shim took itself (a name that does not exist): written as the
      // supervisor writes its own, tip included.
      rec_.decision = policy::Verdict::deny;
      rec_.err = s.err ? s.err : EACCES;
      if (mirror_) {
        policy::Request req;
        req.category = rec_.category;
        req.op = op;
        req.path = rec_.path;
        req.lexical_path = rec_.path;
        req.lexical_trusted = true;
        rec_.tip = mirror_->tip(req);
      }
    } else {
      rec_.decision = policy::Verdict::allow;
      rec_.err = 0;
    }
    rec_.argv.clear();
    for (std::size_t at = raw_len + s.path_len, end = at + argv_len; at < end;) {
      const char* a = s.text + at;
      const std::size_t n = strnlen(a, end - at);
      rec_.argv.emplace_back(a, n);
      at += n + 1;
    }
    rec_.backtrace.clear();
    inner_->decision(rec_);
    ++drained_;
  }
}

void FastPathLog::session_start(const audit::SessionStart& s) { inner_->session_start(s); }

void FastPathLog::decision(const audit::DecisionRecord& r) { inner_->decision(r); }

void FastPathLog::process(const audit::ProcessRecord& p) {
  std::lock_guard lk(mu_);
  // What the process decided before this exec or exit is written before it.
  drain_locked(false);
  if (p.what == "exit") {
    procs_.erase(p.pid);
  } else {
    Proc& pr = procs_[p.pid];
    pr.ppid = p.ppid;
    pr.exe = p.exe;
  }
  inner_->process(p);
}

void FastPathLog::limit(const audit::LimitRecord& l) { inner_->limit(l); }

void FastPathLog::session_end(const audit::SessionEnd& e) {
  std::lock_guard lk(mu_);
  drain_locked(true);
  inner_->session_end(e);
}

void FastPathLog::flush() {
  drain(false);
  inner_->flush();
}

std::string FastPathLog::denial_summary() const { return inner_->denial_summary(); }

}  // namespace guardian::context
