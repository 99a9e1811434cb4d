// The DNS gate: the session's only way to the resolvers of resolv.conf when the profile names
// hosts. The supervisor redirects the tracee's connects and datagrams to a resolver:53 to
// the gate's loopback sockets; the gate answers queries for names no rule allows with
// REFUSED (and a denial record naming the host), forwards the others and remembers what
// each allowed name resolved to, so that connect() decisions know the name of an address
// from what guardian itself saw answered, never from the tracee. See gate.cpp for why.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "audit/log.hpp"
#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "dns/names.hpp"
#include "policy/request.hpp"

namespace guardian::dns {

// Who sent queries from a local port: filled by the supervisor when it redirects a socket,
// read by the gate for the audit records of that socket's queries.
struct Client {
  pid_t pid = 0, tid = 0, ppid = 0;
  std::string exe;
  policy::NetAddr resolver;  // the resolver the tracee asked for
};

struct GateOptions {
  NameRules rules;
  std::vector<policy::NetAddr> resolvers;  // intercepted: resolv.conf's nameservers, port 53
  std::vector<policy::NetAddr> upstream;   // where allowed queries go (default: resolvers)
  audit::AuditLog* log = nullptr;
  bool complain = false;  // denied names are forwarded and recorded as would-deny
  bool audit_allows = true;
  int deny_errno = 13;    // recorded in denial records (the tracee itself gets REFUSED)
  std::string via = "seccomp";
};

class Gate {
 public:
  // Binds the gate's UDP socket and TCP listener on 127.0.0.1 (ephemeral ports) and starts
  // its thread. The upstream defaults to the resolvers; GUARDIAN_DNS_UPSTREAM=IP:PORT
  // replaces it (tests: a resolver on an unprivileged port).
  static Result<std::unique_ptr<Gate>> start(GateOptions opts);
  ~Gate();
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;

  // True when `a` is a resolver the gate stands in for (one of resolv.conf's, port 53).
  bool is_resolver(const policy::NetAddr& a) const;
  // The gate's address for a socket of `family` (AF_INET; AF_INET6 gets the IPv4-mapped
  // form) and `type` (SOCK_DGRAM or SOCK_STREAM); false for other kinds.
  bool gate_address(int family, int type, sockaddr_storage& ss, socklen_t& len) const;
  // True when `sa` is the gate's UDP address (answers to rewrite as the resolver's).
  bool is_gate_udp(const sockaddr* sa, socklen_t len) const;
  // Remembers who uses the local port `port` (after a redirect), for audit records.
  void register_client(std::uint16_t port, Client c);
  // The names the session saw answered for `ip` (unexpired), then its /etc/hosts names.
  std::vector<std::string> names_for(const policy::NetAddr& ip) const;

  // For tests and the gate itself.
  const NameCache& cache() const { return cache_; }

 private:
  explicit Gate(GateOptions opts);
  void loop();
  void serve_udp();
  void serve_tcp(UniqueFd conn, std::uint16_t port);
  // Decides one query; returns the answer to send back ("" = send nothing).
  std::string answer(std::string_view query, std::uint16_t port, bool tcp);
  std::string forward(std::string_view query, bool tcp, std::string* error);
  Client client(std::uint16_t port) const;
  void record(const Client& c, const std::string& host, policy::Verdict v,
              const policy::RuleOrigin* rule, const std::string& why);

  GateOptions o_;
  NameCache cache_;
  std::multimap<std::array<std::uint8_t, 17>, std::string> hosts_;
  UniqueFd udp_, tcp_, wake_;
  std::uint16_t udp_port_ = 0, tcp_port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> busy_{0};
  mutable std::mutex mu_;
  std::map<std::uint16_t, Client> clients_;
  std::thread thread_;
};

}  // namespace guardian::dns
