// Pseudo-terminals the session holds: /dev/pts/N may be opened by name when a process of the
// session already has that terminal open (its master, or the terminal itself).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string_view>

#include "decode/handler.hpp"
#include "policy/file_ops.hpp"

namespace guardian::decode {

using policy::pts_index;

// A Unix 98 pseudo-terminal's device number (majors 136-143) for terminal N.
bool is_pts_device(dev_t rdev, unsigned index);

// True when a process of the session holds, right now, a descriptor of pseudo-terminal N:
// its master (/dev/ptmx or /dev/pts/ptmx whose fdinfo says tty-index N) or /dev/pts/N
// itself. Reopening what the session already holds gives it nothing new, whereas the
// other /dev/pts/N name the user's other terminals. `first`: looked at before the rest
// (the asking process, the likeliest holder). Reads /proc/PID/fd of each process; an
// unreadable table counts as holding nothing (the open is then denied).
bool session_holds_pty(const SessionView& session, pid_t first, unsigned index);

}  // namespace guardian::decode
