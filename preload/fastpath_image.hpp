// The fast path's engine image (fastpath_image.cpp): an engine built once per session and
// loaded by every later process instead of being built again. Not an interface outside
// the fast path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace guardian::policy {
class Engine;
}

namespace guardian::fastpath {

// Builds the engine from `snapshot` twice, in two arenas, and writes the image to `fd`
// (the session's image memfd, `file_size` bytes) and seals it against writing. Returns the
// first build, ready for this process, or nullptr when any step failed (then nothing
// usable was written and the caller builds the ordinary way).
const policy::Engine* image_build(int fd, std::size_t file_size, std::string_view snapshot);

// The engine of the image in `fd`, relocated into memory of this process (read-only), or
// nullptr when there is no complete, sealed image for a snapshot of `snapshot_size` bytes.
const policy::Engine* image_load(int fd, std::size_t file_size, std::size_t snapshot_size);

}  // namespace guardian::fastpath
