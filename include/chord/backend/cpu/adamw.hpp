#pragma once
// The fused AdamW update on raw buffers (Loshchilov & Hutter, "Decoupled
// Weight Decay Regularization", Algorithm 2; the form torch.optim.AdamW uses):
//
//   p <- p * (1 - lr * weight_decay)
//   m <- beta1 m + (1 - beta1) g
//   v <- beta2 v + (1 - beta2) g^2
//   p <- p - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)

#include <cmath>
#include <cstdint>

#include "chord/backend/cpu/isa.hpp"
#include "chord/backend/cpu/parallel.hpp"
#include "chord/backend/cpu/vector_math.hpp"

namespace chord::cpu {

struct AdamWStep {
  double lr, beta1, beta2, eps, weight_decay;
  int64_t t;  // the step number, from 1
};

namespace adamw_detail {

// Elements [begin, end) of the update, with the step's constants precomputed.
struct Update {
  template <class T>
  static void run(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, int64_t begin, int64_t end, T b1, T b2, T eps,
                  T decay, T step_size, T bias2_sqrt) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) {
      const T g = grad[i];
      const T m = b1 * exp_avg[i] + (T(1) - b1) * g;
      const T v = b2 * exp_avg_sq[i] + (T(1) - b2) * g * g;
      exp_avg[i] = m;
      exp_avg_sq[i] = v;
      param[i] = param[i] * decay - step_size * m / (vector_sqrt(v) / bias2_sqrt + eps);
    }
  }
};

}  // namespace adamw_detail

// param, grad, exp_avg (m), exp_avg_sq (v): contiguous buffers of n elements. Runs
// through run_kernel (vector_math.hpp): AVX-512 or AVX2 where the CPU has them; the
// square root is vector_sqrt (within 1 ulp), since std::sqrt keeps the loop scalar.
template <class T>
void adamw_update(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, int64_t n, const AdamWStep& s) {
  const T b1 = static_cast<T>(s.beta1), b2 = static_cast<T>(s.beta2);
  const T eps = static_cast<T>(s.eps);
  const T decay = static_cast<T>(1.0 - s.lr * s.weight_decay);
  const T bias1 = static_cast<T>(1.0 - std::pow(s.beta1, static_cast<double>(s.t)));
  const T bias2_sqrt = static_cast<T>(std::sqrt(1.0 - std::pow(s.beta2, static_cast<double>(s.t))));
  const T step_size = static_cast<T>(s.lr) / bias1;
  const Isa isa = active_isa();
  parallel_for(n, 8, [&](int64_t begin, int64_t end) {
    run_kernel<adamw_detail::Update>(isa, param, grad, exp_avg, exp_avg_sq, begin, end, b1, b2, eps, decay, step_size,
                                     bias2_sqrt);
  });
}

}  // namespace chord::cpu
