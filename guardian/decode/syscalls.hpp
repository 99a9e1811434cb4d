// Syscall facts as data: number -> name, family, how the filter treats it (x86_64).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace guardian::decode {

enum class Family : std::uint8_t {
  file_read,   // open-for-read class handled by the open decoder, xattr reads, listing
  file_open,   // open/openat/openat2/creat: read or write decided by flags
  file_stat,   // stat family, access, readlink: metadata (BPF-allowed with metadata: open)
  file_write,  // write-class path operations
  file_fd,     // fd-based metadata writes (fchmod, fchown, fsetxattr, fremovexattr, futimens)
  exec,
  net,         // socket, connect, bind, sendto, sendmsg, sendmmsg
  process,     // kill family, ptrace, process_vm_*, pidfd_getfd, pidfd_open
  system,      // ioctl (TIOCSTI), chroot, mount family, ...
};

// How the BPF filter treats the syscall.
enum class Filter : std::uint8_t {
  notify,  // SECCOMP_RET_USER_NOTIF (or RET_TRACE for ptrace) -> Handler
  errno_,  // refused in BPF with EPERM (closed doors)
  enosys,  // refused in BPF with ENOSYS (clone3, so libc falls back)
};

struct SyscallInfo {
  int nr;
  std::string_view name;
  Family family;
  Filter filter;
};

// Sorted by nr (static_assert'ed in syscalls.cpp).
std::span<const SyscallInfo> syscall_table() noexcept;
const SyscallInfo* find_syscall(int nr) noexcept;

}  // namespace guardian::decode
