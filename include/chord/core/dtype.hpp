#pragma once
// The element types a Tensor<T> may hold, and their names for messages.
//
// float and double tensors are differentiable; int64_t tensors carry indices
// (embedding ids, gather indices, class targets); bool tensors carry masks.

#include <concepts>
#include <cstdint>
#include <type_traits>

namespace chord {

template <class T>
concept FloatingPoint = std::same_as<T, float> || std::same_as<T, double>;

template <class T>
concept Element = FloatingPoint<T> || std::same_as<T, int64_t> || std::same_as<T, bool>;

template <class T>
constexpr const char* dtype_name() {
  if constexpr (std::is_same_v<T, float>) return "float32";
  else if constexpr (std::is_same_v<T, double>) return "float64";
  else if constexpr (std::is_same_v<T, int64_t>) return "int64";
  else if constexpr (std::is_same_v<T, bool>) return "bool";
  else return "unknown";
}

}  // namespace chord
