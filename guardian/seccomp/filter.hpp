// The seccomp BPF filter, compiled with libseccomp in the parent before fork (the child only
// installs the ready program).
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <span>
#include <vector>

#include "base/result.hpp"
#include "decode/syscalls.hpp"

namespace guardian::seccomp {

struct FilterOptions {
  // files.metadata: open — file_stat syscalls are allowed in BPF, never notified.
  bool metadata_open = false;
  // ptrace backend: the syscalls to decide stop the thread for its tracer
  // (SECCOMP_RET_TRACE) instead of going to a user-notify listener.
  bool trace = false;
  // --fast-path (issue 8): openat2, statx, faccessat2 and readlinkat whose unused sixth argument equals
  // this per-session token run without a notification (the shim decided them in-process);
  // with any other value they are notified as usual. 0: off.
  std::uint64_t fast_path_token = 0;
  // The DNS gate runs (the profile names hosts): recvfrom() with a source address is
  // notified, so answers relayed by the gate can be reported as the resolver's.
  bool dns_gate = false;
};

// A compiled BPF program, ready for seccomp(SECCOMP_SET_MODE_FILTER).
struct Program {
  std::vector<struct sock_filter> insns;
  struct sock_fprog fprog() const {
    return {static_cast<unsigned short>(insns.size()),
            const_cast<struct sock_filter*>(insns.data())};
  }
};

// Builds the filter: every `notify` syscall of `table` is sent to the supervisor, the
// closed doors are refused in BPF (see filter.cpp for the list and why), other ABIs kill the
// process, and everything else is allowed without a notification.
// For decode::syscall_table() without a fast-path token, the program is the one
// build_filter_fresh made for the same options when guardian was built (filter_ready.cpp):
// libseccomp's compilation was a twentieth of every run's start-up CPU, for a result that
// depends only on the table and the options.
Result<Program> build_filter(std::span<const decode::SyscallInfo> table, const FilterOptions& opts);

// The same, compiled now by libseccomp (the build's generator and the tests use it).
Result<Program> build_filter_fresh(std::span<const decode::SyscallInfo> table, const FilterOptions& opts);

// The program build_filter_fresh(decode::syscall_table(), opts) gave at build time for
// these options and no fast-path token; empty if the build could not make it.
std::span<const struct sock_filter> ready_program(bool metadata_open, bool trace, bool dns_gate) noexcept;

// Syscall numbers whose treatment filter.cpp owns whatever the table says (argument-
// conditioned rules or closed doors); exposed for tests.
bool filter_owns(int nr) noexcept;

}  // namespace guardian::seccomp
