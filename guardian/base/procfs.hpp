// Cached procfs directory descriptors: the supervisor's lookups of /proc/TID/... and of its
// own /proc/self/fd/N start from a held directory instead of walking /proc each time.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <array>
#include <cstddef>
#include <string>
#include <unordered_map>

#include "base/unique_fd.hpp"

namespace guardian::procfs {

// O_PATH descriptor of our own /proc/self/fd (opened once; -1 without procfs). Names in it
// are our descriptor numbers: readlinkat(self_fd_dir(), "7") is readlink("/proc/self/fd/7")
// without the walk through /proc and the "self" link.
int self_fd_dir();

// Reads a small procfs text file whole into buf (NUL-terminated; procfs builds it at the
// first read anyway): one open, one read, one close. False if it cannot be read.
bool read_small(const char* path, char* buf, std::size_t cap);

// Writes the decimal form of fd into buf (at least 12 bytes); returns buf.
const char* fd_name(int fd, char* buf);
// Writes "fd/N" (the name of descriptor N under /proc/TID) into buf (at least 16 bytes);
// returns buf. Without printf: these names are made for most intercepted calls.
const char* fd_rel(int fd, char* buf);

// /proc/TID directories of the session's threads, kept open. Why safe against PID reuse:
// a /proc/TID directory is bound to that thread's struct pid, so once the thread is gone
// every lookup under it fails (ENOENT); it never reaches a newer thread given the same
// number. On such a failure the entry is dropped and /proc/TID opened once more.
// Single-threaded: used only from the supervisor's loop.
class PidDirs {
 public:
  // readlinkat(/proc/TID, rel): false with err set (ESRCH when the thread is gone).
  // "fd/N" and "cwd" asked again for the same thread are read through a held O_PATH
  // descriptor of that link (see Link in procfs.cpp): a third cheaper, no lookup.
  bool readlink(pid_t tid, const char* rel, std::string& out, int& err);
  // openat(/proc/TID, rel, flags | O_CLOEXEC): the new descriptor, or -1 with err set.
  int open(pid_t tid, const char* rel, int flags, int& err);
  // fstatat(/proc/TID, rel): false with err set.
  bool stat(pid_t tid, const char* rel, struct ::stat& st, int& err);

 private:
  int dir(pid_t tid, bool fresh, int& err);
  std::unordered_map<pid_t, UniqueFd> dirs_;
  // A magic link of one thread ("fd/N": fd = N, "cwd": fd = -1), held once it was read
  // twice. Direct-mapped by (tid, fd); `link` empty while only seen once.
  struct Link {
    pid_t tid = 0;
    int fd = -2;
    UniqueFd link;
  };
  std::array<Link, 32> links_;
  void forget_links() noexcept;
};

// The instance the decoders share (the supervisor has one loop).
PidDirs& pid_dirs();

// False when thread `tid` has no descriptor number free below its RLIMIT_NOFILE, so its own
// open would fail with EMFILE before touching the file system. An emulated open that creates
// or truncates asks first: ADDFD would fail only after the file was made or emptied.
// True when that cannot be told (the thread is gone; ADDFD then says what happens).
// Usually two syscalls (its limit, and the count of its descriptors from a stat of
// /proc/TID/fd); the listing of /proc/TID/fd only near the limit.
bool fd_slot_free(pid_t tid);

}  // namespace guardian::procfs
