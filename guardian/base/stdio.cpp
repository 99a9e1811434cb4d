// Standard descriptors guardian was started without (see stdio.hpp).
#include "base/stdio.hpp"

#include <fcntl.h>

#include <cerrno>

namespace guardian::stdio {

namespace {
bool g_closed[3] = {false, false, false};
}  // namespace

void hold_closed() {
  for (int fd = 0; fd < 3; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    g_closed[fd] = true;
    // The lowest free number: `fd` itself, since 0..fd-1 are open by now. Standard output
    // gets /dev/full, so that what guardian prints there fails as on a closed descriptor.
    if (fd != 1 || ::open("/dev/full", O_WRONLY | O_CLOEXEC) < 0) ::open("/dev/null", O_RDWR | O_CLOEXEC);
  }
}

bool was_closed(int fd) { return fd >= 0 && fd < 3 && g_closed[fd]; }

}  // namespace guardian::stdio
