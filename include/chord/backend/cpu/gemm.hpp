#pragma once
// GEMM on strided matrices: C[M,N] = alpha * A[M,K] * B[K,N], or C += that
// when `accumulate` is set.
//
// Every operand is (pointer, row stride, col stride) in elements, so op(A) =
// A^T is not a flag: it is A with its two strides swapped.
//
// Float and double products run on chord's own packed GEMM (gemm_kernel.hpp), which
// reads every layout in place (packing takes any strides): with AVX2+FMA or AVX-512
// micro-kernels on x86-64 CPUs that have them, and with portable plain-C++ micro-kernels
// (vectorised by the compiler for whatever the build targets) everywhere else and under
// set_isa_limit(Isa::Portable). All of them share the packing, the direct few-rows paths,
// the bias epilogue and the determinism rule.
//
// There is no Eigen here (it used to be the portable fallback): every file that included
// chord paid for parsing <Eigen/Core> (about 1 s) and every program that multiplied
// matrices for instantiating and optimising Eigen's GEMM (seconds more), for a path only
// CPUs without AVX2 take.
//
// Threads. chord promises the same bits for any thread count. chord's GEMM fixes each
// element's sum order by the sizes and strides alone (see gemm_kernel.hpp), so it splits
// a product among the threads freely.

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "chord/backend/cpu/gemm_kernel.hpp"
#include "chord/backend/cpu/isa.hpp"
#include "chord/backend/cpu/parallel.hpp"
#include "chord/core/allocator.hpp"
#include "chord/core/shape.hpp"

namespace chord::cpu {

namespace gemm_detail {

enum class Layout { RowMajor, ColMajor, Copy };

// Whether a [rows, cols] operand with these strides is row-major or column-major (each
// row, or each column, contiguous; padding allowed), and its outer stride. The stride of
// a size-1 dim is never read, so it is ignored; overlapping rows (stride 0 of an expanded
// view) count as neither.
struct Classified {
  Layout layout;
  int64_t outer_stride;
};
inline Classified classify(int64_t rows, int64_t cols, int64_t rs, int64_t cs) {
  const int64_t r = rows > 1 ? rows : 1, c = cols > 1 ? cols : 1;
  if ((cols <= 1 || cs == 1) && (rows <= 1 || rs >= c)) return {Layout::RowMajor, rows <= 1 ? c : rs};
  if ((rows <= 1 || rs == 1) && (cols <= 1 || cs >= r)) return {Layout::ColMajor, cols <= 1 ? r : cs};
  return {Layout::Copy, c};
}

// Batches whose products are smaller than this (M * N * K) run one product
// per thread; larger products each use all threads, one after the other.
inline constexpr int64_t kGemmBatchProductWork = int64_t{1} << 22;

}  // namespace gemm_detail

// For every b in [0, batch): C_b = alpha * A_b * B_b (+ C_b when accumulate),
// where X_b starts at x + x_offsets[b] and every X_b has the same strides.
// Element (i, j) of A_b is a[a_offsets[b] + i * a_rs + j * a_cs], and so on;
// the C_b must not overlap each other or any A_b, B_b.
// A batch of small products runs one product per thread; a big product is
// split among the threads.
template <class T>
void gemm_batched(int64_t batch, int64_t M, int64_t N, int64_t K, T alpha,
                  const T* a, const int64_t* a_offsets, int64_t a_rs, int64_t a_cs,  // A_b: [M, K]
                  const T* b, const int64_t* b_offsets, int64_t b_rs, int64_t b_cs,  // B_b: [K, N]
                  T* c, const int64_t* c_offsets, int64_t c_rs, int64_t c_cs,        // C_b: [M, N]
                  bool accumulate = false) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "cpu::gemm: float or double");
  if (batch <= 0 || M <= 0 || N <= 0) return;
  const gemm_kernel::Kernels<T>* kn = gemm_kernel::kernels_for<T>(active_isa());
  auto product = [&](int64_t i, int threads) {
    gemm_kernel::gemm(*kn,
                      gemm_kernel::Problem<T>{M, N, K, alpha, a + a_offsets[i], a_rs, a_cs, b + b_offsets[i], b_rs,
                                              b_cs, c + c_offsets[i], c_rs, c_cs, accumulate},
                      threads);
  };
  const int64_t work = M * N * std::max<int64_t>(K, 1);
  if (batch > 1 && work < gemm_detail::kGemmBatchProductWork) {
    parallel_for(batch, work, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) product(i, 1);
    });
  } else {
    for (int64_t i = 0; i < batch; ++i) product(i, num_threads());
  }
}

// C[M,N] = alpha * A[M,K] * B[K,N]   (C += ... when accumulate).
// Element (i, j) of A is a[i * a_rs + j * a_cs], and so on; C must not overlap A or B.
template <class T>
void gemm(int64_t M, int64_t N, int64_t K, T alpha,
          const T* a, int64_t a_rs, int64_t a_cs,  // A: [M, K]
          const T* b, int64_t b_rs, int64_t b_cs,  // B: [K, N]
          T* c, int64_t c_rs, int64_t c_cs,        // C: [M, N]
          bool accumulate = false) {
  const int64_t zero = 0;
  gemm_batched(1, M, N, K, alpha, a, &zero, a_rs, a_cs, b, &zero, b_rs, b_cs, c, &zero, c_rs, c_cs, accumulate);
}

// What a product C = A B can do on its way, each saving a pass over a matrix (gemm_kernel::Problem):
//   bias:        C = bias + A B, bias [N] (element j at bias[j * bias_stride]) broadcast over the
//                rows (a linear layer's y = x W^T + b): the same values as filling C with the
//                bias and accumulating, but written into each tile of C just before its product;
//   epilogue:    applied to each tile of C once complete (gemm_kernel::TileEpilogue; C must be
//                row-major, c_cs == 1): an activation, or an activation's backward;
//   a_row_sums:  [M], sum_k A[i, k] in k order (a linear layer's bias gradient beside dY^T X).
template <class T>
struct GemmExtras {
  const T* bias = nullptr;
  int64_t bias_stride = 0;
  gemm_kernel::TileEpilogue<T> epilogue{};
  T* a_row_sums = nullptr;
};

// C[M,N] = A[M,K] * B[K,N] with `extras`.
template <class T>
void gemm_fused(int64_t M, int64_t N, int64_t K,
                const T* a, int64_t a_rs, int64_t a_cs,  // A: [M, K]
                const T* b, int64_t b_rs, int64_t b_cs,  // B: [K, N]
                T* c, int64_t c_rs, int64_t c_cs,        // C: [M, N]
                const GemmExtras<T>& extras) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "cpu::gemm_fused: float or double");
  const gemm_kernel::Kernels<T>* kn = gemm_kernel::kernels_for<T>(active_isa());
  gemm_kernel::Problem<T> p{M, N, K, T(1), a, a_rs, a_cs, b, b_rs, b_cs, c, c_rs, c_cs, false};
  p.bias = extras.bias;
  p.bias_stride = extras.bias_stride;
  p.epilogue = extras.epilogue;
  p.a_row_sums = extras.a_row_sums;
  gemm_kernel::gemm(*kn, p, num_threads());
}

// C[M,N] = bias + A[M,K] * B[K,N]: a linear layer's y = x W^T + b (GemmExtras::bias).
template <class T>
void gemm_with_bias(int64_t M, int64_t N, int64_t K,
                    const T* a, int64_t a_rs, int64_t a_cs,  // A: [M, K]
                    const T* b, int64_t b_rs, int64_t b_cs,  // B: [K, N]
                    const T* bias, int64_t bias_stride,      // bias: [N]
                    T* c, int64_t c_rs, int64_t c_cs) {      // C: [M, N]
  gemm_fused(M, N, K, a, a_rs, a_cs, b, b_rs, b_cs, c, c_rs, c_cs, GemmExtras<T>{.bias = bias, .bias_stride = bias_stride});
}

// B [K, N] packed once for many products C = alpha * A * B (a weight during decoding:
// B = W^T). It holds B in the GEMM kernels' NR-wide panels (gemm_kernel::pack_b_panels),
// which products then read in long contiguous runs without packing B again. It is packed
// for the ISA active when it is made, and products with it use that ISA's kernels.
template <class T>
class PackedB {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "cpu::PackedB: float or double");

 public:
  PackedB(int64_t K, int64_t N, const T* b, int64_t b_rs, int64_t b_cs)
      : K_(K), N_(N), kernels_(gemm_kernel::kernels_for<T>(active_isa())) {
    const int64_t NR = kernels_->NR;
    data_ = HostBuffer<T>(static_cast<std::size_t>(gemm_kernel::ceil_div(N, NR) * NR * K));  // [N / NR][K][NR]
    gemm_kernel::pack_b_panels(*kernels_, b, b_rs, b_cs, K, N, data_.data());
  }

  int64_t rows() const { return K_; }
  int64_t cols() const { return N_; }

  // C[M, N] = alpha * A[M, K] * B (+ C when accumulate); element (i, j) of A is a[i * a_rs + j * a_cs].
  void multiply(int64_t M, T alpha, const T* a, int64_t a_rs, int64_t a_cs, T* c, int64_t c_rs, int64_t c_cs,
                bool accumulate = false) const {
    if (M <= 0 || N_ <= 0) return;
    gemm_kernel::Problem<T> p{M, N_, K_, alpha, a, a_rs, a_cs, nullptr, 0, 0, c, c_rs, c_cs, accumulate};
    p.b_panels = data_.data();
    gemm_kernel::gemm(*kernels_, p, num_threads());
  }

  // C[M, N] = bias + A[M, K] * B, bias [N] (element j at bias[j * bias_stride]) broadcast over
  // the rows, as gemm_with_bias: the same values as filling C with the bias and accumulating.
  void multiply_with_bias(int64_t M, const T* a, int64_t a_rs, int64_t a_cs, const T* bias, int64_t bias_stride, T* c,
                          int64_t c_rs, int64_t c_cs) const {
    if (M <= 0 || N_ <= 0) return;
    gemm_kernel::Problem<T> p{M, N_, K_, T(1), a, a_rs, a_cs, nullptr, 0, 0, c, c_rs, c_cs, false};
    p.b_panels = data_.data();
    p.bias = bias;
    p.bias_stride = bias_stride;
    gemm_kernel::gemm(*kernels_, p, num_threads());
  }

 private:
  int64_t K_, N_;
  const gemm_kernel::Kernels<T>* kernels_;
  HostBuffer<T> data_;
};

// True when a [rows, cols] operand with these strides is row-major or column-major
// (padding allowed): the layouts cuBLAS reads in place, and the ones chord's packing
// reads fastest (a step-2 slice or an expanded view is packed element by element).
// Callers with an operand shared by many products copy it once themselves when false.
inline bool gemm_reads_in_place(int64_t rows, int64_t cols, int64_t row_stride, int64_t col_stride) {
  return gemm_detail::classify(rows, cols, row_stride, col_stride).layout != gemm_detail::Layout::Copy;
}

// The offset (in elements) of every element of a batch of shape `batch_shape`
// for an operand whose batch dims have `strides` over batch_shape (0 along
// broadcast dims, as broadcast_strides gives), in row-major order.
inline std::vector<int64_t> batch_offsets(const Shape& batch_shape, const Strides& strides) {
  const int64_t count = numel_of(batch_shape);
  std::vector<int64_t> offsets(static_cast<std::size_t>(count));  // [count]
  std::vector<int64_t> index(batch_shape.size(), 0);
  int64_t off = 0;
  for (int64_t n = 0; n < count; ++n) {
    offsets[n] = off;
    for (int d = batch_shape.size() - 1; d >= 0; --d) {
      if (++index[d] < batch_shape[d]) {
        off += strides[d];
        break;
      }
      off -= strides[d] * (batch_shape[d] - 1);
      index[d] = 0;
    }
  }
  return offsets;
}

}  // namespace chord::cpu
