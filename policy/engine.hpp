// Profile -> CompiledProfile; decide(Request) -> Decision. Pure: no kernel, no allocation per query.
#pragma once

#include <memory>
#include <string>

#include "profile.hpp"
#include "request.hpp"

namespace guardian::policy {

class Engine {
 public:
  explicit Engine(const Profile& profile);
  ~Engine();
  Engine(Engine&&) noexcept;
  Engine& operator=(Engine&&) noexcept;

  // The decision for one request (allow/deny; the caller applies complain mode and on_deny).
  Decision decide(const Request& req) const noexcept;

  // The smallest profile rule that would allow `req`, as YAML text (for audit `tip`).
  std::string tip(const Request& req) const;

  // Adds one allow rule on top (--allow-read etc.), origin "command line".
  // kind: "read", "write", "exec", "connect", "bind".
  void add_rule(std::string_view kind, std::string_view pattern);

  const Profile& profile() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace guardian::policy
