// layer_norm and dropout.

#include <cmath>
#include <limits>
#include <vector>

#include "test_util.hpp"

using namespace chord;
using namespace chord::testing;

namespace {

// layer norm of rows of `x` (row-major [rows, D]) the textbook way, in double.
std::vector<double> naive_layer_norm(const std::vector<double>& x, int64_t D, const std::vector<double>& w,
                                     const std::vector<double>& b, double eps) {
  std::vector<double> y(x.size());
  for (std::size_t r = 0; r < x.size() / D; ++r) {
    double mean = 0, var = 0;
    for (int64_t i = 0; i < D; ++i) mean += x[r * D + i] / D;
    for (int64_t i = 0; i < D; ++i) var += (x[r * D + i] - mean) * (x[r * D + i] - mean) / D;
    for (int64_t i = 0; i < D; ++i) {
      const double xhat = (x[r * D + i] - mean) / std::sqrt(var + eps);
      y[r * D + i] = xhat * (w.empty() ? 1.0 : w[i]) + (b.empty() ? 0.0 : b[i]);
    }
  }
  return y;
}

}  // namespace

TEST_CASE("layer_norm matches a naive computation, with and without weight and bias") {
  Generator gen(1);
  const TensorD x = TensorD::randn({3, 5}, gen);
  const TensorD w = TensorD::randn({5}, gen);
  const TensorD b = TensorD::randn({5}, gen);
  const std::vector<double> xv = x.to_vector(), wv = w.to_vector(), bv = b.to_vector();
  check_values(layer_norm(x, w, b), naive_layer_norm(xv, 5, wv, bv, 1e-5), 1e-12);
  check_values(layer_norm(x), naive_layer_norm(xv, 5, {}, {}, 1e-5), 1e-12);
  check_values(layer_norm(x, w), naive_layer_norm(xv, 5, wv, {}, 1e-5), 1e-12);
  check_values(layer_norm(x, TensorD(), b, 0.1), naive_layer_norm(xv, 5, {}, bv, 0.1), 1e-12);
  CHECK(layer_norm(x, w, b).shape() == Shape{3, 5});

  // Hand-computed row: [1, 2, 3] has mean 2 and variance 2/3.
  const double s = std::sqrt(2.0 / 3.0 + 1e-5);
  check_values(layer_norm(tensor<double>({{1, 2, 3}})), {-1 / s, 0, 1 / s}, 1e-12);

  // Float, 3-D, rows far from 0.
  Tensor<float> xf = Tensor<float>::randn({2, 3, 8}, gen);
  std::vector<double> xfd;
  for (float v : xf.to_vector()) xfd.push_back(v);
  check_values(layer_norm(xf), naive_layer_norm(xfd, 8, {}, {}, 1e-5), 1e-5);
  const Tensor<float> far = xf + 1000.0f;
  check_values(layer_norm(far), naive_layer_norm(xfd, 8, {}, {}, 1e-5), 1e-3);
}

TEST_CASE("layer_norm of a non-contiguous input equals layer_norm of its contiguous copy") {
  Generator gen(2);
  const TensorD base = TensorD::randn({6, 4}, gen);
  const TensorD t = base.transpose(0, 1);    // [4, 6]
  const TensorD s = base.slice(1, 0, 4, 2);  // [6, 2]
  const TensorD w = TensorD::randn({6}, gen), b = TensorD::randn({6}, gen);
  check_values(layer_norm(t, w, b), layer_norm(t.contiguous(), w, b).to_vector(), 1e-14);
  check_values(layer_norm(s), layer_norm(s.contiguous()).to_vector(), 1e-14);
}

TEST_CASE("layer_norm gradients for x, weight and bias together match finite differences") {
  auto ln = [](const Inputs& in) { return layer_norm(in[0], in[1], in[2]); };
  CHORD_CHECK_GRADCHECK(ln, {leaf({3, 5}, 1), leaf({5}, 2), leaf({5}, 3)});
  CHORD_CHECK_GRADCHECK(ln, {transposed_leaf({3, 5}, 4), leaf({5}, 5), leaf({5}, 6)});
  CHORD_CHECK_GRADCHECK(ln, {strided_leaf({3, 5}, 7), leaf({5}, 8), leaf({5}, 9)});
  CHORD_CHECK_GRADCHECK(ln, {leaf({2, 3, 4}, 10), leaf({4}, 11), leaf({4}, 12)});
  // Parameters given as non-contiguous views.
  CHORD_CHECK_GRADCHECK(ln, {leaf({3, 4}, 13), strided_leaf({4}, 14), strided_leaf({4}, 15)});
  // Only some inputs require grad, or some are missing.
  auto ln_plain = [](const Inputs& in) { return layer_norm(in[0]); };
  CHORD_CHECK_GRADCHECK(ln_plain, {transposed_leaf({4, 3}, 16)});
  auto ln_bias = [](const Inputs& in) { return layer_norm(in[0], TensorD(), in[1], 0.01); };
  CHORD_CHECK_GRADCHECK(ln_bias, {leaf({3, 4}, 17), leaf({4}, 18)});
  Generator gen(19);
  const TensorD frozen_x = TensorD::randn({3, 4}, gen);
  auto ln_params_only = [](const Inputs& in) { return layer_norm(in[0], in[1], in[2]); };
  CHORD_CHECK_GRADCHECK(ln_params_only, {frozen_x, leaf({4}, 20), leaf({4}, 21)});
}

TEST_CASE("layer_norm weight and bias gradients are bit-identical for 1 and 2 threads") {
  Generator gen(3);
  TensorD x = TensorD::randn({2048, 48}, gen);
  TensorD w = TensorD::randn({48}, gen);
  TensorD b = TensorD::randn({48}, gen);
  const TensorD g = TensorD::randn({2048, 48}, gen);
  x.set_requires_grad();
  w.set_requires_grad();
  b.set_requires_grad();
  const int saved_threads = cpu::num_threads();
  std::vector<std::vector<double>> grads[2];
  for (int threads : {1, 2}) {
    cpu::set_num_threads(threads);
    x.set_grad(TensorD());
    w.set_grad(TensorD());
    b.set_grad(TensorD());
    layer_norm(x, w, b).backward(g);
    grads[threads - 1] = {x.grad().to_vector(), w.grad().to_vector(), b.grad().to_vector()};
  }
  cpu::set_num_threads(saved_threads);
  CHECK(grads[0] == grads[1]);
  // And the bias gradient is the column sum of g.
  check_values(b.grad(), sum(g, {0}).to_vector(), 1e-12);
}

TEST_CASE("layer_norm rejects mismatched weight or bias and inputs without a normalized dim") {
  const TensorD x = TensorD::ones({2, 3});
  CHORD_CHECK_ERROR(layer_norm(x, TensorD::ones({4})), "layer_norm: weight of shape [4] does not match input of shape [2,3]");
  CHORD_CHECK_ERROR(layer_norm(x, TensorD::ones({3}), TensorD::ones({2, 3})), "layer_norm: bias of shape [2,3]");
  CHORD_CHECK_ERROR(layer_norm(TensorD::scalar(1)), "layer_norm: expects an input with at least 1 dim");
  CHORD_CHECK_ERROR(layer_norm(TensorD::ones({2, 0})), "layer_norm: the normalized (last) dim of shape [2,0] is empty");
  CHORD_CHECK_ERROR(layer_norm(x, TensorD(), TensorD(), -1.0), "layer_norm: eps must be non-negative");
  CHORD_CHECK_ERROR(layer_norm(TensorD()), "layer_norm: the input tensor is undefined");
}

TEST_CASE("dropout in eval mode or with p = 0 returns the input itself") {
  const TensorD x = leaf({3, 4}, 1);
  Generator gen(1);
  const TensorD a = dropout(x, 0.5, /*train=*/false, gen);
  CHECK(a.impl_ptr() == x.impl_ptr());
  const TensorD b = dropout(x, 0.0, /*train=*/true, gen);
  CHECK(b.impl_ptr() == x.impl_ptr());
}

TEST_CASE("dropout zeroes about a fraction p and scales the survivors by 1 / (1 - p)") {
  const Tensor<float> x = Tensor<float>::ones({100, 100});
  Generator gen(42);
  const double p = 0.3;
  const std::vector<float> y = dropout(x, p, true, gen).to_vector();
  int64_t zeros = 0;
  for (float v : y) {
    if (v == 0) ++zeros;
    else CHECK(v == doctest::Approx(1.0 / 0.7).epsilon(1e-6));
  }
  // 10k Bernoulli(0.3) draws: standard deviation about 46 zeros.
  CHECK(std::abs(static_cast<double>(zeros) - 3000) < 250);
}

TEST_CASE("dropout draws the same mask from the same seed, and another mask from another seed") {
  const TensorD x = TensorD::ones({50, 20});
  Generator g1(7), g2(7), g3(8);
  const std::vector<double> a = dropout(x, 0.5, true, g1).to_vector();
  const std::vector<double> b = dropout(x, 0.5, true, g2).to_vector();
  const std::vector<double> c = dropout(x, 0.5, true, g3).to_vector();
  CHECK(a == b);
  CHECK(a != c);
  // The generator advanced: the next mask differs from the first.
  CHECK(dropout(x, 0.5, true, g1).to_vector() != a);
  // A non-contiguous input gets the mask in row-major order, like its contiguous copy.
  Generator g0(1);
  const TensorD base = TensorD::randn({20, 50}, g0);
  Generator g4(9), g5(9);
  check_values(dropout(base.t(), 0.5, true, g4), dropout(base.t().contiguous(), 0.5, true, g5).to_vector(), 0);
}

TEST_CASE("dropout's gradient is the same mask times 1 / (1 - p)") {
  TensorD x = leaf({20, 30}, 3);
  Generator gen(5);
  const double p = 0.25;
  const TensorD y = dropout(x, p, true, gen);
  const TensorD g = TensorD::randn({20, 30}, gen);
  y.backward(g);
  const std::vector<double> xv = x.to_vector(), yv = y.to_vector(), gv = g.to_vector(), gx = x.grad().to_vector();
  for (std::size_t i = 0; i < xv.size(); ++i) {
    const double mask = yv[i] == 0 ? 0.0 : 1.0 / (1 - p);
    CHECK(yv[i] == doctest::Approx(xv[i] * mask));
    CHECK(gx[i] == doctest::Approx(gv[i] * mask));
  }
}

TEST_CASE("dropout with p = 1 gives zeros; p outside [0, 1] is an error") {
  const TensorD x = leaf({4, 5}, 4);
  Generator gen(6);
  const TensorD y = dropout(x, 1.0, true, gen);
  check_values(y, std::vector<double>(20, 0.0), 0);
  sum(y).backward();
  check_values(x.grad(), std::vector<double>(20, 0.0), 0);
  CHORD_CHECK_ERROR(dropout(x, -0.1, true, gen), "dropout: probability p must be in [0, 1], got -0.1");
  CHORD_CHECK_ERROR(dropout(x, 1.5, false, gen), "dropout: probability p must be in [0, 1], got 1.5");
  CHORD_CHECK_ERROR(dropout(x, std::numeric_limits<double>::quiet_NaN(), true, gen), "dropout: probability p");
}
