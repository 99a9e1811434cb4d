// File-system facts for one envelope computation: what each path is (a symlink and its
// text, a directory, another file, nothing), each read from the kernel at most once.
//
// The envelope resolves about fifty rule prefixes and follows a thousand or more system
// symlinks (/usr/bin, /etc/alternatives, /etc/ssl/certs); asked of the kernel one path at a
// time that was a readlink() per component of every prefix and a readlink()+stat() at the
// end of every chain. Here every answer is remembered for the rest of the computation, and
// a directory that is listed anyway (an alias scan, a glob expansion) or that many chains
// end in answers from its listing (getdents' d_type says link, directory or other). Facts
// live as long as one computation: nothing is kept on disk (a session could poison it).
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace guardian::policy {

class FsFacts {
 public:
  enum class Kind : std::uint8_t {
    absent,   // lookup failed (ENOENT, ENOTDIR, EACCES, ...)
    link,     // a symlink; `text` is what it says
    dir,      // a directory (not a symlink)
    file,     // anything else that is not a symlink
    nonlink,  // not a symlink (readlink said EINVAL); type not known yet
    unasked,  // (LinkReader only) not a link, or not looked up
  };
  struct Node {
    Kind kind = Kind::absent;
    std::string text;  // link text for Kind::link
  };
  // One directory entry as getdents reports it (d_type: DT_LNK, DT_DIR, DT_UNKNOWN, ...).
  using Entry = std::pair<std::string, unsigned char>;
  // Entry name -> position, viewing the entries' own strings.
  using Index = std::unordered_map<std::string_view, std::uint32_t>;

  // Reads the entries of the open directory `fd` ("." and ".." included, in the kernel's
  // order) into `out`, at most `max` of them. True when the end was reached without error.
  // Raw getdents64: opendir's 32 KiB buffer per directory made malloc consolidate each time.
  static bool read_dir(int fd, std::vector<Entry>& out, std::size_t max = SIZE_MAX);

  // One directory read ahead for an alias scan: its entries and what readlinkat() said of
  // each link among them. Reading links is most of an envelope's cost and needs nothing
  // from the rest of the computation, so a LinkReader does it on a helper thread while the
  // rules are still being resolved; the scan then follows the chains in order, with the
  // answers in hand.
  struct DirLinks {
    std::string dir;                   // resolved
    bool opened = false;               // the directory could be opened
    bool complete = false;             // read to its end (within `max`)
    bool searchable = false;           // some readlinkat succeeded
    std::vector<Entry> entries;        // in the kernel's order, at most `max`
    std::vector<Node> nodes;           // parallel to entries: what readlinkat said, or unasked
    Index index;                       // built by the reading thread when complete; a
                                       // kept listing: at its first lookup
    // Given by a LinkCache (kept from an earlier run), not read now: what it says is checked
    // afresh before it widens an envelope.
    bool from_cache = false;
  };

  // What `path` (absolute; every component but the last already resolved) is, without
  // following a final symlink: like readlink(2), from memory when known.
  const Node& node(const std::string& path) { return lookup(path); }

  // stat(2) of `path` (same form as for node()) when it is not a link: true for a
  // directory, false for another file, nullopt when it is a link or cannot be looked up.
  std::optional<bool> is_dir(const std::string& path);

  // realpath(3): the canonical absolute path, or nullopt when a component is missing, a
  // non-directory has components after it, or links loop. Relative paths and paths ending
  // in '/' go to the C library as they are.
  const std::optional<std::string>& realpath(const std::string& path);

  // The complete listing of the resolved directory `dir`, read by the caller (an alias scan
  // or a glob expansion): later lookups of its entries need no syscall once a lookup in it
  // succeeded (`searchable`: a listing needs read permission, a lookup search permission).
  void add_listing(const std::string& dir, std::vector<Entry> entries, bool searchable);
  // The whole listing of the resolved directory `dir` when one is held (read by an earlier
  // lookup, alias scan or glob expansion of this computation), else null. Valid until the
  // next add_listing of `dir`.
  const std::vector<Entry>* complete_listing(const std::string& dir) const;
  // The same for a directory read by a LinkReader, with its links' texts: a chain that
  // passes through one of them later needs no syscall either. Returns where its entries
  // and answers now live; `d`'s own when it was not read to its end (not kept).
  std::pair<const std::vector<Entry>*, const std::vector<Node>*> add_listing(DirLinks&& d);

  // readlink's answer (n = its result, err = errno when n < 0) as a Node.
  static Node node_of(long n, int err, const char* buf);

  // Syscalls made so far, by kind (tests check that shortcuts stay shortcuts).
  struct Counts {
    unsigned readlink = 0, stat = 0, listed = 0;
  };
  const Counts& counts() const { return counts_; }

  // Lookups in one unlisted directory after which its size is asked; it is then listed
  // once the lookups reach one per kListBytesPerProbe bytes of it (a probe costs two
  // syscalls; a 4 KiB block holds about a hundred names). The ends of the chains from
  // /usr/bin gather in a few directories (/usr/lib/llvm-14/bin, /usr/share/man/man1).
  static constexpr unsigned kListAfter = 8;
  static constexpr long kListBytesPerProbe = 512;

 private:
  struct Listing {
    std::vector<Entry> entries;  // as read; indexed on first use
    std::vector<Node> nodes;     // empty, or parallel to entries (a LinkReader's answers)
    Index index;
    bool complete = false;    // entries hold the whole directory
    bool searchable = false;  // a lookup through it succeeded
    bool refused = false;     // too big for its probes, or unreadable: never list
    unsigned probes = 0;      // kernel lookups of its entries so far
    long size = -1;           // st_size once asked
  };
  Node& lookup(const std::string& path);
  Node& put(const std::string& path, Node n);
  Node& syscall_node(const std::string& path);
  Listing* listing_for(std::string_view dir);
  void list_dir(const std::string& dir, Listing& l);

  std::unordered_map<std::string, Node> nodes_;
  std::unordered_map<std::string, Listing> listings_;
  std::unordered_map<std::string, std::optional<std::string>> real_;
  Counts counts_;
};

// resolve_pattern_prefix (glob.hpp) with every readlink through `facts`: a profile's hundred
// rules share their leading directories (one readlink each, not one per rule and component).
std::string resolve_pattern_prefix(std::string_view pattern, FsFacts& facts);

// Reads the directories of alias scans (see FsFacts::DirLinks) from the moment each is
// named: a helper thread lists it, then the links among its first `asked` entries are read
// with readlinkat in chunks, by the helper and, once finish() is called, by the calling
// thread too (a big directory is shared between them, not left to one). Only the reading
// is concurrent; the results are used after finish(), on the calling thread.
class LinkCache;

class LinkReader {
 public:
  // At most `max` entries per directory are read; links among the first `asked` are read.
  // With a `cache`, a directory kept there under its current identity is not read
  // (DirLinks::from_cache; only when `reuse`), and the directories read are kept in it.
  LinkReader(std::size_t max, std::size_t asked, LinkCache* cache = nullptr, bool reuse = true)
      : max_(max), asked_(asked), cache_(cache), reuse_(reuse) {}
  ~LinkReader();
  LinkReader(const LinkReader&) = delete;
  LinkReader& operator=(const LinkReader&) = delete;

  // Starts reading the resolved directory `dir` (once per directory; later calls ignored).
  void add(const std::string& dir);
  // Waits until every directory added is read, reading along. Falls back to the calling
  // thread alone if no thread can start.
  void finish();
  // The read directory `dir` (after finish()), or nullptr if it was never added.
  FsFacts::DirLinks* find(const std::string& dir);

 private:
  // One directory: what it read, and what it still has to read.
  struct Dir {
    FsFacts::DirLinks d;
    int fd = -1;                       // open while its links are read
    std::vector<std::uint32_t> links;  // positions of the entries to readlinkat
    unsigned chunks_left = 0;          // under mu_
    std::atomic<bool> searchable{false};
    struct stat st {};  // before it was read (for the cache)
    long read_at = -1;  // CLOCK_REALTIME seconds then; -1: not to be kept
  };
  struct Task {
    Dir* dir;
    std::uint32_t from, to;  // positions in dir->links; from == to: list the directory
  };
  void run(const Task& t);
  void list(Dir& d);
  bool work_one(std::unique_lock<std::mutex>& lock);
  void helper_loop();

  std::size_t max_, asked_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::list<Dir> dirs_;  // stable addresses
  std::unordered_map<std::string, Dir*> by_name_;
  std::deque<Task> tasks_;
  unsigned busy_ = 0;       // tasks being run
  bool finishing_ = false;  // finish() called: the helper leaves when there is no task
  std::thread helper_;
  LinkCache* cache_ = nullptr;
  bool reuse_ = true;
  bool kept_ = false;  // what was read is in the cache
};

}  // namespace guardian::policy
