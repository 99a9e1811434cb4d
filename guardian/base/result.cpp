// Error helpers for Result<T>.
#include "base/result.hpp"

#include <cstring>

namespace guardian {

Error Error::from_errno(const std::string& what, int err) {
  return Error{what + ": " + std::strerror(err), err};
}

}  // namespace guardian
