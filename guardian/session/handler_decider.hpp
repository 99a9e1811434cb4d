// The production session::Decider: the decode room's Handler (decode, decide, emulate, audit).
#pragma once

#include <memory>

#include "decode/handler.hpp"
#include "session/decider.hpp"

namespace guardian::session {

class HandlerDecider final : public Decider {
 public:
  // Set once the Supervisor (whose process table the Handler reads) exists.
  std::unique_ptr<decode::Handler> handler;
  decode::Response handle(const decode::Notification& n, decode::Tracee& t) override {
    return handler->handle(n, t);
  }
  bool verify_exec(pid_t tid, pid_t tgid, const std::string& exe) override {
    return handler->verify_exec(tid, tgid, exe);
  }
};

}  // namespace guardian::session
