// The terminal's settings are the user's shell's: a session that turns off echo or the
// signal keys (^C), switches to raw mode, or redefines the control characters, and ends
// (or is ended by a limit or SIGTERM) without setting them back, leaves the shell's next
// commands without echo or ^C, and an interactive bash adopts the settings of a job that
// exited normally. They are put back as the command found them.
#include "session/terminal.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace guardian::session {

namespace {

bool same(const struct termios& a, const struct termios& b) {
  return a.c_iflag == b.c_iflag && a.c_oflag == b.c_oflag && a.c_cflag == b.c_cflag &&
         a.c_lflag == b.c_lflag && std::memcmp(a.c_cc, b.c_cc, sizeof a.c_cc) == 0 &&
         cfgetispeed(&a) == cfgetispeed(&b) && cfgetospeed(&a) == cfgetospeed(&b);
}

}  // namespace

TerminalSettings TerminalSettings::capture() noexcept {
  TerminalSettings t;
  UniqueFd fd(::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK));
  if (!fd) return t;  // no controlling terminal
  pid_t fg = ::tcgetpgrp(fd.get());
  if (fg < 0 || fg != ::getpgrp()) return t;  // a background job: not the shell's to restore
  if (::tcgetattr(fd.get(), &t.saved_) != 0) return t;
  t.tty_ = std::move(fd);
  return t;
}

bool TerminalSettings::restore() noexcept {
  if (!tty_) return false;
  struct termios now {};
  if (::tcgetattr(tty_.get(), &now) != 0 || same(now, saved_)) return false;
  // Only while nothing else has the terminal: guardian's group in the foreground, or a group
  // of the session's that has no process left (the shell takes the terminal back next). A
  // group with processes in it is someone's job whose settings these are.
  pid_t fg = ::tcgetpgrp(tty_.get());
  if (fg < 0) return false;
  if (fg != ::getpgrp() && !(::kill(-fg, 0) != 0 && errno == ESRCH)) return false;
  // SIGTTOU is blocked in guardian (block_supervisor_signals), so a terminal whose
  // foreground is an empty group takes the settings without stopping us.
  return ::tcsetattr(tty_.get(), TCSANOW, &saved_) == 0;
}

}  // namespace guardian::session
