#pragma once
// Reductions over any set of dimensions of a strided input, on the GPU: the
// CUDA side of cpu::reduce and cpu::arg_reduce, with the same semantics.
//
//   cuda::reduce(ctx, cuda::ReduceOp::Sum, x, shape, strides, reduce_dims, out);
//   cuda::arg_reduce(ctx, cuda::ArgReduceOp::ArgMax, x, shape, strides, reduce_dims, out_index);
//
// out is contiguous with one element per kept position (row-major over the
// kept dims). NaN propagates as on the CPU: a NaN makes max and min NaN, and
// argmax/argmin point at the first NaN; ties keep the first index.
//
// Determinism: every output is reduced in an order fixed by the sizes alone
// (no atomics), so a result is the same on every run. Small reductions run one
// thread per output; larger ones one block per output (each thread sums a
// strided share, then a tree in shared memory); one huge reduction to a single
// value runs in two passes (fixed chunks, then their partial results in order).
// The order differs from the CPU's, so float sums agree with it to rounding.

#include <cstdint>
#include <vector>

#include "chord/backend/cuda/runtime.hpp"
#include "chord/core/shape.hpp"

namespace chord::cuda {

enum class ReduceOp { Sum, Mean, Max, Min };
enum class ArgReduceOp { ArgMax, ArgMin };

// in: `shape` with `strides`; reduce_dims: per dim, whether it is reduced; out: [outputs] contiguous.
// T: float, double (every op) and int64_t (Max, Min).
template <class T>
void reduce(const Context& ctx, ReduceOp op, const T* in, const Shape& shape, const Strides& strides,
            const std::vector<bool>& reduce_dims, T* out);

// out_index: [outputs], the row-major index within the reduced dims of each slice's first extreme.
// The reduced selection must not be empty. T: float, double, int64_t.
template <class T>
void arg_reduce(const Context& ctx, ArgReduceOp op, const T* in, const Shape& shape, const Strides& strides,
                const std::vector<bool>& reduce_dims, int64_t* out_index);

}  // namespace chord::cuda

// =====================================================================================
#ifdef CHORD_CUDA_IMPLEMENTATION

#include <cuda/std/limits>

#include <algorithm>

namespace chord::cuda {

namespace reduce_detail {

// The input split into kept and reduced dims, each group with adjacent contiguous dims merged.
struct Layout {
  int kept_ndim = 0, reduced_ndim = 0;
  int64_t kept_sizes[kMaxDims] = {}, kept_strides[kMaxDims] = {};
  int64_t reduced_sizes[kMaxDims] = {}, reduced_strides[kMaxDims] = {};
  int64_t outputs = 1, count = 1;

  // Offset of output o's first element, and of element r of a slice relative to it.
  __device__ int64_t kept_offset(int64_t o) const {
    int64_t off = 0;
    for (int d = kept_ndim - 1; d >= 0; --d) {
      off += (o % kept_sizes[d]) * kept_strides[d];
      o /= kept_sizes[d];
    }
    return off;
  }
  __device__ int64_t reduced_offset(int64_t r) const {
    if (reduced_ndim == 1) return r * reduced_strides[0];
    int64_t off = 0;
    for (int d = reduced_ndim - 1; d >= 0; --d) {
      off += (r % reduced_sizes[d]) * reduced_strides[d];
      r /= reduced_sizes[d];
    }
    return off;
  }
};

inline Layout make_layout(const Shape& shape, const Strides& strides, const std::vector<bool>& reduce) {
  Layout L;
  for (int d = 0; d < shape.size(); ++d) {
    if (reduce[d]) L.count *= shape[d];
    else L.outputs *= shape[d];
    if (shape[d] == 1) continue;
    int& n = reduce[d] ? L.reduced_ndim : L.kept_ndim;
    int64_t* sizes = reduce[d] ? L.reduced_sizes : L.kept_sizes;
    int64_t* strd = reduce[d] ? L.reduced_strides : L.kept_strides;
    if (n > 0 && strd[n - 1] == strides[d] * shape[d]) {
      sizes[n - 1] *= shape[d];
      strd[n - 1] = strides[d];
    } else {
      sizes[n] = shape[d];
      strd[n] = strides[d];
      ++n;
    }
  }
  return L;
}

template <class T>
__device__ bool is_nan(T v) {
  if constexpr (::cuda::std::numeric_limits<T>::has_quiet_NaN) return v != v;
  else return false;
}

// The reducers: init, combine (also merges two partial results), finish.
template <class T>
struct Sum {
  __device__ T init() const { return T(0); }
  __device__ T combine(T a, T x) const { return a + x; }
  __device__ T finish(T a, int64_t) const { return a; }
};
template <class T>
struct Mean : Sum<T> {
  __device__ T finish(T a, int64_t count) const {
    return count ? a / static_cast<T>(count) : ::cuda::std::numeric_limits<T>::quiet_NaN();
  }
};
template <class T>
struct Max {
  __device__ T init() const {
    if constexpr (::cuda::std::numeric_limits<T>::has_infinity) return -::cuda::std::numeric_limits<T>::infinity();
    else return ::cuda::std::numeric_limits<T>::lowest();
  }
  __device__ T combine(T a, T x) const { return (is_nan(a) || a >= x) ? a : x; }
  __device__ T finish(T a, int64_t) const { return a; }
};
template <class T>
struct Min {
  __device__ T init() const {
    if constexpr (::cuda::std::numeric_limits<T>::has_infinity) return ::cuda::std::numeric_limits<T>::infinity();
    else return ::cuda::std::numeric_limits<T>::max();
  }
  __device__ T combine(T a, T x) const { return (is_nan(a) || a <= x) ? a : x; }
  __device__ T finish(T a, int64_t) const { return a; }
};

inline constexpr int kBlock = 256;           // threads of a block-per-output reduction
inline constexpr int64_t kThreadLimit = 64;  // slices up to this long: one thread each

// out: [outputs]; one thread per output, elements in order.
template <class T, class R>
__global__ void reduce_thread_kernel(Layout L, const T* in, T* out, R r) {
  const int64_t o = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  if (o >= L.outputs) return;
  const T* base = in + L.kept_offset(o);
  T acc = r.init();
  for (int64_t i = 0; i < L.count; ++i) acc = r.combine(acc, base[L.reduced_offset(i)]);
  out[o] = r.finish(acc, L.count);
}

// Tree-reduces v over the block (blockDim.x == kBlock); thread 0 gets the result.
template <class T, class R>
__device__ T block_combine(T v, R r) {
  __shared__ T partial[kBlock];
  partial[threadIdx.x] = v;
  __syncthreads();
  for (int width = kBlock / 2; width > 0; width /= 2) {
    if (static_cast<int>(threadIdx.x) < width)
      partial[threadIdx.x] = r.combine(partial[threadIdx.x], partial[threadIdx.x + width]);
    __syncthreads();
  }
  return partial[0];
}

// out: [outputs]; one block per output (a grid-stride loop over outputs).
template <class T, class R>
__global__ void reduce_block_kernel(Layout L, const T* in, T* out, R r) {
  for (int64_t o = blockIdx.x; o < L.outputs; o += gridDim.x) {
    const T* base = in + L.kept_offset(o);
    T acc = r.init();
    for (int64_t i = threadIdx.x; i < L.count; i += blockDim.x) acc = r.combine(acc, base[L.reduced_offset(i)]);
    acc = block_combine(acc, r);
    if (threadIdx.x == 0) out[o] = r.finish(acc, L.count);
    __syncthreads();  // partial[] is reused by the next output
  }
}

// One output, a long slice: block b reduces elements [b * chunk, (b + 1) * chunk) into partial[b].
template <class T, class R>
__global__ void reduce_chunks_kernel(Layout L, const T* in, int64_t chunk, T* partial, R r) {
  const int64_t begin = blockIdx.x * chunk, end = std::min(L.count, begin + chunk);
  T acc = r.init();
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) acc = r.combine(acc, in[L.reduced_offset(i)]);
  acc = block_combine(acc, r);
  if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}
// ... then one block combines partial[0, n) and finishes.
template <class T, class R>
__global__ void reduce_partials_kernel(const T* partial, int64_t n, int64_t count, T* out, R r) {
  T acc = r.init();
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) acc = r.combine(acc, partial[i]);
  acc = block_combine(acc, r);
  if (threadIdx.x == 0) out[0] = r.finish(acc, count);
}

template <class T, class R>
void launch_reduce(const Context& ctx, const Layout& L, const T* in, T* out, R r) {
  if (L.outputs == 0) return;
  cudaStream_t stream = stream_for(ctx);
  if (L.outputs == 1 && L.count >= (int64_t{1} << 16)) {
    const int64_t blocks = std::min<int64_t>(1024, (L.count + 4095) / 4096);
    const int64_t chunk = (L.count + blocks - 1) / blocks;
    T* partial = static_cast<T*>(allocate(static_cast<std::size_t>(blocks) * sizeof(T), ctx.device));  // [blocks]
    reduce_chunks_kernel<<<static_cast<unsigned>(blocks), kBlock, 0, stream>>>(L, in, chunk, partial, r);
    check_launch(ctx, stream, "reduce_chunks_kernel");
    reduce_partials_kernel<<<1, kBlock, 0, stream>>>(partial, blocks, L.count, out, r);
    check_launch(ctx, stream, "reduce_partials_kernel");
    deallocate(partial, static_cast<std::size_t>(blocks) * sizeof(T), ctx.device);  // stream-ordered reuse is safe
    return;
  }
  if (L.count <= kThreadLimit) {
    const int threads = 128;
    reduce_thread_kernel<<<static_cast<unsigned>((L.outputs + threads - 1) / threads), threads, 0, stream>>>(L, in,
                                                                                                            out, r);
    check_launch(ctx, stream, "reduce_thread_kernel");
    return;
  }
  const unsigned blocks = static_cast<unsigned>(std::min<int64_t>(L.outputs, 65535));
  reduce_block_kernel<<<blocks, kBlock, 0, stream>>>(L, in, out, r);
  check_launch(ctx, stream, "reduce_block_kernel");
}

// ---- arg reductions ----------------------------------------------------------------------

// Whether (x, ix) should replace (best, ib): more extreme, or the first NaN, or equal with a lower index.
template <class T, bool Max>
__device__ bool arg_better(T x, int64_t ix, T best, int64_t ib) {
  const bool x_nan = is_nan(x), best_nan = is_nan(best);
  if (x_nan || best_nan) return x_nan && (!best_nan || ix < ib);
  if (Max ? x > best : x < best) return true;
  return x == best && ix < ib;
}

// out_index: [outputs]; one block per output (blockDim.x == kBlock).
template <class T, bool Max>
__global__ void arg_reduce_kernel(Layout L, const T* in, int64_t* out_index) {
  __shared__ T best_value[kBlock];
  __shared__ int64_t best_index[kBlock];
  for (int64_t o = blockIdx.x; o < L.outputs; o += gridDim.x) {
    const T* base = in + L.kept_offset(o);
    T best = base[0];
    int64_t bi = 0;
    for (int64_t i = threadIdx.x; i < L.count; i += blockDim.x) {
      const T x = base[L.reduced_offset(i)];
      if (arg_better<T, Max>(x, i, best, bi)) best = x, bi = i;
    }
    best_value[threadIdx.x] = best;
    best_index[threadIdx.x] = bi;
    __syncthreads();
    for (int width = kBlock / 2; width > 0; width /= 2) {
      const int t = threadIdx.x;
      if (t < width && arg_better<T, Max>(best_value[t + width], best_index[t + width], best_value[t], best_index[t])) {
        best_value[t] = best_value[t + width];
        best_index[t] = best_index[t + width];
      }
      __syncthreads();
    }
    if (threadIdx.x == 0) out_index[o] = best_index[0];
    __syncthreads();
  }
}

}  // namespace reduce_detail

template <class T>
void reduce(const Context& ctx, ReduceOp op, const T* in, const Shape& shape, const Strides& strides,
            const std::vector<bool>& reduce_dims, T* out) {
  using namespace reduce_detail;
  const Layout L = make_layout(shape, strides, reduce_dims);
  switch (op) {
    case ReduceOp::Sum: return launch_reduce(ctx, L, in, out, Sum<T>{});
    case ReduceOp::Mean: return launch_reduce(ctx, L, in, out, Mean<T>{});
    case ReduceOp::Max: return launch_reduce(ctx, L, in, out, Max<T>{});
    case ReduceOp::Min: return launch_reduce(ctx, L, in, out, Min<T>{});
  }
}

template <class T>
void arg_reduce(const Context& ctx, ArgReduceOp op, const T* in, const Shape& shape, const Strides& strides,
                const std::vector<bool>& reduce_dims, int64_t* out_index) {
  using namespace reduce_detail;
  const Layout L = make_layout(shape, strides, reduce_dims);
  check(L.count > 0, ctx.op, "internal: arg_reduce of an empty selection");
  if (L.outputs == 0) return;
  cudaStream_t stream = stream_for(ctx);
  const unsigned blocks = static_cast<unsigned>(std::min<int64_t>(L.outputs, 65535));
  if (op == ArgReduceOp::ArgMax) arg_reduce_kernel<T, true><<<blocks, kBlock, 0, stream>>>(L, in, out_index);
  else arg_reduce_kernel<T, false><<<blocks, kBlock, 0, stream>>>(L, in, out_index);
  check_launch(ctx, stream, "arg_reduce_kernel");
}

#define CHORD_CUDA_INSTANTIATE_REDUCE(T)                                                                        \
  template void reduce<T>(const Context&, ReduceOp, const T*, const Shape&, const Strides&,                    \
                          const std::vector<bool>&, T*);                                                       \
  template void arg_reduce<T>(const Context&, ArgReduceOp, const T*, const Shape&, const Strides&,             \
                              const std::vector<bool>&, int64_t*);
CHORD_CUDA_INSTANTIATE_REDUCE(float)
CHORD_CUDA_INSTANTIATE_REDUCE(double)
CHORD_CUDA_INSTANTIATE_REDUCE(int64_t)
#undef CHORD_CUDA_INSTANTIATE_REDUCE

}  // namespace chord::cuda

#endif  // CHORD_CUDA_IMPLEMENTATION
