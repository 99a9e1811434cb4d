// Unit tests for policy/fs_facts: the remembered readlink/stat/realpath answers must be the
// kernel's and the C library's, whatever shortcut (listing, memo) produced them.
#include "policy/fs_facts.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

using namespace guardian::policy;
namespace fs = std::filesystem;

namespace {

// A scratch tree whose "locked" directory (made unsearchable by a test) is opened again
// before removal.
struct FactsDir : TempDir {
  FactsDir() : TempDir("fsfacts") {}
  FactsDir(const FactsDir&) = delete;
  FactsDir& operator=(const FactsDir&) = delete;
  ~FactsDir() { ::chmod((path + "/locked").c_str(), 0755); }
};

void touch(const std::string& p) {
  FILE* f = std::fopen(p.c_str(), "w");
  REQUIRE(f != nullptr);
  std::fclose(f);
}

std::optional<std::string> libc_realpath(const std::string& p) {
  char buf[PATH_MAX];
  if (::realpath(p.c_str(), buf) == nullptr) return std::nullopt;
  return std::string(buf);
}

// What lstat says, in FsFacts' terms.
FsFacts::Kind lstat_kind(const std::string& p) {
  struct stat st{};
  if (::lstat(p.c_str(), &st) != 0) return FsFacts::Kind::absent;
  if (S_ISLNK(st.st_mode)) return FsFacts::Kind::link;
  return S_ISDIR(st.st_mode) ? FsFacts::Kind::dir : FsFacts::Kind::file;
}

std::vector<FsFacts::Entry> listing_of(const std::string& dir) {
  std::vector<FsFacts::Entry> out;
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  CHECK(FsFacts::read_dir(fd, out));
  ::close(fd);
  return out;
}

// A tree with every kind of chain realpath meets.
void make_tree(const FactsDir& t) {
  fs::create_directories(t / "a/b/c");
  fs::create_directories(t / "x/d");
  touch(t / "a/file");
  touch(t / "x/d/tool");
  fs::create_directory_symlink("b", t / "a/rel");             // same directory
  fs::create_directory_symlink("../x/d", t / "a/up");         // up and over
  fs::create_directory_symlink(t / "x/d", t / "a/abs");       // absolute
  fs::create_symlink("rel/c/../../file", t / "a/twisty");     // through a link, then ..
  fs::create_symlink("missing", t / "a/dangling");
  fs::create_symlink("loop2", t / "a/loop1");
  fs::create_symlink("loop1", t / "a/loop2");
  fs::create_symlink("file", t / "a/tofile");
  fs::create_symlink("tofile", t / "a/tolink");               // link to a link
  fs::create_symlink("./b//c/", t / "a/slashes");
}

}  // namespace

TEST_CASE("realpath answers exactly as the C library, links, dots and errors included") {
  FactsDir t;
  make_tree(t);
  const std::vector<std::string> queries = {
      t.path, t / "a", t / "a/rel", t / "a/rel/c", t / "a/up", t / "a/up/tool", t / "a/abs/tool",
      t / "a/twisty", t / "a/dangling", t / "a/loop1", t / "a/tofile", t / "a/tolink",
      t / "a/tolink/x", t / "a/file/..", t / "a/file/.", t / "a/file/x", t / "a/./b/../rel/c",
      t / "a/rel/../up/../abs", t / "a//b///c", t / "a/slashes", t / "a/slashes/..", t / "a/nothing",
      t / "a/nothing/..", t / "a/b/", t / "a/file/", "/", "/..", "/./", t / "a/up/..",
  };
  FsFacts facts;
  for (int round = 0; round < 2; ++round) {  // the second round answers from memory
    for (const auto& q : queries) {
      CAPTURE(q);
      CAPTURE(round);
      CHECK(facts.realpath(q) == libc_realpath(q));
    }
  }
  // Shared leading components are read once: far fewer readlinks than realpath(3) makes.
  CHECK(facts.counts().readlink < 40);
}

TEST_CASE("a listing answers for its entries: links keep their text, the rest their type") {
  FactsDir t;
  make_tree(t);
  FsFacts facts;
  // A listing alone does not prove the directory searchable: the first lookup asks the kernel.
  facts.add_listing(t / "a", listing_of(t / "a"), false);
  CHECK(facts.node(t / "a/rel").kind == FsFacts::Kind::link);
  unsigned before = facts.counts().readlink;
  for (const auto& e : fs::directory_iterator(t / "a")) {
    std::string p = e.path().string();
    CAPTURE(p);
    const FsFacts::Node& n = facts.node(p);
    CHECK(n.kind == lstat_kind(p));
    if (n.kind == FsFacts::Kind::link) CHECK(n.text == fs::read_symlink(p).string());
  }
  CHECK(facts.node(t / "a/absent").kind == FsFacts::Kind::absent);
  // Only the links cost a readlink (their text is not in a listing); a, b, file: none.
  unsigned links = 0;
  for (const auto& e : fs::directory_iterator(t / "a")) links += e.is_symlink() && e.path() != t / "a/rel";
  CHECK(facts.counts().readlink - before == links);
}

TEST_CASE("a directory many lookups end in is listed once; a link there still reads as a link") {
  FactsDir t;
  fs::create_directories(t / "lib");
  for (int i = 0; i < 40; ++i) touch(t / ("lib/f" + std::to_string(i)));
  fs::create_symlink("/elsewhere/target", t / "lib/zlink");
  FsFacts facts;
  for (int i = 0; i < 40; ++i) CHECK(facts.is_dir(t / ("lib/f" + std::to_string(i))) == false);
  CHECK(facts.counts().listed == 1);
  CHECK(facts.counts().readlink < 40);
  const FsFacts::Node& n = facts.node(t / "lib/zlink");
  CHECK(n.kind == FsFacts::Kind::link);  // a listing that called it a file would drop its target
  CHECK(n.text == "/elsewhere/target");
  CHECK(facts.is_dir(t / "lib/zlink") == std::nullopt);
}

TEST_CASE("/proc is never listed, however many lookups end there") {
  // Its listing names every process of the machine (a dentry made for each): the dozen
  // files rules name there are looked up one by one.
  FsFacts facts;
  const char* names[] = {"cpuinfo", "meminfo", "stat", "uptime", "version", "loadavg", "filesystems",
                         "mounts", "cmdline", "devices", "swaps", "sys", "self", "no-such-entry"};
  for (int round = 0; round < 3; ++round)
    for (const char* n : names) (void)facts.node(std::string("/proc/") + n);
  CHECK(facts.counts().listed == 0);
  CHECK(facts.node("/proc/self").kind == FsFacts::Kind::link);
  CHECK(facts.node("/proc/no-such-entry").kind == FsFacts::Kind::absent);
  CHECK(facts.is_dir("/proc/sys") == true);
}

TEST_CASE("a directory that can be listed but not searched answers as the kernel does") {
  if (::geteuid() == 0) {
    MESSAGE("skipped as root: permissions do not apply");
    return;
  }
  FactsDir t;
  fs::create_directories(t / "locked");
  touch(t / "locked/f");
  REQUIRE(::chmod((t / "locked").c_str(), 0444) == 0);  // r--: list yes, look up no
  FsFacts facts;
  facts.add_listing(t / "locked", listing_of(t / "locked"), false);
  CHECK(facts.node(t / "locked/f").kind == FsFacts::Kind::absent);
  CHECK(facts.realpath(t / "locked/f") == std::nullopt);
}

TEST_CASE("a LinkReader reads every directory's links once, however its chunks are shared") {
  FactsDir t;
  // 150 links per directory: several chunks each, read by the helper and the caller.
  LinkReader reader(1000, 1000);
  std::vector<std::string> names;
  for (int d = 0; d < 5; ++d) {
    std::string dir = t / ("d" + std::to_string(d));
    fs::create_directories(dir);
    for (int i = 0; i < 150; ++i) fs::create_symlink("/t" + std::to_string(d * 1000 + i), dir + "/l" + std::to_string(i));
    touch(dir + "/plain");
    names.push_back(dir);
    reader.add(dir);
    reader.add(dir);  // a second scan of the same directory: read once
  }
  reader.add(t / "missing");
  reader.finish();
  CHECK(reader.find(t / "never-added") == nullptr);
  for (int d = 0; d < 5; ++d) {
    FsFacts::DirLinks* dl = reader.find(names[static_cast<std::size_t>(d)]);
    REQUIRE(dl != nullptr);
    CHECK(dl->opened);
    CHECK(dl->complete);
    CHECK(dl->searchable);
    REQUIRE(dl->entries.size() == 153);  // ., .., plain, 150 links
    for (std::size_t i = 0; i < dl->entries.size(); ++i) {
      const auto& [name, type] = dl->entries[i];
      const FsFacts::Node& n = dl->nodes[i];
      if (type != DT_LNK) {
        CHECK(n.kind == FsFacts::Kind::unasked);
        continue;
      }
      CHECK(n.kind == FsFacts::Kind::link);
      CHECK(n.text == "/t" + std::to_string(d * 1000 + std::stoi(name.substr(1))));
    }
  }
  CHECK_FALSE(reader.find(t / "missing")->opened);
  // Links beyond `asked` are listed but not read.
  LinkReader few(1000, 3);
  few.add(names[0]);
  few.finish();
  std::size_t read = 0;
  for (const auto& n : few.find(names[0])->nodes) read += n.kind == FsFacts::Kind::link;
  CHECK(read <= 3);
  std::vector<FsFacts::DirLinks*> dirs;
  for (const auto& n : names) dirs.push_back(reader.find(n));
  // Kept as a listing, the answers serve later lookups without a syscall.
  FsFacts facts;
  std::string l3 = dirs[2]->dir + "/l3";
  facts.add_listing(std::move(*dirs[2]));
  const FsFacts::Node& n = facts.node(l3);
  CHECK(n.kind == FsFacts::Kind::link);
  CHECK(n.text == "/t2003");
  CHECK(facts.counts().readlink == 0);
}
