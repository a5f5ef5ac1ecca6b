#pragma once
// Row gathers and their adjoint on the GPU (embedding, index_select).
//
//   select_rows:    out[o, i, :] = x[o, idx[i], :]
//   index_add_rows: grad[o, r, :] = sum of g[o, i, :] over the i with idx[i] == r (0 for rows no i selects)
//
// index_add_rows is deterministic and uses no atomics: the op sorts the positions by
// index on the host (it has the indices there, having checked them), and each
// thread owns one (o, selected row, column) and sums its positions in ascending
// order, as the CPU does.

#include <cstdint>

#include "chord/backend/cuda/runtime.hpp"

namespace chord::cuda {

// x: [outer, n, inner] contiguous; idx: [L] (device, each in [0, n)); out: [outer, L, inner] contiguous.
// T: float, double, int64_t.
template <class T>
void select_rows(const Context& ctx, int64_t outer, int64_t n, int64_t inner, int64_t L, const T* x,
                 const int64_t* idx, T* out);

// g: [outer, L, inner]; grad: [outer, n, inner], all contiguous. The U distinct selected rows are
// rows[0, U) (device); the positions that select rows[u] are order[start[u], start[u + 1]) (device,
// ascending). T: float, double.
template <class T>
void index_add_rows(const Context& ctx, int64_t outer, int64_t n, int64_t inner, int64_t L, const T* g,
                    const int64_t* order, const int64_t* start, const int64_t* rows, int64_t U, T* grad);

}  // namespace chord::cuda

// =====================================================================================
#ifdef CHORD_CUDA_IMPLEMENTATION

#include "chord/backend/cuda/strided_loop.hpp"

namespace chord::cuda {

namespace indexing_detail {

// One thread per output element. out: [outer, L, inner].
template <class T>
__global__ void select_rows_kernel(int64_t total, int64_t n, int64_t inner, int64_t L, const T* x,
                                   const int64_t* idx, T* out) {
  const int64_t step = int64_t{gridDim.x} * blockDim.x;
  for (int64_t e = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; e < total; e += step) {
    const int64_t c = e % inner, row = e / inner, i = row % L, o = row / L;
    out[e] = x[(o * n + idx[i]) * inner + c];
  }
}

// One thread per (o, u, c): grad[o, rows[u], c] = sum of g[o, order[k], c], k in [start[u], start[u + 1]).
template <class T>
__global__ void index_add_rows_kernel(int64_t total, int64_t n, int64_t inner, int64_t L, int64_t U, const T* g,
                                      const int64_t* order, const int64_t* start, const int64_t* rows, T* grad) {
  const int64_t step = int64_t{gridDim.x} * blockDim.x;
  for (int64_t e = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; e < total; e += step) {
    const int64_t c = e % inner, ou = e / inner, u = ou % U, o = ou / U;
    T s = 0;
    for (int64_t k = start[u]; k < start[u + 1]; ++k) s += g[(o * L + order[k]) * inner + c];
    grad[(o * n + rows[u]) * inner + c] = s;
  }
}

}  // namespace indexing_detail

template <class T>
void select_rows(const Context& ctx, int64_t outer, int64_t n, int64_t inner, int64_t L, const T* x,
                 const int64_t* idx, T* out) {
  const int64_t total = outer * L * inner;
  if (total <= 0) return;
  cudaStream_t stream = stream_for(ctx);
  indexing_detail::select_rows_kernel<T>
      <<<blocks_for(total, 256), 256, 0, stream>>>(total, n, inner, L, x, idx, out);
  check_launch(ctx, stream, "select_rows_kernel");
}

template <class T>
void index_add_rows(const Context& ctx, int64_t outer, int64_t n, int64_t inner, int64_t L, const T* g,
                    const int64_t* order, const int64_t* start, const int64_t* rows, int64_t U, T* grad) {
  const int64_t grad_elements = outer * n * inner;
  if (grad_elements <= 0) return;
  cudaStream_t stream = stream_for(ctx);
  check_cuda(cudaMemsetAsync(grad, 0, static_cast<std::size_t>(grad_elements) * sizeof(T), stream), ctx.op,
             "cudaMemsetAsync");
  const int64_t total = outer * U * inner;
  if (total <= 0) return;
  indexing_detail::index_add_rows_kernel<T><<<blocks_for(total, 256), 256, 0, stream>>>(
      total, n, inner, L, U, g, order, start, rows, grad);
  check_launch(ctx, stream, "index_add_rows_kernel");
}

template void select_rows<float>(const Context&, int64_t, int64_t, int64_t, int64_t, const float*, const int64_t*,
                                 float*);
template void select_rows<double>(const Context&, int64_t, int64_t, int64_t, int64_t, const double*, const int64_t*,
                                  double*);
template void select_rows<int64_t>(const Context&, int64_t, int64_t, int64_t, int64_t, const int64_t*,
                                   const int64_t*, int64_t*);
template void index_add_rows<float>(const Context&, int64_t, int64_t, int64_t, int64_t, const float*, const int64_t*,
                                    const int64_t*, const int64_t*, int64_t, float*);
template void index_add_rows<double>(const Context&, int64_t, int64_t, int64_t, int64_t, const double*,
                                     const int64_t*, const int64_t*, const int64_t*, int64_t, double*);

}  // namespace chord::cuda

#endif  // CHORD_CUDA_IMPLEMENTATION
