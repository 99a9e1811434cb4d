// The controlling terminal the session shares with the user's shell: its settings as the
// command found them, put back when the session is over.
#pragma once

#include <termios.h>

#include "base/unique_fd.hpp"

namespace guardian::session {

class TerminalSettings {
 public:
  // Records the settings of guardian's controlling terminal when guardian's process group
  // is its foreground group (run from an interactive shell); nothing otherwise.
  static TerminalSettings capture() noexcept;
  // After the session: where the terminal's settings differ from those recorded and its
  // foreground is still guardian's group (or a group with no process left), sets them
  // back. False when it did (the session had changed them).
  bool restore() noexcept;

 private:
  UniqueFd tty_;
  struct termios saved_ {};
};

}  // namespace guardian::session
