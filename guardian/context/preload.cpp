// PreloadSession (see preload.hpp).
#include "context/preload.hpp"

#include "context/context_log.hpp"

namespace guardian::context {

Result<PreloadSession> PreloadSession::prepare(std::optional<bool> preload, int deny_errno,
                                               std::vector<std::string>& envp, bool fast) {
  PreloadSession s;
  if (fast && preload.has_value() && !*preload)
    return fail("--fast-path needs the preload shim: drop --no-preload");
  if (preload.has_value() && !*preload) return s;
  if (fast) {
    auto lib = find_preload_library("libguardian-preload-fast.so");
    if (!lib)
      return fail("--fast-path: libguardian-preload-fast.so not found next to guardian nor in " +
                  std::string(install_libdir()));
    preload = true;
  }
  auto lib = fast ? find_preload_library("libguardian-preload-fast.so") : find_preload_library();
  if (!lib) {
    if (preload.value_or(false))
      return fail("--preload: libguardian-preload.so not found next to guardian nor in " +
                  std::string(install_libdir()));
    return s;  // default: run without call-site context, enforcement is the same
  }
  auto ch = open_channel();
  if (!ch) return ch.error();
  s.library_ = *lib;
  s.deny_errno_ = deny_errno;
  inject_env(envp, s.library_, shim_env_value(ch.value(), deny_errno));
  s.channel_ = std::move(ch.value());
  return s;
}

void PreloadSession::allow_library(policy::Profile& profile) const {
  if (!active()) return;
  policy::PathRule rule;
  rule.pattern = library_;
  rule.origin.file = "guardian:preload";
  rule.origin.pattern = library_;
  profile.read.push_back(rule);
  // Read, never written: every later session loads it into its programs.
  profile.deny_write.push_back(std::move(rule));
}

std::unique_ptr<audit::AuditLog> PreloadSession::wrap(std::unique_ptr<audit::AuditLog> log) {
  if (!channel_ || !log || !channel_->supervisor) return log;
  ContextOptions opts;
  opts.deny_errno = deny_errno_;
  // The shim's own frames are dropped from backtraces: name the build that is loaded
  // (libguardian-preload-fast.so under --fast-path).
  opts.shim_name = library_.substr(library_.rfind('/') + 1);
  auto wrapped = std::make_unique<ContextLog>(std::move(log), std::move(channel_->supervisor), opts);
  context_log_ = wrapped.get();
  return wrapped;
}

}  // namespace guardian::context
