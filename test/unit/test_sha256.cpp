// Unit tests for policy/sha256: FIPS 180-4 / NIST example vectors, incremental == one-shot.
#include "policy/sha256.hpp"

#include <doctest/doctest.h>

#include <string>

using guardian::policy::Sha256;
using guardian::policy::sha256_hex;

TEST_CASE("sha256 known vectors, hardware and portable") {
  for (bool hw : {true, false}) {
  CAPTURE(Sha256::set_hardware(hw));
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(sha256_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu") ==
        "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  CHECK(sha256_hex(std::string(1000000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  }
  Sha256::set_hardware(true);
}

TEST_CASE("sha256 padding boundaries match an independent split") {
  // Lengths around the 55/56/64-byte padding edges, hashed whole and in odd-sized pieces.
  for (std::size_t n : {55u, 56u, 57u, 63u, 64u, 65u, 119u, 120u, 127u, 128u, 129u}) {
    std::string s(n, 'x');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
    Sha256 h;
    for (std::size_t i = 0; i < n; i += 7) h.update(s.substr(i, 7));
    CHECK(h.hex() == sha256_hex(s));
  }
  // Known value at exactly one block of data: 64 x 'a'.
  CHECK(sha256_hex(std::string(64, 'a')) ==
        "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

TEST_CASE("sha256 reset starts a new message") {
  Sha256 h;
  h.update("garbage");
  h.reset();
  h.update("abc");
  CHECK(h.hex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
