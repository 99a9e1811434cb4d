// INTERIM, until the decode room's Handler is on main: a decider that lets every
// intercepted syscall through. Used only when the user sets GUARDIAN_INTERIM_ALLOW_ALL=1
// (tests of the launch/loop/lifetime machinery); otherwise `guardian run` refuses to run
// unsupervised.
#pragma once

#include "session/decider.hpp"

namespace guardian::session {

class ContinueDecider final : public Decider {
 public:
  decode::Response handle(const decode::Notification&, decode::Tracee&) override {
    decode::Response r;
    r.kind = decode::Response::Kind::cont;
    return r;
  }
  bool verify_exec(pid_t, pid_t, const std::string&) override { return true; }
};

}  // namespace guardian::session
