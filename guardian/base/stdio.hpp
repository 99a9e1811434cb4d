// Standard descriptors 0-2 that guardian was started without.
#pragma once

namespace guardian::stdio {

// Puts /dev/null (/dev/full on 1; close-on-exec) on each of 0, 1, 2 that is closed, so none of
// guardian's own descriptors (Landlock ruleset, cgroup files, sockets) takes that number
// and receives its messages or audit records; the command still finds them closed, as it
// would natively. Called first thing in main.
void hold_closed();

// Whether `fd` (0, 1 or 2) was closed when hold_closed() ran.
bool was_closed(int fd);

}  // namespace guardian::stdio
