// Unit tests for the x86_64 syscall table: sorted, unique, lookups, the must-notify set.
#include <doctest/doctest.h>

#include <sys/syscall.h>

#include <set>
#include <string>

#include "decode/syscalls.hpp"

using namespace guardian::decode;

TEST_CASE("table is sorted by number and names are unique") {
  auto t = syscall_table();
  REQUIRE(t.size() > 50);
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (i) CHECK(t[i - 1].nr < t[i].nr);
    CHECK(names.insert(t[i].name).second);
    CHECK(find_syscall(t[i].nr) == &t[i]);
  }
}

TEST_CASE("unlisted and out-of-range numbers are not found") {
  CHECK(find_syscall(SYS_read) == nullptr);
  CHECK(find_syscall(SYS_write) == nullptr);
  CHECK(find_syscall(-1) == nullptr);
  CHECK(find_syscall(100000) == nullptr);
}

TEST_CASE("numbers agree with the system headers") {
  CHECK(find_syscall(SYS_openat)->name == "openat");
  CHECK(find_syscall(SYS_execveat)->name == "execveat");
  CHECK(find_syscall(SYS_statx)->name == "statx");
  CHECK(find_syscall(SYS_openat2)->name == "openat2");
  CHECK(find_syscall(SYS_faccessat2)->name == "faccessat2");
  CHECK(find_syscall(SYS_pidfd_getfd)->name == "pidfd_getfd");
  CHECK(find_syscall(SYS_io_uring_setup)->name == "io_uring_setup");
  CHECK(find_syscall(SYS_clone3)->name == "clone3");
  CHECK(find_syscall(SYS_mount_setattr)->name == "mount_setattr");
}

TEST_CASE("every path-taking read/write syscall of spec section 2 is notified") {
  const char* must[] = {
      "open", "openat", "openat2", "creat", "stat", "lstat", "newfstatat", "statx", "access",
      "faccessat", "faccessat2", "readlink", "readlinkat", "getxattr", "lgetxattr", "listxattr",
      "llistxattr", "truncate", "mkdir", "mkdirat", "mknod", "mknodat", "rmdir", "unlink",
      "unlinkat", "rename", "renameat", "renameat2", "link", "linkat", "symlink", "symlinkat",
      "chmod", "fchmodat", "fchmodat2", "chown", "lchown", "fchownat", "utime", "utimes",
      "utimensat", "futimesat", "setxattr", "lsetxattr", "fsetxattr", "removexattr",
      "lremovexattr", "fremovexattr", "fchmod", "fchown", "chdir", "fchdir", "chroot", "mount",
      "umount2", "pivot_root", "name_to_handle_at", "open_by_handle_at", "execve", "execveat",
      "shmat", "msgrcv", "socket", "connect", "bind", "listen", "sendto", "sendmsg", "sendmmsg", "kill", "tkill", "tgkill",
      "rt_sigqueueinfo", "rt_tgsigqueueinfo", "pidfd_send_signal", "ptrace", "process_vm_readv",
      "process_vm_writev", "pidfd_getfd", "open_tree", "move_mount", "fsopen", "fsmount",
      "fspick", "setxattrat", "getxattrat", "listxattrat", "removexattrat"};
  std::set<std::string_view> notified;
  for (auto& s : syscall_table())
    if (s.filter == Filter::notify) notified.insert(s.name);
  for (auto* m : must) {
    INFO(m);
    CHECK(notified.count(m) == 1);
  }
}

TEST_CASE("closed doors are refused in BPF") {
  const char* closed[] = {"io_uring_setup", "io_uring_enter", "io_uring_register", "bpf",
                          "userfaultfd", "perf_event_open", "kexec_load", "kexec_file_load",
                          "init_module", "finit_module", "delete_module", "keyctl", "add_key",
                          "request_key", "statmount", "listmount"};
  for (auto* c : closed) {
    INFO(c);
    bool found = false;
    for (auto& s : syscall_table())
      if (s.name == c) {
        found = true;
        CHECK(s.filter == Filter::errno_);
      }
    CHECK(found);
  }
  CHECK(find_syscall(SYS_clone3)->filter == Filter::enosys);
}

TEST_CASE("families: stat-class syscalls are the ones metadata: open lets through") {
  for (auto& s : syscall_table()) {
    if (s.family != Family::file_stat) continue;
    INFO(s.name);
    CHECK(s.filter == Filter::notify);
  }
  CHECK(find_syscall(SYS_newfstatat)->family == Family::file_stat);
  CHECK(find_syscall(SYS_openat)->family == Family::file_open);
  CHECK(find_syscall(SYS_unlinkat)->family == Family::file_write);
  CHECK(find_syscall(SYS_fchmod)->family == Family::file_fd);
}
