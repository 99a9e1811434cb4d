// Turning raw return addresses from a supervised process into readable frames: a snapshot
// of /proc/PID/maps taken while the process waits, then elfutils (libdwfl) on the files
// those mappings name: function+offset, and file:line when debug information exists.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace guardian::context {

// One file-backed mapping of a process.
struct Mapping {
  std::uint64_t start = 0, end = 0, offset = 0;
  std::uint64_t inode = 0;
  std::string path;  // absolute file path, or a pseudo name like "[vdso]"
};

// Parses the text of /proc/PID/maps; lines without a name (anonymous memory) are dropped.
std::vector<Mapping> parse_maps(std::string_view text);

// Reads /proc/PID/maps; empty when the process is gone or unreadable.
std::vector<Mapping> read_maps(pid_t pid);

// Caches one libdwfl session per module file and every address it has answered, so a
// program that is denied the same thing a thousand times costs one lookup.
class Symboliser {
 public:
  Symboliser();
  ~Symboliser();
  Symboliser(const Symboliser&) = delete;
  Symboliser& operator=(const Symboliser&) = delete;

  // Frames innermost first. Leading frames inside a module whose path ends with `skip`
  // (the shim itself) are dropped so the first frame is the program's own call site.
  // Each frame reads "FUNC+0xOFF (FILE:LINE) [MODULE]", fewer parts when unknown.
  std::vector<std::string> frames(const std::vector<Mapping>& maps,
                                  std::span<const std::uint64_t> addrs, std::string_view skip);

 private:
  struct Module;
  Module* module(const Mapping& m);
  std::string describe(const Mapping& m, std::uint64_t addr, bool is_return_address);

  std::map<std::pair<std::string, std::uint64_t>, std::unique_ptr<Module>> modules_;
  std::map<std::pair<std::uint64_t, std::uint64_t>, std::string> answers_;  // (inode, vaddr)
};

}  // namespace guardian::context
