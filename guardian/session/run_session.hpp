// session::run_session: the whole of `guardian run` after option parsing (also used by
// `guardian learn -- CMD`). Returns the exit status spec §1 fixes.
#pragma once

#include "session/options.hpp"

namespace guardian::session {

// Loads the profile, resolves the command, launches it under the filter and supervises it
// until it exits. Every failure of guardian itself prints one line and returns 125.
int run_session(const RunOptions& opts);

// Maps a wait status to the exit status of `guardian run` (code, or 128+signal).
int exit_status_of(int wait_status);

}  // namespace guardian::session
