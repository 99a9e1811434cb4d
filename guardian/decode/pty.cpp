// Pseudo-terminals the session holds (see pty.hpp).
#include "decode/pty.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <string>

#include "base/unique_fd.hpp"

namespace guardian::decode {

namespace {

// Reads "tty-index:\tN" from /proc/PID/fdinfo/FD of a ptmx descriptor.
std::optional<unsigned> master_index(pid_t pid, const char* fd) {
  char path[320];
  std::snprintf(path, sizeof path, "/proc/%d/fdinfo/%s", pid, fd);
  UniqueFd f(::open(path, O_RDONLY | O_CLOEXEC));
  if (!f) return std::nullopt;
  char buf[512];
  ssize_t n = ::read(f.get(), buf, sizeof buf - 1);
  if (n <= 0) return std::nullopt;
  buf[n] = '\0';
  const char* p = std::strstr(buf, "tty-index:");
  if (!p) return std::nullopt;
  p += std::strlen("tty-index:");
  while (*p == '\t' || *p == ' ') ++p;
  unsigned v = 0;
  auto [end, ec] = std::from_chars(p, buf + n, v);
  if (ec != std::errc() || end == p) return std::nullopt;
  return v;
}

// Process `pid` has a descriptor of terminal `index` (master or the terminal itself).
bool holds(pid_t pid, unsigned index) {
  char dir[48];
  std::snprintf(dir, sizeof dir, "/proc/%d/fd", pid);
  UniqueFd dfd(::open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dfd) return false;
  DIR* d = ::fdopendir(dfd.get());
  if (!d) return false;
  dfd.release();
  bool found = false;
  char link[64];
  while (!found) {
    struct dirent* e = ::readdir(d);
    if (!e) break;
    if (e->d_name[0] == '.') continue;
    ssize_t n = ::readlinkat(::dirfd(d), e->d_name, link, sizeof link - 1);
    if (n <= 0) continue;
    std::string_view text(link, static_cast<std::size_t>(n));
    if (text == "/dev/ptmx" || text == "/dev/pts/ptmx") {
      auto m = master_index(pid, e->d_name);
      found = m && *m == index;
    } else if (auto s = pts_index(text)) {
      found = *s == index;
    }
  }
  ::closedir(d);
  return found;
}

}  // namespace

bool is_pts_device(dev_t rdev, unsigned index) {
  // UNIX98_PTY_SLAVE_MAJOR (136) with the index as minor (20-bit minors), or the old
  // spelling of majors 136-143 with 256 terminals each.
  unsigned maj = major(rdev), min = minor(rdev);
  if (maj == 136) return min == index;
  return maj > 136 && maj < 144 && min < 256 && (maj - 136) * 256 + min == index;
}

bool session_holds_pty(const SessionView& session, pid_t first, unsigned index) {
  if (first > 0 && holds(first, index)) return true;
  for (pid_t p : session.processes())
    if (p != first && holds(p, index)) return true;
  return false;
}

}  // namespace guardian::decode
