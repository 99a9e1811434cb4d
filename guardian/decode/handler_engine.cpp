// Handler built on policy::Engine (kept apart so that tests with a fake Decider do not
// need the engine linked in).
#include "decode/handler.hpp"
#include "decode/impl.hpp"
#include "policy/file_ops.hpp"

namespace guardian::decode {
namespace {

class EngineDecider final : public Decider {
 public:
  explicit EngineDecider(const policy::Engine& e) : e_(e) {}
  policy::Decision decide(const policy::Request& r) const override { return e_.decide(r); }
  std::string tip(const policy::Request& r) const override { return e_.tip(r); }
  policy::Decision decide_move(std::string_view from, std::string_view to) const override {
    return e_.decide_move(from, to);
  }
  // Built on first use (a write under a .git the guard denied): the same profile without
  // the guard's rules.
  policy::Decision decide_unguarded(const policy::Request& r) const override {
    if (!unguarded_) {
      policy::Profile p = e_.profile();
      std::erase_if(p.deny_write, [](const policy::PathRule& w) { return policy::repository_guard(w.origin); });
      unguarded_ = std::make_unique<policy::Engine>(std::move(p));
    }
    return unguarded_->decide(r);
  }
  policy::OnDeny on_deny() const override { return e_.profile().on_deny; }
  int deny_errno() const override { return e_.profile().deny_errno; }
  bool audit_allows() const override { return e_.profile().audit == policy::AuditLevel::all; }

 private:
  const policy::Engine& e_;
  mutable std::unique_ptr<policy::Engine> unguarded_;
};

}  // namespace

Handler::Handler(const policy::Engine& engine, audit::AuditLog& log, SessionView& session,
                 HandlerOptions opts) {
  auto dec = std::make_unique<EngineDecider>(engine);
  impl_ = std::make_unique<Impl>(*dec, log, session, std::move(opts));
  impl_->owned = std::move(dec);
}

}  // namespace guardian::decode
