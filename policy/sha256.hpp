// SHA-256 (FIPS 180-4), pure and dependency-free: profile digests and the audit hash chain.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace guardian::policy {

// Incremental SHA-256: update() any number of times, then digest() or hex() once.
class Sha256 {
 public:
  using Digest = std::array<std::uint8_t, 32>;

  Sha256() noexcept { reset(); }
  // Starts a new message.
  void reset() noexcept;
  // Appends bytes to the message.
  void update(const void* data, std::size_t len) noexcept;
  void update(std::string_view s) noexcept { update(s.data(), s.size()); }
  // Finishes the message and returns its digest; the object must be reset() before reuse.
  Digest digest() noexcept;
  // Finishes the message and returns the digest as 64 lowercase hex digits.
  std::string hex();
  // Uses the CPU's SHA instructions when present (the default) or the portable code;
  // returns whether hardware is now in use. For tests and benchmarks.
  static bool set_hardware(bool enable) noexcept;

 private:
  void block(const std::uint8_t* p) noexcept;
  std::array<std::uint32_t, 8> h_{};
  std::array<std::uint8_t, 64> buf_{};
  std::size_t buf_len_ = 0;
  std::uint64_t total_ = 0;  // bytes hashed so far
};

// Lowercase hex of a digest.
std::string to_hex(const Sha256::Digest& d);

// One-shot: SHA-256 of `data` as 64 lowercase hex digits.
std::string sha256_hex(std::string_view data);

}  // namespace guardian::policy
