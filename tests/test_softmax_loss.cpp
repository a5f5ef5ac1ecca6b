// softmax, log_softmax and the fused cross_entropy.

#include <cmath>
#include <limits>
#include <vector>

#include "test_util.hpp"

using namespace chord;
using namespace chord::testing;

namespace {

// softmax of one row, in double, the textbook way (inputs small enough not to overflow).
std::vector<double> naive_softmax(const std::vector<double>& x) {
  double s = 0;
  for (double v : x) s += std::exp(v);
  std::vector<double> p;
  for (double v : x) p.push_back(std::exp(v) / s);
  return p;
}

double naive_lse(const std::vector<double>& x) {
  double s = 0;
  for (double v : x) s += std::exp(v);
  return std::log(s);
}

}  // namespace

TEST_CASE("softmax and log_softmax give hand-computed values along the last dim") {
  const TensorD x = tensor<double>({{1, 2, 3}, {1, 1, 1}});
  const std::vector<double> p0 = naive_softmax({1, 2, 3});
  check_values(softmax(x, 1), {p0[0], p0[1], p0[2], 1.0 / 3, 1.0 / 3, 1.0 / 3});
  check_values(softmax(x, -1), {p0[0], p0[1], p0[2], 1.0 / 3, 1.0 / 3, 1.0 / 3});
  check_values(log_softmax(x, -1), {std::log(p0[0]), std::log(p0[1]), std::log(p0[2]), -std::log(3.0),
                                    -std::log(3.0), -std::log(3.0)});
  CHECK(softmax(x, 1).shape() == Shape{2, 3});
}

TEST_CASE("softmax along a leading dim normalizes that dim and keeps the shape") {
  const TensorD x = tensor<double>({{1, 2, 3}, {1, 1, 1}});
  const TensorD y = softmax(x, 0);
  CHECK(y.shape() == Shape{2, 3});
  const double e = std::exp(1.0);
  check_values(y, {0.5, e / (e + 1), e * e / (e * e + 1), 0.5, 1 / (e + 1), 1 / (e * e + 1)});
  check_values(sum(y, {0}), {1, 1, 1});
  check_values(log_softmax(x, -2), {std::log(0.5), std::log(e / (e + 1)), std::log(e * e / (e * e + 1)),
                                    std::log(0.5), std::log(1 / (e + 1)), std::log(1 / (e * e + 1))});
}

TEST_CASE("softmax rows sum to 1 along every dim of a 3-D tensor, in float and double") {
  Generator gen(3);
  const TensorD x = TensorD::randn({3, 4, 5}, gen);
  for (int64_t d : {0, 1, 2, -1, -2, -3}) {
    const TensorD y = softmax(x, d);
    CHECK(y.shape() == x.shape());
    const std::vector<double> s = sum(y, {d}).to_vector();
    for (double v : s) CHECK(v == doctest::Approx(1.0).epsilon(1e-12));
    // log_softmax agrees with log(softmax).
    const std::vector<double> a = log_softmax(x, d).to_vector(), b = log(y).to_vector();
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i] == doctest::Approx(b[i]).epsilon(1e-12));
  }
  const Tensor<float> xf = Tensor<float>::randn({6, 7}, gen);
  for (float v : sum(softmax(xf, 1), {1}).to_vector()) CHECK(v == doctest::Approx(1.0).epsilon(1e-6));
}

TEST_CASE("softmax of a non-contiguous input equals softmax of its contiguous copy") {
  Generator gen(5);
  const TensorD base = TensorD::randn({4, 6}, gen);
  const TensorD t = base.transpose(0, 1);  // [6, 4], non-contiguous
  const TensorD s = base.slice(1, 0, 6, 2);  // [4, 3], strided
  for (int64_t d : {0, 1}) {
    check_values(softmax(t, d), softmax(t.contiguous(), d).contiguous().to_vector(), 1e-14);
    check_values(log_softmax(s, d), log_softmax(s.contiguous(), d).contiguous().to_vector(), 1e-14);
  }
}

TEST_CASE("softmax and log_softmax are stable for large logits") {
  const Tensor<float> x = tensor<float>({{1000, 1001, 1002}, {-1000, -1001, -1002}});
  const std::vector<double> p = naive_softmax({0, 1, 2}), q = naive_softmax({0, -1, -2});
  check_values(softmax(x, 1), {p[0], p[1], p[2], q[0], q[1], q[2]}, 1e-6);
  check_values(log_softmax(x, 1), {std::log(p[0]), std::log(p[1]), std::log(p[2]), std::log(q[0]), std::log(q[1]),
                                   std::log(q[2])},
               1e-6);
  // A class far below the others: its log-probability stays finite (no log(0)).
  const Tensor<float> far = tensor<float>({{0, -200}});
  const std::vector<float> lp = log_softmax(far, 1).to_vector();
  CHECK(std::isfinite(lp[1]));
  CHECK(lp[1] == doctest::Approx(-200).epsilon(1e-6));
}

TEST_CASE("softmax of a 0-d tensor is 1, log_softmax 0; a dim out of range is an error") {
  CHECK(softmax(TensorD::scalar(3), 0).item() == 1);
  CHECK(log_softmax(TensorD::scalar(3), -1).item() == 0);
  CHORD_CHECK_ERROR(softmax(TensorD::ones({2, 3}), 2), "softmax: dim 2 is out of range");
  CHORD_CHECK_ERROR(log_softmax(TensorD::ones({2, 3}), -3), "log_softmax: dim -3 is out of range");
  CHORD_CHECK_ERROR(softmax(TensorD(), 0), "softmax: the input tensor is undefined");
}

TEST_CASE("softmax and log_softmax gradients match finite differences on several dims and layouts") {
  for (int64_t d : {0, 1, -1}) {
    auto sm = [d](const Inputs& in) { return softmax(in[0], d); };
    auto lsm = [d](const Inputs& in) { return log_softmax(in[0], d); };
    for (const auto& x : {leaf({3, 4}, 1), transposed_leaf({3, 4}, 2), strided_leaf({3, 4}, 3)}) {
      CHORD_CHECK_GRADCHECK(sm, {x});
      CHORD_CHECK_GRADCHECK(lsm, {x});
    }
  }
  auto sm_mid = [](const Inputs& in) { return softmax(in[0], 1); };
  auto lsm_mid = [](const Inputs& in) { return log_softmax(in[0], -2); };
  CHORD_CHECK_GRADCHECK(sm_mid, {leaf({2, 3, 2}, 4)});
  CHORD_CHECK_GRADCHECK(lsm_mid, {transposed_leaf({2, 3, 2}, 5)});
  // Weighted, so the gradient of each output is distinct (the sum of a softmax has zero gradient).
  auto weighted = [](const Inputs& in) { return sum(softmax(in[0], 0) * in[1]); };
  CHORD_CHECK_GRADCHECK(weighted, {leaf({3, 4}, 6), leaf({3, 4}, 7)});
}

TEST_CASE("cross_entropy gives hand-computed values for each reduction") {
  const TensorD logits = tensor<double>({{1, 2, 3}, {1, 0, -1}});
  const Tensor<int64_t> targets = Tensor<int64_t>::from_vector({2, 0});
  const double l0 = naive_lse({1, 2, 3}) - 3, l1 = naive_lse({1, 0, -1}) - 1;
  check_values(cross_entropy(logits, targets), {(l0 + l1) / 2});
  check_values(cross_entropy(logits, targets, {.reduction = Reduction::Sum}), {l0 + l1});
  const TensorD none = cross_entropy(logits, targets, {.reduction = Reduction::None});
  CHECK(none.shape() == Shape{2});
  check_values(none, {l0, l1});
  CHECK(cross_entropy(logits, targets).shape() == Shape{});
  // It is -log_softmax picked at the target.
  const TensorD lsm = log_softmax(logits, 1);
  check_values(none, {-lsm.at({0, 2}), -lsm.at({1, 0})}, 1e-12);
}

TEST_CASE("cross_entropy skips rows whose target is ignore_index") {
  const TensorD logits = tensor<double>({{1, 2, 3}, {1, 0, -1}, {0, 0, 5}});
  const double l0 = naive_lse({1, 2, 3}) - 3, l2 = naive_lse({0, 0, 5}) - 0;
  const Tensor<int64_t> targets = Tensor<int64_t>::from_vector({2, -100, 0});
  check_values(cross_entropy(logits, targets), {(l0 + l2) / 2});
  check_values(cross_entropy(logits, targets, {.reduction = Reduction::Sum}), {l0 + l2});
  check_values(cross_entropy(logits, targets, {.reduction = Reduction::None}), {l0, 0, l2});
  // A custom ignore_index, which may even be a valid class.
  const Tensor<int64_t> t2 = Tensor<int64_t>::from_vector({2, 1, 0});
  check_values(cross_entropy(logits, t2, {.ignore_index = 1}), {(l0 + l2) / 2});

  // The ignored row gets no gradient.
  TensorD x = logits.clone();
  x.set_requires_grad();
  cross_entropy(x, targets).backward();
  const std::vector<double> g = x.grad().to_vector();
  CHECK(g[3] == 0);
  CHECK(g[4] == 0);
  CHECK(g[5] == 0);
  CHECK(g[0] != 0);
}

TEST_CASE("cross_entropy with every row ignored is 0 with a zero gradient (not NaN)") {
  TensorD x = tensor<double>({{1, 2}, {3, 4}});
  x.set_requires_grad();
  const Tensor<int64_t> targets = Tensor<int64_t>::from_vector({-100, -100});
  const TensorD loss = cross_entropy(x, targets);
  CHECK(loss.item() == 0);
  loss.backward();
  check_values(x.grad(), {0, 0, 0, 0});
  CHECK(cross_entropy(x, targets, {.reduction = Reduction::Sum}).item() == 0);
  // An empty batch too.
  CHECK(cross_entropy(TensorD::zeros({0, 3}), Tensor<int64_t>::zeros({0})).item() == 0);
}

TEST_CASE("cross_entropy with label smoothing follows PyTorch's definition") {
  const TensorD logits = tensor<double>({{1, 2, 3}, {1, 0, -1}});
  const Tensor<int64_t> targets = Tensor<int64_t>::from_vector({2, 0});
  const double eps = 0.1;
  // loss = (1 - eps) * nll + eps * mean_c(-log p_c)
  auto smoothed = [eps](const std::vector<double>& x, int t) {
    const double lse = naive_lse(x);
    double mean_nll = 0;
    for (double v : x) mean_nll += (lse - v) / static_cast<double>(x.size());
    return (1 - eps) * (lse - x[t]) + eps * mean_nll;
  };
  const double l0 = smoothed({1, 2, 3}, 2), l1 = smoothed({1, 0, -1}, 0);
  check_values(cross_entropy(logits, targets, {.label_smoothing = eps}), {(l0 + l1) / 2});
  check_values(cross_entropy(logits, targets, {.label_smoothing = eps, .reduction = Reduction::None}), {l0, l1});
  // eps = 1: the target does not matter any more.
  const TensorD a = cross_entropy(logits, targets, {.label_smoothing = 1.0, .reduction = Reduction::None});
  const TensorD b = cross_entropy(logits, Tensor<int64_t>::from_vector({0, 1}),
                                  {.label_smoothing = 1.0, .reduction = Reduction::None});
  check_values(a, b.to_vector(), 1e-12);
}

TEST_CASE("cross_entropy accepts logits [..., C] with targets [...]") {
  Generator gen(9);
  const TensorD logits = TensorD::randn({2, 3, 4}, gen);
  const Tensor<int64_t> targets = Tensor<int64_t>::randint(0, 4, {2, 3}, gen);
  const TensorD none = cross_entropy(logits, targets, {.reduction = Reduction::None});
  CHECK(none.shape() == Shape{2, 3});
  const TensorD flat = cross_entropy(logits.reshape({6, 4}), targets.reshape({6}), {.reduction = Reduction::None});
  check_values(none, flat.to_vector(), 1e-14);
  check_values(cross_entropy(logits, targets), {mean(flat).item()}, 1e-14);
  // A single row: logits [C], target 0-d.
  const TensorD one = cross_entropy(tensor<double>({1, 2, 3}), Tensor<int64_t>::scalar(1));
  check_values(one, {naive_lse({1, 2, 3}) - 2});
}

TEST_CASE("cross_entropy gradient matches finite differences for every reduction, smoothing and layout") {
  const Tensor<int64_t> targets = Tensor<int64_t>::from_vector({2, 0, 3});
  const Tensor<int64_t> with_ignored = Tensor<int64_t>::from_vector({2, -100, 1});
  auto mean_loss = [&](const Inputs& in) { return cross_entropy(in[0], targets); };
  auto sum_loss = [&](const Inputs& in) { return cross_entropy(in[0], targets, {.reduction = Reduction::Sum}); };
  auto none_loss = [&](const Inputs& in) { return cross_entropy(in[0], targets, {.reduction = Reduction::None}); };
  auto smooth_ignored = [&](const Inputs& in) {
    return cross_entropy(in[0], with_ignored, {.label_smoothing = 0.2});
  };
  auto smooth_none = [&](const Inputs& in) {
    return cross_entropy(in[0], with_ignored, {.label_smoothing = 0.3, .reduction = Reduction::None});
  };
  for (const auto& x : {leaf({3, 4}, 1), transposed_leaf({3, 4}, 2), strided_leaf({3, 4}, 3)}) {
    CHORD_CHECK_GRADCHECK(mean_loss, {x});
    CHORD_CHECK_GRADCHECK(sum_loss, {x});
    CHORD_CHECK_GRADCHECK(none_loss, {x});
    CHORD_CHECK_GRADCHECK(smooth_ignored, {x});
    CHORD_CHECK_GRADCHECK(smooth_none, {x});
  }
  const Tensor<int64_t> targets_2d = Tensor<int64_t>::from_vector({0, 2, 1, 1}, {2, 2});
  auto batched = [&](const Inputs& in) { return cross_entropy(in[0], targets_2d); };
  CHORD_CHECK_GRADCHECK(batched, {leaf({2, 2, 3}, 4)});
  // Composed with other ops: the loss scaled by a learned temperature.
  auto scaled = [&](const Inputs& in) { return cross_entropy(in[0] * in[1], targets); };
  CHORD_CHECK_GRADCHECK(scaled, {leaf({3, 4}, 5), leaf({1, 4}, 6)});
}

TEST_CASE("cross_entropy in float is stable for large logits") {
  const Tensor<float> logits = tensor<float>({{1000, 0, -1000}, {-1000, 1000, 0}});
  const Tensor<int64_t> targets = Tensor<int64_t>::from_vector({0, 0});
  const std::vector<float> l = cross_entropy(logits, targets, {.reduction = Reduction::None}).to_vector();
  CHECK(l[0] == doctest::Approx(0).epsilon(1e-6));
  CHECK(l[1] == doctest::Approx(2000));
  // Shifted logits give the shifted-invariant answer to float precision, value and gradient.
  Tensor<float> shifted = tensor<float>({{1000, 1001, 1002}});
  shifted.set_requires_grad();
  const Tensor<float> loss = cross_entropy(shifted, Tensor<int64_t>::from_vector({0}));
  check_values(loss, {naive_lse({0, 1, 2})}, 1e-6);
  loss.backward();
  const std::vector<double> p = naive_softmax({0, 1, 2});
  check_values(shifted.grad(), {p[0] - 1, p[1], p[2]}, 1e-6);
}

TEST_CASE("cross_entropy rejects out-of-range targets, mismatched shapes and bad options") {
  const TensorD logits = TensorD::zeros({3, 4});
  CHORD_CHECK_ERROR(cross_entropy(logits, Tensor<int64_t>::from_vector({0, 4, 1})),
                    "cross_entropy: target 4 at row 1 is out of range for 4 classes");
  CHORD_CHECK_ERROR(cross_entropy(logits, Tensor<int64_t>::from_vector({0, 1, -1})), "target -1 at row 2");
  CHORD_CHECK_ERROR(cross_entropy(logits, Tensor<int64_t>::from_vector({0, 1})),
                    "cross_entropy: targets of shape [2] do not match logits of shape [3,4]");
  CHORD_CHECK_ERROR(cross_entropy(logits, Tensor<int64_t>::zeros({3, 1})), "expected targets of shape [3]");
  CHORD_CHECK_ERROR(cross_entropy(TensorD::scalar(1), Tensor<int64_t>::scalar(0)), "cross_entropy: logits need a class dim");
  CHORD_CHECK_ERROR(cross_entropy(logits, Tensor<int64_t>::zeros({3}), {.label_smoothing = 1.5}),
                    "label_smoothing must be in [0, 1], got 1.5");
  CHORD_CHECK_ERROR(cross_entropy(logits, Tensor<int64_t>()), "cross_entropy: the targets tensor is undefined");
}

TEST_CASE("the graphs of softmax, log_softmax and cross_entropy are freed with their outputs") {
  const int64_t before = autograd::Node<double>::live_count();
  {
    TensorD x = leaf({4, 5}, 1);
    const Tensor<int64_t> targets = Tensor<int64_t>::from_vector({0, 4, -100, 2});
    TensorD loss = cross_entropy(log_softmax(softmax(x, 0), 1), targets, {.label_smoothing = 0.1});
    loss.backward();
    CHECK(x.grad().defined());
  }
  CHECK(autograd::Node<double>::live_count() == before);
}
