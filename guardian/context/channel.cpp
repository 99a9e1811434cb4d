// Shim channel, environment injection and library discovery (see channel.hpp).
#include "context/channel.hpp"

#include <elf.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "preload/protocol.h"
#include "version.hpp"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

namespace guardian::context {

const char* install_libdir() { return GUARDIAN_LIBDIR; }

namespace {
constexpr const char* kLibrary = "libguardian-preload.so";

// Where the command's end of the channel goes: 24 below the descriptor limit (at most
// 1024), or -1 (the lowest free number) when the limit is too low for that.
int channel_number() {
  struct rlimit lim {};
  rlim_t top = ::getrlimit(RLIMIT_NOFILE, &lim) == 0 ? lim.rlim_cur : 1024;
  if (top > 1024) top = 1024;
  return top > 64 ? static_cast<int>(top - 24) : -1;
}
}  // namespace

void reserve_channel_number() {
  const int at = channel_number();
  if (at < 0) return;
  const int saved = errno;
  int fd = ::open("/", O_PATH | O_CLOEXEC);
  if (fd >= 0) {
    const int high = ::fcntl(fd, F_DUPFD_CLOEXEC, at);
    if (high >= 0) ::close(high);
    ::close(fd);
  }
  errno = saved;
}

Result<ShimChannel> open_channel() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    return fail_errno("cannot create the preload shim's channel (socketpair)", errno);
  ShimChannel ch;
  ch.supervisor.reset(sv[0]);
  ch.child.reset(sv[1]);
  // The command inherits its end: at a high number, not the lowest free one, so that the
  // command's own descriptors are numbered as natively (its first opens get 3, 4, 5, ...;
  // a program printing or passing them on sees the same numbers). The shim checks the
  // socket's cookie before each use, so a program that takes the number over is harmless.
  if (const int at = channel_number(); at >= 0) {
    int high = ::fcntl(ch.child.get(), F_DUPFD_CLOEXEC, at);
    if (high >= 0) ch.child.reset(high);
  }
  // The shim only writes; nothing ever needs to read from its end.
  ::shutdown(ch.child.get(), SHUT_RD);
  socklen_t len = sizeof ch.cookie;
  if (::getsockopt(ch.child.get(), SOL_SOCKET, SO_COOKIE, &ch.cookie, &len) != 0)
    return fail_errno("cannot identify the preload shim's channel (SO_COOKIE)", errno);
  return ch;
}

std::string shim_env_value(const ShimChannel& ch, int deny_errno) {
  return std::to_string(ch.child.get()) + ":" + std::to_string(deny_errno) + ":" +
         std::to_string(ch.cookie);
}

std::optional<std::string> find_preload_library() { return find_preload_library(kLibrary); }

std::optional<std::string> find_preload_library(const char* kLibrary) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    // Build tree: build/guardian/guardian next to build/preload/libguardian-preload.so.
    fs::path candidate = self.parent_path().parent_path() / "preload" / kLibrary;
    if (::access(candidate.c_str(), R_OK) == 0) return candidate.string();
    candidate = self.parent_path() / kLibrary;
    if (::access(candidate.c_str(), R_OK) == 0) return candidate.string();
  }
  fs::path installed = fs::path(GUARDIAN_LIBDIR) / kLibrary;
  if (::access(installed.c_str(), R_OK) == 0) return installed.string();
  return std::nullopt;
}

void inject_env(std::vector<std::string>& envp, const std::string& library,
                const std::string& shim_value) {
  bool have_preload = false;
  std::erase_if(envp, [](const std::string& e) {
    return e.starts_with(std::string(GUARDIAN_SHIM_ENV) + "=");
  });
  for (std::string& e : envp)
    if (e.starts_with("LD_PRELOAD=")) {
      have_preload = true;
      if (e.size() > 11) e += ":";
      e += library;
    }
  if (!have_preload) envp.push_back("LD_PRELOAD=" + library);
  envp.push_back(std::string(GUARDIAN_SHIM_ENV) + "=" + shim_value);
}

bool is_dynamic_program(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  Elf64_Ehdr eh;
  bool dynamic = false;
  ssize_t n = ::pread(fd, &eh, sizeof eh, 0);
  if (n >= 2 && reinterpret_cast<const char*>(&eh)[0] == '#' &&
      reinterpret_cast<const char*>(&eh)[1] == '!') {
    dynamic = true;
  } else if (n == static_cast<ssize_t>(sizeof eh) && std::memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 &&
             eh.e_ident[EI_CLASS] == ELFCLASS64) {
    for (int i = 0; i < eh.e_phnum && !dynamic; ++i) {
      Elf64_Phdr ph;
      if (::pread(fd, &ph, sizeof ph, static_cast<off_t>(eh.e_phoff + i * sizeof ph)) !=
          static_cast<ssize_t>(sizeof ph))
        break;
      dynamic = ph.p_type == PT_INTERP;
    }
  }
  ::close(fd);
  return dynamic;
}

}  // namespace guardian::context
