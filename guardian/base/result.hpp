// Result<T>: the error-carrying return type used inside the supervisor (no exceptions in the loop).
#pragma once

#include <string>
#include <system_error>
#include <utility>

#include <boost/outcome/std_result.hpp>

namespace guardian {

// An error: what failed (operation + object) and why, ready to print after "guardian: ".
struct Error {
  std::string message;  // e.g. "cannot read profile 'x.yaml': No such file or directory"
  int code = 0;         // errno where one applies, else 0

  // Builds "WHAT: strerror(err)".
  static Error from_errno(const std::string& what, int err);
};

namespace outcome = BOOST_OUTCOME_V2_NAMESPACE;

template <class T>
using Result = outcome::std_result<T, Error, outcome::policy::terminate>;

// Convenience: failure value for Result<T>.
inline auto fail(std::string message, int code = 0) {
  return outcome::failure(Error{std::move(message), code});
}
inline auto fail_errno(const std::string& what, int err) {
  return outcome::failure(Error::from_errno(what, err));
}

}  // namespace guardian
