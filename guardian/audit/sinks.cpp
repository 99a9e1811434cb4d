// Audit sinks. Files: O_APPEND, one write(2) per batch of whole lines, size rotation that
// renames the full file to PATH.N (N = 1, 2, ... oldest first) between two records, so no
// record is split, lost or repeated and the hash chain simply continues in the new file.
#include "audit/sinks.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/fd_passing.hpp"
#include "base/stdio.hpp"
#include "base/unique_fd.hpp"

namespace guardian::audit {
namespace {

Result<void> write_all(int fd, const char* p, std::size_t n, const std::string& what) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return fail_errno("cannot write audit log " + what, errno);
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return outcome::success();
}

class FdSink : public Sink {
 public:
  FdSink(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  Result<void> write(std::string_view text, const std::vector<LineMeta>&) override {
    return write_all(fd_, text.data(), text.size(), name_);
  }

 private:
  int fd_;
  std::string name_;
};

class FileSink : public Sink {
 public:
  FileSink(std::string path, std::uint64_t rotate) : path_(std::move(path)), rotate_(rotate) {}

  Result<void> open_file() {
    int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) return fail_errno("cannot open audit log '" + path_ + "'", errno);
    fd_ = UniqueFd(fd);
    struct stat st;
    size_ = fstat(fd, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
    return outcome::success();
  }

  Result<void> write(std::string_view text, const std::vector<LineMeta>& lines) override {
    if (rotate_ == 0) {
      auto r = write_all(fd_.get(), text.data(), text.size(), "'" + path_ + "'");
      size_ += text.size();
      return r;
    }
    // Write runs of whole lines that fit; rotate between lines when the next would not.
    std::size_t run_begin = 0, run_end = 0;
    for (const LineMeta& l : lines) {
      std::size_t len = l.end - l.begin;
      if (size_ + (run_end - run_begin) + len > rotate_ && size_ + (run_end - run_begin) > 0) {
        if (auto r = flush_run(text, run_begin, run_end); !r) return r;
        if (auto r = rotate(); !r) return r;
        run_begin = run_end = l.begin;
      }
      run_end = l.end;
    }
    return flush_run(text, run_begin, run_end);
  }

  Result<void> sync() override {
    if (fdatasync(fd_.get()) != 0 && errno != EINVAL)
      return fail_errno("cannot sync audit log '" + path_ + "'", errno);
    return outcome::success();
  }

 private:
  Result<void> flush_run(std::string_view text, std::size_t b, std::size_t e) {
    if (e <= b) return outcome::success();
    auto r = write_all(fd_.get(), text.data() + b, e - b, "'" + path_ + "'");
    size_ += e - b;
    return r;
  }

  Result<void> rotate() {
    if (fdatasync(fd_.get()) != 0 && errno != EINVAL)
      return fail_errno("cannot sync audit log '" + path_ + "'", errno);
    for (unsigned n = next_;; ++n) {
      std::string to = path_ + "." + std::to_string(n);
      struct stat st;
      if (lstat(to.c_str(), &st) == 0) continue;  // never overwrite an older rotation
      if (::rename(path_.c_str(), to.c_str()) != 0)
        return fail_errno("cannot rotate audit log '" + path_ + "' to '" + to + "'", errno);
      next_ = n + 1;
      break;
    }
    return open_file();
  }

  std::string path_;
  std::uint64_t rotate_;
  UniqueFd fd_;
  std::uint64_t size_ = 0;
  unsigned next_ = 1;
};

Result<UniqueFd> connect_dgram(const std::string& path, const std::string& what, const std::string& hint) {
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail_errno("cannot create a socket for the " + what + " audit sink", errno);
  UniqueFd sock(fd);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) return fail("socket path too long: " + path);
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    int e = errno;
    return fail("audit sink " + what + " unavailable: " + path + ": " + std::strerror(e) + " (" + hint + ")", e);
  }
  int sndbuf = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  return sock;
}

// RFC 5424 over the local syslog socket: <PRI>1 TS HOST APP PROCID MSGID SD MSG.
// Facility authpriv (10): decisions are security-relevant and may name private paths.
class SyslogSink : public Sink {
 public:
  explicit SyslogSink(UniqueFd fd) : fd_(std::move(fd)) {
    char host[256] = "-";
    if (gethostname(host, sizeof host) != 0 || host[0] == '\0') std::strcpy(host, "-");
    host[sizeof host - 1] = '\0';
    host_ = host;
    pid_ = std::to_string(getpid());
  }

  Result<void> write(std::string_view text, const std::vector<LineMeta>& lines) override {
    std::string msg;
    for (const LineMeta& l : lines) {
      msg.clear();
      msg += '<' + std::to_string(10 * 8 + l.priority) + ">1 ";
      msg += l.ts.empty() ? std::string_view("-") : l.ts;
      msg += ' ' + host_ + " guardian " + pid_ + ' ';
      msg += l.event.empty() ? std::string_view("-") : l.event;
      msg += " - ";
      msg += text.substr(l.begin, l.end - l.begin - 1);  // without '\n'
      for (;;) {
        if (send(fd_.get(), msg.data(), msg.size(), MSG_NOSIGNAL) >= 0) break;
        if (errno == EINTR) continue;
        return fail_errno("cannot send audit record to syslog", errno);
      }
    }
    return outcome::success();
  }

 private:
  UniqueFd fd_;
  std::string host_, pid_;
};

// systemd-journald native protocol: one datagram of KEY=VALUE lines per record; a record
// too big for a datagram goes through a sealed memfd passed with SCM_RIGHTS.
class JournaldSink : public Sink {
 public:
  JournaldSink(UniqueFd fd, std::string session) : fd_(std::move(fd)), session_(std::move(session)) {}

  Result<void> write(std::string_view text, const std::vector<LineMeta>& lines) override {
    std::string msg;
    for (const LineMeta& l : lines) {
      msg.clear();
      msg += "MESSAGE=";
      msg += text.substr(l.begin, l.end - l.begin);  // keeps the '\n' that ends the field
      msg += "PRIORITY=" + std::to_string(l.priority) + "\n";
      msg += "SYSLOG_IDENTIFIER=guardian\n";
      msg += "SYSLOG_FACILITY=10\n";
      msg += "GUARDIAN_SESSION=" + session_ + "\n";
      msg += "GUARDIAN_SEQ=" + std::to_string(l.seq) + "\n";
      msg += "GUARDIAN_EVENT=";
      msg += l.event;
      msg += '\n';
      if (!l.decision.empty()) {
        msg += "GUARDIAN_DECISION=";
        msg += l.decision;
        msg += '\n';
      }
      if (auto r = send_one(msg); !r) return r;
    }
    return outcome::success();
  }

 private:
  Result<void> send_one(const std::string& msg) {
    for (;;) {
      if (send(fd_.get(), msg.data(), msg.size(), MSG_NOSIGNAL) >= 0) return outcome::success();
      if (errno == EINTR) continue;
      if (errno != EMSGSIZE && errno != ENOBUFS) return fail_errno("cannot send audit record to journald", errno);
      break;
    }
    int mfd = memfd_create("guardian-audit", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (mfd < 0) return fail_errno("cannot create a memfd for a large journald record", errno);
    UniqueFd memfd(mfd);
    if (auto r = write_all(mfd, msg.data(), msg.size(), "memfd"); !r) return r;
    fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
    while (base::send_fd(fd_.get(), mfd, nullptr, 0, MSG_NOSIGNAL) < 0) {
      if (errno != EINTR) return fail_errno("cannot send audit record to journald", errno);
    }
    return outcome::success();
  }

  UniqueFd fd_;
  std::string session_;
};

}  // namespace

Result<std::unique_ptr<Sink>> open_sink(const std::string& destination, std::uint64_t rotate_bytes,
                                        const std::string& socket_override, const std::string& session) {
  if (destination == "-") {
    // Closed standard error holds /dev/null (stdio::hold_closed): records would vanish.
    if (stdio::was_closed(STDERR_FILENO)) return fail("cannot write audit log to standard error: it is closed");
    return std::unique_ptr<Sink>(new FdSink(STDERR_FILENO, "stderr"));
  }
  if (destination == "syslog") {
    std::string path = socket_override.empty() ? "/dev/log" : socket_override;
    auto fd = connect_dgram(path, "syslog", "is a syslog daemon running? or use --audit FILE");
    if (!fd) return fd.error();
    return std::unique_ptr<Sink>(new SyslogSink(std::move(fd).value()));
  }
  if (destination == "journald") {
    std::string path = socket_override.empty() ? "/run/systemd/journal/socket" : socket_override;
    auto fd = connect_dgram(path, "journald", "is systemd-journald running? or use --audit FILE");
    if (!fd) return fd.error();
    return std::unique_ptr<Sink>(new JournaldSink(std::move(fd).value(), session));
  }
  auto sink = std::make_unique<FileSink>(destination, rotate_bytes);
  if (auto r = sink->open_file(); !r) return r.error();
  return std::unique_ptr<Sink>(std::move(sink));
}

}  // namespace guardian::audit
