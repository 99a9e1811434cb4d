// The seccomp BPF filter, compiled with libseccomp (at build time for the usual options,
// filter_ready.cpp; else in the parent before fork).
#include "seccomp/filter.hpp"

#include <sys/ioctl.h>
#include <termios.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

#include "base/unique_fd.hpp"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef TIOCLINUX
#define TIOCLINUX 0x541C
#endif
#ifndef FIOSETOWN
#define FIOSETOWN 0x8901
#endif
#ifndef SIOCSPGRP
#define SIOCSPGRP 0x8902
#endif
#ifndef TIOCSTI
#define TIOCSTI 0x5412
#endif
#ifndef TIOCEXCL
#define TIOCEXCL 0x540C
#endif
#ifndef TIOCSETD
#define TIOCSETD 0x5423
#endif
#ifndef TIOCVHANGUP
#define TIOCVHANGUP 0x5437
#endif

namespace guardian::seccomp {

namespace {

// Closed doors: refused in BPF whatever the profile says, because each one either escapes
// a syscall-level supervisor or widens the kernel attack surface far beyond a developer
// tool's needs. io_uring performs file and network operations without syscalls we see;
// ENOSYS lets libraries (liburing users, tokio, libuv) fall back to plain syscalls.
struct Door {
  int nr;
  int err;
};
constexpr Door kDoors[] = {
    {__NR_io_uring_setup, ENOSYS},
    {__NR_io_uring_enter, ENOSYS},
    {__NR_io_uring_register, ENOSYS},
    {__NR_clone3, ENOSYS},  // flags live in memory BPF cannot read; libc falls back to clone
    {__NR_bpf, EPERM},
    {__NR_userfaultfd, EPERM},  // stalls the kernel in the middle of our reads of tracee memory
    {__NR_perf_event_open, EPERM},
    {__NR_kexec_load, EPERM},
    {__NR_kexec_file_load, EPERM},
    {__NR_init_module, EPERM},
    {__NR_finit_module, EPERM},
    {__NR_delete_module, EPERM},
    {__NR_keyctl, EPERM},  // the kernel keyring is shared with the user's other sessions
    {__NR_add_key, EPERM},
    {__NR_request_key, EPERM},
    // Joining another namespace (a mount, user or network namespace held by a descriptor
    // received from outside, or a pidfd's) would take the session out of the view our path
    // and address decisions are made in, as unshare would.
    {__NR_setns, EPERM},
};

// Namespace flags: a new user or mount namespace lets the session remount or re-root its
// view of the file system under our path decisions.
constexpr std::uint64_t kCloneNsFlags[] = {CLONE_NEWUSER, CLONE_NEWNS,  CLONE_NEWPID,
                                           CLONE_NEWNET,  CLONE_NEWUTS, CLONE_NEWIPC,
                                           CLONE_NEWCGROUP};

struct CtxDeleter {
  void operator()(void* c) const { seccomp_release(c); }
};
using Ctx = std::unique_ptr<void, CtxDeleter>;

Result<void> check(int rc, const char* what) {
  if (rc < 0) return fail_errno(std::string("cannot build the seccomp filter (") + what + ")", -rc);
  return outcome::success();
}

}  // namespace

bool filter_owns(int nr) noexcept {
  for (const Door& d : kDoors)
    if (d.nr == nr) return true;
  switch (nr) {
    case __NR_clone:
    case __NR_unshare:
    case __NR_ioctl:
    case __NR_seccomp:
    case __NR_sendto:
    case __NR_recvfrom:
    case __NR_prlimit64:
    case __NR_migrate_pages:
    case __NR_move_pages:
    case __NR_fcntl:
    case __NR_setpriority:
    case __NR_sched_setparam:
    case __NR_sched_setscheduler:
    case __NR_sched_setaffinity:
    case __NR_sched_setattr:
    case __NR_ioprio_set:
    case __NR_setpgid:
    case __NR_setsockopt:
      return true;
    default:
      return false;
  }
}

Result<Program> build_filter_fresh(std::span<const decode::SyscallInfo> table, const FilterOptions& opts) {
  Ctx ctx(seccomp_init(SCMP_ACT_ALLOW));
  if (!ctx) return fail("cannot build the seccomp filter (seccomp_init failed)");
  void* c = ctx.get();
  // x32 numbers and i386 (int 0x80) bypass x86_64 syscall numbers: kill, not errno, since
  // nothing legitimate in a session uses them.
  if (auto r = check(seccomp_attr_set(c, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS), "badarch"); !r)
    return r.error();
  // The child sets no_new_privs itself (before Landlock, which needs it too).
  if (auto r = check(seccomp_attr_set(c, SCMP_FLTATR_CTL_NNP, 0), "nnp"); !r) return r.error();

  for (const Door& d : kDoors)
    if (auto r = check(seccomp_rule_add(c, SCMP_ACT_ERRNO(d.err), d.nr, 0), "door"); !r)
      return r.error();

  // A nested filter asking for its own listener would take our notifications (the newest
  // listener wins): EBUSY, as the kernel answers when a listener already exists. Plain
  // nested filters (Chrome, systemd services, minijail) stay allowed. The kernel takes the
  // operation (and the flags) as 32 bits: compare only those, or SECCOMP_SET_MODE_FILTER
  // with garbage in the upper half passes (under the ptrace backend, where no listener is
  // there for the kernel to refuse a second one, that listener would answer our calls).
  if (auto r = check(seccomp_rule_add(c, SCMP_ACT_ERRNO(EBUSY), __NR_seccomp, 2,
                                      SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffULL, SECCOMP_SET_MODE_FILTER),
                                      SCMP_A1(SCMP_CMP_MASKED_EQ, SECCOMP_FILTER_FLAG_NEW_LISTENER,
                                              SECCOMP_FILTER_FLAG_NEW_LISTENER)),
                     "seccomp");
      !r)
    return r.error();

  for (std::uint64_t flag : kCloneNsFlags) {
    if (auto r = check(seccomp_rule_add(c, SCMP_ACT_ERRNO(EPERM), __NR_clone, 1,
                                        SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag)),
                       "clone");
        !r)
      return r.error();
    if (auto r = check(seccomp_rule_add(c, SCMP_ACT_ERRNO(EPERM), __NR_unshare, 1,
                                        SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag)),
                       "unshare");
        !r)
      return r.error();
  }
  // CLONE_UNTRACED makes a task the tracer is not told about: a process whose exec would
  // go unverified, or a thread that the process table would not count (a descriptor table
  // it deems private would not be; session/process_table.hpp). The sanitizers' leak check
  // (LeakSanitizer, on by default with -fsanitize=address) makes its tracer task so at
  // every exit: under seccomp the supervisor lets it through as a hand-over of the calling
  // process (Supervisor::untraced_clone), where a hand-over would be allowed; under ptrace
  // guardian must trace every task, so EPERM.
  if (auto r = check(seccomp_rule_add(c, opts.trace ? SCMP_ACT_ERRNO(EPERM) : SCMP_ACT_NOTIFY, __NR_clone, 1,
                                      SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_UNTRACED, CLONE_UNTRACED)),
                     "clone");
      !r)
    return r.error();
  // CLONE_NEWTIME shares its bit with clone()'s exit-signal byte, so only unshare has it.
  if (auto r = check(seccomp_rule_add(c, SCMP_ACT_ERRNO(EPERM), __NR_unshare, 1,
                                      SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWTIME, CLONE_NEWTIME)),
                     "unshare");
      !r)
    return r.error();

  // The terminal is shared with the user's shell: pushing input into it (TIOCSTI) or
  // through the console (TIOCLINUX) would run commands after the session ends. The kernel
  // takes cmd as 32 bits, so compare only those.
  // TIOCVHANGUP (root) hangs the terminal up, so the kernel sends SIGHUP to the user's shell,
  // outside the session, as vhangup(2) would (refused in the table).
  // TIOCSETD and TIOCEXCL change the terminal for good (any user may): the N_NULL line
  // discipline throws away all the shell's input and output once the session has ended,
  // and an exclusive terminal fails every later open of /dev/tty (sudo, ssh, less).
  for (unsigned long cmd : {static_cast<unsigned long>(TIOCSTI), static_cast<unsigned long>(TIOCLINUX),
                            static_cast<unsigned long>(TIOCVHANGUP), static_cast<unsigned long>(TIOCSETD),
                            static_cast<unsigned long>(TIOCEXCL)})
    if (auto r = check(seccomp_rule_add(c, SCMP_ACT_ERRNO(EPERM), __NR_ioctl, 1,
                                        SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffULL, cmd)),
                       "ioctl");
        !r)
      return r.error();
  // A Linux console (virtual terminal) that is the session's controlling terminal, when the
  // user runs guardian from one: its keyboard mode (K_OFF, K_RAW: nothing typed reaches the
  // shell any more), display mode (KD_GRAPHICS: no text drawn), meta key, key and function
  // key tables, accents, fonts, colour and screen maps, VT switching mode, and the active or
  // allocated consoles outlive the session, and the kernel lets the terminal's own session
  // set most of them without a capability. Every setter of the KD and VT families is
  // refused; the getters stay open (programs ask KDGKBTYPE whether a descriptor is a
  // console). On anything but a console they fail natively (ENOTTY).
  for (unsigned long cmd : {0x4B3AUL /* KDSETMODE */, 0x4B45UL /* KDSKBMODE */, 0x4B47UL /* KDSKBENT */,
                            0x4B49UL /* KDSKBSENT */, 0x4B4BUL /* KDSKBDIACR */, 0x4BFBUL /* KDSKBDIACRUC */,
                            0x4B4DUL /* KDSETKEYCODE */, 0x4B4EUL /* KDSIGACCEPT */, 0x4B63UL /* KDSKBMETA */,
                            0x4B65UL /* KDSKBLED */, 0x4B61UL /* PIO_FONT */, 0x4B6CUL /* PIO_FONTX */,
                            0x4B6DUL /* PIO_FONTRESET */, 0x4B71UL /* PIO_CMAP */, 0x4B41UL /* PIO_SCRNMAP */,
                            0x4B6AUL /* PIO_UNISCRNMAP */, 0x4B67UL /* PIO_UNIMAP */, 0x4B68UL /* PIO_UNIMAPCLR */,
                            0x4B72UL /* KDFONTOP */, 0x5602UL /* VT_SETMODE */, 0x5606UL /* VT_ACTIVATE */,
                            0x560FUL /* VT_SETACTIVATE */, 0x5608UL /* VT_DISALLOCATE */, 0x5609UL /* VT_RESIZE */,
                            0x560AUL /* VT_RESIZEX */})
    if (auto r = check(seccomp_rule_add(c, SCMP_ACT_ERRNO(EPERM), __NR_ioctl, 1,
                                        SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffULL, cmd)),
                       "ioctl");
        !r)
      return r.error();
  // tcflow(TCOOFF), ioctl TCXONC 0: the terminal's output suspended for good; the shell
  // hangs at its next prompt (and with IXON cleared, ^Q does not resume it).
  if (auto r = check(seccomp_rule_add(c, SCMP_ACT_ERRNO(EPERM), __NR_ioctl, 2,
                                      SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffULL, TCXONC),
                                      SCMP_A2(SCMP_CMP_EQ, TCOOFF)),
                     "ioctl");
      !r)
    return r.error();

  // sendto with no destination is a plain write on a connected socket: no notification.
  const std::uint32_t ask = opts.trace ? SCMP_ACT_TRACE(0) : SCMP_ACT_NOTIFY;
  if (auto r = check(seccomp_rule_add(c, ask, __NR_sendto, 1, SCMP_A4(SCMP_CMP_NE, 0)),
                     "sendto");
      !r)
    return r.error();

  // prlimit64 on itself (pid 0) or only reading (no new limit) cannot hurt anyone: the
  // kernel runs it without a notification. glibc's start-up makes one in every process
  // (getrlimit(RLIMIT_STACK)); only setting another process's limit reaches the decoder.
  if (auto r = check(seccomp_rule_add(c, ask, __NR_prlimit64, 2, SCMP_A0(SCMP_CMP_NE, 0),
                                      SCMP_A2(SCMP_CMP_NE, 0)),
                     "prlimit64");
      !r)
    return r.error();

  // Scheduling: on oneself (pid 0; setpriority and ioprio_set: PRIO_PROCESS /
  // IOPRIO_WHO_PROCESS 0) at native speed; with a target, decided like prlimit64.
  // Pages of oneself (pid 0) move at native speed too; another process's are decided.
  for (int nr : {__NR_sched_setparam, __NR_sched_setscheduler, __NR_sched_setaffinity, __NR_sched_setattr,
                 __NR_migrate_pages, __NR_move_pages})
    if (auto r = check(seccomp_rule_add(c, ask, nr, 1, SCMP_A0(SCMP_CMP_NE, 0)), "sched"); !r) return r.error();
  // (Registers compared whole: garbage in the upper half of an int only asks more.)
  for (auto [nr, self_which] : {std::pair<int, std::uint64_t>{__NR_setpriority, 0 /* PRIO_PROCESS */},
                                {__NR_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */}}) {
    if (auto r = check(seccomp_rule_add(c, ask, nr, 1, SCMP_A0(SCMP_CMP_NE, self_which)), "priority"); !r)
      return r.error();
    if (auto r = check(seccomp_rule_add(c, ask, nr, 1, SCMP_A1(SCMP_CMP_NE, 0)), "priority"); !r)
      return r.error();
  }

  // setsockopt(SOL_SOCKET, SO_REUSEPORT): a port shared with the user's other programs
  // (decode/net.cpp reuse_port); every other option at native speed. The kernel takes level
  // and name as 32 bits.
  if (auto r = check(seccomp_rule_add(c, ask, __NR_setsockopt, 2,
                                      SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffULL, SOL_SOCKET),
                                      SCMP_A2(SCMP_CMP_MASKED_EQ, 0xffffffffULL, SO_REUSEPORT)),
                     "setsockopt");
      !r)
    return r.error();

  // setpgid(pid, 0) makes a group of the process's own number: only joining an existing
  // group (a pgid given) is decided.
  if (auto r = check(seccomp_rule_add(c, ask, __NR_setpgid, 1, SCMP_A1(SCMP_CMP_NE, 0)), "setpgid"); !r)
    return r.error();

  // A descriptor's owner gets its SIGIO (with F_SETSIG any signal, SIGKILL included): only
  // setting an owner is decided, like a kill(2) of it; every other fcntl and ioctl runs at
  // native speed. FIOSETOWN and SIOCSPGRP set a socket's owner through ioctl. The kernel
  // takes both commands as 32 bits.
  // F_SETSIG picks that signal; turning O_ASYNC on (F_SETFL, FIOASYNC below) makes a
  // terminal's foreground process group the owner when none is set: decided too.
  for (int cmd : {F_SETOWN, F_SETOWN_EX, F_SETSIG})
    if (auto r = check(seccomp_rule_add(c, ask, __NR_fcntl, 1,
                                        SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffULL, static_cast<unsigned>(cmd))),
                       "fcntl");
        !r)
      return r.error();
  if (auto r = check(seccomp_rule_add(c, ask, __NR_fcntl, 2,
                                      SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffULL, static_cast<unsigned>(F_SETFL)),
                                      SCMP_A2(SCMP_CMP_MASKED_EQ, O_ASYNC, O_ASYNC)),
                     "fcntl");
      !r)
    return r.error();
  // chattr through a descriptor opened for reading (FS_IOC_SETFLAGS, its 32-bit number,
  // FS_IOC_FSSETXATTR): decided as a write, as file_setattr is.
  // FS_IOC_SETVERSION and ext4's EXT4_IOC_SETVERSION (each with its 32-bit number) change a
  // file's generation through a descriptor opened for reading: decided as writes too, and so
  // is FS_IOC_ENABLE_VERITY, which makes a file immutable and is asked through one.
  // TIOCSPGRP makes a process group the terminal's foreground, which gets the user's ^C:
  // only groups of the session (decode/process.cpp).
  for (unsigned long cmd : {static_cast<unsigned long>(FIOSETOWN), static_cast<unsigned long>(SIOCSPGRP),
                            static_cast<unsigned long>(FIOASYNC),
                            static_cast<unsigned long>(TIOCSPGRP),
                            0x40086602UL, 0x40046602UL, 0x401c5820UL, 0x40087602UL, 0x40047602UL,
                            0x40086604UL, 0x40046604UL, 0x40806685UL})
    if (auto r = check(seccomp_rule_add(c, ask, __NR_ioctl, 1, SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffULL, cmd)),
                       "ioctl");
        !r)
      return r.error();

  // --fast-path: the shim's own calls carry the session token in an argument the kernel
  // ignores for these syscalls (arg 5); a BPF comparison of registers costs nothing, unlike
  // an instruction-pointer range, which would also let through any code that jumps into the
  // shim's syscall instruction with the same registers. Neither is a boundary against code
  // in the process (the token is in its memory): guardian(1) says so.
  auto fast = [&](int nr) {
    return opts.fast_path_token != 0 &&
           (nr == __NR_openat2 ||
            (!opts.metadata_open &&
             (nr == __NR_statx || nr == __NR_faccessat2 || nr == __NR_readlinkat)));
  };
  // readlinkat: the shim reads the path of a descriptor it opened (/proc/self/fd/N) to
  // decide a path with symbolic links on the way as the supervisor does, and a link's text
  // for realpath(3) through an O_PATH descriptor of the link itself.
  for (int nr : {__NR_openat2, __NR_statx, __NR_faccessat2, __NR_readlinkat}) {
    if (!fast(nr)) continue;
    if (auto r = check(seccomp_rule_add(c, ask, nr, 1, SCMP_A5(SCMP_CMP_NE, opts.fast_path_token)),
                       "fast path");
        !r)
      return r.error();
  }
  // recvfrom with a source address, only while the DNS gate runs: the decoder reports the
  // gate's answers as the resolver's (decode/net_dns.cpp). Without a src_addr, or without
  // the gate, it never reaches the supervisor.
  if (opts.dns_gate)
    if (auto r = check(seccomp_rule_add(c, ask, __NR_recvfrom, 1, SCMP_A4(SCMP_CMP_NE, 0)),
                       "recvfrom");
        !r)
      return r.error();

  for (const decode::SyscallInfo& s : table) {
    if (filter_owns(s.nr) || fast(s.nr)) continue;
    if (opts.metadata_open && s.family == decode::Family::file_stat) continue;
    std::uint32_t action = ask;
    if (s.filter == decode::Filter::errno_) action = SCMP_ACT_ERRNO(EPERM);
    if (s.filter == decode::Filter::enosys) action = SCMP_ACT_ERRNO(ENOSYS);
    if (auto r = check(seccomp_rule_add(c, action, s.nr, 0), "table"); !r) return r.error();
  }

  // Export through a memfd: libseccomp 2.5 can only write the program to a descriptor.
  UniqueFd mem(static_cast<int>(syscall(SYS_memfd_create, "guardian-bpf", MFD_CLOEXEC)));
  if (!mem) return fail_errno("cannot build the seccomp filter (memfd_create)", errno);
  if (auto r = check(seccomp_export_bpf(c, mem.get()), "export"); !r) return r.error();
  off_t size = lseek(mem.get(), 0, SEEK_END);
  if (size <= 0 || size % sizeof(struct sock_filter) != 0)
    return fail("cannot build the seccomp filter (bad exported size)");
  Program p;
  p.insns.resize(static_cast<std::size_t>(size) / sizeof(struct sock_filter));
  if (pread(mem.get(), p.insns.data(), static_cast<std::size_t>(size), 0) != size)
    return fail_errno("cannot build the seccomp filter (reading the export)", errno);
  if (p.insns.size() > BPF_MAXINSNS) return fail("cannot build the seccomp filter (too long)");
  return p;
}

}  // namespace guardian::seccomp
