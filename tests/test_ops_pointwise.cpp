// Elementwise ops: arithmetic, pointwise math and activations, comparisons,
// selection, and the sum/mean reductions. Forward values by hand, gradients
// against finite differences (contiguous, transposed, strided, broadcast
// inputs), the documented gradient at kinks, and bit-identical results for any
// thread count.

#include <cstring>
#include <functional>
#include <limits>
#include <numbers>

#include "test_util.hpp"

using namespace chord;
using chord::testing::check_values;
using chord::testing::Inputs;
using chord::testing::leaf;
using chord::testing::strided_leaf;
using chord::testing::TensorD;
using chord::testing::transposed_leaf;

namespace {

using Unary = std::function<TensorD(const TensorD&)>;
using Binary = std::function<TensorD(const TensorD&, const TensorD&)>;

// Where an op's inputs must stay (moved there in place, before the leaf is used).
enum class Domain { any, positive, away_from_zero };

// Rewrites t's values (through data(), not an op: t is a leaf requiring grad):
// positive -> |v| + 0.5, away_from_zero -> sign(v) (|v| + 0.5).
TensorD constrain(TensorD t, Domain domain) {
  if (domain == Domain::any) return t;
  t.for_each_offset([&](int64_t off) {
    double& v = t.data()[off];
    const double m = std::abs(v) + 0.5;
    v = domain == Domain::positive || v >= 0 ? m : -m;
  });
  return t;
}

// The three layouts every differentiable op is checked on.
std::vector<std::pair<const char*, TensorD>> layouts(const Shape& shape, uint64_t seed, Domain domain) {
  return {{"contiguous", constrain(leaf(shape, seed), domain)},
          {"transposed", constrain(transposed_leaf(shape, seed + 1), domain)},
          {"strided", constrain(strided_leaf(shape, seed + 2), domain)}};
}

double gelu_formula(double x) {
  const double u = std::sqrt(2.0 / std::numbers::pi) * (x + 0.044715 * x * x * x);
  return 0.5 * x * (1.0 + std::tanh(u));
}

}  // namespace

// ---- forward values -----------------------------------------------------------

TEST_CASE("add, sub, mul, div, neg give hand-computed values") {
  auto a = chord::tensor<double>({{1, -2, 3}, {-4, 5, 0.5}});
  auto b = chord::tensor<double>({{2, 4, -1}, {0.5, -5, 2}});
  check_values(a + b, {3, 2, 2, -3.5, 0, 2.5});
  check_values(chord::add(a, b), {3, 2, 2, -3.5, 0, 2.5});
  check_values(chord::add(a, b, 2.0), {5, 6, 1, -3, -5, 4.5});
  check_values(a - b, {-1, -6, 4, -4.5, 10, -1.5});
  check_values(chord::sub(a, b), {-1, -6, 4, -4.5, 10, -1.5});
  check_values(a * b, {2, -8, -3, -2, -25, 1});
  check_values(a / b, {0.5, -0.5, -3, -8, -1, 0.25});
  check_values(-a, {-1, 2, -3, 4, -5, -0.5});
  check_values(chord::neg(a), {-1, 2, -3, 4, -5, -0.5});
  // on non-contiguous operands
  check_values(a.t() * b.t(), {2, -2, -8, -25, -3, 1});
  // float
  auto af = chord::tensor<float>({1.5f, -2.0f});
  check_values(af * af + af, {3.75, 2.0});
}

TEST_CASE("binary ops broadcast: [3,1] with [1,4], [4] with [2,3,4], 0-d with [2,3]") {
  auto col = TensorD::from_vector({1, 2, 3}, {3, 1});
  auto row = TensorD::from_vector({10, 20, 30, 40}, {1, 4});
  auto s = col + row;
  CHECK(s.shape() == Shape{3, 4});
  check_values(s, {11, 21, 31, 41, 12, 22, 32, 42, 13, 23, 33, 43});

  auto v = TensorD::from_vector({1, 2, 3, 4});
  auto cube = TensorD::ones({2, 3, 4});
  auto p = v * cube;
  CHECK(p.shape() == Shape{2, 3, 4});
  CHECK(p.at({1, 2, 3}) == 4);
  CHECK((cube - v).at({0, 1, 0}) == 0);

  auto z = TensorD::scalar(2.0);
  auto m = chord::tensor<double>({{1, 2, 3}, {4, 5, 6}});
  check_values(z * m, {2, 4, 6, 8, 10, 12});
  check_values(m / z, {0.5, 1, 1.5, 2, 2.5, 3});
  check_values(z - m, {1, 0, -1, -2, -3, -4});
}

TEST_CASE("scalar operators work with the scalar on either side") {
  auto x = chord::tensor<double>({1, 2, 4});
  check_values(x + 2.0, {3, 4, 6});
  check_values(2.0 + x, {3, 4, 6});
  check_values(x - 2.0, {-1, 0, 2});
  check_values(2.0 - x, {1, 0, -2});
  check_values(x * 3.0, {3, 6, 12});
  check_values(3.0 * x, {3, 6, 12});
  check_values(x / 2.0, {0.5, 1, 2});
  check_values(8.0 / x, {8, 4, 2});
  auto f = chord::tensor<float>({1, 2});
  check_values(f + 1, {2, 3});  // an int scalar converts to the element type
  check_values(1.5f * f, {1.5, 3});
  check_values(1 - f, {0, -1});
}

TEST_CASE("pow with a scalar and with a tensor exponent") {
  auto a = chord::tensor<double>({1, -2, 3, 0.5});
  check_values(chord::pow(a, 2.0), {1, 4, 9, 0.25});
  check_values(chord::pow(a, 3.0), {1, -8, 27, 0.125});
  check_values(chord::pow(a, 0.0), {1, 1, 1, 1});
  check_values(chord::pow(chord::tensor<double>({4, 9, 0.25}), 0.5), {2, 3, 0.5});
  check_values(chord::pow(chord::tensor<double>({2, 4}), -1.0), {0.5, 0.25});
  auto base = chord::tensor<double>({2, 3, 4});
  auto e = chord::tensor<double>({3, 0.5, -1});
  check_values(chord::pow(base, e), {8, std::sqrt(3.0), 0.25});
  check_values(chord::pow(base, TensorD::scalar(2.0)), {4, 9, 16});  // broadcast exponent
}

TEST_CASE("exp, log, sqrt, abs, tanh give hand-computed values") {
  const double e = std::numbers::e;
  check_values(chord::exp(chord::tensor<double>({0, 1, -1})), {1, e, 1 / e});
  check_values(chord::log(chord::tensor<double>({1, e, 0.5})), {0, 1, -std::numbers::ln2});
  check_values(chord::sqrt(chord::tensor<double>({0, 4, 2.25})), {0, 2, 1.5});
  check_values(chord::abs(chord::tensor<double>({-3, 0, 2.5})), {3, 0, 2.5});
  check_values(chord::tanh(chord::tensor<double>({0, 0.5, -1000, 1000})), {0, 0.46211715726000974, -1, 1});
  CHECK(std::isinf(chord::log(TensorD::zeros({1})).item()));
}

TEST_CASE("sigmoid gives hand-computed values and no NaN at +-1000") {
  check_values(chord::sigmoid(chord::tensor<double>({0, 2, -2, -1000, 1000})),
               {0.5, 0.8807970779778823, 0.11920292202211755, 0, 1});
  auto f = chord::sigmoid(chord::tensor<float>({-1000.0f, -100.0f, 100.0f, 1000.0f}));
  for (float v : f.to_vector()) CHECK_FALSE(std::isnan(v));
  check_values(f, {0, 0, 1, 1});
  // its gradient is finite there too
  auto x = chord::tensor<double>({-1000, 1000});
  x.set_requires_grad();
  chord::sigmoid(x).sum().backward();
  check_values(x.grad(), {0, 0});
}

TEST_CASE("relu, gelu (tanh form) and clamp give hand-computed values") {
  check_values(chord::relu(chord::tensor<double>({-1, 0, 2})), {0, 0, 2});
  const std::vector<double> points = {-3, -2, -0.5, 0, 0.1, 1, 3};
  std::vector<double> expected;
  for (double p : points) expected.push_back(gelu_formula(p));
  check_values(chord::gelu(TensorD::from_vector(points)), expected, 1e-12);
  // the tanh form agrees with x * Phi(x) to about 1e-3
  for (double p : points) CHECK(std::abs(gelu_formula(p) - 0.5 * p * (1 + std::erf(p / std::sqrt(2.0)))) < 1e-3);
  CHECK(gelu_formula(1.0) == doctest::Approx(0.8411919906));

  auto x = chord::tensor<double>({-2, -1, 0, 1, 2});
  check_values(chord::clamp(x, -1.0, 1.0), {-1, -1, 0, 1, 1});
  check_values(chord::clamp(x, 0.5, 0.5), {0.5, 0.5, 0.5, 0.5, 0.5});
  check_values(chord::clamp_min(x, 0.0), {0, 0, 0, 1, 2});
  check_values(chord::clamp_max(x, 0.0), {-2, -1, 0, 0, 0});
}

TEST_CASE("minimum, maximum, where and masked_fill select elementwise with broadcasting") {
  auto a = chord::tensor<double>({{1, -2, 3}, {-4, 5, 0.5}});
  auto b = chord::tensor<double>({{2, 4, -1}, {0.5, -5, 0.5}});
  check_values(chord::minimum(a, b), {1, -2, -1, -4, -5, 0.5});
  check_values(chord::maximum(a, b), {2, 4, 3, 0.5, 5, 0.5});
  check_values(chord::maximum(a, TensorD::scalar(0.0)), {1, 0, 3, 0, 5, 0.5});

  auto cond = Tensor<bool>::from_vector({true, false, true, false, true, false}, {2, 3});
  check_values(chord::where(cond, a, b), {1, 4, 3, 0.5, 5, 0.5});
  auto row_cond = Tensor<bool>::from_vector({false, true, false});  // [3] broadcast over rows
  check_values(chord::where(row_cond, a, TensorD::scalar(9.0)), {9, -2, 9, 9, 5, 9});
  auto col_cond = Tensor<bool>::from_vector({true, false}, {2, 1});
  check_values(chord::where(col_cond, TensorD::scalar(1.0), TensorD::scalar(0.0)), {1, 0});

  check_values(chord::masked_fill(a, cond, -7.0), {-7, -2, -7, -4, -7, 0.5});
  check_values(chord::masked_fill(a, row_cond, 0.0), {1, 0, 3, -4, 0, 0.5});
}

TEST_CASE("comparisons give bool tensors, against tensors (broadcast) and scalars") {
  auto a = chord::tensor<double>({1, 2, 3});
  auto b = chord::tensor<double>({3, 2, 1});
  using B = std::vector<bool>;
  CHECK(chord::eq(a, b).to_vector() == B{false, true, false});
  CHECK(chord::ne(a, b).to_vector() == B{true, false, true});
  CHECK(chord::lt(a, b).to_vector() == B{true, false, false});
  CHECK(chord::le(a, b).to_vector() == B{true, true, false});
  CHECK(chord::gt(a, b).to_vector() == B{false, false, true});
  CHECK(chord::ge(a, b).to_vector() == B{false, true, true});
  CHECK(chord::gt(a, 1.5).to_vector() == B{false, true, true});
  CHECK(chord::eq(a, 2.0).to_vector() == B{false, true, false});
  CHECK(chord::le(a, 1.0).to_vector() == B{true, false, false});
  auto col = TensorD::from_vector({2, 0}, {2, 1});
  auto c = chord::lt(col, a);
  CHECK(c.shape() == Shape{2, 3});
  CHECK(c.to_vector() == B{false, false, true, true, true, true});
  auto i = Tensor<int64_t>::from_vector({1, 5});
  CHECK(chord::eq(i, int64_t{5}).to_vector() == B{false, true});
  CHECK(chord::lt(i, Tensor<int64_t>::from_vector({2, 2})).to_vector() == B{true, false});
}

TEST_CASE("sum and mean over all elements and over dims, with and without keepdim") {
  auto x = TensorD::arange(24.0).reshape({2, 3, 4});
  CHECK(chord::sum(x).item() == 276);
  CHECK(x.sum().dim() == 0);
  CHECK(chord::mean(x).item() == 11.5);

  auto s1 = chord::sum(x, {1});
  CHECK(s1.shape() == Shape{2, 4});
  check_values(s1, {12, 15, 18, 21, 48, 51, 54, 57});
  auto s1k = chord::sum(x, {1}, true);
  CHECK(s1k.shape() == Shape{2, 1, 4});
  check_values(s1k, {12, 15, 18, 21, 48, 51, 54, 57});

  auto s02 = x.sum({0, 2});
  CHECK(s02.shape() == Shape{3});
  check_values(s02, {60, 92, 124});
  CHECK(x.sum({0, 2}, true).shape() == Shape{1, 3, 1});
  check_values(x.sum({-1}), {6, 22, 38, 54, 70, 86});
  CHECK(x.sum({}, true).shape() == Shape{1, 1, 1});

  auto m = x.mean({0, 1}, true);
  CHECK(m.shape() == Shape{1, 1, 4});
  check_values(m, {10, 11, 12, 13});
  check_values(x.mean({2}), {1.5, 5.5, 9.5, 13.5, 17.5, 21.5});
  // non-contiguous input: [k, j, i] = i*12 + j*4 + k, summed over i
  check_values(x.transpose(0, 2).sum({2}), {12, 20, 28, 14, 22, 30, 16, 24, 32, 18, 26, 34});
  check_values(x.slice(2, 0, 4, 2).mean({0}), {6, 8, 10, 12, 14, 16});
  // an empty reduction sums to 0; the mean of nothing is an error
  check_values(TensorD::zeros({0, 3}).sum({0}), {0, 0, 0});
  CHORD_CHECK_ERROR(TensorD::zeros({0, 3}).mean({0}), "mean");
}

// ---- gradients: finite differences ------------------------------------------------

TEST_CASE("gradcheck every differentiable unary op on contiguous, transposed and strided inputs") {
  const std::vector<std::tuple<const char*, Unary, Domain>> ops = {
      {"neg", [](const TensorD& x) { return chord::neg(x); }, Domain::any},
      {"-x", [](const TensorD& x) { return -x; }, Domain::any},
      {"exp", [](const TensorD& x) { return chord::exp(x); }, Domain::any},
      {"log", [](const TensorD& x) { return chord::log(x); }, Domain::positive},
      {"sqrt", [](const TensorD& x) { return chord::sqrt(x); }, Domain::positive},
      {"abs", [](const TensorD& x) { return chord::abs(x); }, Domain::any},
      {"tanh", [](const TensorD& x) { return chord::tanh(x); }, Domain::any},
      {"sigmoid", [](const TensorD& x) { return chord::sigmoid(x); }, Domain::any},
      {"relu", [](const TensorD& x) { return chord::relu(x); }, Domain::any},
      {"gelu", [](const TensorD& x) { return chord::gelu(x); }, Domain::any},
      {"clamp", [](const TensorD& x) { return chord::clamp(x, -0.5, 0.7); }, Domain::any},
      {"clamp_min", [](const TensorD& x) { return chord::clamp_min(x, 0.1); }, Domain::any},
      {"clamp_max", [](const TensorD& x) { return chord::clamp_max(x, -0.2); }, Domain::any},
      {"pow 2", [](const TensorD& x) { return chord::pow(x, 2.0); }, Domain::any},
      {"pow 3", [](const TensorD& x) { return chord::pow(x, 3.0); }, Domain::any},
      {"pow 0", [](const TensorD& x) { return chord::pow(x, 0.0); }, Domain::any},
      {"pow -1.5", [](const TensorD& x) { return chord::pow(x, -1.5); }, Domain::positive},
      {"pow 0.5", [](const TensorD& x) { return chord::pow(x, 0.5); }, Domain::positive},
      {"x + s", [](const TensorD& x) { return x + 1.5; }, Domain::any},
      {"s + x", [](const TensorD& x) { return 1.5 + x; }, Domain::any},
      {"x - s", [](const TensorD& x) { return x - 1.5; }, Domain::any},
      {"s - x", [](const TensorD& x) { return 1.5 - x; }, Domain::any},
      {"x * s", [](const TensorD& x) { return x * -2.5; }, Domain::any},
      {"s * x", [](const TensorD& x) { return -2.5 * x; }, Domain::any},
      {"x / s", [](const TensorD& x) { return x / 4.0; }, Domain::any},
      {"s / x", [](const TensorD& x) { return 3.0 / x; }, Domain::away_from_zero},
      {"masked_fill", [](const TensorD& x) {
         auto mask = Tensor<bool>::from_vector({true, false, false, true});  // [4] broadcast over rows
         return chord::masked_fill(x, mask, 2.0);
       }, Domain::any},
      {"where self", [](const TensorD& x) { return chord::where(chord::gt(x, 0.0), x, x * x); }, Domain::any},
  };
  uint64_t seed = 100;
  for (const auto& [name, op, domain] : ops) {
    for (const auto& [layout, x] : layouts({3, 4}, seed += 3, domain)) {
      INFO(name << " on a " << layout << " input");
      CHORD_CHECK_GRADCHECK([&op](const Inputs& in) { return op(in[0]); }, {x});
    }
  }
}

TEST_CASE("gradcheck every differentiable binary op on each layout and with broadcasting") {
  const std::vector<std::tuple<const char*, Binary, Domain, Domain>> ops = {
      {"add", [](const TensorD& a, const TensorD& b) { return a + b; }, Domain::any, Domain::any},
      {"add alpha", [](const TensorD& a, const TensorD& b) { return chord::add(a, b, -0.5); }, Domain::any,
       Domain::any},
      {"sub", [](const TensorD& a, const TensorD& b) { return a - b; }, Domain::any, Domain::any},
      {"mul", [](const TensorD& a, const TensorD& b) { return a * b; }, Domain::any, Domain::any},
      {"div", [](const TensorD& a, const TensorD& b) { return a / b; }, Domain::any, Domain::away_from_zero},
      {"pow", [](const TensorD& a, const TensorD& b) { return chord::pow(a, b); }, Domain::positive, Domain::any},
      {"minimum", [](const TensorD& a, const TensorD& b) { return chord::minimum(a, b); }, Domain::any, Domain::any},
      {"maximum", [](const TensorD& a, const TensorD& b) { return chord::maximum(a, b); }, Domain::any, Domain::any},
      {"where", [](const TensorD& a, const TensorD& b) {
         // a condition of its own shape [4], broadcast with both
         auto cond = Tensor<bool>::from_vector({true, false, true, true});
         return chord::where(cond, a, b);
       }, Domain::any, Domain::any},
  };
  // (shape of a, shape of b, layout of a, layout of b): layouts 0 contiguous, 1 transposed, 2 strided
  struct Case {
    Shape a, b;
    int la, lb;
  };
  const std::vector<Case> cases = {
      {{3, 4}, {3, 4}, 0, 0}, {{3, 4}, {3, 4}, 1, 0}, {{3, 4}, {3, 4}, 0, 2}, {{3, 4}, {3, 4}, 1, 2},
      {{3, 1}, {1, 4}, 0, 0}, {{1, 4}, {3, 1}, 2, 0}, {{4}, {2, 3, 4}, 0, 0},  {{2, 3, 4}, {4}, 1, 2},
      {{}, {2, 4}, 0, 0},     {{2, 4}, {}, 1, 0},
  };
  auto make = [](const Shape& shape, int layout, uint64_t seed, Domain domain) {
    if (layout == 1 && shape.size() >= 2) return constrain(transposed_leaf(shape, seed), domain);
    if (layout == 2 && shape.size() >= 1) return constrain(strided_leaf(shape, seed), domain);
    return constrain(leaf(shape, seed), domain);
  };
  uint64_t seed = 500;
  for (const auto& [name, op, da, db] : ops) {
    for (const Case& c : cases) {
      const TensorD a = make(c.a, c.la, ++seed, da), b = make(c.b, c.lb, ++seed, db);
      INFO(name << ": a " << c.a << " (layout " << c.la << "), b " << c.b << " (layout " << c.lb << ")");
      CHORD_CHECK_GRADCHECK([&op](const Inputs& in) { return op(in[0], in[1]); }, {a, b});
    }
  }
}

TEST_CASE("gradcheck when only one input requires grad, and with the same tensor on both sides") {
  auto a = leaf({3, 4}, 900);
  auto b = constrain(leaf({4}, 901), Domain::away_from_zero);
  b.set_requires_grad(false);
  CHORD_CHECK_GRADCHECK([&b](const Inputs& in) { return in[0] / b; }, {a});
  CHORD_CHECK_GRADCHECK([&b](const Inputs& in) { return chord::pow(chord::exp(b), in[0]); }, {a});
  CHORD_CHECK_GRADCHECK([&b](const Inputs& in) { return b * in[0]; }, {a});
  CHORD_CHECK_GRADCHECK([](const Inputs& in) { return in[0] * in[0] + in[0] / (in[0] * in[0] + 1.0); }, {a});
  CHORD_CHECK_GRADCHECK([](const Inputs& in) { return chord::maximum(in[0], in[0].t().t()); }, {a});
}

TEST_CASE("gradcheck sum and mean over dims, with keepdim, on each layout") {
  const std::vector<std::pair<Shape, bool>> reductions = {
      {{}, false}, {{0}, false}, {{1}, true}, {{-1}, false}, {{0, 1}, true}, {{2, 0}, false}};
  for (const auto& [dims, keepdim] : reductions) {
    for (int layout = 0; layout < 3; ++layout) {
      const TensorD x = layout == 0   ? leaf({2, 3, 4}, 40)
                        : layout == 1 ? transposed_leaf({2, 3, 4}, 41)
                                      : strided_leaf({2, 3, 4}, 42);
      INFO("dims " << dims << " keepdim " << keepdim << " layout " << layout);
      CHORD_CHECK_GRADCHECK([&](const Inputs& in) { return chord::sum(in[0], dims, keepdim); }, {x});
      // weight the mean's output so that a misplaced gradient shows
      CHORD_CHECK_GRADCHECK(
          [&](const Inputs& in) {
            TensorD m = chord::mean(in[0], dims, keepdim);
            return m * TensorD::arange(1.0, 1.0 + static_cast<double>(m.numel())).reshape(m.shape());
          },
          {x});
    }
  }
  CHORD_CHECK_GRADCHECK([](const Inputs& in) { return in[0].sum(); }, {leaf({}, 43)});
  CHORD_CHECK_GRADCHECK([](const Inputs& in) { return in[0].mean({0}, true); }, {leaf({}, 44)});
}

// ---- gradients at kinks: the documented convention ----------------------------------

TEST_CASE("relu'(0) = 0 and abs'(0) = 0") {
  auto x = chord::tensor<double>({-1, 0, 2});
  x.set_requires_grad();
  chord::relu(x).sum().backward();
  check_values(x.grad(), {0, 0, 1});

  auto y = chord::tensor<double>({-1, 0, 2});
  y.set_requires_grad();
  chord::abs(y).sum().backward();
  check_values(y.grad(), {-1, 0, 1});
}

TEST_CASE("clamp passes the gradient at its bounds and blocks it outside") {
  auto x = chord::tensor<double>({-2, -1, 0, 1, 2});
  x.set_requires_grad();
  chord::clamp(x, -1.0, 1.0).sum().backward();
  check_values(x.grad(), {0, 1, 1, 1, 0});

  auto y = chord::tensor<double>({-1, 0, 1});
  y.set_requires_grad();
  chord::clamp_min(y, 0.0).sum().backward();
  check_values(y.grad(), {0, 1, 1});
}

TEST_CASE("maximum and minimum split the gradient 0.5 / 0.5 on ties") {
  auto a = chord::tensor<double>({1, 2, 5});
  auto b = chord::tensor<double>({1, 3, 4});
  a.set_requires_grad();
  b.set_requires_grad();
  chord::maximum(a, b).sum().backward();
  check_values(a.grad(), {0.5, 0, 1});
  check_values(b.grad(), {0.5, 1, 0});

  auto c = chord::tensor<double>({1, 2, 5});
  auto d = chord::tensor<double>({1, 3, 4});
  c.set_requires_grad();
  d.set_requires_grad();
  (chord::minimum(c, d) * 2.0).sum().backward();
  check_values(c.grad(), {1, 2, 0});
  check_values(d.grad(), {1, 0, 2});

  // broadcast tie: a scalar tied with two elements collects both halves
  auto s = TensorD::scalar(1.0);
  auto v = chord::tensor<double>({1, 1, 0});
  s.set_requires_grad();
  v.set_requires_grad();
  chord::maximum(s, v).sum().backward();
  CHECK(s.grad().item() == 2.0);  // 0.5 + 0.5 + 1
  check_values(v.grad(), {0.5, 0.5, 0});
}

TEST_CASE("pow's gradient at 0 follows the power rule; sqrt'(0) and log'(0) are +inf") {
  auto x = chord::tensor<double>({0, 2});
  x.set_requires_grad();
  chord::pow(x, 2.0).sum().backward();
  check_values(x.grad(), {0, 4});

  auto y = chord::tensor<double>({0, 2});
  y.set_requires_grad();
  chord::pow(y, 0.0).sum().backward();
  check_values(y.grad(), {0, 0});

  auto z = chord::tensor<double>({0, 4});
  z.set_requires_grad();
  chord::sqrt(z).sum().backward();
  CHECK(std::isinf(z.grad().at({0})));
  CHECK(z.grad().at({0}) > 0);
  CHECK(z.grad().at({1}) == 0.25);

  auto w = chord::tensor<double>({0, 4});
  w.set_requires_grad();
  chord::log(w).sum().backward();
  CHECK(std::isinf(w.grad().at({0})));
  CHECK(w.grad().at({1}) == 0.25);
}

TEST_CASE("masked_fill and where send no gradient to the positions they replace") {
  auto x = chord::tensor<double>({1, 2, 3});
  x.set_requires_grad();
  chord::masked_fill(x, chord::tensor<bool>({false, true, false}), 0.0).sum().backward();
  check_values(x.grad(), {1, 0, 1});

  auto a = chord::tensor<double>({1, 2, 3});
  auto b = chord::tensor<double>({4, 5, 6});
  a.set_requires_grad();
  b.set_requires_grad();
  (chord::where(chord::tensor<bool>({true, false, true}), a, b) * 3.0).sum().backward();
  check_values(a.grad(), {3, 0, 3});
  check_values(b.grad(), {0, 3, 0});
}

// ---- determinism -----------------------------------------------------------------------

TEST_CASE("an elementwise op and a sum over 1M floats are bit-identical with 1 and 2 threads") {
  Generator gen(2024);
  const auto x = Tensor<float>::randn({1 << 20}, gen);
  const auto y = Tensor<float>::randn({1 << 20}, gen);
  const auto m = x.reshape({1024, 1024});
  const int saved_threads = chord::cpu::num_threads();

  auto run = [&](int threads) {
    chord::cpu::set_num_threads(threads);
    std::vector<Tensor<float>> r = {chord::tanh(x) * y + 0.5f, chord::sum(x), chord::mean(x * y),
                                    chord::sum(m, {0}), chord::sum(m, {1}), chord::sum(m.t(), {1})};
    return r;
  };
  const auto one = run(1);
  const auto two = run(2);
  chord::cpu::set_num_threads(saved_threads);
  for (std::size_t i = 0; i < one.size(); ++i) {
    INFO("result " << i);
    REQUIRE(one[i].shape() == two[i].shape());
    CHECK(std::memcmp(one[i].data(), two[i].data(), sizeof(float) * one[i].numel()) == 0);
  }
  // and the sum is right (to float accuracy against a double sum)
  double ref = 0;
  for (float v : x.to_vector()) ref += v;
  CHECK(std::abs(one[1].item() - ref) < 1e-2 * (1 + std::abs(ref)));
}
