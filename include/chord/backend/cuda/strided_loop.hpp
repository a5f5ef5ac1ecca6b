#pragma once
// Launch helpers of the kernels that walk a tensor element by element in a grid-stride loop
// (implementation unit only; without CHORD_CUDA_IMPLEMENTATION this header is empty): the grid
// of such a loop, and a tensor's shape with an operand's strides over it, packed to be passed
// by value as a kernel parameter.

#ifdef CHORD_CUDA_IMPLEMENTATION

#include <algorithm>
#include <cstdint>

#include "chord/core/shape.hpp"

namespace chord::cuda {

// Grid of a grid-stride loop over n elements with `threads` threads per block.
inline unsigned blocks_for(int64_t n, int threads) {
  return static_cast<unsigned>(std::clamp<int64_t>((n + threads - 1) / threads, 1, 8192));
}

// The loop shape (also the output's, row-major) and the strides of the operand read over it.
struct StridedLayout {
  int ndim = 0;
  int64_t numel = 1;
  int64_t sizes[kMaxDims] = {};
  int64_t strides[kMaxDims] = {};
};

inline StridedLayout strided_layout(const Shape& shape, const Strides& strides) {
  StridedLayout L;
  L.ndim = static_cast<int>(shape.size());
  for (int d = 0; d < L.ndim; ++d) {
    L.sizes[d] = shape[d];
    L.strides[d] = strides[d];
    L.numel *= shape[d];
  }
  return L;
}

}  // namespace chord::cuda

#endif  // CHORD_CUDA_IMPLEMENTATION
