#pragma once
// Row kernels for softmax, log-softmax and softmax cross-entropy on dense
// [rows, n] buffers (the ops move the softmax dim last and make it contiguous).
//
// Each row subtracts its max before exp, so no exp overflows (logits of 1000
// are fine): softmax(x) = exp(x - m) / sum(exp(x - m)). Rows run in parallel;
// within a row the passes are sequential in a fixed order, so results do not
// depend on the thread count. exp is cpu::vector_exp (within 1 ulp), and each
// kernel runs through run_kernel: compiled for AVX-512 or AVX2 where the CPU has
// them (vector_math.hpp).
//
// A row with a NaN gives NaN; a row of all -inf gives NaN (0 / 0), as in PyTorch.

#include <cmath>
#include <cstdint>
#include <limits>

#include "chord/backend/cpu/isa.hpp"
#include "chord/backend/cpu/parallel.hpp"
#include "chord/backend/cpu/vector_math.hpp"

namespace chord::cpu {

// Max of x[0..n) (-inf for n == 0). NaN is skipped here; it reaches the result through exp.
template <class T>
T row_max(const T* x, int64_t n) {
  T m = -std::numeric_limits<T>::infinity();
#pragma omp simd reduction(max : m)
  for (int64_t i = 0; i < n; ++i) m = x[i] > m ? x[i] : m;
  return m;
}

// sum_i exp(x[i] - m).
template <class T>
T row_sum_exp(const T* x, int64_t n, T m) {
  T s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += vector_exp(x[i] - m);
  return s;
}

// log(sum_i exp(x[i])), max-shifted.
template <class T>
T row_logsumexp(const T* x, int64_t n) {
  const T m = row_max(x, n);
  return m + std::log(row_sum_exp(x, n, m));
}

namespace softmax_detail {

// Each kernel works on rows [begin, end) of its buffers (see the public functions below).
struct Softmax {
  template <class T>
  static void run(const T* x, T* y, int64_t begin, int64_t end, int64_t n) {
    for (int64_t r = begin; r < end; ++r) {
      const T* xr = x + r * n;
      T* yr = y + r * n;
      const T m = row_max(xr, n);
      T s = 0;
#pragma omp simd reduction(+ : s)
      for (int64_t i = 0; i < n; ++i) {
        yr[i] = vector_exp(xr[i] - m);  // kept, so the last pass only scales
        s += yr[i];
      }
      const T inv = T(1) / s;
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) yr[i] *= inv;
    }
  }
};

struct LogSoftmax {
  template <class T>
  static void run(const T* x, T* y, int64_t begin, int64_t end, int64_t n) {
    for (int64_t r = begin; r < end; ++r) {
      const T* xr = x + r * n;
      T* yr = y + r * n;
      const T m = row_max(xr, n);
      const T log_sum = std::log(row_sum_exp(xr, n, m));
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) yr[i] = (xr[i] - m) - log_sum;
    }
  }
};

struct SoftmaxBackward {
  template <class T>
  static void run(const T* y, const T* g, T* gx, int64_t begin, int64_t end, int64_t n) {
    for (int64_t r = begin; r < end; ++r) {
      const T* yr = y + r * n;
      const T* gr = g + r * n;
      T* out = gx + r * n;
      T dot = 0;
#pragma omp simd reduction(+ : dot)
      for (int64_t i = 0; i < n; ++i) dot += gr[i] * yr[i];
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) out[i] = yr[i] * (gr[i] - dot);
    }
  }
};

struct LogSoftmaxBackward {
  template <class T>
  static void run(const T* y, const T* g, T* gx, int64_t begin, int64_t end, int64_t n) {
    for (int64_t r = begin; r < end; ++r) {
      const T* yr = y + r * n;
      const T* gr = g + r * n;
      T* out = gx + r * n;
      T s = 0;
#pragma omp simd reduction(+ : s)
      for (int64_t i = 0; i < n; ++i) s += gr[i];
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) out[i] = gr[i] - vector_exp(yr[i]) * s;
    }
  }
};

}  // namespace softmax_detail

// y = softmax(x) row by row. x, y: [rows, n].
template <class T>
void softmax_rows(const T* x, T* y, int64_t rows, int64_t n) {
  const Isa isa = active_isa();
  parallel_for(rows, 4 * n, [&](int64_t begin, int64_t end) {
    run_kernel<softmax_detail::Softmax>(isa, x, y, begin, end, n);
  });
}

// y = log_softmax(x) = (x - m) - log(sum exp(x - m)), row by row. x, y: [rows, n].
// (x - m) first: it is exact, whereas m + log(...) would round at the scale of
// m (about 6e-5 for float logits near 1000).
template <class T>
void log_softmax_rows(const T* x, T* y, int64_t rows, int64_t n) {
  const Isa isa = active_isa();
  parallel_for(rows, 4 * n, [&](int64_t begin, int64_t end) {
    run_kernel<softmax_detail::LogSoftmax>(isa, x, y, begin, end, n);
  });
}

// Softmax backward: gx = y * (g - sum(g * y)). y, g, gx: [rows, n].
template <class T>
void softmax_backward_rows(const T* y, const T* g, T* gx, int64_t rows, int64_t n) {
  const Isa isa = active_isa();
  parallel_for(rows, 3 * n, [&](int64_t begin, int64_t end) {
    run_kernel<softmax_detail::SoftmaxBackward>(isa, y, g, gx, begin, end, n);
  });
}

// Log-softmax backward: gx = g - exp(y) * sum(g). y, g, gx: [rows, n].
template <class T>
void log_softmax_backward_rows(const T* y, const T* g, T* gx, int64_t rows, int64_t n) {
  const Isa isa = active_isa();
  parallel_for(rows, 3 * n, [&](int64_t begin, int64_t end) {
    run_kernel<softmax_detail::LogSoftmaxBackward>(isa, y, g, gx, begin, end, n);
  });
}

// ---- softmax cross-entropy ------------------------------------------------------
//
// For a row of logits x with target t and label smoothing eps (C classes),
// with m = max_c x_c and log_sum = log sum_c exp(x_c - m) (so lse = m + log_sum):
//   loss = (1 - eps) (lse - x_t) + eps (lse - mean_c x_c)
//        = (1 - eps) ((m - x_t) + log_sum) + eps (log_sum - mean_c (x_c - m))
// i.e. (1 - eps) * nll + eps * mean_c(-log p_c); and its gradient
//   d loss / d x_c = p_c - (1 - eps) [c == t] - eps / C,   p_c = exp((x_c - m) - log_sum).
// m and log_sum are kept apart: their float sum would round at the scale of m.
// A row whose target is negative (the op maps ignore_index to -1) has loss 0
// and gradient 0.

namespace softmax_detail {

struct CrossEntropyForward {
  template <class T>
  static void run(const T* logits, const int64_t* targets, T* loss, T* row_max_out, T* log_sum, int64_t begin,
                  int64_t end, int64_t C, T eps) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t t = targets[r];
      if (t < 0) {
        loss[r] = row_max_out[r] = log_sum[r] = T(0);
        continue;
      }
      const T* x = logits + r * C;
      const T m = row_max(x, C);
      const T ls = std::log(row_sum_exp(x, C, m));
      row_max_out[r] = m;
      log_sum[r] = ls;
      T value = (T(1) - eps) * ((m - x[t]) + ls);
      if (eps != T(0)) {
        T s = 0;
#pragma omp simd reduction(+ : s)
        for (int64_t c = 0; c < C; ++c) s += x[c] - m;
        value += eps * (ls - s / static_cast<T>(C));
      }
      loss[r] = value;
    }
  }
};

struct CrossEntropyBackward {
  template <class T>
  static void run(const T* logits, const int64_t* targets, const T* row_max_in, const T* log_sum, const T* scale,
                  T* gx, int64_t begin, int64_t end, int64_t C, T eps) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t t = targets[r];
      T* out = gx + r * C;
      if (t < 0) {
#pragma omp simd
        for (int64_t c = 0; c < C; ++c) out[c] = T(0);
        continue;
      }
      const T* x = logits + r * C;
      const T m = row_max_in[r], ls = log_sum[r], s = scale[r], smooth = eps / static_cast<T>(C);
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) out[c] = s * (vector_exp((x[c] - m) - ls) - smooth);
      out[t] -= s * (T(1) - eps);
    }
  }
};

}  // namespace softmax_detail

// logits: [rows, C]; targets: [rows] (-1 = ignored); loss, row_max, log_sum: [rows].
template <class T>
void cross_entropy_forward_rows(const T* logits, const int64_t* targets, T* loss, T* row_max_out, T* log_sum,
                                int64_t rows, int64_t C, T eps) {
  const Isa isa = active_isa();
  parallel_for(rows, 3 * C, [&](int64_t begin, int64_t end) {
    run_kernel<softmax_detail::CrossEntropyForward>(isa, logits, targets, loss, row_max_out, log_sum, begin, end, C,
                                                    eps);
  });
}

// gx[r, c] = scale[r] * (p[r, c] - (1 - eps) [c == t_r] - eps / C); 0 for ignored rows.
// logits, gx: [rows, C]; targets, row_max, log_sum, scale: [rows].
template <class T>
void cross_entropy_backward_rows(const T* logits, const int64_t* targets, const T* row_max_in, const T* log_sum,
                                 const T* scale, T* gx, int64_t rows, int64_t C, T eps) {
  const Isa isa = active_isa();
  parallel_for(rows, 2 * C, [&](int64_t begin, int64_t end) {
    run_kernel<softmax_detail::CrossEntropyBackward>(isa, logits, targets, row_max_in, log_sum, scale, gx, begin, end,
                                                     C, eps);
  });
}

}  // namespace chord::cpu
