#pragma once
// chord::Error and the checks that raise it.
//
// Every bad input is reported as a chord::Error whose message starts with the
// operation's name: "matmul: shapes [2,3] and [4,5] do not match".

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

// Every chord header includes this one, so these two reach every program that uses chord.
#include "chord/core/optimization_note.hpp"
#include "chord/version.hpp"

namespace chord {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

namespace detail {
template <class... Parts>
std::string concat(Parts&&... parts) {
  std::ostringstream os;
  (os << ... << std::forward<Parts>(parts));
  return os.str();
}
}  // namespace detail

// Throws chord::Error("<op>: <parts...>").
template <class... Parts>
[[noreturn]] void fail(const char* op, Parts&&... parts) {
  throw Error(detail::concat(op, ": ", std::forward<Parts>(parts)...));
}

// check(cond, "op", "what is wrong ", value, ...): throws when cond is false.
template <class... Parts>
inline void check(bool condition, const char* op, Parts&&... parts) {
  if (!condition) fail(op, std::forward<Parts>(parts)...);
}

}  // namespace chord
