// Setting up the LD_PRELOAD shim for a session: the socket it reports on, the environment
// that loads it (LD_PRELOAD, GUARDIAN_SHIM), and where libguardian-preload.so lives.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "base/unique_fd.hpp"

namespace guardian::context {

// Both ends of the shim's SOCK_SEQPACKET channel. `child` is inherited by the command (pass
// its number in launch::LaunchSpec::keep_fds, close it in the parent after launch);
// `supervisor` goes to ContextLog.
struct ShimChannel {
  UniqueFd supervisor;
  UniqueFd child;
  std::uint64_t cookie = 0;  // SO_COOKIE of `child`: the shim checks it before every send
};

// Creates the channel (close-on-exec from birth; launch clears it for the kept end).
Result<ShimChannel> open_channel();

// Grows this process's descriptor table to the number open_channel() gives the command's
// end, while the process is still single-threaded: call it before starting any thread.
// The kernel grows a table that threads share only after an RCU grace period
// (expand_fdtable's synchronize_rcu), which stalled every `guardian run` with the shim for
// 15-20 ms of wall time at open_channel() (the envelope's thread is running by then);
// grown alone it is an allocation. Best effort: on any failure open_channel() grows it then.
void reserve_channel_number();

// The value of GUARDIAN_SHIM for a child that inherits `ch.child`: "FD:ERRNO:COOKIE".
std::string shim_env_value(const ShimChannel& ch, int deny_errno);

// The install libdir that find_preload_library() looks in (meson's prefix/libdir).
const char* install_libdir();

// libguardian-preload.so next to the running guardian in its build tree (../preload/), else
// in the install libdir; nullopt when neither exists.
std::optional<std::string> find_preload_library();
// The same for another library of the build (libguardian-preload-fast.so for --fast-path).
std::optional<std::string> find_preload_library(const char* name);

// Appends `library` to LD_PRELOAD in `envp` (keeping what the user had) and sets
// GUARDIAN_SHIM. Entries are "NAME=VALUE".
void inject_env(std::vector<std::string>& envp, const std::string& library,
                const std::string& shim_value);

// Whether the file at `path` is a dynamically linked ELF program (has PT_INTERP), or a
// script (whose interpreter most likely is). Static programs ignore LD_PRELOAD; knowing it
// lets guardian say so in the session record.
bool is_dynamic_program(const std::string& path);

}  // namespace guardian::context
