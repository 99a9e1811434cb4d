// Listings and link texts of the envelope's alias-scan directories (/usr/bin,
// /etc/alternatives, /etc/ssl/certs...) kept between runs, keyed by each directory's identity.
//
// Reading them is most of an envelope's cost (one readlinkat per link: about 1,450 here) and
// they change only when a package is installed. A directory's entries and link texts cannot
// change without changing its modification or change time (a link's text is fixed: it is
// replaced by unlink + symlink or rename, which touch the directory), so a listing kept
// under the directory's device, inode, mtime and ctime is what a fresh read would give.
// Only directories last modified two seconds or more before they were read are kept
// (timestamps are coarse: a change in the same tick would leave them equal).
//
// The file is the user's and a session may be allowed to write there: nothing in it is
// trusted to widen an envelope. The envelope checks afresh every chain that would add an
// entry (policy/landlock_envelope.cpp), so a forged file can only make the envelope
// narrower (exec or read of an alias refused by Landlock), never wider. Narrower is still
// a session spoiling later ones: `guardian run` write-protects the cache's directory from
// the session (guardian:own-cache), whatever the profile lets it write.
#pragma once

#include <sys/stat.h>

#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "fs_facts.hpp"

namespace guardian::policy {

class LinkCache {
 public:
  // The user's cache file: $XDG_CACHE_HOME/guardian/alias-links (absolute XDG_CACHE_HOME),
  // else $HOME/.cache/guardian/alias-links; none (every call a miss) without either.
  static LinkCache& user();

  // A cache kept in `file` ("" = in memory only), read on first use; directories modified
  // less than `settle_s` seconds before they were read are not kept.
  explicit LinkCache(std::string file, long settle_s = 2);

  // Fills `out` (entries, nodes, complete, searchable, opened) with the listing kept for
  // the resolved directory `dir` if `st` (its stat now) is the identity it was kept under.
  bool get(const std::string& dir, const struct stat& st, FsFacts::DirLinks& out);

  // Keeps the listing `d` of `d.dir`, read after a stat that gave `st` at `read_at`
  // (CLOCK_REALTIME seconds), when the directory was then old enough (see above) and the
  // read was whole: opened, complete, and every link's text read.
  void put(const struct stat& st, long read_at, const FsFacts::DirLinks& d);

  // Reads the file now (else at the first get or put), and unpacks the kept listings (at
  // most kPreparseEntries entries in all) into the vectors a get hands over without
  // copying: a thread that has time to spare before the envelope is computed.
  void preload();

  // Writes the file (a new one, renamed over the old) if anything was put since it was
  // read. Failures are ignored: a missing cache only costs time.
  void save();

  // The file this cache is kept in ("" = none); the session may not write its directory.
  const std::string& file() const noexcept { return file_; }

  // Directories kept at most (the least recently used beyond that are dropped at save).
  static constexpr std::size_t kMaxDirs = 64;
  // Bytes of file read at most (a bigger one is ignored).
  static constexpr long kMaxBytes = 8L << 20;
  // Entries unpacked ahead by preload() at most (the listings of other profiles' scans may
  // be kept too; what is not unpacked ahead is unpacked by get).
  static constexpr std::size_t kPreparseEntries = 16384;

 private:
  struct Kept {
    dev_t dev = 0;
    ino_t ino = 0;
    long mtime_s = 0, mtime_ns = 0, ctime_s = 0, ctime_ns = 0;
    bool complete = false, searchable = false;
    // As read from the file (raw: its `count` entries' fields, parsed at get) or as put
    // (parsed: entries and nodes).
    std::string_view raw;
    std::size_t count = 0;
    bool parsed = false;
    std::vector<FsFacts::Entry> entries;
    std::vector<FsFacts::Node> nodes;
    // Unpacked from `raw` by preload(), for the first get to take (moved, not copied).
    bool ready = false;
    std::vector<FsFacts::Entry> ready_entries;
    std::vector<FsFacts::Node> ready_nodes;
    unsigned long used = 0;  // generation of the last get or put
  };
  void load();
  bool parse();
  static bool entries_of(std::string_view raw, std::size_t count, FsFacts::DirLinks& out);
  std::string serialise() const;

  std::mutex mu_;
  std::string text_;  // the file as read: records not put again point into it
  std::string file_;
  long settle_s_;
  bool loaded_ = false, dirty_ = false;
  unsigned long generation_ = 0;
  std::unordered_map<std::string, Kept> kept_;
};

}  // namespace guardian::policy
