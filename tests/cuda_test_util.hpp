#pragma once
// Helpers of the GPU tests (tests/test_cuda_*.cpp). They compile in every build,
// with or without CUDA; without a GPU each test says why and is reported as skipped
// (test_skip.hpp), never as passed.

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "test_skip.hpp"
#include "test_util.hpp"

// Skips the current test case when there is no GPU to run it on.
#define CHORD_SKIP_WITHOUT_CUDA()                                                                  \
  do {                                                                                             \
    if (!::chord::cuda::is_available())                                                            \
      CHORD_SKIP_TEST(::chord::built_with_cuda() ? "no CUDA device (this build has CUDA; run it on a GPU)" \
                                                 : "no CUDA device (this build has no CUDA)");     \
  } while (0)

namespace chord::testing {

inline const Device kGpu = Device::cuda(0);
inline const Device kCpu = Device::cpu();

// CHECK bit equality (for copies, fills, selections, integer results).
template <class T>
void check_equal(const Tensor<T>& gpu, const Tensor<T>& cpu) {
  REQUIRE(gpu.shape() == cpu.shape());
  const std::vector<T> got = gpu.to_vector(), want = cpu.to_vector();
  CHECK(got == want);
}

// The same values as x, on the GPU (a leaf that requires grad when x does).
template <FloatingPoint T>
Tensor<T> gpu_leaf(const Tensor<T>& x) {
  Tensor<T> y = x.detach().to(kGpu);
  if (x.requires_grad()) y.set_requires_grad(true);
  return y;
}

// gradcheck of f run on the GPU: the (cpu, double) inputs are moved to the GPU inside the
// function and the result moved back, so the gradients flow through the GPU kernels.
#define CHORD_CHECK_GPU_GRADCHECK(f, ...)                                                              \
  CHORD_CHECK_GRADCHECK(                                                                                \
      [&](const std::vector<::chord::Tensor<double>>& in) {                                            \
        std::vector<::chord::Tensor<double>> on_gpu;                                                    \
        for (const auto& t : in) on_gpu.push_back(t.defined() ? t.to(::chord::testing::kGpu) : t);     \
        return (f)(on_gpu).to(::chord::testing::kCpu);                                                  \
      },                                                                                                \
      __VA_ARGS__)

// A tensor of `shape` on the CPU, random normal with standard deviation `scale`.
template <FloatingPoint T>
Tensor<T> randn_t(const Shape& shape, uint64_t seed, double scale = 1.0) {
  Generator gen(seed);
  return Tensor<T>::randn(shape, gen, T(0), static_cast<T>(scale));
}

// Tolerance for a float sum of n terms of magnitude about 1: a few ulps times sqrt(n).
inline double float_sum_rtol(int64_t n) { return 4 * 1.2e-7 * std::sqrt(static_cast<double>(std::max<int64_t>(n, 1))); }

}  // namespace chord::testing
