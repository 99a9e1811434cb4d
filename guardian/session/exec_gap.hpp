// Whether the Landlock envelope holds a session's execs as exactly as guardian's exec check.
#pragma once

#include <string>

#include "policy/engine.hpp"
#include "policy/landlock_envelope.hpp"

namespace guardian::session {

// Tracing inside a session hands a process's execs from guardian's check at
// PTRACE_EVENT_EXEC to the Landlock envelope (guardian(1), BACKENDS). Landlock has no deny
// rules and grants whole directories, so that holds only where the envelope executes
// nothing that no rule of the profile allows (deny rules inside an allowed tree are
// decided at the call only, as guardian(1) says). Returns the first gap found, in words, or
// "" when there is none: an executable file below the envelope's exec entries that no
// rule lets run (a glob narrower than its directory), or an exec entry the session may
// write where no rule lets what it writes run (the envelope makes write directories
// executable: what it plants there would run under a name never allowed).
std::string exec_envelope_gap(const policy::Engine& engine, const policy::Envelope& envelope);

}  // namespace guardian::session
