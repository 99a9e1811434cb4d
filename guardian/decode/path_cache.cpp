// The stat-family resolution cache (see path_cache.hpp).
#include "decode/path_cache.hpp"

namespace guardian::decode {

void PathCache::key(std::string_view start, std::string_view raw, bool follow, std::string& out) {
  out.assign(1, follow ? 'F' : 'N');
  if (!raw.empty() && raw[0] != '/') {
    out.append(start);
    out += '/';
  }
  out.append(raw);
}

bool PathCache::keepable(const Resolved& r) {
  if (r.magic || r.magic_pid || (r.err && r.err != ENOENT)) return false;
  if (r.path.empty() || r.path[0] != '/' || under_proc(r.path) || under_proc(r.lexical))
    return false;
  if (r.followed_fast) return r.exists;
  return r.trusted && r.path == r.lexical;
}

const PathCache::Entry* PathCache::find(const std::string& key) {
  auto it = map_.find(key);
  if (it == map_.end()) return nullptr;
  if (now_ns() - it->second.born >= kLifetimeNs) {
    map_.erase(it);
    return nullptr;
  }
  return &it->second;
}

void PathCache::put(const std::string& key, const Resolved& r) {
  if (map_.size() >= kMaxEntries) map_.clear();
  Entry& e = map_[key];
  e.path = r.path;
  e.lexical = r.lexical;
  e.exists = r.exists;
  e.trusted = r.trusted;
  e.followed_fast = r.followed_fast;
  e.born = now_ns();
}

void fill_from(const PathCache::Entry& e, Resolved& r) {
  r.clear();
  r.path = e.path;
  r.lexical = e.lexical;
  r.exists = e.exists;
  r.trusted = e.trusted;
  r.followed_fast = e.followed_fast;
}

}  // namespace guardian::decode
