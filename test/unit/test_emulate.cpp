// emulate: the operations the supervisor performs for a tracee (here: naming a unix socket
// as the program asked, and never outside the directory decided).
#include "emulate/emulate.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "temp_dir.hpp"

namespace {

sockaddr_un unix_addr(const std::string& path, socklen_t& len) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.data(), path.size());
  len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  return a;
}

std::string bound_name(int s) {
  sockaddr_un a{};
  socklen_t l = sizeof a;
  REQUIRE(::getsockname(s, reinterpret_cast<sockaddr*>(&a), &l) == 0);
  return a.sun_path;
}

}  // namespace

TEST_CASE("bind_unix_named: the socket is named as given, only beneath the decided parent") {
  TempDir t("emulate");
  REQUIRE(::mkdir((t / "a").c_str(), 0755) == 0);
  REQUIRE(::mkdir((t / "b").c_str(), 0755) == 0);
  int parent = ::open((t / "a").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  REQUIRE(parent >= 0);
  int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(s >= 0);
  socklen_t len = 0;

  // The name the program gave, not /proc/self/fd/N/NAME: getsockname shows it.
  sockaddr_un in_a = unix_addr(t / "a/s.sock", len);
  long rc = guardian::emulate::bind_unix_named(s, reinterpret_cast<sockaddr*>(&in_a), len, parent,
                                               -1, 077);
  if (rc == -ENOSYS) {
    MESSAGE("Landlock unavailable: bind_unix_named declines (the caller binds via the parent)");
    ::close(s);
    ::close(parent);
    return;
  }
  CHECK(rc == 0);
  CHECK(bound_name(s) == t / "a/s.sock");
  struct stat st {};
  REQUIRE(::stat((t / "a/s.sock").c_str(), &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK((st.st_mode & 0777) == 0700);  // the tracee's umask
  ::close(s);

  // A text that reaches another directory (as a swapped symlink would) is refused there.
  s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un in_b = unix_addr(t / "b/s.sock", len);
  rc = guardian::emulate::bind_unix_named(s, reinterpret_cast<sockaddr*>(&in_b), len, parent, -1,
                                          022);
  CHECK(rc == -EACCES);
  CHECK(::access((t / "b/s.sock").c_str(), F_OK) != 0);
  ::close(s);

  // A relative name is resolved from the cwd given, and kept relative; the caller's own
  // cwd and umask do not change.
  char before[4096];
  REQUIRE(::getcwd(before, sizeof before) != nullptr);
  mode_t um = ::umask(022);
  int cwd = ::open(t.path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  s = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un rel = unix_addr("a/r.sock", len);
  rc = guardian::emulate::bind_unix_named(s, reinterpret_cast<sockaddr*>(&rel), len, parent, cwd,
                                          077);
  CHECK(rc == 0);
  CHECK(bound_name(s) == "a/r.sock");
  CHECK(::access((t / "a/r.sock").c_str(), F_OK) == 0);
  char after[4096];
  REQUIRE(::getcwd(after, sizeof after) != nullptr);
  CHECK(std::string(after) == before);
  CHECK(::umask(um) == 022);
  ::close(s);
  ::close(cwd);
  ::close(parent);
}
