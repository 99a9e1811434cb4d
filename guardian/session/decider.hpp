// What the supervisor loop asks about each stop: decode::Handler in production, a fake or a
// minimal responder in tests and benchmarks.
#pragma once

#include <sys/types.h>

#include <string>

#include "decode/handler.hpp"

namespace guardian::session {

class Decider {
 public:
  virtual ~Decider() = default;
  virtual decode::Response handle(const decode::Notification& n, decode::Tracee& t) = 0;
  virtual bool verify_exec(pid_t tid, pid_t tgid, const std::string& loaded_exe) = 0;
};

}  // namespace guardian::session
