// --audit-format ocsf: each record mapped to an Open Cybersecurity Schema Framework 1.1
// class (File System Activity 1001, Network Activity 4001, Process Activity 1007,
// Application Lifecycle 6002), with the v1 record kept whole in `unmapped`.
// The mapping is documented in guardian-audit(5); keep the two in step.
#include <cstring>
#include <string>

#include "audit/json.hpp"
#include "audit/record.hpp"
#include "version.hpp"

namespace guardian::audit {
namespace {

struct ClassInfo {
  int class_uid;
  const char* class_name;
  int category_uid;
  const char* category_name;
};
constexpr ClassInfo kFile{1001, "File System Activity", 1, "System Activity"};
constexpr ClassInfo kProcess{1007, "Process Activity", 1, "System Activity"};
constexpr ClassInfo kNetwork{4001, "Network Activity", 4, "Network Activity"};
constexpr ClassInfo kApp{6002, "Application Lifecycle", 6, "Application Activity"};

bool one_of(std::string_view s, std::initializer_list<std::string_view> names) {
  for (auto n : names)
    if (s == n) return true;
  return false;
}

// File System Activity activity_id for a file decision, from its op and syscall.
std::pair<int, const char*> file_activity(const DecisionRecord& d) {
  const std::string& sc = d.syscall;
  if (d.op == policy::Op::stat || one_of(sc, {"getxattr", "lgetxattr", "fgetxattr", "listxattr", "llistxattr", "flistxattr"}))
    return {8, "Get Attributes"};
  if (d.op != policy::Op::write) return {2, "Read"};
  if (one_of(sc, {"unlink", "unlinkat", "rmdir"})) return {4, "Delete"};
  if (one_of(sc, {"rename", "renameat", "renameat2"})) return {5, "Rename"};
  if (one_of(sc, {"creat", "mkdir", "mkdirat", "mknod", "mknodat", "link", "linkat", "symlink", "symlinkat"}))
    return {1, "Create"};
  if (one_of(sc, {"chmod", "fchmod", "fchmodat", "chown", "fchown", "lchown", "fchownat"})) return {7, "Set Security"};
  if (one_of(sc, {"utime", "utimes", "utimensat", "futimesat", "setxattr", "lsetxattr", "fsetxattr", "removexattr",
                  "lremovexattr", "fremovexattr"}))
    return {6, "Set Attributes"};
  return {3, "Update"};
}

std::string_view basename_of(std::string_view p) {
  auto slash = p.rfind('/');
  return slash == std::string_view::npos ? p : p.substr(slash + 1);
}

void file_object(json::ObjectWriter& w, std::string_view key, std::string_view path) {
  w.key(key);
  json::ObjectWriter f(w.out());
  f.str("path", path);
  f.str("name", basename_of(path));
  f.num("type_id", 0);  // Unknown: guardian does not stat the object for the log
  f.end();
}

void actor(json::ObjectWriter& w, pid_t pid, pid_t tid, pid_t ppid, std::string_view exe) {
  w.key("actor");
  json::ObjectWriter a(w.out());
  a.key("process");
  json::ObjectWriter p(w.out());
  p.num("pid", pid);
  if (tid) p.num("tid", tid);
  if (!exe.empty()) file_object(p, "file", exe);
  if (ppid) {
    p.key("parent_process");
    json::ObjectWriter pp(w.out());
    pp.num("pid", ppid);
    pp.end();
  }
  p.end();
  a.end();
}

std::string join_argv(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) {
    if (!s.empty()) s += ' ';
    s += a;
  }
  return s;
}

// dst_endpoint from guardian's address text: "1.2.3.4:80", "[::1]:22", "unix:/p", "unix:@n".
void endpoint(json::ObjectWriter& w, std::string_view addr, std::string_view host) {
  w.key("dst_endpoint");
  json::ObjectWriter e(w.out());
  if (addr.substr(0, 5) == "unix:") {
    e.str("name", addr);
  } else {
    auto colon = addr.rfind(':');
    std::string_view ip = addr.substr(0, colon), port;
    if (colon != std::string_view::npos) port = addr.substr(colon + 1);
    if (ip.size() >= 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
    e.str("ip", ip);
    bool digits = !port.empty();
    for (char c : port) digits = digits && c >= '0' && c <= '9';
    if (digits) e.raw("port", port);
  }
  if (!host.empty()) e.str("hostname", host);
  e.end();
}

}  // namespace

void render_ocsf(const Item& item, const RenderContext& ctx, std::string_view v1, std::string& out) {
  const ClassInfo* cls = &kProcess;
  int activity = 99, severity = 1, status = 1;
  std::string activity_name = "Other";
  const DecisionRecord* d = std::get_if<DecisionRecord>(&item.body);
  if (d) {
    switch (d->category) {
      case policy::Category::file: {
        cls = &kFile;
        auto [id, name] = file_activity(*d);
        activity = id;
        activity_name = name;
        break;
      }
      case policy::Category::exec: activity = 1, activity_name = "Launch"; break;
      case policy::Category::network:
        cls = &kNetwork;
        if (d->op == policy::Op::bind) activity = 7, activity_name = "Listen";
        else if (d->op == policy::Op::connect) activity = 1, activity_name = "Open";
        else activity_name = std::string(policy::to_string(d->op));
        break;
      default: activity_name = std::string(policy::to_string(d->op)); break;
    }
    switch (d->decision) {
      case policy::Verdict::allow: break;
      case policy::Verdict::would_deny: severity = 2; break;
      case policy::Verdict::deny: severity = 3, status = 2; break;
      case policy::Verdict::kill: severity = 4, status = 2; break;
    }
  } else if (auto p = std::get_if<ProcessRecord>(&item.body)) {
    if (p->what == "exit") activity = 2, activity_name = "Terminate";
    else activity = 1, activity_name = "Launch";
  } else if (std::holds_alternative<LimitRecord>(item.body)) {
    activity_name = "Limit", severity = 3;
  } else {
    cls = &kApp;
    bool start = std::holds_alternative<SessionStart>(item.body);
    activity = start ? 3 : 4;
    activity_name = start ? "Start" : "Stop";
  }

  json::ObjectWriter w(out);
  w.num("class_uid", cls->class_uid);
  w.str("class_name", cls->class_name);
  w.num("category_uid", cls->category_uid);
  w.str("category_name", cls->category_name);
  w.num("activity_id", activity);
  w.str("activity_name", activity_name);
  w.num("type_uid", cls->class_uid * 100 + activity);
  w.num("severity_id", severity);
  w.str("severity", severity == 1 ? "Informational" : severity == 2 ? "Low" : severity == 3 ? "Medium" : "High");
  w.num("status_id", status);
  w.str("status", status == 1 ? "Success" : "Failure");
  w.num("time", static_cast<std::int64_t>(item.ts.tv_sec) * 1000 + item.ts.tv_nsec / 1000000);
  w.key("metadata");
  {
    json::ObjectWriter m(w.out());
    m.str("version", "1.1.0");
    m.key("product");
    json::ObjectWriter p(w.out());
    p.str("name", "guardian");
    p.str("vendor_name", "guardian");
    p.str("version", GUARDIAN_VERSION);
    p.end();
    m.str("uid", std::string(ctx.session) + ":" + std::to_string(ctx.seq));
    m.str("correlation_uid", ctx.session);
    m.unum("sequence", ctx.seq);
    m.str("log_name", "guardian-audit");
    m.end();
  }
  if (d) {
    actor(w, d->pid, d->tid, d->ppid, d->exe);
    int action = d->decision == policy::Verdict::deny || d->decision == policy::Verdict::kill ? 2 : 1;
    w.num("action_id", action);
    w.str("action", action == 1 ? "Allowed" : "Denied");
    int disp = d->decision == policy::Verdict::allow ? 1 : d->decision == policy::Verdict::would_deny ? 15 : 2;
    w.num("disposition_id", disp);
    w.str("disposition", disp == 1 ? "Allowed" : disp == 15 ? "Detected" : "Blocked");
    if (d->category == policy::Category::file) file_object(w, "file", d->path);
    if (d->category == policy::Category::exec) {
      w.key("process");
      json::ObjectWriter p(w.out());
      p.num("pid", d->pid);
      file_object(p, "file", d->path);
      if (!d->argv.empty()) p.str("cmd_line", join_argv(d->argv));
      p.end();
    }
    if (d->category == policy::Category::network) endpoint(w, d->addr, d->host);
    if (item.rule) {
      w.key("policy");
      json::ObjectWriter pol(w.out());
      pol.str("name", item.rule->pattern);
      pol.str("uid", item.rule->file + ":" + std::to_string(item.rule->line));
      pol.end();
    }
  } else if (auto p = std::get_if<ProcessRecord>(&item.body)) {
    actor(w, p->ppid, 0, 0, {});
    w.key("process");
    json::ObjectWriter pr(w.out());
    pr.num("pid", p->pid);
    if (!p->exe.empty()) file_object(pr, "file", p->exe);
    if (!p->argv.empty()) pr.str("cmd_line", join_argv(p->argv));
    pr.end();
    if (p->status) w.num("exit_code", *p->status);
  } else if (auto s = std::get_if<SessionStart>(&item.body)) {
    w.key("app");
    json::ObjectWriter a(w.out());
    a.str("name", "guardian");
    a.str("version", GUARDIAN_VERSION);
    a.end();
    w.str("message", "guardian session started: " + join_argv(s->argv));
  } else if (std::holds_alternative<SessionEnd>(item.body)) {
    w.key("app");
    json::ObjectWriter a(w.out());
    a.str("name", "guardian");
    a.str("version", GUARDIAN_VERSION);
    a.end();
  } else if (auto l = std::get_if<LimitRecord>(&item.body)) {
    w.str("message", "resource limit reached: " + l->which + " " + l->value);
  }
  w.raw("unmapped", v1);
  w.end();
}

}  // namespace guardian::audit
