// How open(2) flags map to the profile's operations: shared by the supervisor's open
// decoder and the shim's fast path, so both ask the engine the same question.
#pragma once

#include <fcntl.h>

#include "request.hpp"

namespace guardian::policy {

// O_PATH gives metadata only (stat); any write intent (O_WRONLY, O_RDWR, O_CREAT, O_TRUNC,
// O_TMPFILE) is a write; everything else reads. O_TMPFILE contains O_DIRECTORY's bit, so it
// is tested as a whole.
inline Op open_op(int flags) noexcept {
  const bool tmpfile = (flags & O_TMPFILE) == O_TMPFILE;
  const bool opath = flags & O_PATH;
  const int acc = flags & O_ACCMODE;
  const bool creat = (flags & O_CREAT) && !opath;
  if (opath) return Op::stat;
  if (acc != O_RDONLY || creat || (flags & O_TRUNC) || tmpfile) return Op::write;
  return Op::read;
}

}  // namespace guardian::policy
