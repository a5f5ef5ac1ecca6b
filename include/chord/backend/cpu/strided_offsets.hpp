#pragma once
// The offsets of every element of a strided layout, in row-major order: what
// Tensor::for_each_offset visits, as a vector (for kernels that index by position).

#include <cstdint>
#include <vector>

#include "chord/core/shape.hpp"

namespace chord::cpu {

// [numel_of(shape)]: offset (in elements) of each element of `shape` with `strides`; a 0-d
// shape has one element at offset 0.
inline std::vector<int64_t> strided_offsets(const Shape& shape, const Strides& strides) {
  std::vector<int64_t> out;
  const int n = shape.size();
  const int64_t total = numel_of(shape);
  if (total == 0) return out;
  out.reserve(static_cast<std::size_t>(total));
  std::vector<int64_t> index(static_cast<std::size_t>(n), 0);
  int64_t off = 0;
  for (int64_t count = 0; count < total; ++count) {
    out.push_back(off);
    for (int d = n - 1; d >= 0; --d) {
      if (++index[d] < shape[d]) {
        off += strides[d];
        break;
      }
      off -= strides[d] * (shape[d] - 1);
      index[d] = 0;
    }
  }
  return out;
}

}  // namespace chord::cpu
