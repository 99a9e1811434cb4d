// TCP ports of the Landlock envelope (landlock_envelope.cpp): network rules -> port sets.
#pragma once

#include <string>
#include <vector>

#include "landlock_envelope.hpp"

namespace guardian::policy {

// Adds the ports of one network rule ("HOST:PORT", "HOST:LOW-HIGH", "HOST:*", "[v6]:PORT",
// "unix:...") to `set`; an abstract unix connect rule turns `env`'s abstract-socket scope
// off. Anything unparsable widens to all ports.
void add_net(PortSet& set, Envelope& env, const std::string& text, const char* what);

// Sorts and merges `set`'s ranges; too many ports become "all" (with a note).
void merge_ports(PortSet& set, const char* what, std::vector<std::string>& notes);

}  // namespace guardian::policy
