// A compact, self-contained encoding of what the decision engine needs from a Profile, so
// another process (the LD_PRELOAD shim's fast path) can build the very same Engine without
// YAML, variables or the file system: rules keep their load-time resolved forms and origins.
#pragma once

#include <string>
#include <string_view>

#include "profile.hpp"

namespace guardian::policy {

// Encodes the engine-relevant parts of `p`: the path and network rule lists (in order, with
// `resolved` and origins), metadata mode and origin, deny_errno, on_deny and audit level.
// Engine(decode(encode(p))) decides exactly as Engine(p): same rules in the same order.
std::string encode_snapshot(const Profile& p);

// Decodes what encode_snapshot() wrote into `out` (fields not in the snapshot are left as
// they are). Returns false on anything malformed (truncated, bad counts): never throws
// beyond std::bad_alloc.
bool decode_snapshot(std::string_view bytes, Profile& out);

}  // namespace guardian::policy
