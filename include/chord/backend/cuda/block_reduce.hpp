#pragma once
// Device helpers of the row kernels (implementation unit only; without
// CHORD_CUDA_IMPLEMENTATION this header is empty): sums and maxima over a warp
// and over a block, in a fixed order (shuffle trees, then the warps' results in
// warp order), so that a row's result does not change from run to run.

#ifdef CHORD_CUDA_IMPLEMENTATION

#include <cuda/std/limits>

#include <cstdint>

namespace chord::cuda::device {

inline constexpr int kWarp = 32;

template <class T>
__device__ T neg_inf() {
  return -::cuda::std::numeric_limits<T>::infinity();
}

// The max of two values that ignores a NaN in b (the CPU's row_max: NaN reaches the result through exp).
template <class T>
__device__ T max_of(T a, T b) {
  return b > a ? b : a;
}

struct SumOp {
  template <class T>
  __device__ T operator()(T a, T b) const { return a + b; }
};
struct MaxOp {
  template <class T>
  __device__ T operator()(T a, T b) const { return max_of(a, b); }
};

template <class T, class Op>
__device__ T warp_reduce(T v, Op op) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) v = op(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

// Reduces v over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the
// result. `identity` pads the missing warps. Contains __syncthreads: call from every thread.
template <class T, class Op>
__device__ T block_reduce(T v, Op op, T identity) {
  __shared__ T warp_results[kWarp];
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp, warps = (blockDim.x + kWarp - 1) / kWarp;
  v = warp_reduce(v, op);
  __syncthreads();  // warp_results may still be read by a previous call
  if (lane == 0) warp_results[warp] = v;
  __syncthreads();
  T total = lane < warps ? warp_results[lane] : identity;
  return warp_reduce(total, op);  // every warp reduces the same values in the same order
}

template <class T>
__device__ T block_sum(T v) {
  return block_reduce(v, SumOp{}, T(0));
}
template <class T>
__device__ T block_max(T v) {
  return block_reduce(v, MaxOp{}, neg_inf<T>());
}

// Threads for a block that walks rows of n elements: a multiple of 32, at most 256.
inline int row_threads(int64_t n) {
  int threads = kWarp;
  while (threads < 256 && threads < n) threads *= 2;
  return threads;
}

}  // namespace chord::cuda::device

#endif  // CHORD_CUDA_IMPLEMENTATION
