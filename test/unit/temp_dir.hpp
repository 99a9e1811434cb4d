// A scratch directory for unit tests, resolved (tests compare against realpath results) and
// removed with everything in it at the end of the test.
#pragma once

#include <doctest/doctest.h>
#include <limits.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

struct TempDir {
  std::string path;
  // `tag` names the test in the directory's name (/tmp/guardian-TAG-XXXXXX).
  explicit TempDir(const std::string& tag) {
    std::string tmpl = "/tmp/guardian-" + tag + "-XXXXXX";
    char* p = ::mkdtemp(tmpl.data());
    REQUIRE(p != nullptr);
    char real[PATH_MAX];
    REQUIRE(::realpath(p, real) != nullptr);
    path = real;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string operator/(const std::string& rel) const { return path + "/" + rel; }
};
