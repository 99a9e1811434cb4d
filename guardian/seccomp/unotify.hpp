// The seccomp user-notify listener: the only code that issues SECCOMP_IOCTL_NOTIF_* ioctls.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "decode/handler.hpp"

namespace guardian::seccomp {

// What NOTIF_RECV produced: a notification, nothing (interrupted / raced), or a dead listener.
enum class RecvStatus : std::uint8_t { got, none, closed };

// For the handler of the signal that ends receive_unless's wait: when the interrupted thread
// is in that wait (or about to enter it), moves it to the wait's "interrupted" exit, so that
// the kernel does not restart the RECV under SA_RESTART. `ucontext` is the handler's third
// argument. True when it did.
bool recv_window_redirect(void* ucontext) noexcept;

// Owns the listener fd taken from the child; one receive buffer allocated up front.
class Listener {
 public:
  explicit Listener(UniqueFd fd);
  int fd() const noexcept { return fd_.get(); }

  // Asks for SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (faster round trips on one CPU);
  // false when the kernel lacks it (the caller prints a notice and goes on).
  bool set_sync_wakeup();

  // NOTIF_RECV into the preallocated buffer; on `got`, `out` is filled.
  RecvStatus receive(decode::Notification& out);
  // The same, as a blocking wait that a signal can end before the kernel hands over a
  // notification (see recv_window_redirect): `none` without entering the kernel when
  // `*abort` is set, and `none` when a signal whose handler calls recv_window_redirect
  // arrives in the wait or just before it. Call with `*in_wait` set (the signaller's side
  // of the handshake: it sets `*abort`, then signals only a thread that is in the wait).
  RecvStatus receive_unless(decode::Notification& out, const std::atomic<int>* abort);

  // NOTIF_ID_VALID: is the notification still pending (the thread still in that syscall)?
  bool id_valid(std::uint64_t id) const;

  // The filter was loaded with SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (the launch says):
  // a received notification's thread cannot leave its wait but by dying.
  void set_wait_killable(bool on) noexcept { wait_killable_ = on; }
  bool wait_killable() const noexcept { return wait_killable_; }

  // Answers. Each returns false only when the notification is gone (ENOENT: interrupted or
  // the thread died) — an expected race, never an error.
  bool send_continue(std::uint64_t id);
  bool send_error(std::uint64_t id, int err);
  bool send_value(std::uint64_t id, std::int64_t value);
  // ADDFD (without the SEND flag, so that the fast wake-up is kept) then NOTIF_SEND with the
  // new descriptor's number. Errors other than ENOENT are answered as that errno. `tid`,
  // the notifying thread, is kept on this CPU during ADDFD (see CpuHold in unotify.cpp).
  bool send_fd(std::uint64_t id, pid_t tid, int local_fd, bool cloexec);

  // Drops the /proc/PID/mem descriptor kept for process `tgid` (see NotifTracee): call when
  // it exits, execs or is handed to another tracer. Correctness does not depend on it (the
  // image number does); it closes what will not be used again.
  void forget_memory(pid_t tgid) { memfds_.erase(tgid); }
  std::size_t memory_fds() const { return memfds_.size(); }

 private:
  friend class NotifTracee;
  bool send(std::uint64_t id, std::int64_t val, int err, std::uint32_t flags);
  UniqueFd fd_;
  // Thread pidfds kept for pidfd_getfd, by tid. Why safe against TID reuse: a pidfd names
  // one thread for good; once it has exited, pidfd_getfd fails with ESRCH and the entry is
  // opened afresh (and proven with NOTIF_ID_VALID) — it never reaches a newer thread.
  mutable std::unordered_map<pid_t, UniqueFd> pidfds_;
  // /proc/TID/mem descriptors by tgid, each with the image number (session::ProcessTable::
  // image_of) it was opened under.
  struct MemFd {
    std::uint64_t image = 0;
    UniqueFd fd;
    unsigned reads = 0;    // through process_vm_readv before the open
    bool refused = false;  // the open failed: process_vm_readv for this image
    UniqueFd maps;             // /proc/TID/maps, for PROCMAP_QUERY (NotifTracee::backing)
    bool maps_refused = false;  // not to be had (or the kernel has no PROCMAP_QUERY)
  };
  mutable std::unordered_map<pid_t, MemFd> memfds_;
  std::vector<unsigned char> buf_;  // >= kernel's sizeof(struct seccomp_notif)
  bool wait_killable_ = false;
  bool proc_ours_ = false;  // /proc numbers tasks as our PID namespace does
};

// decode::Tracee for a thread stopped in a seccomp notification.
class NotifTracee final : public decode::Tracee {
 public:
  // pidfd: a pidfd of the thread's process (for pidfd_getfd); may be -1 (then opened lazily).
  // tgid, image: the thread's process and its image number (ProcessTable::image_of), when
  // the caller sees every exec of that process; memory is then read through a /proc/TID/mem
  // descriptor kept for it (a pread skips the task lookup and the ptrace access check that
  // each process_vm_readv makes). image 0: process_vm_readv every time.
  NotifTracee(const Listener& l, std::uint64_t id, pid_t tid, int pidfd, pid_t tgid = 0,
              std::uint64_t image = 0)
      : l_(l), id_(id), tid_(tid), pidfd_(pidfd), tgid_(tgid), image_(image) {}
  pid_t tid() const override { return tid_; }
  bool read(std::uint64_t addr, void* buf, std::size_t n) override;
  bool read_string(std::uint64_t addr, std::string& out, std::size_t max) override;
  bool still_valid() override { return l_.id_valid(id_); }
  // A successful NOTIF_SEND finds the notification still pending: the thread was in this
  // syscall from RECV to SEND, provided nothing but death could end its wait.
  bool answer_proves_valid() const override { return l_.wait_killable(); }
  // process_vm_writev (for emulations that return data, e.g. sendmmsg's msg_len).
  bool write(std::uint64_t addr, const void* buf, std::size_t n) override;
  Result<UniqueFd> take_fd(int remote_fd) override;
  bool can_inject_fd() const override { return true; }
  // One PROCMAP_QUERY (Linux 6.11) on a /proc/TID/maps descriptor kept with the memory one
  // for this image; Backing::other without it, or when the caller does not see every exec
  // of the process (image 0).
  Backing backing(std::uint64_t addr, std::size_t n, std::string& file) override;

 private:
  // Reads up to n bytes at addr (a pread of the kept descriptor, else process_vm_readv);
  // what process_vm_readv would return.
  ssize_t peek(std::uint64_t addr, void* buf, std::size_t n);
  // The kept descriptor for this image, opened now when there is none or `reopen`; -1 when
  // it cannot be had. `fresh`: opened by this call.
  int mem_fd(bool reopen, bool& fresh);
  // What is kept for this process's current image (a fresh entry when none is).
  Listener::MemFd& kept();
  const Listener& l_;
  std::uint64_t id_;
  pid_t tid_;
  int pidfd_;
  pid_t tgid_;
  std::uint64_t image_;
};

}  // namespace guardian::seccomp
