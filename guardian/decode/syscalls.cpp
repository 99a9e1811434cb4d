// The x86_64 syscall table: every syscall the filter notifies or refuses, as data.
// Numbers are written literally (the x86_64 ABI never renumbers) so that syscalls newer
// than the 6.1 headers (fchmodat2, *xattrat, statmount...) are covered on newer kernels.
// Anything not listed here is allowed by the BPF filter without a notification.
#include "decode/syscalls.hpp"

#include <algorithm>
#include <array>

namespace guardian::decode {
namespace {

using F = Family;
using K = Filter;

// Sorted by number; static_assert'ed below. Comments say why a syscall is here when its
// presence is not obvious.
constexpr std::array kTable = {
    SyscallInfo{2, "open", F::file_open, K::notify},
    SyscallInfo{4, "stat", F::file_stat, K::notify},
    SyscallInfo{6, "lstat", F::file_stat, K::notify},
    SyscallInfo{21, "access", F::file_stat, K::notify},
    // System V IPC: objects shared with the user's other programs, reached by number; the
    // session may use those it made (decode/ipc.cpp).
    SyscallInfo{29, "shmget", F::process, K::notify},
    SyscallInfo{30, "shmat", F::process, K::notify},
    SyscallInfo{31, "shmctl", F::process, K::notify},
    SyscallInfo{41, "socket", F::net, K::notify},
    SyscallInfo{42, "connect", F::net, K::notify},
    SyscallInfo{44, "sendto", F::net, K::notify},
    // Notified only while the DNS gate runs, and only with a src_addr (filter.cpp).
    SyscallInfo{45, "recvfrom", F::net, K::notify},
    SyscallInfo{46, "sendmsg", F::net, K::notify},
    SyscallInfo{49, "bind", F::net, K::notify},
    // listen on an inet socket never bound binds it to the any address and a free port:
    // decided as that bind (net.cpp), or a session could serve every interface unasked.
    SyscallInfo{50, "listen", F::net, K::notify},
    // setsockopt: notified only for SO_REUSEPORT (filter.cpp), which lets later sockets of
    // the same user share a port the session holds (net.cpp reuse_port).
    SyscallInfo{54, "setsockopt", F::net, K::notify},
    SyscallInfo{59, "execve", F::exec, K::notify},
    SyscallInfo{62, "kill", F::process, K::notify},
    SyscallInfo{64, "semget", F::process, K::notify},
    SyscallInfo{65, "semop", F::process, K::notify},
    SyscallInfo{66, "semctl", F::process, K::notify},
    SyscallInfo{68, "msgget", F::process, K::notify},
    SyscallInfo{69, "msgsnd", F::process, K::notify},
    SyscallInfo{70, "msgrcv", F::process, K::notify},
    SyscallInfo{71, "msgctl", F::process, K::notify},
    // fcntl: notified only for F_SETOWN and F_SETOWN_EX (filter.cpp): a descriptor's
    // owner gets its SIGIO, or with F_SETSIG any signal, SIGKILL included.
    SyscallInfo{72, "fcntl", F::process, K::notify},
    SyscallInfo{76, "truncate", F::file_write, K::notify},
    // chdir/fchdir: decided like a stat of the directory (system family so that they stay
    // decided and logged under `metadata: open` too).
    SyscallInfo{80, "chdir", F::system, K::notify},
    SyscallInfo{81, "fchdir", F::system, K::notify},
    SyscallInfo{82, "rename", F::file_write, K::notify},
    SyscallInfo{83, "mkdir", F::file_write, K::notify},
    SyscallInfo{84, "rmdir", F::file_write, K::notify},
    SyscallInfo{85, "creat", F::file_open, K::notify},
    SyscallInfo{86, "link", F::file_write, K::notify},
    SyscallInfo{87, "unlink", F::file_write, K::notify},
    SyscallInfo{88, "symlink", F::file_write, K::notify},
    SyscallInfo{89, "readlink", F::file_stat, K::notify},
    SyscallInfo{90, "chmod", F::file_write, K::notify},
    SyscallInfo{91, "fchmod", F::file_fd, K::notify},
    SyscallInfo{92, "chown", F::file_write, K::notify},
    SyscallInfo{93, "fchown", F::file_fd, K::notify},
    SyscallInfo{94, "lchown", F::file_write, K::notify},
    // umask: not decided (always let through); notified so that the handler knows when a
    // umask it keeps for emulated creates may have changed (handler.cpp umask_of).
    SyscallInfo{95, "umask", F::system, K::notify},
    SyscallInfo{101, "ptrace", F::process, K::notify},
    // setpgid into an existing group (notified only with a group: filter.cpp): a process of
    // the session may join only groups of the session and the one guardian shares with the
    // command, never another program's job, whose group the terminal's job-control signals
    // (SIGTTIN, SIGTTOU) and the calls that name one's own group would then reach.
    SyscallInfo{109, "setpgid", F::process, K::notify},
    SyscallInfo{129, "rt_sigqueueinfo", F::process, K::notify},
    SyscallInfo{132, "utime", F::file_write, K::notify},
    SyscallInfo{133, "mknod", F::file_write, K::notify},
    // uselib: maps a library by path, bypassing open; obsolete, so closed.
    SyscallInfo{134, "uselib", F::system, K::errno_},
    // statfs: reveals which filesystem holds a path: metadata.
    SyscallInfo{137, "statfs", F::file_stat, K::notify},
    // Scheduling of another process (notified only with a target: filter.cpp): SCHED_IDLE,
    // nice 19 or one CPU starve a process outside the session as prlimit would.
    SyscallInfo{141, "setpriority", F::process, K::notify},
    SyscallInfo{142, "sched_setparam", F::process, K::notify},
    SyscallInfo{144, "sched_setscheduler", F::process, K::notify},
    // vhangup: hangs up the caller's controlling terminal, which a session shares with the
    // user's shell: the kernel sends SIGHUP to that shell, outside the session (root only).
    SyscallInfo{153, "vhangup", F::system, K::errno_},
    SyscallInfo{155, "pivot_root", F::system, K::notify},
    SyscallInfo{161, "chroot", F::system, K::notify},
    SyscallInfo{163, "acct", F::system, K::errno_},
    SyscallInfo{165, "mount", F::system, K::notify},
    SyscallInfo{166, "umount2", F::system, K::notify},
    SyscallInfo{167, "swapon", F::system, K::errno_},
    SyscallInfo{168, "swapoff", F::system, K::errno_},
    // reboot (root) ends every process of the machine; iopl and ioperm (root) give the
    // process the I/O ports of disk and other controllers, below every file decision.
    SyscallInfo{169, "reboot", F::system, K::errno_},
    SyscallInfo{172, "iopl", F::system, K::errno_},
    SyscallInfo{173, "ioperm", F::system, K::errno_},
    SyscallInfo{175, "init_module", F::system, K::errno_},
    SyscallInfo{176, "delete_module", F::system, K::errno_},
    SyscallInfo{179, "quotactl", F::system, K::errno_},
    SyscallInfo{188, "setxattr", F::file_write, K::notify},
    SyscallInfo{189, "lsetxattr", F::file_write, K::notify},
    SyscallInfo{190, "fsetxattr", F::file_fd, K::notify},
    SyscallInfo{191, "getxattr", F::file_read, K::notify},
    SyscallInfo{192, "lgetxattr", F::file_read, K::notify},
    SyscallInfo{194, "listxattr", F::file_read, K::notify},
    SyscallInfo{195, "llistxattr", F::file_read, K::notify},
    SyscallInfo{197, "removexattr", F::file_write, K::notify},
    SyscallInfo{198, "lremovexattr", F::file_write, K::notify},
    SyscallInfo{199, "fremovexattr", F::file_fd, K::notify},
    SyscallInfo{200, "tkill", F::process, K::notify},
    SyscallInfo{203, "sched_setaffinity", F::process, K::notify},
    // Asynchronous I/O writes into the caller's memory after the call returns: seen, so
    // that opens are no longer continued on path buffers it could change (decode/process.cpp).
    SyscallInfo{206, "io_setup", F::process, K::notify},
    SyscallInfo{220, "semtimedop", F::process, K::notify},
    SyscallInfo{234, "tgkill", F::process, K::notify},
    SyscallInfo{235, "utimes", F::file_write, K::notify},
    // POSIX message queues by name: decided as /dev/mqueue/NAME (decode/ipc.cpp).
    SyscallInfo{240, "mq_open", F::process, K::notify},
    SyscallInfo{241, "mq_unlink", F::process, K::notify},
    SyscallInfo{246, "kexec_load", F::system, K::errno_},
    SyscallInfo{248, "add_key", F::system, K::errno_},
    SyscallInfo{249, "request_key", F::system, K::errno_},
    SyscallInfo{250, "keyctl", F::system, K::errno_},
    SyscallInfo{251, "ioprio_set", F::process, K::notify},
    // inotify_add_watch: watching a directory reveals the names created in it (listing).
    SyscallInfo{254, "inotify_add_watch", F::file_read, K::notify},
    // Moving another process's pages between NUMA nodes: the process family, like
    // prlimit64 (pid 0, oneself, never reaches the supervisor: see seccomp/filter.cpp).
    SyscallInfo{256, "migrate_pages", F::process, K::notify},
    SyscallInfo{257, "openat", F::file_open, K::notify},
    SyscallInfo{258, "mkdirat", F::file_write, K::notify},
    SyscallInfo{259, "mknodat", F::file_write, K::notify},
    SyscallInfo{260, "fchownat", F::file_write, K::notify},
    SyscallInfo{261, "futimesat", F::file_write, K::notify},
    SyscallInfo{262, "newfstatat", F::file_stat, K::notify},
    SyscallInfo{263, "unlinkat", F::file_write, K::notify},
    SyscallInfo{264, "renameat", F::file_write, K::notify},
    SyscallInfo{265, "linkat", F::file_write, K::notify},
    SyscallInfo{266, "symlinkat", F::file_write, K::notify},
    SyscallInfo{267, "readlinkat", F::file_stat, K::notify},
    SyscallInfo{268, "fchmodat", F::file_write, K::notify},
    SyscallInfo{269, "faccessat", F::file_stat, K::notify},
    // utimensat(fd, NULL, ...) is futimens: decided by the path the fd names.
    SyscallInfo{279, "move_pages", F::process, K::notify},
    SyscallInfo{280, "utimensat", F::file_write, K::notify},
    SyscallInfo{297, "rt_tgsigqueueinfo", F::process, K::notify},
    SyscallInfo{298, "perf_event_open", F::system, K::errno_},
    // fanotify can watch whole mounts; nothing ordinary needs it under a sandbox.
    SyscallInfo{300, "fanotify_init", F::system, K::errno_},
    // prlimit64 on another process can starve it (RLIMIT_CPU=0): process family.
    SyscallInfo{302, "prlimit64", F::process, K::notify},
    SyscallInfo{303, "name_to_handle_at", F::system, K::notify},
    SyscallInfo{304, "open_by_handle_at", F::system, K::notify},
    SyscallInfo{307, "sendmmsg", F::net, K::notify},
    SyscallInfo{310, "process_vm_readv", F::process, K::notify},
    SyscallInfo{311, "process_vm_writev", F::process, K::notify},
    // kcmp tells whether two processes share a descriptor, mapping or table: both must be
    // the session's.
    SyscallInfo{312, "kcmp", F::process, K::notify},
    SyscallInfo{313, "finit_module", F::system, K::errno_},
    SyscallInfo{314, "sched_setattr", F::process, K::notify},
    SyscallInfo{316, "renameat2", F::file_write, K::notify},
    SyscallInfo{320, "kexec_file_load", F::system, K::errno_},
    SyscallInfo{321, "bpf", F::system, K::errno_},
    SyscallInfo{322, "execveat", F::exec, K::notify},
    SyscallInfo{323, "userfaultfd", F::system, K::errno_},
    SyscallInfo{332, "statx", F::file_stat, K::notify},
    SyscallInfo{424, "pidfd_send_signal", F::process, K::notify},
    SyscallInfo{425, "io_uring_setup", F::system, K::errno_},
    SyscallInfo{426, "io_uring_enter", F::system, K::errno_},
    SyscallInfo{427, "io_uring_register", F::system, K::errno_},
    // The new mount API: open_tree gives an O_PATH-like fd that bypasses open; all refused.
    SyscallInfo{428, "open_tree", F::system, K::notify},
    SyscallInfo{429, "move_mount", F::system, K::notify},
    SyscallInfo{430, "fsopen", F::system, K::notify},
    SyscallInfo{431, "fsconfig", F::system, K::notify},
    SyscallInfo{432, "fsmount", F::system, K::notify},
    SyscallInfo{433, "fspick", F::system, K::notify},
    SyscallInfo{434, "pidfd_open", F::process, K::notify},
    SyscallInfo{435, "clone3", F::system, K::enosys},
    SyscallInfo{437, "openat2", F::file_open, K::notify},
    SyscallInfo{438, "pidfd_getfd", F::process, K::notify},
    SyscallInfo{439, "faccessat2", F::file_stat, K::notify},
    SyscallInfo{440, "process_madvise", F::process, K::notify},
    SyscallInfo{442, "mount_setattr", F::system, K::notify},
    SyscallInfo{452, "fchmodat2", F::file_write, K::notify},
    // statmount/listmount reveal the mount table of any namespace the caller can see.
    SyscallInfo{457, "statmount", F::system, K::errno_},
    SyscallInfo{458, "listmount", F::system, K::errno_},
    SyscallInfo{463, "setxattrat", F::file_write, K::notify},
    SyscallInfo{464, "getxattrat", F::file_read, K::notify},
    SyscallInfo{465, "listxattrat", F::file_read, K::notify},
    SyscallInfo{466, "removexattrat", F::file_write, K::notify},
    SyscallInfo{467, "open_tree_attr", F::system, K::notify},
    // file_getattr/file_setattr (6.17): fsxattr of a path; getattr is metadata, setattr
    // (chattr +i and friends) is a write.
    SyscallInfo{468, "file_getattr", F::file_stat, K::notify},
    SyscallInfo{469, "file_setattr", F::file_write, K::notify},
};

constexpr bool sorted_unique() {
  for (std::size_t i = 1; i < kTable.size(); ++i)
    if (kTable[i - 1].nr >= kTable[i].nr) return false;
  for (std::size_t i = 0; i < kTable.size(); ++i)
    for (std::size_t j = i + 1; j < kTable.size(); ++j)
      if (kTable[i].name == kTable[j].name) return false;
  return true;
}
static_assert(sorted_unique(), "syscall table must be sorted by number with unique names");

constexpr int kMaxNr = 512;
static_assert(kTable.back().nr < kMaxNr);

// Direct index nr -> table slot (+1; 0 = absent): one load on the hot path.
constexpr auto kIndex = [] {
  std::array<std::uint8_t, kMaxNr> idx{};
  for (std::size_t i = 0; i < kTable.size(); ++i) idx[kTable[i].nr] = static_cast<std::uint8_t>(i + 1);
  return idx;
}();
static_assert(kTable.size() < 255);

}  // namespace

std::span<const SyscallInfo> syscall_table() noexcept { return kTable; }

const SyscallInfo* find_syscall(int nr) noexcept {
  if (nr < 0 || nr >= kMaxNr) return nullptr;
  auto i = kIndex[static_cast<std::size_t>(nr)];
  return i ? &kTable[i - 1] : nullptr;
}

}  // namespace guardian::decode
