// Unit tests for policy/link_cache: alias-scan listings kept between runs, forgotten when
// their directory changes, and never trusted to widen an envelope.
#include "policy/link_cache.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "policy/landlock_envelope.hpp"
#include "temp_dir.hpp"

using namespace guardian::policy;
namespace fs = std::filesystem;

namespace {

void touch(const std::string& p) { std::ofstream(p) << "x"; }

// One run's scan of `dir` through `cache`: what the reader made of it.
FsFacts::DirLinks scan(LinkCache& cache, const std::string& dir) {
  LinkReader r(100, 100, &cache);
  r.add(dir);
  r.finish();
  FsFacts::DirLinks* d = r.find(dir);
  REQUIRE(d != nullptr);
  FsFacts::DirLinks out;
  out.from_cache = d->from_cache;
  out.opened = d->opened;
  out.complete = d->complete;
  out.searchable = d->searchable;
  out.entries = d->entries;
  out.nodes = d->nodes;
  return out;
}

std::string text_of(const FsFacts::DirLinks& d, const std::string& name) {
  for (std::size_t i = 0; i < d.entries.size(); ++i)
    if (d.entries[i].first == name) return d.nodes[i].kind == FsFacts::Kind::link ? d.nodes[i].text : "(not a link)";
  return "(missing)";
}

const EnvelopePath* find(const Envelope& env, const std::string& path) {
  for (const auto& p : env.paths)
    if (p.path == path) return &p;
  return nullptr;
}

PathRule rule(const std::string& pattern) { return PathRule{pattern, RuleOrigin{"test.yaml", 1, 1, pattern}}; }

}  // namespace

TEST_CASE("a kept listing comes back while its directory is unchanged, and not after a change") {
  TempDir t{"linkcache"};
  fs::create_directories(t / "bin");
  fs::create_symlink("/somewhere/x", t / "bin/x");
  touch(t / "bin/plain");
  const std::string file = t / "cache/guardian/alias-links";
  {
    LinkCache cache(file, 0);
    FsFacts::DirLinks d = scan(cache, t / "bin");
    CHECK_FALSE(d.from_cache);
    CHECK(text_of(d, "x") == "/somewhere/x");
  }
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);  // the user's own
  {
    LinkCache cache(file, 0);  // the next run
    FsFacts::DirLinks d = scan(cache, t / "bin");
    CHECK(d.from_cache);
    CHECK(d.opened);
    CHECK(d.complete);
    CHECK(d.searchable);
    CHECK(d.entries.size() == 4);  // ., .., x, plain
    CHECK(text_of(d, "x") == "/somewhere/x");
    CHECK(text_of(d, "plain") == "(not a link)");
  }
  ::usleep(20000);  // past the timestamps' tick (4 ms at HZ=250), as any real change is
  fs::remove(t / "bin/x");  // a link replaced: the directory changed
  fs::create_symlink("/elsewhere/x", t / "bin/x");
  {
    LinkCache cache(file, 0);
    FsFacts::DirLinks d = scan(cache, t / "bin");
    CHECK_FALSE(d.from_cache);
    CHECK(text_of(d, "x") == "/elsewhere/x");
  }
}

TEST_CASE("a directory modified just before it was read is not kept") {
  TempDir t{"linkcache"};
  fs::create_directories(t / "bin");
  fs::create_symlink("/somewhere/x", t / "bin/x");
  const std::string file = t / "alias-links";
  LinkCache cache(file, 3600);  // nothing here is an hour old
  CHECK_FALSE(scan(cache, t / "bin").from_cache);
  CHECK_FALSE(scan(cache, t / "bin").from_cache);
  CHECK_FALSE(fs::exists(file));  // nothing kept, nothing written
}

TEST_CASE("a cache file that others may write, or that is not one, is ignored") {
  TempDir t{"linkcache"};
  fs::create_directories(t / "bin");
  fs::create_symlink("/somewhere/x", t / "bin/x");
  const std::string file = t / "alias-links";
  {
    LinkCache cache(file, 0);
    scan(cache, t / "bin");
  }
  REQUIRE(::chmod(file.c_str(), 0666) == 0);
  {
    LinkCache cache(file, 0);
    CHECK_FALSE(scan(cache, t / "bin").from_cache);
  }
  std::ofstream(file, std::ios::trunc) << "guardian-alias-links 1\nD";  // cut short
  REQUIRE(::chmod(file.c_str(), 0600) == 0);
  {
    LinkCache cache(file, 0);
    CHECK_FALSE(scan(cache, t / "bin").from_cache);
  }
}

TEST_CASE("a forged cache cannot widen the envelope: the chains that would add are read afresh") {
  TempDir t{"linkcache"};
  fs::create_directories(t / "bin");
  fs::create_directories(t / "opt");
  touch(t / "opt/real");
  touch(t / "opt/secret");
  fs::create_symlink(t / "opt/real", t / "bin/tool");
  Profile p;
  p.exec_allow = {rule(t / "bin/**")};
  EnvelopeOptions o;
  o.loaders.clear();
  const std::string file = t / "alias-links";
  LinkCache first(file, 0);
  o.link_cache = &first;
  Envelope fresh = compute_envelope(p, o);  // read, and kept
  REQUIRE(find(fresh, t / "opt/real"));
  {
    // The same run again from the cache: the same envelope.
    LinkCache again(file, 0);
    o.link_cache = &again;
    Envelope warm = compute_envelope(p, o);
    REQUIRE(warm.paths.size() == fresh.paths.size());
    for (std::size_t i = 0; i < warm.paths.size(); ++i) {
      CHECK(warm.paths[i].path == fresh.paths[i].path);
      CHECK(warm.paths[i].access == fresh.paths[i].access);
    }
  }
  {
    // Someone who may write the file says bin/tool leads to opt/secret, under the
    // directory's true identity.
    LinkCache forge(file, 0);
    struct stat st {};
    REQUIRE(::stat((t / "bin").c_str(), &st) == 0);
    FsFacts::DirLinks d;
    REQUIRE(forge.get(t / "bin", st, d));
    for (std::size_t i = 0; i < d.entries.size(); ++i)
      if (d.entries[i].first == "tool") d.nodes[i].text = t / "opt/secret";
    forge.put(st, st.st_mtim.tv_sec, d);
    forge.save();
  }
  {
    LinkCache peek(file, 0);  // the next run would see the forgery
    FsFacts::DirLinks d = scan(peek, t / "bin");
    REQUIRE(d.from_cache);
    REQUIRE(text_of(d, "tool") == t / "opt/secret");
  }
  LinkCache forged(file, 0);
  o.link_cache = &forged;
  Envelope env = compute_envelope(p, o);
  CHECK(find(env, t / "opt/real"));
  CHECK_FALSE(find(env, t / "opt/secret"));
  // And the file holds the truth again.
  LinkCache after(file, 0);
  CHECK(text_of(scan(after, t / "bin"), "tool") == t / "opt/real");
}

TEST_CASE("directories a run did not scan stay in the file as they were") {
  TempDir t{"linkcache"};
  for (const char* d : {"a", "b", "c"}) {
    fs::create_directories(t / d);
    fs::create_symlink(std::string("/target/") + d, t / (std::string(d) + "/l"));
  }
  const std::string file = t / "alias-links";
  {
    LinkCache cache(file, 0);
    scan(cache, t / "a");
    scan(cache, t / "b");
  }
  {
    LinkCache cache(file, 0);  // a run that scans only c: writes the file again
    CHECK_FALSE(scan(cache, t / "c").from_cache);
  }
  LinkCache cache(file, 0);
  for (const char* d : {"a", "b", "c"}) {
    CAPTURE(d);
    FsFacts::DirLinks got = scan(cache, t / d);
    CHECK(got.from_cache);
    CHECK(text_of(got, "l") == std::string("/target/") + d);
  }
}
