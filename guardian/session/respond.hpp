// One path for carrying out a decode::Response, whatever the backend: the backend supplies
// the primitive answers (a Responder), apply_response holds the rules shared by both.
#pragma once

#include <sys/types.h>

#include <cerrno>
#include <cstdint>

#include "decode/handler.hpp"
#include "seccomp/unotify.hpp"

namespace guardian::session {

// The primitive answers of one backend for the syscall held in notification/stop `n`.
// Each returns false only when the thread is gone (interrupted or dead) — an expected race.
class Responder {
 public:
  virtual ~Responder() = default;
  virtual bool cont(const decode::Notification& n) = 0;               // run the syscall
  // Run r.nr with pinned arguments instead (ptrace; see decode::Redirect).
  virtual bool redirect(const decode::Notification& n, const decode::Redirect& r) = 0;
  virtual bool fail(const decode::Notification& n, int err) = 0;      // skip it, -err
  virtual bool value(const decode::Notification& n, std::int64_t v) = 0;  // skip it, v
  // Install local_fd in the thread and return its number; false from can_inject() means the
  // backend cannot, and the kernel performs the (already decided) open itself.
  virtual bool can_inject() const = 0;
  virtual bool inject_fd(const decode::Notification& n, int local_fd, bool cloexec) = 0;
  // SIGKILL to process `tgid` and fail the held syscall with EPERM (order is the backend's).
  virtual bool kill(const decode::Notification& n, pid_t tgid) = 0;
};

// Applies r through `to`. `defer` must be handled by the caller (it keeps the notification);
// here it answers nothing and returns true. Returns false when the thread was gone.
bool apply_response(Responder& to, const decode::Notification& n, const decode::Response& r,
                    pid_t tgid);

// The seccomp user-notify backend: NOTIF_SEND (CONTINUE, error, value) and ADDFD.
class NotifResponder final : public Responder {
 public:
  explicit NotifResponder(seccomp::Listener& l) : l_(l) {}
  bool cont(const decode::Notification& n) override { return l_.send_continue(n.id); }
  // Never asked (the handler injects descriptors here); refused should it come.
  bool redirect(const decode::Notification& n, const decode::Redirect&) override {
    return l_.send_error(n.id, EACCES);
  }
  bool fail(const decode::Notification& n, int err) override { return l_.send_error(n.id, err); }
  bool value(const decode::Notification& n, std::int64_t v) override {
    return l_.send_value(n.id, v);
  }
  bool can_inject() const override { return true; }
  bool inject_fd(const decode::Notification& n, int local_fd, bool cloexec) override {
    return l_.send_fd(n.id, n.tid, local_fd, cloexec);
  }
  bool kill(const decode::Notification& n, pid_t tgid) override;

 private:
  seccomp::Listener& l_;
};

}  // namespace guardian::session
