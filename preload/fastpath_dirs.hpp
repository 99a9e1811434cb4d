// The fast path's knowledge of directories reached with no symbolic link (fastpath_dirs.cpp):
// what lets a stat of "DIR/NAME" be one statx(AT_SYMLINK_NOFOLLOW) instead of an openat2,
// an fstat and a close. Not an interface outside the fast path.
#pragma once

#include <cstdint>
#include <string_view>

namespace guardian::preload::fastpath {

// True when `dir` (absolute, normalised: no ".", "..", "//" nor trailing "/") is a directory
// the kernel reaches from "/" without following any symbolic link, magic links included: as
// found by an openat2(O_PATH | O_DIRECTORY, RESOLVE_NO_SYMLINKS) with `token`, made now or
// remembered from less than a second ago while the ring's cwd_gen and names_gen have not
// moved. Async-signal-safe, lock-free, shared by the threads (and vfork children) of the
// process. `ring`: the mapped ring (its generation counters). When false and `err` is given,
// *err is the kernel's refusal (ENOENT: `dir` names nothing; ENOTDIR, ELOOP...), or
// ENAMETOOLONG for a name this does not look at.
bool plain_dir(const void* ring, std::string_view dir, std::uint64_t token, int* err = nullptr);

// Forgets everything (tests).
void forget_dirs();

}  // namespace guardian::preload::fastpath
