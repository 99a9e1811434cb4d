// Landlock, the second wall: probe the kernel's ABI, build the profile's envelope as a
// ruleset in the parent, and apply it in the child (after no_new_privs, before the seccomp
// filter). The supervisor itself stays unconfined, so its emulated opens keep working.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "policy/landlock_envelope.hpp"
#include "policy/profile.hpp"

namespace guardian::launch {

// The best Landlock ABI the running kernel offers; 0 when it has none (not built in, or
// disabled at boot).
int landlock_abi() noexcept;

// Kernel access masks for one ABI (handled rights; what a read/write/exec entry grants).
struct LandlockMasks {
  std::uint64_t handled_fs = 0;
  std::uint64_t read = 0, write = 0, exec = 0;  // fs rights for directory entries
  std::uint64_t file_only = 0;                  // the rights valid on a non-directory
  std::uint64_t net = 0;                        // TCP bind/connect, ABI >= 4
  std::uint64_t scopes = 0;                     // ABI >= 6
  std::uint32_t restrict_flags = 0;             // ABI >= 7: log denials after exec too
};
LandlockMasks landlock_masks(int abi) noexcept;

// A ruleset ready for the child, built in the parent.
struct LandlockRuleset {
  UniqueFd fd;
  int abi = 0;
  std::uint64_t handled_fs = 0, handled_net = 0, scoped = 0;
  std::vector<std::string> skipped;  // entries the kernel refused, with the reason
};

// Builds the ruleset of `env` for `abi` (> 0): opens each path with O_PATH and adds it with
// the rights of its class; ports for ABI >= 4; scopes for ABI >= 6. An entry that cannot be
// added is skipped (the envelope only gets narrower) and listed in `skipped`.
Result<LandlockRuleset> build_landlock_ruleset(const policy::Envelope& env, int abi);

// Child side, async-signal-safe: enforce the ruleset on the calling thread (and what it
// execs). Asks the kernel (ABI >= 7) to log denials after exec too, so the kernel's audit
// log shows what the supervisor did not see. Returns 0 or an errno.
int landlock_apply_in_child(int ruleset_fd) noexcept;

// Everything `guardian run` needs from Landlock for one session.
struct LandlockSetup {
  int abi = 0;
  bool active = false;     // a ruleset will be applied in the child
  std::string status;      // "applied", "off (--no-landlock)", "unavailable (...)", ...
  UniqueFd ruleset;        // valid when active; hand ruleset.get() to the launch spec
  policy::Envelope envelope;
  std::vector<std::string> skipped;

  // Fields for audit::SessionStart::extra: landlock, landlock_abi, landlock_read, ...
  std::map<std::string, std::string> audit_fields() const;
};

// Envelope options for `guardian run`: the command itself (resolved path) and the
// --allow-read/-write/-exec/-connect/-bind rules as (kind, pattern) pairs; like the engine,
// a leading '~' is $HOME and a relative pattern is taken from the current directory.
policy::EnvelopeOptions run_envelope_options(
    const std::string& command_path,
    const std::vector<std::pair<std::string, std::string>>& extra_rules);

// Reads the user's cache of alias scans (policy::LinkCache::user) now rather than when the
// envelope is computed: for the envelope's thread while it waits for the profile.
void preload_envelope_cache();

// Probes and builds. `off_reason` non-empty (e.g. "--no-landlock", "complain mode") turns
// Landlock off on purpose. When Landlock is wanted but the kernel lacks it or the ruleset
// cannot be built, one line goes to stderr and the session runs with the supervisor alone:
// never a failure, never silence.
LandlockSetup prepare_landlock(const policy::Profile& profile, const policy::EnvelopeOptions& opts,
                               const std::string& off_reason);

}  // namespace guardian::launch
