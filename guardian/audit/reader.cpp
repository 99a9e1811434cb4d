// Streaming line reader for `guardian audit`: big buffered reads, records parsed in place.
#include "audit/reader.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace guardian::audit {

std::string for_each_line(const std::vector<std::string>& files,
                          const std::function<void(const LineRef&)>& fn) {
  constexpr std::size_t kChunk = 1 << 20;
  std::string buf;
  for (const std::string& file : files) {
    int fd = file == "-" ? dup(0) : open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return "cannot read audit log '" + file + "': " + std::strerror(errno);
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    buf.clear();
    std::size_t start = 0;  // first byte of the current (incomplete) line
    std::uint64_t lineno = 0;
    LineRef ref;
    ref.file = &file;
    for (;;) {
      // Keep the incomplete tail, then read the next chunk after it.
      if (start > 0) {
        buf.erase(0, start);
        start = 0;
      }
      std::size_t old = buf.size();
      buf.resize(old + kChunk);
      ssize_t n = read(fd, buf.data() + old, kChunk);
      if (n < 0) {
        if (errno == EINTR) { buf.resize(old); continue; }
        int e = errno;
        close(fd);
        return "cannot read audit log '" + file + "': " + std::strerror(e);
      }
      buf.resize(old + static_cast<std::size_t>(n));
      if (n == 0) {
        if (start < buf.size()) {
          ref.lineno = ++lineno;
          ref.text = std::string_view(buf).substr(start);
          ref.terminated = false;
          fn(ref);
        }
        break;
      }
      const char* base = buf.data();
      std::size_t scan = old;
      for (;;) {
        const void* nl = std::memchr(base + scan, '\n', buf.size() - scan);
        if (!nl) break;
        std::size_t end = static_cast<std::size_t>(static_cast<const char*>(nl) - base);
        ref.lineno = ++lineno;
        ref.text = std::string_view(base + start, end - start);
        ref.terminated = true;
        fn(ref);
        start = scan = end + 1;
      }
    }
    close(fd);
  }
  return {};
}

bool for_each_record(const std::vector<std::string>& files,
                     const std::function<void(const LineRef&, const Record&)>& fn,
                     RecordStreamStats* stats) {
  RecordStreamStats local;
  RecordStreamStats& st = stats ? *stats : local;
  Record rec;
  std::string err;
  std::string problem = for_each_line(files, [&](const LineRef& line) {
    ++st.lines;
    if (!parse_line(line.text, rec, err)) {
      if (++st.malformed <= 20)
        std::fprintf(stderr, "guardian: %s:%llu: malformed record skipped: %s\n", line.file->c_str(),
                     static_cast<unsigned long long>(line.lineno), err.c_str());
      else if (st.malformed == 21)
        std::fputs("guardian: further malformed records are not listed\n", stderr);
      return;
    }
    ++st.records;
    fn(line, rec);
  });
  if (!problem.empty()) {
    std::fprintf(stderr, "guardian: %s\n", problem.c_str());
    return false;
  }
  if (st.malformed > 20)
    std::fprintf(stderr, "guardian: %llu malformed records skipped in all\n",
                 static_cast<unsigned long long>(st.malformed));
  return true;
}

}  // namespace guardian::audit
