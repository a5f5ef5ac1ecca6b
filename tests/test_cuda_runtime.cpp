// CUDA runtime: device tensors, host/device copies, the caching allocator, errors.
// Without a GPU every test but the first is reported as skipped (test_skip.hpp); the
// first checks the error a CUDA request gives there instead.

#include <cstring>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "cuda_test_util.hpp"

using namespace chord;
using namespace chord::testing;

TEST_CASE("cuda: asking for a CUDA tensor without a GPU (or without CUDA) is a chord::Error saying so") {
  if (cuda::is_available()) {
    // A device index past the last GPU names both.
    const int missing = cuda::device_count();
    CHORD_CHECK_ERROR(Tensor<float>::zeros({2}, Device::cuda(missing)), "does not exist");
    return;
  }
  CHECK(cuda::device_count() == 0);
  CHECK_FALSE(cuda::is_available());
  const char* why = built_with_cuda() ? "no CUDA device is available" : "built without CUDA";
  CHORD_CHECK_ERROR(Tensor<float>::zeros({2}, Device::cuda(0)), why);
  CHORD_CHECK_ERROR(chord::ones<double>({3}).to(Device::cuda()), why);
  nn::GPT<float> model(nn::GPTConfig{.vocab_size = 11, .context_length = 8, .n_layer = 1, .n_head = 1, .n_embd = 4});
  CHORD_CHECK_ERROR(model.to(Device::cuda()), why);
  // The calls a CPU-only program may make are harmless.
  CHECK_NOTHROW(cuda::empty_cache());
  CHECK(cuda::allocator_stats().allocated_bytes == 0);
}

TEST_CASE("cuda: to(cuda) then to(cpu) gives the same bits for float, double, int64 and bool tensors") {
  CHORD_SKIP_WITHOUT_CUDA();
  Generator gen(3);
  const auto f = Tensor<float>::randn({3, 5, 7}, gen);
  const auto d = Tensor<double>::randn({4, 1, 9}, gen);
  const auto i = Tensor<int64_t>::randint(-1000, 1000, {17}, gen);
  const auto b = lt(Tensor<double>::randn({6, 6}, gen), 0.0);
  const auto fg = f.to(kGpu);
  CHECK(fg.device() == kGpu);
  CHECK(fg.is_contiguous());
  check_equal(fg.to(kCpu), f);
  check_equal(d.to(kGpu).to(kCpu), d);
  check_equal(i.to(kGpu).to(kCpu), i);
  check_equal(b.to(kGpu).to(kCpu), b);
  // A view that is not contiguous is copied densely.
  check_equal(f.transpose(0, 2).to(kGpu).to(kCpu), f.transpose(0, 2).contiguous());
  check_equal(f.slice(2, 1, 7, 3).to(kGpu), f.slice(2, 1, 7, 3));
  // to() of the device a tensor is on returns the tensor itself.
  CHECK(fg.to(kGpu).impl_ptr() == fg.impl_ptr());
  // Empty tensors.
  CHECK(Tensor<float>::empty({0, 3}).to(kGpu).to(kCpu).numel() == 0);
}

TEST_CASE("cuda: full, zeros, ones, item, at, to_vector of strided views and printing read device tensors") {
  CHORD_SKIP_WITHOUT_CUDA();
  check_equal(Tensor<float>::full({2, 3}, 2.5f, kGpu), Tensor<float>::full({2, 3}, 2.5f));
  check_equal(Tensor<double>::zeros({4}, kGpu), Tensor<double>::zeros({4}));
  check_equal(Tensor<int64_t>::full({5}, -7, kGpu), Tensor<int64_t>::full({5}, -7));
  check_equal(Tensor<bool>::full({3}, true, kGpu), Tensor<bool>::full({3}, true));
  check_equal(chord::ones<float>({2, 2}, kGpu), chord::ones<float>({2, 2}));
  const auto x = chord::arange<double>(0, 24).reshape({2, 3, 4});
  const auto g = x.to(kGpu);
  CHECK(g.at({1, 2, 3}) == 23.0);
  CHECK(g.select(0, 1).select(0, 2).select(0, 1).item() == 21.0);
  CHECK(g.transpose(0, 2).to_vector() == x.transpose(0, 2).to_vector());
  CHECK(g.slice(2, 1, 4, 2).to_vector() == x.slice(2, 1, 4, 2).to_vector());
  CHECK(g.expand({3, 2, 3, 4}).to_vector() == x.expand({3, 2, 3, 4}).to_vector());
  std::ostringstream os;
  os << chord::tensor<float>({1, 2}).to(kGpu);
  CHECK(os.str() == "tensor([1., 2.], device='cuda:0')");
  std::ostringstream view;  // a strided view of device memory, printed in logical order
  view << chord::tensor<double>({{1.5, -2}, {0.25, 4}}).to(kGpu).t();
  CHECK(view.str() == "tensor([[ 1.5000,  0.2500],\n        [-2.0000,  4.0000]], device='cuda:0', dtype=float64)");
  std::ostringstream mask;
  mask << chord::tensor<bool>({true, false}).to(kGpu);
  CHECK(mask.str() == "tensor([ True, False], device='cuda:0', dtype=bool)");
}

TEST_CASE("cuda: the caching allocator reuses a freed block of the same size and empty_cache releases the cache") {
  CHORD_SKIP_WITHOUT_CUDA();
  cuda::synchronize();
  cuda::empty_cache();
  const cuda::AllocatorStats start = cuda::allocator_stats();
  CHECK(start.cached_bytes == 0);
  const float* first = nullptr;
  {
    const auto t = Tensor<float>::empty({1000, 1000}, kGpu);  // 4 MB
    first = t.data();
    CHECK(cuda::allocator_stats().allocated_bytes >= start.allocated_bytes + 4'000'000);
  }
  const cuda::AllocatorStats freed = cuda::allocator_stats();
  CHECK(freed.cached_bytes >= 4'000'000);
  {
    const auto again = Tensor<float>::empty({1000, 1000}, kGpu);
    CHECK(again.data() == first);  // the cached block, no cudaMalloc
    CHECK(cuda::allocator_stats().cuda_mallocs == freed.cuda_mallocs);
    CHECK(cuda::allocator_stats().cache_hits > freed.cache_hits);
  }
  cuda::empty_cache();
  CHECK(cuda::allocator_stats().cached_bytes == 0);
  CHECK(cuda::allocator_stats().peak_allocated_bytes >= 4'000'000);
}

TEST_CASE("cuda: an allocation larger than the GPU is a chord::Error from cudaMalloc, and the GPU stays usable") {
  CHORD_SKIP_WITHOUT_CUDA();
  CHORD_CHECK_ERROR(Tensor<float>::empty({int64_t{1} << 40}, kGpu), "cudaMalloc failed");
  check_equal(chord::ones<float>({3}, kGpu), chord::ones<float>({3}));
}

TEST_CASE("cuda: mixing devices in one op is an error naming both devices") {
  CHORD_SKIP_WITHOUT_CUDA();
  const auto a = chord::ones<float>({3});
  const auto b = chord::ones<float>({3}, kGpu);
  CHORD_CHECK_ERROR(a + b, "cuda:0");
  CHORD_CHECK_ERROR(matmul(a.reshape({1, 3}), b.reshape({3, 1})), "matmul");
  CHORD_CHECK_ERROR(cross_entropy(b.reshape({1, 3}), Tensor<int64_t>::zeros({1})), "cross_entropy");
  // (ids on the cpu with a weight on a GPU are allowed: embedding() uploads them)
  CHORD_CHECK_ERROR(embedding(a.reshape({3, 1}), Tensor<int64_t>::zeros({2}, kGpu)), "embedding");
  CHORD_CHECK_ERROR(cat({a, b}), "cat");
}

TEST_CASE("cuda: an op with no CUDA kernel says it is not implemented on cuda") {
  CHORD_SKIP_WITHOUT_CUDA();
  const auto x = chord::ones<double>({3, 3}, kGpu);
  // A weight packed for the cpu's GEMM kernels (inference on the cpu only).
  const auto w = chord::ones<double>({3, 3});
  const cpu::PackedB<double> packed(3, 3, w.data(), 3, 1);
  CHORD_CHECK_ERROR(linear(x, packed), "not implemented on cuda");
  CHORD_CHECK_ERROR(linear(x, packed), "linear");
  // A lambda cannot run in a kernel.
  CHORD_CHECK_ERROR(ops::map_new<double>("square", x, [](double v) { return v * v; }), "not implemented on cuda");
}

TEST_CASE("cuda: bad indices on the GPU are reported like on the cpu") {
  CHORD_SKIP_WITHOUT_CUDA();
  const auto w = chord::ones<float>({5, 2}, kGpu);
  CHORD_CHECK_ERROR(embedding(w, Tensor<int64_t>::from_vector({0, 5}).to(kGpu)), "id 5");
  CHORD_CHECK_ERROR(embedding(w, Tensor<int64_t>::from_vector({0, 5})), "id 5");  // host ids, checked there
  CHORD_CHECK_ERROR(cross_entropy(w, Tensor<int64_t>::from_vector({0, 1, 7, 0, 1}).to(kGpu)), "target 7");
  CHORD_CHECK_ERROR(token_log_probs(w, Tensor<int64_t>::from_vector({0, 1, -1, 0, 1}).to(kGpu)), "target -1");
}

TEST_CASE("cuda: copy_ across devices, and to() is differentiable in both directions") {
  CHORD_SKIP_WITHOUT_CUDA();
  auto host = chord::zeros<double>({2, 3});
  const auto src = chord::arange<double>(0, 6).reshape({2, 3}).to(kGpu);
  host.copy_(src);
  CHECK(host.to_vector() == std::vector<double>{0, 1, 2, 3, 4, 5});
  auto dev = chord::zeros<double>({3, 2}, kGpu);
  dev.copy_(chord::arange<double>(0, 6).reshape({2, 3}).t());
  CHECK(dev.to_vector() == std::vector<double>{0, 3, 1, 4, 2, 5});

  auto x = leaf({2, 3}, 1);
  auto y = (x.to(kGpu) * x.to(kGpu)).sum();  // on the GPU; gradient back to the cpu leaf
  CHECK(y.device() == kGpu);
  y.backward();
  REQUIRE(x.grad().defined());
  CHECK(x.grad().device() == kCpu);
  check_close(x.grad(), x.detach() * 2.0, 1e-15);
}
