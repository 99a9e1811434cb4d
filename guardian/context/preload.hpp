// PreloadSession: everything `guardian run` does for the LD_PRELOAD shim, in three calls —
// prepare (find the library, open the channel, set LD_PRELOAD/GUARDIAN_SHIM), keep the
// channel's child end across launch, and wrap the audit log so records get context.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "audit/log.hpp"
#include "base/result.hpp"
#include "context/channel.hpp"
#include "policy/profile.hpp"

namespace guardian::context {

class PreloadSession {
 public:
  // `preload`: --preload (true), --no-preload (false), neither (nullopt: inject when the
  // library is found). An explicit --preload without the library fails (exit 125); the
  // default quietly runs without context. Modifies `envp` only when the shim is injected.
  // `fast`: --fast-path, which needs the shim (an error with --no-preload or without the
  // library) and loads libguardian-preload-fast.so instead.
  static Result<PreloadSession> prepare(std::optional<bool> preload, int deny_errno,
                                        std::vector<std::string>& envp, bool fast = false);

  bool active() const { return channel_.has_value(); }
  // The library's path: the session must be able to read it (ld.so opens it in every
  // process), so run adds it as a read rule of its own.
  const std::string& library() const { return library_; }
  // Adds a read rule for the library to `profile` (origin "guardian:preload"), before the
  // engine is compiled: without it ld.so's open of the shim would be denied in every process.
  void allow_library(policy::Profile& profile) const;
  // The descriptor the command inherits (launch::LaunchSpec::keep_fds); -1 when inactive.
  int child_fd() const { return channel_ ? channel_->child.get() : -1; }
  // Wraps the session's audit log in a ContextLog (returns `log` unchanged when inactive).
  std::unique_ptr<audit::AuditLog> wrap(std::unique_ptr<audit::AuditLog> log);
  // The wrapped log, for decode (host names); nullptr when inactive or not wrapped yet.
  class ContextLog* context_log() const { return context_log_; }

 private:
  std::optional<ShimChannel> channel_;
  std::string library_;
  int deny_errno_ = 0;
  class ContextLog* context_log_ = nullptr;
};

}  // namespace guardian::context
