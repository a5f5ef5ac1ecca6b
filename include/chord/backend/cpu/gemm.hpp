#pragma once
// GEMM on strided matrices: C[M,N] = alpha * A[M,K] * B[K,N], or C += that
// when `accumulate` is set.
//
// Every operand is (pointer, row stride, col stride) in elements, so op(A) =
// A^T is not a flag: it is A with its two strides swapped.
//
// On x86-64 CPUs with AVX2+FMA (or AVX-512) float and double products run on
// chord's own packed GEMM (gemm_kernel.hpp), which reads every layout in
// place. Elsewhere (and under set_isa_limit(Isa::Portable)) they run on Eigen:
// an operand whose column stride is 1 is read in place as a row-major
// Eigen::Map, one whose row stride is 1 (a transposed view) in place as a
// column-major Map; any other layout (a step-2 slice, an expanded view) is
// first copied to a dense block.
//
// Threads. chord promises the same bits for any thread count. chord's GEMM
// fixes each element's sum order by the sizes alone (see gemm_kernel.hpp), so
// it splits a product among the threads freely. Eigen's own threaded GEMM
// splits C by the thread count, and its results change with it; so Eigen is
// kept single-threaded (Eigen::setNbThreads(1)), and on the Eigen path the work
// is cut into tasks whose bounds depend on the sizes only (one product of a
// batch, or one panel of C of a big product) that chord's thread pool runs.

#include <Eigen/Core>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "chord/backend/cpu/gemm_kernel.hpp"
#include "chord/backend/cpu/isa.hpp"
#include "chord/backend/cpu/parallel.hpp"
#include "chord/core/allocator.hpp"
#include "chord/core/shape.hpp"

namespace chord::cpu {

namespace gemm_detail {

template <class T>
using RowMajorMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using ColMajorMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
template <class M>
using StridedMap = Eigen::Map<M, 0, Eigen::OuterStride<>>;

enum class Layout { RowMajor, ColMajor, Copy };

// How a [rows, cols] operand with these strides can be handed to Eigen, and
// the outer stride of that Map. The stride of a size-1 dim is never read, so
// it is ignored; overlapping rows (stride 0 of an expanded view) are copied.
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

// Calls f(m) with m a read-only Eigen expression of the [rows, cols] operand at p.
template <class T, class F>
void with_input(const T* p, int64_t rows, int64_t cols, int64_t rs, int64_t cs, F&& f) {
  using RowMap = StridedMap<const RowMajorMatrix<T>>;
  using ColMap = StridedMap<const ColMajorMatrix<T>>;
  const Classified k = classify(rows, cols, rs, cs);
  if (k.layout == Layout::RowMajor) {
    f(RowMap(p, rows, cols, Eigen::OuterStride<>(k.outer_stride)));
  } else if (k.layout == Layout::ColMajor) {
    f(ColMap(p, rows, cols, Eigen::OuterStride<>(k.outer_stride)));
  } else {
    RowMajorMatrix<T> dense(rows, cols);  // [rows, cols], row-major
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) dense(i, j) = p[i * rs + j * cs];
    f(RowMap(dense.data(), rows, cols, Eigen::OuterStride<>(cols)));
  }
}

// Calls f(m) with m a writable Eigen expression of the [rows, cols] output at
// p; an output Eigen cannot address is computed in a dense block and written back.
template <class T, class F>
void with_output(T* p, int64_t rows, int64_t cols, int64_t rs, int64_t cs, bool accumulate, F&& f) {
  const Classified k = classify(rows, cols, rs, cs);
  if (k.layout == Layout::RowMajor) {
    StridedMap<RowMajorMatrix<T>> m(p, rows, cols, Eigen::OuterStride<>(k.outer_stride));
    f(m);
  } else if (k.layout == Layout::ColMajor) {
    StridedMap<ColMajorMatrix<T>> m(p, rows, cols, Eigen::OuterStride<>(k.outer_stride));
    f(m);
  } else {
    RowMajorMatrix<T> dense(rows, cols);  // [rows, cols], row-major
    if (accumulate)
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j) dense(i, j) = p[i * rs + j * cs];
    f(dense);
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) p[i * rs + j * cs] = dense(i, j);
  }
}


// Calls body(t) for every task t in [0, tasks), on the thread pool when the
// work (multiply-adds) is large enough to repay it. Eigen is set to one thread
// first: its own threading splits the work by the thread count, and its
// results would change with it.
inline constexpr int64_t kEigenThreadingWork = 100000;
template <class Body>
void for_each_task(int64_t tasks, int64_t total_work, Body&& body) {
  static const bool eigen_serial = (Eigen::setNbThreads(1), true);  // chord runs the tasks in parallel
  (void)eigen_serial;
  const bool serial = num_threads() == 1 || in_parallel_region() || total_work < kEigenThreadingWork;
  if (serial) {
    for (int64_t t = 0; t < tasks; ++t) body(t);
    return;
  }
  ThreadPool::instance().run(tasks, body);
}

// How one [M, N] product is cut into panels of C: rows (or columns, when
// N > M), about 16 of them, each at least 128 wide, so that every panel is
// a full-speed Eigen GEMM (each panel re-packs the shared operand, which
// costs little at that width). The cut depends on the sizes only, never on
// the thread count.
struct Panels {
  bool by_rows;
  int64_t extent;  // M or N
  int64_t size;    // rows (columns) per panel; the last one may be smaller
  int64_t count;
};
inline constexpr int64_t kGemmPanelMin = 128;
inline Panels panels_of(int64_t M, int64_t N) {
  Panels p;
  p.by_rows = M >= N;
  p.extent = p.by_rows ? M : N;
  const int64_t target = (p.extent + 15) / 16;
  p.size = std::max<int64_t>(kGemmPanelMin, (target + 15) / 16 * 16);
  p.count = (p.extent + p.size - 1) / p.size;
  return p;
}

// C[M,N] = alpha * A[M,K] * B[K,N] (+ C) on the calling thread.
template <class T>
void gemm_serial(int64_t M, int64_t N, int64_t K, T alpha, const T* a, int64_t a_rs, int64_t a_cs, const T* b,
                 int64_t b_rs, int64_t b_cs, T* c, int64_t c_rs, int64_t c_cs, bool accumulate) {
  if (K <= 0) {  // an empty sum: C = 0 (or unchanged when accumulating)
    if (!accumulate)
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) c[i * c_rs + j * c_cs] = T(0);
    return;
  }
  with_input(a, M, K, a_rs, a_cs, [&](const auto& A) {
    with_input(b, K, N, b_rs, b_cs, [&](const auto& B) {
      with_output(c, M, N, c_rs, c_cs, accumulate, [&](auto& C) {
        if (accumulate) C.noalias() += alpha * A * B;
        else C.noalias() = alpha * A * B;
      });
    });
  });
}

// Batches whose products are smaller than this (M * N * K) run one product
// per thread; larger products each use all threads, one after the other.
inline constexpr int64_t kGemmBatchProductWork = int64_t{1} << 22;

// The Eigen path of gemm_batched: (batch element, panel) tasks run in
// parallel, each a serial Eigen GEMM.
template <class T>
void gemm_batched_eigen(int64_t batch, int64_t M, int64_t N, int64_t K, T alpha, const T* a,
                        const int64_t* a_offsets, int64_t a_rs, int64_t a_cs, const T* b, const int64_t* b_offsets,
                        int64_t b_rs, int64_t b_cs, T* c, const int64_t* c_offsets, int64_t c_rs, int64_t c_cs,
                        bool accumulate) {
  const Panels P = panels_of(M, N);
  for_each_task(batch * P.count, batch * M * N * std::max<int64_t>(K, 1), [&](int64_t task) {
    const int64_t i = task / P.count, start = (task % P.count) * P.size;
    const int64_t size = std::min(P.size, P.extent - start);
    const T* ai = a + a_offsets[i];
    const T* bi = b + b_offsets[i];
    T* ci = c + c_offsets[i];
    if (P.by_rows)
      gemm_serial(size, N, K, alpha, ai + start * a_rs, a_rs, a_cs, bi, b_rs, b_cs, ci + start * c_rs, c_rs, c_cs,
                  accumulate);
    else
      gemm_serial(M, size, K, alpha, ai, a_rs, a_cs, bi + start * b_cs, b_rs, b_cs, ci + start * c_cs, c_rs, c_cs,
                  accumulate);
  });
}

// C[M, N] = the bias in every row (element j at bias[j * bias_stride]), rows split among the
// threads: the portable paths' first half of C = bias + A B.
template <class T>
void fill_rows_with_bias(int64_t M, int64_t N, const T* bias, int64_t bias_stride, T* c, int64_t c_rs, int64_t c_cs) {
  parallel_for(M, N, [&](int64_t begin, int64_t end) {
    gemm_kernel::fill_with_bias(c + begin * c_rs, c_rs, c_cs, end - begin, N, bias, bias_stride);
  });
}

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
  if (batch <= 0 || M <= 0 || N <= 0) return;
  const gemm_kernel::Kernels<T>* kn = gemm_kernel::kernels_for<T>(active_isa());
  if (!kn) {
    gemm_detail::gemm_batched_eigen(batch, M, N, K, alpha, a, a_offsets, a_rs, a_cs, b, b_offsets, b_rs, b_cs, c,
                                    c_offsets, c_rs, c_cs, accumulate);
    return;
  }
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

// C[M,N] = bias + A[M,K] * B[K,N]: a linear layer's y = x W^T + b, with bias [N] (element j
// at bias[j * bias_stride]) broadcast over the rows. The same values as filling C with the
// bias and accumulating the product, but chord's kernels write the bias into each tile of C
// just before its product, which saves a pass over C.
template <class T>
void gemm_with_bias(int64_t M, int64_t N, int64_t K,
                    const T* a, int64_t a_rs, int64_t a_cs,  // A: [M, K]
                    const T* b, int64_t b_rs, int64_t b_cs,  // B: [K, N]
                    const T* bias, int64_t bias_stride,      // bias: [N]
                    T* c, int64_t c_rs, int64_t c_cs) {      // C: [M, N]
  if (M <= 0 || N <= 0) return;
  const gemm_kernel::Kernels<T>* kn = gemm_kernel::kernels_for<T>(active_isa());
  if (!kn) {
    gemm_detail::fill_rows_with_bias(M, N, bias, bias_stride, c, c_rs, c_cs);
    gemm(M, N, K, T(1), a, a_rs, a_cs, b, b_rs, b_cs, c, c_rs, c_cs, /*accumulate=*/true);
    return;
  }
  gemm_kernel::Problem<T> p{M, N, K, T(1), a, a_rs, a_cs, b, b_rs, b_cs, c, c_rs, c_cs, false};
  p.bias = bias;
  p.bias_stride = bias_stride;
  gemm_kernel::gemm(*kn, p, num_threads());
}

// B [K, N] packed once for many products C = alpha * A * B (a weight during decoding:
// B = W^T). On CPUs with chord's GEMM kernels it holds B in the kernels' NR-wide panels
// (gemm_kernel::pack_b_panels), which products then read in long contiguous runs without
// packing B again; elsewhere it holds a dense row-major copy. It is packed for the ISA
// active when it is made, and products with it use that ISA's kernels.
template <class T>
class PackedB {
 public:
  PackedB(int64_t K, int64_t N, const T* b, int64_t b_rs, int64_t b_cs)
      : K_(K), N_(N), kernels_(gemm_kernel::kernels_for<T>(active_isa())) {
    if (kernels_) {
      const int64_t NR = kernels_->NR;
      data_ = HostBuffer<T>(static_cast<std::size_t>(gemm_kernel::ceil_div(N, NR) * NR * K));  // [N / NR][K][NR]
      gemm_kernel::pack_b_panels(*kernels_, b, b_rs, b_cs, K, N, data_.data());
    } else {
      data_ = HostBuffer<T>(static_cast<std::size_t>(K * N));  // [K, N] row-major
      parallel_for(K, N, [&](int64_t k0, int64_t k1) {
        for (int64_t k = k0; k < k1; ++k)
          for (int64_t j = 0; j < N; ++j) data_[k * N + j] = b[k * b_rs + j * b_cs];
      });
    }
  }

  int64_t rows() const { return K_; }
  int64_t cols() const { return N_; }

  // C[M, N] = alpha * A[M, K] * B (+ C when accumulate); element (i, j) of A is a[i * a_rs + j * a_cs].
  void multiply(int64_t M, T alpha, const T* a, int64_t a_rs, int64_t a_cs, T* c, int64_t c_rs, int64_t c_cs,
                bool accumulate = false) const {
    if (M <= 0 || N_ <= 0) return;
    if (!kernels_) {
      const int64_t zero = 0;
      gemm_detail::gemm_batched_eigen(1, M, N_, K_, alpha, a, &zero, a_rs, a_cs, data_.data(), &zero, N_, 1, c, &zero,
                                      c_rs, c_cs, accumulate);
      return;
    }
    gemm_kernel::Problem<T> p{M, N_, K_, alpha, a, a_rs, a_cs, nullptr, 0, 0, c, c_rs, c_cs, accumulate};
    p.b_panels = data_.data();
    gemm_kernel::gemm(*kernels_, p, num_threads());
  }

  // C[M, N] = bias + A[M, K] * B, bias [N] (element j at bias[j * bias_stride]) broadcast over
  // the rows, as gemm_with_bias: the same values as filling C with the bias and accumulating.
  void multiply_with_bias(int64_t M, const T* a, int64_t a_rs, int64_t a_cs, const T* bias, int64_t bias_stride, T* c,
                          int64_t c_rs, int64_t c_cs) const {
    if (M <= 0 || N_ <= 0) return;
    if (!kernels_) {
      gemm_detail::fill_rows_with_bias(M, N_, bias, bias_stride, c, c_rs, c_cs);
      multiply(M, T(1), a, a_rs, a_cs, c, c_rs, c_cs, /*accumulate=*/true);
      return;
    }
    gemm_kernel::Problem<T> p{M, N_, K_, T(1), a, a_rs, a_cs, nullptr, 0, 0, c, c_rs, c_cs, false};
    p.b_panels = data_.data();
    p.bias = bias;
    p.bias_stride = bias_stride;
    gemm_kernel::gemm(*kernels_, p, num_threads());
  }

 private:
  int64_t K_, N_;
  const gemm_kernel::Kernels<T>* kernels_;  // null: the portable path (data_ is B row-major)
  HostBuffer<T> data_;
};

// True when a [rows, cols] operand with these strides is read in place (no
// internal copy); callers with an operand shared by many products copy it
// once themselves when this is false.
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
