// Reductions: sum, mean, max, min, argmax, argmin, logsumexp, var.

#include <cmath>
#include <limits>
#include <vector>

#include "test_util.hpp"

using namespace chord;
using namespace chord::testing;

namespace {

// [[1, 2, 3], [4, 5, 6]]
TensorD two_by_three() { return tensor<double>({{1, 2, 3}, {4, 5, 6}}); }

}  // namespace

TEST_CASE("sum and mean over all elements and over dims give hand-computed values") {
  const TensorD x = two_by_three();
  check_values(sum(x), {21});
  check_values(sum(x, {0}), {5, 7, 9});
  check_values(sum(x, {1}), {6, 15});
  check_values(sum(x, {-1}), {6, 15});
  check_values(sum(x, {0, 1}), {21});
  check_values(mean(x), {3.5});
  check_values(mean(x, {0}), {2.5, 3.5, 4.5});
  check_values(mean(x, {-1}), {2, 5});
  check_values(x.sum({1}), {6, 15});
  check_values(x.mean(), {3.5});
}

TEST_CASE("sum and mean shapes: dims removed, or kept as size 1 with keepdim") {
  const TensorD x = TensorD::ones({2, 3, 4});
  CHECK(sum(x).shape() == Shape{});
  CHECK(sum(x, {1}).shape() == Shape{2, 4});
  CHECK(sum(x, {1}, true).shape() == Shape{2, 1, 4});
  CHECK(sum(x, {0, -1}, true).shape() == Shape{1, 3, 1});
  CHECK(mean(x, {-2}).shape() == Shape{2, 4});
  CHECK(mean(x, {0, 2}, true).shape() == Shape{1, 3, 1});
}

TEST_CASE("reductions reject repeated dims and out-of-range dims") {
  const TensorD x = TensorD::ones({2, 3});
  CHORD_CHECK_ERROR(sum(x, {1, 1}), "sum: dim 1 appears more than once");
  CHORD_CHECK_ERROR(sum(x, {1, -1}), "appears more than once");
  CHORD_CHECK_ERROR(mean(x, {2}), "mean: dim 2 is out of range");
  CHORD_CHECK_ERROR(sum(x, {-3}), "sum: dim -3 is out of range");
  CHORD_CHECK_ERROR(max(x, 2), "max: dim 2 is out of range");
  CHORD_CHECK_ERROR(min(x, -3), "min: dim -3 is out of range");
  CHORD_CHECK_ERROR(argmax(x, 5), "argmax: dim 5 is out of range");
  CHORD_CHECK_ERROR(logsumexp(x, {0, 0}), "logsumexp: dim 0 appears more than once");
  CHORD_CHECK_ERROR(logsumexp(x, {3}), "logsumexp: dim 3 is out of range");
  CHORD_CHECK_ERROR(var(x, {1, -1}), "var: dim -1 appears more than once");
  CHORD_CHECK_ERROR(var(x, {2}), "var: dim 2 is out of range");
  CHORD_CHECK_ERROR(sum(TensorD()), "sum: the input tensor is undefined");
  CHORD_CHECK_ERROR(max(TensorD()), "max: the input tensor is undefined");
}

TEST_CASE("sum and mean gradients match finite differences on contiguous, transposed and strided inputs") {
  auto sum_dim = [](const Inputs& in) { return sum(in[0], {1}); };
  auto sum_keep = [](const Inputs& in) { return sum(in[0], {0, -1}, true); };
  auto mean_all = [](const Inputs& in) { return mean(in[0]); };
  auto mean_dim = [](const Inputs& in) { return mean(in[0], {-1}); };
  for (const auto& x : {leaf({3, 4}, 1), transposed_leaf({3, 4}, 2), strided_leaf({3, 4}, 3)}) {
    CHORD_CHECK_GRADCHECK(sum_dim, {x});
    CHORD_CHECK_GRADCHECK(sum_keep, {x});
    CHORD_CHECK_GRADCHECK(mean_all, {x});
    CHORD_CHECK_GRADCHECK(mean_dim, {x});
  }
  CHORD_CHECK_GRADCHECK(sum_keep, {leaf({2, 3, 2}, 4)});
}

TEST_CASE("max and min over all elements give a 0-d tensor") {
  const TensorD x = tensor<double>({{3, -1, 7}, {2, 7, -5}});
  CHECK(max(x).shape() == Shape{});
  CHECK(max(x).item() == 7);
  CHECK(min(x).item() == -5);
  CHECK(max(x.transpose(0, 1)).item() == 7);
  CHECK(min(TensorD::scalar(4)).item() == 4);
  // int64 tensors work too (no gradient).
  const Tensor<int64_t> ints = Tensor<int64_t>::from_vector({4, -9, 12, 0});
  CHECK(max(ints).item() == 12);
  CHECK(min(ints).item() == -9);
}

TEST_CASE("max and min along a dim give the values, with keepdim and negative dims") {
  const TensorD x = tensor<double>({{3, -1, 7}, {2, 8, -5}});
  check_values(max(x, 0), {3, 8, 7});
  check_values(max(x, 1), {7, 8});
  check_values(max(x, -1), {7, 8});
  check_values(min(x, 0), {2, -1, -5});
  check_values(min(x, -1), {-1, -5});
  CHECK(max(x, 1).shape() == Shape{2});
  CHECK(max(x, 1, true).shape() == Shape{2, 1});
  CHECK(min(x, 0, true).shape() == Shape{1, 3});
  // A transposed input gives the transposed answer.
  check_values(max(x.transpose(0, 1), 0), {7, 8});
  // 3-D, middle dim.
  const TensorD y = TensorD::arange(0, 24).reshape({2, 3, 4});
  check_values(max(y, 1), {8, 9, 10, 11, 20, 21, 22, 23});
  check_values(min(y, -2, true), {0, 1, 2, 3, 12, 13, 14, 15});
  CHECK(min(y, -2, true).shape() == Shape{2, 1, 4});
}

TEST_CASE("max and min propagate NaN") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const TensorD x = tensor<double>({{1, nan, 3}, {4, 5, 6}});
  CHECK(std::isnan(max(x).item()));
  CHECK(std::isnan(min(x).item()));
  const std::vector<double> m = max(x, 1).to_vector();
  CHECK(std::isnan(m[0]));
  CHECK(m[1] == 6);
  CHECK(argmax(x, 1).to_vector() == std::vector<int64_t>{1, 2});
  CHECK(argmin(x, 1).to_vector() == std::vector<int64_t>{1, 0});
}

TEST_CASE("argmax and argmin return int64 indices, the first one on ties") {
  const TensorD x = tensor<double>({{3, 7, 7}, {9, 2, 9}});
  const Tensor<int64_t> am = argmax(x, 1);
  CHECK(am.shape() == Shape{2});
  CHECK(am.to_vector() == std::vector<int64_t>{1, 0});
  CHECK(argmax(x, 0).to_vector() == std::vector<int64_t>{1, 0, 1});
  CHECK(argmin(x, 1).to_vector() == std::vector<int64_t>{0, 1});
  CHECK(argmin(x, -2).to_vector() == std::vector<int64_t>{0, 1, 0});
  CHECK(argmax(x, 1, true).shape() == Shape{2, 1});
  CHECK(argmax(x, 0, true).shape() == Shape{1, 3});
  // Over all elements: the row-major (flattened) index, also for a transposed view.
  CHECK(argmax(x).item() == 3);
  CHECK(argmin(x).item() == 4);
  CHECK(argmax(x).shape() == Shape{});
  const TensorD xt = x.transpose(0, 1);  // [[3, 9], [7, 2], [7, 9]]
  CHECK(argmax(xt).item() == 1);
  CHECK(argmax(xt, 1).to_vector() == std::vector<int64_t>{1, 0, 1});
  // 3-D middle dim, and a strided view.
  const TensorD y = TensorD::arange(0, 24).reshape({2, 3, 4});
  CHECK(argmax(y, 1).to_vector() == std::vector<int64_t>(8, 2));
  const TensorD s = tensor<double>({{5, 0, 1, 0, 6, 0}}).slice(1, 0, 6, 2);  // [[5, 1, 6]]
  CHECK(argmax(s, 1).item() == 2);
  CHECK(argmin(s, 1).item() == 1);
  // int64 input.
  CHECK(argmax(Tensor<int64_t>::from_vector({3, 11, 11, -2})).item() == 1);
  // Not differentiable: the result never requires grad.
  CHECK_FALSE(argmax(leaf({3, 4}, 1), 1).requires_grad());
}

TEST_CASE("max, min and argmax of an empty selection are errors") {
  const TensorD e = TensorD::zeros({2, 0});
  CHORD_CHECK_ERROR(max(e), "max: cannot reduce an empty selection");
  CHORD_CHECK_ERROR(min(e, 1), "min: cannot reduce an empty selection");
  CHORD_CHECK_ERROR(argmax(e, 1), "argmax: cannot take the index");
  CHORD_CHECK_ERROR(argmin(e), "argmin: cannot take the index");
  CHORD_CHECK_ERROR(var(e, {1}), "var: variance of an empty selection");
  CHECK(max(e, 0).shape() == Shape{0});  // reducing a non-empty dim of an empty tensor is fine
}

TEST_CASE("max and min split the gradient evenly among tied extremes") {
  TensorD x = tensor<double>({{1, 5, 5}, {2, 9, 5}});
  x.set_requires_grad();
  max(x).backward();
  check_values(x.grad(), {0, 0, 0, 0, 1, 0});

  TensorD y = tensor<double>({{1, 5, 5}, {2, 9, 5}});
  y.set_requires_grad();
  sum(max(y, 1) * tensor<double>({2, 3})).backward();
  check_values(y.grad(), {0, 1, 1, 0, 3, 0});  // row 0: two ties share 2

  TensorD z = tensor<double>({{4, 4, 4, 4}});
  z.set_requires_grad();
  min(z).backward();
  check_values(z.grad(), {0.25, 0.25, 0.25, 0.25});

  TensorD w = tensor<double>({{1, 0}, {0, 3}});
  w.set_requires_grad();
  min(w, 0, true).backward(tensor<double>({{1, 1}}));
  check_values(w.grad(), {0, 1, 1, 0});
}

TEST_CASE("max and min gradients match finite differences on contiguous, transposed and strided inputs") {
  auto max_all = [](const Inputs& in) { return max(in[0]); };
  auto max_dim = [](const Inputs& in) { return max(in[0], 1); };
  auto min_dim = [](const Inputs& in) { return min(in[0], -2, true); };
  auto min_all = [](const Inputs& in) { return min(in[0]); };
  for (const auto& x : {leaf({3, 4}, 11), transposed_leaf({3, 4}, 12), strided_leaf({3, 4}, 13)}) {
    CHORD_CHECK_GRADCHECK(max_all, {x});
    CHORD_CHECK_GRADCHECK(max_dim, {x});
    CHORD_CHECK_GRADCHECK(min_dim, {x});
    CHORD_CHECK_GRADCHECK(min_all, {x});
  }
  auto max_mid = [](const Inputs& in) { return max(in[0], 1, true); };
  CHORD_CHECK_GRADCHECK(max_mid, {leaf({2, 3, 2}, 14)});
}

TEST_CASE("logsumexp gives hand-computed values and stays finite for large inputs") {
  const TensorD x = tensor<double>({{0, std::log(3.0)}, {1, 1}});
  check_values(logsumexp(x, {1}), {std::log(4.0), 1 + std::log(2.0)});
  check_values(logsumexp(x, {0}), {std::log(1 + std::exp(1.0)), std::log(3 + std::exp(1.0))});
  check_values(logsumexp(x, {}), {std::log(4 + 2 * std::exp(1.0))});
  CHECK(logsumexp(x, {1}, true).shape() == Shape{2, 1});
  CHECK(logsumexp(x, {-1}).shape() == Shape{2});

  const Tensor<float> big = tensor<float>({{1000, 1000}, {-1000, -1000}});
  check_values(logsumexp(big, {1}), {1000 + std::log(2.0), -1000 + std::log(2.0)}, 1e-6);

  const double inf = std::numeric_limits<double>::infinity();
  const TensorD edge = tensor<double>({{-inf, -inf}, {-inf, 2}, {inf, 0}});
  const std::vector<double> l = logsumexp(edge, {1}).to_vector();
  CHECK(l[0] == -inf);
  CHECK(l[1] == doctest::Approx(2));
  CHECK(l[2] == inf);
  // The gradient of an all -inf row is 0, not NaN.
  TensorD e2 = tensor<double>({{-inf, -inf}, {0, 0}});
  e2.set_requires_grad();
  sum(logsumexp(e2, {1})).backward();
  check_values(e2.grad(), {0, 0, 0.5, 0.5});
}

TEST_CASE("logsumexp gradient matches finite differences on contiguous, transposed and strided inputs") {
  auto lse_dim = [](const Inputs& in) { return logsumexp(in[0], {1}); };
  auto lse_keep = [](const Inputs& in) { return logsumexp(in[0], {0}, true); };
  auto lse_all = [](const Inputs& in) { return logsumexp(in[0], {}); };
  for (const auto& x : {leaf({3, 4}, 21), transposed_leaf({3, 4}, 22), strided_leaf({3, 4}, 23)}) {
    CHORD_CHECK_GRADCHECK(lse_dim, {x});
    CHORD_CHECK_GRADCHECK(lse_keep, {x});
    CHORD_CHECK_GRADCHECK(lse_all, {x});
  }
}

TEST_CASE("var gives hand-computed values, unbiased by default") {
  const TensorD x = tensor<double>({{1, 2, 3, 4}, {2, 2, 2, 2}});
  // row 0: mean 2.5, squared deviations sum 5
  check_values(var(x, {1}), {5.0 / 3.0, 0});
  check_values(var(x, {1}, false), {5.0 / 4.0, 0});
  check_values(var(x, {0}), {0.5, 0, 0.5, 2});
  CHECK(var(x, {1}, true, true).shape() == Shape{2, 1});
  CHECK(var(x, {-1}).shape() == Shape{2});
  // all elements: mean 2.25, squared deviations 1.5625+0.0625+0.5625+3.0625+4*0.0625 = 5.5
  check_values(var(x), {5.5 / 7.0});
  check_values(var(x, {}, false), {5.5 / 8.0});
  CHECK(var(x).shape() == Shape{});
  // A single element, unbiased: 0 / 0 = NaN (as in PyTorch); biased: 0.
  CHECK(std::isnan(var(TensorD::ones({1}), {0}).item()));
  CHECK(var(TensorD::ones({1}), {0}, false).item() == 0);
  // Accurate for data far from 0 (two passes).
  const Tensor<float> shifted = tensor<float>({1e4f + 1, 1e4f + 2, 1e4f + 3});
  CHECK(var(shifted).item() == doctest::Approx(1.0).epsilon(1e-5));
}

TEST_CASE("var gradient matches finite differences on contiguous, transposed and strided inputs") {
  auto var_dim = [](const Inputs& in) { return var(in[0], {1}); };
  auto var_biased_keep = [](const Inputs& in) { return var(in[0], {0}, false, true); };
  auto var_all = [](const Inputs& in) { return var(in[0]); };
  for (const auto& x : {leaf({3, 4}, 31), transposed_leaf({3, 4}, 32), strided_leaf({3, 4}, 33)}) {
    CHORD_CHECK_GRADCHECK(var_dim, {x});
    CHORD_CHECK_GRADCHECK(var_biased_keep, {x});
    CHORD_CHECK_GRADCHECK(var_all, {x});
  }
}

TEST_CASE("a sum of a million floats matches a double reference and is bit-identical for 1 and 2 threads") {
  const int64_t n = 1'000'000;
  Generator gen(7);
  const Tensor<float> x = Tensor<float>::rand({n}, gen, -1.0f, 2.0f);
  double reference = 0;
  for (int64_t i = 0; i < n; ++i) reference += static_cast<double>(x.data()[i]);

  const int saved_threads = cpu::num_threads();
  cpu::set_num_threads(1);
  const float one_thread = sum(x).item();
  const float one_thread_rows = sum(x.reshape({1000, 1000}), {1}).sum().item();
  const float one_thread_cols = sum(x.reshape({1000, 1000}), {0}).sum().item();
  const float one_thread_mean = mean(x).item();
  cpu::set_num_threads(2);
  const float two_threads = sum(x).item();
  const float two_threads_rows = sum(x.reshape({1000, 1000}), {1}).sum().item();
  const float two_threads_cols = sum(x.reshape({1000, 1000}), {0}).sum().item();
  const float two_threads_mean = mean(x).item();
  cpu::set_num_threads(saved_threads);

  CHECK(std::abs(one_thread - reference) <= 1e-5 * std::abs(reference) + 1e-2);
  CHECK(std::abs(one_thread_rows - reference) <= 1e-5 * std::abs(reference) + 1e-2);
  CHECK(std::abs(one_thread_cols - reference) <= 1e-5 * std::abs(reference) + 1e-2);
  CHECK(one_thread == two_threads);
  CHECK(one_thread_rows == two_threads_rows);
  CHECK(one_thread_cols == two_threads_cols);
  CHECK(one_thread_mean == two_threads_mean);
}
