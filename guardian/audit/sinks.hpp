// Where written audit lines go: a file (optionally rotated by size), stderr, syslog
// (RFC 5424 over /dev/log) or journald (native protocol). Used by the writer thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace guardian::audit {

// One line of a batch, with what the system-log sinks show beside it.
struct LineMeta {
  std::size_t begin = 0, end = 0;  // [begin, end) in the batch text; end is just past '\n'
  std::uint64_t seq = 0;
  std::string_view event;
  std::string_view decision;  // decision records only
  std::string_view ts;        // RFC 3339
  int priority = 6;           // syslog severity: 6 info, 4 warning
};

class Sink {
 public:
  virtual ~Sink() = default;
  // Writes the lines (each ending in '\n') of `text`; a failure is reported once by the caller.
  virtual Result<void> write(std::string_view text, const std::vector<LineMeta>& lines) = 0;
  // Forces what was written to stable storage where that means something (files).
  virtual Result<void> sync() { return outcome::success(); }
};

// "-" (stderr), "syslog", "journald" or a file path. socket_override replaces the
// system-log socket path (tests); rotate_bytes applies to files only.
Result<std::unique_ptr<Sink>> open_sink(const std::string& destination, std::uint64_t rotate_bytes,
                                        const std::string& socket_override, const std::string& session);

}  // namespace guardian::audit
