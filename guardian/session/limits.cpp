// Session limits: parsing, mechanism choice (cgroup or rlimit), the child's part, and the
// timer-driven watch that fires limits and ends the tree.
#include "session/limits.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "session/reaper.hpp"

namespace guardian::session {

namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(100);

// Splits "1.5GiB" into 1.5 and "GiB".
bool number_and_unit(std::string_view text, double& num, std::string& unit) {
  std::string s(text);
  while (!s.empty() && s.back() == ' ') s.pop_back();
  if (s.empty() || !(std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '.')) return false;
  char* end = nullptr;
  errno = 0;
  num = std::strtod(s.c_str(), &end);
  if (errno || end == s.c_str() || !std::isfinite(num) || num < 0) return false;
  unit = end;
  while (!unit.empty() && unit.front() == ' ') unit.erase(unit.begin());
  return true;
}

// Tasks (threads included, as RLIMIT_NPROC counts them) the real uid owns now.
std::size_t tasks_of_uid(uid_t uid) {
  std::size_t n = 0;
  DIR* d = ::opendir("/proc");
  if (!d) return 0;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    std::string st = read_small_file("/proc/" + std::string(e->d_name) + "/status");
    auto u = st.find("\nUid:");
    auto t = st.find("\nThreads:");
    if (u == std::string::npos || t == std::string::npos) continue;
    if (static_cast<uid_t>(std::strtoul(st.c_str() + u + 5, nullptr, 10)) != uid) continue;
    n += std::strtoul(st.c_str() + t + 9, nullptr, 10);
  }
  ::closedir(d);
  return n;
}

}  // namespace

Result<double> parse_duration(std::string_view text) {
  double n = 0;
  std::string unit;
  if (!number_and_unit(text, n, unit))
    return fail("invalid duration '" + std::string(text) + "' (expected e.g. 30s, 10m, 2h)");
  double mult = 0;
  if (unit.empty() || unit == "s") mult = 1;
  else if (unit == "ms") mult = 0.001;
  else if (unit == "m" || unit == "min") mult = 60;
  else if (unit == "h") mult = 3600;
  else if (unit == "d") mult = 86400;
  else return fail("invalid duration '" + std::string(text) + "': unknown unit '" + unit + "' (use ms, s, m, h, d)");
  if (n * mult <= 0) return fail("invalid duration '" + std::string(text) + "': must be positive");
  return n * mult;
}

Result<std::uint64_t> parse_size(std::string_view text) {
  double n = 0;
  std::string unit;
  if (!number_and_unit(text, n, unit))
    return fail("invalid size '" + std::string(text) + "' (expected e.g. 512MiB, 2GiB)");
  static const std::pair<const char*, double> units[] = {
      {"", 1},          {"B", 1},           {"K", 1024.0},         {"KiB", 1024.0},
      {"KB", 1e3},      {"k", 1024.0},      {"M", 1048576.0},      {"MiB", 1048576.0},
      {"MB", 1e6},      {"G", 1073741824.0}, {"GiB", 1073741824.0}, {"GB", 1e9},
      {"T", 1099511627776.0}, {"TiB", 1099511627776.0}, {"TB", 1e12}};
  for (auto& [u, mult] : units)
    if (unit == u) {
      double v = n * mult;
      if (v < 1 || v > 1.8e19) return fail("invalid size '" + std::string(text) + "': out of range");
      return static_cast<std::uint64_t>(v);
    }
  return fail("invalid size '" + std::string(text) + "': unknown unit '" + unit + "' (use K, M, G, T, KiB, MiB, GiB, KB, MB, GB)");
}

Result<std::uint32_t> parse_count(std::string_view text) {
  std::string s(text);
  char* end = nullptr;
  errno = 0;
  unsigned long v = s.empty() || !std::isdigit(static_cast<unsigned char>(s[0]))
                        ? 0 : std::strtoul(s.c_str(), &end, 10);
  if (s.empty() || errno || !end || *end || v == 0 || v > 4194304)
    return fail("invalid count '" + s + "' (expected a positive integer)");
  return static_cast<std::uint32_t>(v);
}

// The whole number nearest to q >= 0, without libm: std::round was the only libm function
// guardian called, and for it every start loaded and relocated libm.so.6 (0.08 ms of each
// `guardian run`). Doubles from 2^52 up are whole already.
namespace {
double nearest_whole(double q) {
  return q >= 0x1p52 ? q : static_cast<double>(static_cast<std::uint64_t>(q + 0.5));
}
}  // namespace

std::string format_duration(double s) {
  char buf[64];
  auto whole = [&](double unit, const char* suffix) {
    double q = s / unit;
    if (q >= 1 && std::fabs(q - nearest_whole(q)) < 1e-9) {
      std::snprintf(buf, sizeof buf, "%.0f%s", q, suffix);
      return true;
    }
    return false;
  };
  if (whole(3600, "h") || whole(60, "m") || whole(1, "s")) return buf;
  if (s < 1) std::snprintf(buf, sizeof buf, "%.0fms", s * 1000);
  else std::snprintf(buf, sizeof buf, "%gs", s);
  return buf;
}

std::string format_size(std::uint64_t b) {
  static const char* names[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int i = 0;
  std::uint64_t v = b;
  while (i < 4 && v >= 1024 && v % 1024 == 0) v /= 1024, ++i;
  return std::to_string(v) + names[i];
}

Result<LimitSettings> merge_limits(const policy::Limits& p, const LimitOverrides& cli) {
  LimitSettings s;
  s.wall_s = p.wall_s;
  s.cpu_s = p.cpu_s;
  s.memory_bytes = p.memory_bytes;
  s.pids = p.pids;
  s.nofile = p.nofile;
  if (!cli.timeout.empty()) {
    auto v = parse_duration(cli.timeout);
    if (!v) return fail("--timeout: " + v.error().message);
    s.wall_s = v.value();
  }
  if (!cli.cpu.empty()) {
    auto v = parse_duration(cli.cpu);
    if (!v) return fail("--cpu: " + v.error().message);
    s.cpu_s = v.value();
  }
  if (!cli.memory.empty()) {
    auto v = parse_size(cli.memory);
    if (!v) return fail("--memory: " + v.error().message);
    s.memory_bytes = v.value();
  }
  if (!cli.pids.empty()) {
    auto v = parse_count(cli.pids);
    if (!v) return fail("--pids: " + v.error().message);
    s.pids = v.value();
  }
  return s;
}

Result<std::unique_ptr<SessionLimits>> SessionLimits::prepare(const LimitSettings& settings,
                                                             bool use_cgroup) {
  std::unique_ptr<SessionLimits> l(new SessionLimits());
  l->s_ = settings;
  // A cgroup is worth having even without limits: cgroup.kill ends the whole tree.
  if (use_cgroup) {
    auto cg = SessionCgroup::create({settings.memory_bytes.has_value(), settings.pids.has_value()});
    if (cg) l->cg_ = std::move(cg).value();
  }
  auto& m = l->mech_;
  m["kill"] = l->cg_ && l->cg_->kill_mech() == CgMech::v2 ? "cgroup2" : "process-table";
  if (l->cg_) m["cgroup"] = l->cg_->path();
  auto add_rlimit = [&](int res, rlim_t soft, rlim_t hard) {
    l->rlimits_.push_back({res, {soft, hard}});
  };
  if (settings.wall_s) m["wall"] = "timer";
  if (settings.cpu_s) {
    // Per-process RLIMIT_CPU always (a backstop that needs no polling); the tree's total is
    // watched through the cgroup's cpu.stat where there is one.
    // With a cgroup the backstop sits past the tree's limit plus the grace period, so the
    // tree-wide measure (SIGTERM, grace, SIGKILL) is what normally ends it.
    bool tree = l->cg_ && l->cg_->cpu_mech() != CgMech::none;
    rlim_t secs = static_cast<rlim_t>(std::ceil(*settings.cpu_s));
    rlim_t grace = static_cast<rlim_t>(std::ceil(settings.grace_s));
    if (tree) secs += grace + 1;
    add_rlimit(RLIMIT_CPU, secs, secs + grace);
    m["cpu"] = tree ? std::string(to_string(l->cg_->cpu_mech())) : "rlimit";
  }
  if (settings.memory_bytes) {
    if (l->cg_ && l->cg_->memory_mech() != CgMech::none) {
      auto r = l->cg_->set_memory_max(*settings.memory_bytes);
      if (!r) return fail(r.error().message);
      m["memory"] = to_string(l->cg_->memory_mech());
    } else {
      // RLIMIT_DATA (heap and private writable mappings), not RLIMIT_AS: runtimes that
      // reserve large PROT_NONE ranges (Go, the JVM) would fail under an address-space cap.
      add_rlimit(RLIMIT_DATA, *settings.memory_bytes, *settings.memory_bytes);
      m["memory"] = "rlimit";
    }
  }
  if (settings.pids) {
    if (l->cg_ && l->cg_->pids_mech() != CgMech::none) {
      auto r = l->cg_->set_pids_max(*settings.pids);
      if (!r) return fail(r.error().message);
      m["pids"] = to_string(l->cg_->pids_mech());
    } else {
      // RLIMIT_NPROC counts every task of the real uid, not the session's: allow what the
      // uid runs now plus the session's share. Not enforced at all for root.
      rlim_t n = static_cast<rlim_t>(tasks_of_uid(::getuid()) + *settings.pids);
      add_rlimit(RLIMIT_NPROC, n, n);
      m["pids"] = "rlimit";
    }
  }
  if (settings.nofile) {
    add_rlimit(RLIMIT_NOFILE, *settings.nofile, *settings.nofile);
    m["nofile"] = "rlimit";
  }
  // Always: terminate() needs it for the grace period even when no limit is set.
  l->timer_.reset(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  if (!l->timer_) return fail_errno("cannot create a timer for the session's limits", errno);
  return l;
}

SessionLimits::~SessionLimits() = default;

int SessionLimits::apply_in_child() const noexcept {
  if (cg_)
    for (int fd : cg_->join_fds())
      if (::pwrite(fd, "0", 1, 0) != 1) return errno ? errno : EIO;
  for (auto& r : rlimits_) {
    struct rlimit cur;
    // Never raise a limit the user already lowered.
    if (::getrlimit(r.resource, &cur) == 0) {
      struct rlimit v = r.value;
      if (cur.rlim_max != RLIM_INFINITY && v.rlim_max > cur.rlim_max) v.rlim_max = cur.rlim_max;
      if (v.rlim_cur > v.rlim_max) v.rlim_cur = v.rlim_max;
      if (::setrlimit(r.resource, &v) != 0) return errno;
    }
  }
  return 0;
}

Result<void> SessionLimits::attach(pid_t pid, bool in_cgroup) {
  if (!cg_) return outcome::success();
  return cg_->add(pid, in_cgroup);
}

Result<void> SessionLimits::apply_rlimits_to(pid_t pid) {
  for (auto& r : rlimits_) {
    struct rlimit cur;
    if (::prlimit(pid, static_cast<__rlimit_resource>(r.resource), nullptr, &cur) != 0)
      return fail_errno("cannot read the command's resource limits", errno);
    // Never raise a limit the user already lowered.
    struct rlimit v = r.value;
    if (cur.rlim_max != RLIM_INFINITY && v.rlim_max > cur.rlim_max) v.rlim_max = cur.rlim_max;
    if (v.rlim_cur > v.rlim_max) v.rlim_cur = v.rlim_max;
    if (::prlimit(pid, static_cast<__rlimit_resource>(r.resource), &v, nullptr) != 0)
      return fail_errno("cannot set the command's resource limits", errno);
  }
  return outcome::success();
}

int SessionLimits::cgroup_dir_fd() const noexcept { return cg_ ? cg_->v2_dir_fd() : -1; }

std::map<std::string, std::string> SessionLimits::audit_fields() const {
  std::map<std::string, std::string> out;
  std::string text;
  for (const char* k : {"wall", "cpu", "memory", "pids", "nofile", "kill"}) {
    auto it = mech_.find(k);
    if (it == mech_.end()) continue;
    if (!text.empty()) text += ' ';
    text += std::string(k) + "=" + it->second;
  }
  out["limits"] = text;
  if (auto it = mech_.find("cgroup"); it != mech_.end()) out["cgroup"] = it->second;
  return out;
}

std::vector<std::string> SessionLimits::caveats() const {
  std::vector<std::string> out;
  auto is = [&](const char* k, const char* v) {
    auto it = mech_.find(k);
    return it != mech_.end() && it->second == v;
  };
  if (is("pids", "rlimit"))
    out.push_back(::getuid() == 0
                      ? "guardian: warning: no pids controller; RLIMIT_NPROC does not bind root, the pids limit is only reported"
                      : "guardian: note: no pids controller; the pids limit is RLIMIT_NPROC, counted per user (the uid's other processes count too)");
  if (is("memory", "rlimit"))
    out.push_back("guardian: note: no memory controller; the memory limit is RLIMIT_DATA, per process");
  if (is("cpu", "rlimit"))
    out.push_back("guardian: note: no cgroup; the CPU limit is RLIMIT_CPU, per process");
  return out;
}

void SessionLimits::start() {
  started_ = std::chrono::steady_clock::now();
  arm();
}

void SessionLimits::arm() {
  if (!timer_) return;
  using namespace std::chrono;
  auto now = steady_clock::now();
  std::optional<steady_clock::time_point> next;
  auto consider = [&](steady_clock::time_point t) { if (!next || t < *next) next = t; };
  if (s_.wall_s && cause_ == EndCause::none)
    consider(started_ + duration_cast<steady_clock::duration>(duration<double>(*s_.wall_s)));
  if (kill_at_) consider(*kill_at_);
  bool polling = (s_.cpu_s && cg_ && cg_->cpu_mech() != CgMech::none) ||
                 (s_.pids && !pids_fired_) || (s_.memory_bytes && cg_ && !memory_fired_);
  if (polling) consider(now + kPollInterval);
  itimerspec its{};
  if (next) {
    auto d = *next - now;
    if (d < microseconds(100)) d = microseconds(100);
    auto ns = duration_cast<nanoseconds>(d).count();
    its.it_value.tv_sec = static_cast<time_t>(ns / 1000000000);
    its.it_value.tv_nsec = static_cast<long>(ns % 1000000000);
  }
  armed_ = next.has_value();
  ::timerfd_settime(timer_.get(), 0, &its, nullptr);
}

void SessionLimits::fire(const std::string& which, const std::string& value,
                         const std::string& msg) {
  if (log_) log_->limit(audit::LimitRecord{which, value});
  std::fprintf(stderr, "guardian: %s\n", msg.c_str());
}

int SessionLimits::signal_tree(int sig) {
  int n = 0;
  if (cg_) n += cg_->signal_all(sig);
  if (signaller_) n += signaller_(sig);
  // Also what the table never saw: the children of a process handed over to a tracer of
  // the session are told to that tracer, not to us. Our descendants are all the session's
  // (one waitid when we have no child left).
  n += signal_descendants(::getpid(), sig);
  return n;
}

void SessionLimits::begin_stop(EndCause why) {
  if (cause_ != EndCause::none) return;
  cause_ = why;
  signal_tree(SIGTERM);
  kill_at_ = std::chrono::steady_clock::now() +
             std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                 std::chrono::duration<double>(s_.grace_s));
}

void SessionLimits::terminate() {
  begin_stop(EndCause::terminated);
  arm();
}

void SessionLimits::check_counters() { check_pids(), check_memory(), check_cpu(); }

void SessionLimits::check_pids() {
  if (!s_.pids || pids_fired_) return;
  bool hit = cg_ && cg_->pids_mech() != CgMech::none
                 ? cg_->pids_max_hits() > 0
                 : counter_ && counter_() >= *s_.pids;
  if (!hit) return;
  pids_fired_ = true;
  fire("pids", std::to_string(*s_.pids),
       "process limit (" + std::to_string(*s_.pids) + ") reached: further forks fail");
}

void SessionLimits::check_memory() {
  if (!s_.memory_bytes || memory_fired_ || !cg_ || cg_->oom_kills() == 0) return;
  memory_fired_ = true;
  fire("memory", format_size(*s_.memory_bytes),
       "memory limit (" + format_size(*s_.memory_bytes) +
           ") reached: the kernel killed the process using the most");
}

void SessionLimits::check_cpu() {
  if (!s_.cpu_s || cpu_fired_ || !cg_ || cg_->cpu_mech() == CgMech::none) return;
  if (static_cast<double>(cg_->cpu_usage_usec()) / 1e6 < *s_.cpu_s) return;
  cpu_fired_ = true;
  fire("cpu", format_duration(*s_.cpu_s),
       "CPU time limit (" + format_duration(*s_.cpu_s) + ") reached: ending the command");
  begin_stop(EndCause::cpu);
}

void SessionLimits::on_timer() {
  std::uint64_t ticks;
  while (timer_ && ::read(timer_.get(), &ticks, sizeof ticks) == sizeof ticks) {
  }
  if (finished_) return;
  auto now = std::chrono::steady_clock::now();
  check_counters();
  if (s_.wall_s && cause_ == EndCause::none &&
      now - started_ >= std::chrono::duration<double>(*s_.wall_s)) {
    fire("wall", format_duration(*s_.wall_s),
         "wall time limit (" + format_duration(*s_.wall_s) + ") reached: ending the command");
    begin_stop(EndCause::wall);
  }
  if (kill_at_ && now >= *kill_at_) {
    signal_tree(SIGKILL);
    kill_at_.reset();
  }
  arm();
}

int SessionLimits::finish(int status) {
  if (finished_) return final_status_;
  finished_ = true;
  // Late hits (between the last tick and the end) are reported too.
  check_pids();
  check_memory();
  // RLIMIT_CPU's end: SIGXCPU (soft) or SIGKILL at the hard limit.
  if (s_.cpu_s && !cpu_fired_ && status == 128 + SIGXCPU) {
    cpu_fired_ = true;
    fire("cpu", format_duration(*s_.cpu_s),
         "CPU time limit (" + format_duration(*s_.cpu_s) + ") reached: the command was ended");
    if (cause_ == EndCause::none) cause_ = EndCause::cpu;
  }
  final_status_ = (cause_ == EndCause::wall || cause_ == EndCause::cpu) ? 124 : status;
  if (timer_) {
    itimerspec off{};
    armed_ = false;
    ::timerfd_settime(timer_.get(), 0, &off, nullptr);
  }
  return final_status_;
}

bool SessionLimits::kill_all(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    signal_tree(SIGKILL);
    bool left = cg_ && cg_->populated();
    if (!left) left = have_descendants();
    if (!left) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

}  // namespace guardian::session
