// The autograd engine: gradient accumulation through shared inputs and
// diamonds, repeated backward, retain_graph, explicit gradients, detach,
// no_grad, leaf rules, in-place checks, freeing the graph, deep graphs, and
// gradcheck catching a wrong backward.

#include <cmath>

#include "test_util.hpp"

using namespace chord;
using chord::testing::check_values;
using chord::testing::Inputs;
using chord::testing::leaf;
using chord::testing::TensorD;

namespace {
TensorD leaf_of(std::initializer_list<double> values) {
  TensorD t = chord::tensor<double>(values);
  t.set_requires_grad();
  return t;
}
int64_t live_nodes() { return autograd::Node<double>::live_count(); }
}  // namespace

// ---- the graph ------------------------------------------------------------------------

TEST_CASE("a tensor used twice receives both gradients: d(x*x)/dx = 2x") {
  auto x = leaf_of({1, -2, 3});
  (x * x).sum().backward();
  check_values(x.grad(), {2, -4, 6});

  auto y = leaf_of({0.5, 2});
  (y * y * y + y).sum().backward();  // 3y^2 + 1
  check_values(y.grad(), {1.75, 13});

  // a non-leaf used twice: z = (2w)^2, dz/dw = 8w
  auto w = leaf_of({1, -3});
  auto w2 = w * 2.0;
  (w2 * w2).sum().backward();
  check_values(w.grad(), {8, -24});
}

TEST_CASE("a diamond graph (a -> b, c -> d) sums the gradients of both paths") {
  auto a = leaf_of({0.5, -1, 2});
  auto b = a * 3.0;
  auto c = chord::exp(a);
  auto d = b * c;  // d = 3a e^a, d' = 3 e^a (1 + a)
  d.sum().backward();
  std::vector<double> expected;
  for (double v : {0.5, -1.0, 2.0}) expected.push_back(3 * std::exp(v) * (1 + v));
  check_values(a.grad(), expected);

  // a wider diamond: one input feeding four paths that meet again
  auto x = leaf_of({1.5});
  auto p1 = x * 2.0, p2 = x * x, p3 = chord::tanh(x), p4 = x - 1.0;
  ((p1 + p2) * (p3 + p4)).sum().backward();
  const double v = 1.5, t = std::tanh(v);
  const double expected_x = (2 + 2 * v) * (t + v - 1) + (2 * v + v * v) * (1 - t * t + 1);
  CHECK(x.grad().item() == doctest::Approx(expected_x).epsilon(1e-12));
}

TEST_CASE("gradients accumulate across backward calls until cleared") {
  auto x = leaf_of({1, 2});
  (x * 3.0).sum().backward();
  check_values(x.grad(), {3, 3});
  (x * 3.0).sum().backward();
  check_values(x.grad(), {6, 6});
  x.set_grad(TensorD());  // clearing: the next backward starts from zero
  (x * x).sum().backward();
  check_values(x.grad(), {2, 4});
}

TEST_CASE("retain_graph allows a second backward through the same graph; gradients double") {
  auto x = leaf_of({1, 2});
  auto y = (chord::exp(x) * x).sum();
  y.backward(TensorD(), /*retain_graph=*/true);
  const auto first = x.grad().to_vector();
  y.backward();
  for (std::size_t i = 0; i < first.size(); ++i) CHECK(x.grad().to_vector()[i] == doctest::Approx(2 * first[i]));
}

TEST_CASE("a second backward without retain_graph throws naming the second time") {
  auto x = leaf_of({1, 2});
  auto y = (x * x).sum();
  y.backward();
  CHORD_CHECK_ERROR(y.backward(), "second time");
  CHORD_CHECK_ERROR(y.backward(), "retain_graph");
}

TEST_CASE("backward on a non-scalar needs a gradient of the same shape") {
  auto x = leaf_of({1, 2, 3});
  auto y = x * 2.0;
  CHORD_CHECK_ERROR(y.backward(), "backward");
  CHORD_CHECK_ERROR(y.backward(), "[3]");
  CHORD_CHECK_ERROR(y.backward(TensorD::ones({2})), "does not match");
  CHORD_CHECK_ERROR(y.backward(TensorD::ones({3, 1})), "[3,1]");
  CHECK_FALSE(x.grad().defined());  // the failed calls left nothing behind

  y.backward(chord::tensor<double>({1, 10, 100}));
  check_values(x.grad(), {2, 20, 200});
  // a non-contiguous or expanded gradient is read through its strides
  auto m = leaf({2, 3}, 2);
  (m * 3.0).backward(chord::tensor<double>({{1, 4}, {2, 5}, {3, 6}}).t());
  check_values(m.grad(), {3, 6, 9, 12, 15, 18});
  m.set_grad(TensorD());
  (m * 3.0).backward(TensorD::scalar(0.5).expand({2, 3}));
  check_values(m.grad(), {1.5, 1.5, 1.5, 1.5, 1.5, 1.5});
  // a one-element non-0-d output works without a gradient
  auto z = leaf_of({4});
  (z * z).backward();
  check_values(z.grad(), {8});
}

TEST_CASE("backward on a tensor that does not require grad throws") {
  auto x = chord::tensor<double>({1, 2});
  CHORD_CHECK_ERROR(x.sum().backward(), "does not require grad");
  CHORD_CHECK_ERROR(Tensor<int64_t>::ones({}).backward(), "backward");
}

TEST_CASE("backward of a leaf itself accumulates the seed gradient") {
  auto x = TensorD::scalar(3.0);
  x.set_requires_grad();
  x.backward();
  CHECK(x.grad().item() == 1.0);
}

TEST_CASE("gradients are plain tensors: contiguous, not requiring grad, not aliasing the seed") {
  auto x = leaf({2, 3}, 1);
  auto seed = TensorD::ones({3, 2});
  x.t().backward(seed);
  CHECK(x.grad().is_contiguous());
  CHECK_FALSE(x.grad().requires_grad());
  CHECK_FALSE(x.grad().is_alias_of(seed));
  seed.fill_(5.0);
  check_values(x.grad(), {1, 1, 1, 1, 1, 1});
}

// ---- detach, no_grad, leaves -------------------------------------------------------------

TEST_CASE("detach stops the gradient and shares storage") {
  auto x = leaf_of({1, 2});
  auto d = x.detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.is_leaf());
  CHECK(d.is_alias_of(x));
  (d * x + x).sum().backward();  // d/dx = d + 1, with d treated as a constant
  check_values(x.grad(), {2, 3});
}

TEST_CASE("under no_grad results do not require grad; guards nest and restore the mode") {
  auto x = leaf_of({1, 2});
  CHECK(chord::is_grad_enabled());
  {
    chord::no_grad outer;
    CHECK_FALSE(chord::is_grad_enabled());
    auto y = x * 2.0;
    CHECK_FALSE(y.requires_grad());
    CHECK(y.is_leaf());
    {
      chord::NoGradGuard inner;
      CHECK_FALSE(chord::is_grad_enabled());
    }
    CHECK_FALSE(chord::is_grad_enabled());  // the inner guard restored "off", not "on"
    CHECK_FALSE(chord::exp(x).requires_grad());
    CHECK_FALSE(x.reshape({2, 1}).requires_grad());
  }
  CHECK(chord::is_grad_enabled());
  CHECK((x * 2.0).requires_grad());

  chord::set_grad_enabled(false);
  {
    chord::no_grad guard;
  }
  CHECK_FALSE(chord::is_grad_enabled());  // a guard restores what it found
  chord::set_grad_enabled(true);
}

TEST_CASE("only leaves can be marked; int64 and bool tensors cannot require grad") {
  auto x = leaf_of({1, 2});
  auto y = x * 2.0;
  CHECK_FALSE(y.is_leaf());
  CHORD_CHECK_ERROR(y.set_requires_grad(), "leaf");
  CHORD_CHECK_ERROR(y.set_requires_grad(), "set_requires_grad");
  y.set_requires_grad(false);  // unmarking is allowed
  CHORD_CHECK_ERROR(Tensor<int64_t>::zeros({2}).set_requires_grad(), "only float tensors");
  CHORD_CHECK_ERROR(Tensor<bool>::zeros({2}).set_requires_grad(), "bool");
  CHECK_NOTHROW(Tensor<int64_t>::zeros({2}).set_requires_grad(false));
  auto f = Tensor<float>::ones({2});
  f.set_requires_grad();
  CHECK(f.requires_grad());
}

// ---- in-place rules -----------------------------------------------------------------------

TEST_CASE("in-place ops on a tensor that requires grad are refused (allowed under no_grad)") {
  auto x = leaf_of({1, 2});
  CHORD_CHECK_ERROR(x.fill_(0.0), "in-place");
  CHORD_CHECK_ERROR(x.zero_(), "fill_");
  CHORD_CHECK_ERROR(x.copy_(TensorD::ones({2})), "copy_");
  CHORD_CHECK_ERROR(chord::add_(x, 1.0), "add_");
  CHORD_CHECK_ERROR(chord::mul_(x, TensorD::ones({2})), "mul_");
  auto y = x * 2.0;  // a non-leaf requiring grad
  CHORD_CHECK_ERROR(chord::sub_(y, 1.0), "in-place");
  check_values(x, {1, 2});
  {
    chord::no_grad guard;
    chord::add_(x, 1.0);
  }
  check_values(x, {2, 3});
}

TEST_CASE("modifying a tensor saved for backward in place makes backward throw") {
  auto x = leaf_of({1, 2});
  auto w = chord::tensor<double>({3, 4});  // does not require grad, but mul saves it
  auto y = x * w;
  chord::mul_(w, 2.0);
  CHORD_CHECK_ERROR(y.sum().backward(), "modified by an in-place");
  CHECK_FALSE(x.grad().defined());
  // a graph built after the change is fine
  (x * w).sum().backward();
  check_values(x.grad(), {6, 8});

  // a change through another view of the saved storage is caught too
  auto a = leaf_of({1, 2, 3});
  auto b = chord::tensor<double>({{1, 1, 1}, {2, 2, 2}});
  auto c = a * b;
  auto row = b.select(0, 1);
  row.fill_(0.0);
  CHORD_CHECK_ERROR(c.sum().backward(), "mul");

  // ops that save their own output (exp) notice a change to it
  auto e_in = leaf_of({0, 1});
  auto e = chord::exp(e_in);
  auto e_alias = e.detach();
  chord::mul_(e_alias, 2.0);
  CHORD_CHECK_ERROR(e.sum().backward(), "modified by an in-place");
}

// ---- freeing the graph --------------------------------------------------------------------

TEST_CASE("graph nodes are freed when the tensors go out of scope, with or without backward") {
  const int64_t start = live_nodes();
  {
    auto x = leaf({3, 4}, 10);
    auto y = (chord::exp(x) * chord::tanh(x) + chord::sigmoid(x)).sum();
    CHECK(live_nodes() > start);
    y.backward();
  }
  CHECK(live_nodes() == start);
  {
    auto x = leaf({3, 4}, 11);
    auto w = chord::tensor<double>({1, 2, 3, 4});
    auto y = chord::mean(chord::relu(x * w).t().reshape({12}) / 3.0);
    CHECK(live_nodes() > start);
  }  // no backward at all
  CHECK(live_nodes() == start);
  {
    auto x = leaf({2, 2}, 12);
    auto y = chord::sigmoid(chord::tanh(chord::exp(x))).sum();  // each op saves its own output
    y.backward(TensorD(), /*retain_graph=*/true);
    y.backward(TensorD(), /*retain_graph=*/true);
  }
  CHECK(live_nodes() == start);
  // a leaf that outlives the graph keeps its gradient but no nodes
  auto kept = leaf({3}, 13);
  {
    auto y = (chord::exp(kept) * kept).sum();
    y.backward();
  }
  CHECK(live_nodes() == start);
  CHECK(kept.grad().defined());
  // a failed backward does not leak either
  {
    auto x = leaf({2}, 14);
    auto w = chord::tensor<double>({1, 2});
    auto y = (x * w).sum();
    chord::mul_(w, 2.0);
    CHECK_THROWS_AS(y.backward(), chord::Error);
  }
  CHECK(live_nodes() == start);
}

// ---- deep graphs -------------------------------------------------------------------------

TEST_CASE("the gradient of a 100-op chain is right") {
  auto x = leaf_of({0.3, -0.7});
  TensorD y = x;
  for (int i = 0; i < 100; ++i) y = y * 1.01;
  y.sum().backward();
  check_values(x.grad(), {std::pow(1.01, 100), std::pow(1.01, 100)}, 1e-12);

  // a mixed chain, against finite differences
  CHORD_CHECK_GRADCHECK(
      [](const Inputs& in) {
        TensorD z = in[0];
        for (int i = 0; i < 25; ++i) z = chord::tanh(z * 1.3 + 0.1) + z * 0.5 - chord::sigmoid(z) * 0.2;
        return z;
      },
      {leaf({3}, 20)});

  // a long chain is freed without trouble
  const int64_t start = live_nodes();
  {
    auto z = leaf_of({1.0});
    TensorD w = z;
    for (int i = 0; i < 10000; ++i) w = w + 1.0;
    w.backward();
    CHECK(z.grad().item() == 1.0);
  }
  CHECK(live_nodes() == start);
}

// When every gradient reaching a node is undefined, the node is skipped; the
// nodes it feeds must still be released so that a gradient arriving there by
// another path is not lost.
TEST_CASE("a node that receives only undefined gradients does not block other paths") {
  auto a = leaf_of({1.0});
  auto y = a * 2.0;  // Y: feeds both paths below
  auto x = y * 3.0;  // X: reached only through the op that returns no gradient
  auto c = TensorD::zeros({1});
  autograd::record("NoGradientBackward", c, {x},
                   [](const TensorD&) { return std::vector<TensorD>{TensorD()}; });
  auto out = c + y * 5.0;  // d out / d a = 5 * 2 through the second path
  out.sum().backward();
  REQUIRE(a.grad().defined());
  CHECK(a.grad().item() == 10.0);
}

// ---- custom ops and gradcheck -------------------------------------------------------------

TEST_CASE("autograd::record makes a custom op differentiable") {
  auto x = leaf_of({1, 2, 3});
  // cube(x) with backward 3 x^2 g
  auto cube = [](const TensorD& in) {
    TensorD out = in.detach() * in.detach() * in.detach();
    if (autograd::needs_grad(in))
      autograd::record("CubeBackward", out, {in}, [saved = autograd::SavedTensor<double>(in, "cube")](const TensorD& g) {
        const TensorD& v = saved.get();
        return std::vector<TensorD>{g * v * v * 3.0};
      });
    return out;
  };
  cube(x).sum().backward();
  check_values(x.grad(), {3, 12, 27});
  CHORD_CHECK_GRADCHECK([&](const Inputs& in) { return cube(in[0]); }, {leaf({2, 3}, 30)});
}

TEST_CASE("gradcheck detects a wrong backward and says where") {
  // forward x*x, backward returns g*x instead of 2*g*x
  auto wrong_square = [](const Inputs& in) {
    const TensorD& x = in[0];
    TensorD out = x.detach() * x.detach();
    autograd::record("WrongSquareBackward", out, {x}, [saved = autograd::SavedTensor<double>(x, "wrong_square")](
                                                          const TensorD& g) {
      return std::vector<TensorD>{g * saved.get()};
    });
    return out;
  };
  const auto result = chord::gradcheck(wrong_square, {leaf({3}, 31)});
  CHECK_FALSE(result.ok);
  CHECK_FALSE(static_cast<bool>(result));
  CHECK(result.message.find("gradcheck") != std::string::npos);
  CHECK(result.message.find("input0") != std::string::npos);
  CHECK(result.message.find("finite differences") != std::string::npos);

  // a missing gradient (output detached from its input) is reported too
  const auto detached = chord::gradcheck([](const Inputs& in) { return in[0].detach() * 2.0; }, {leaf({2}, 32)});
  CHECK_FALSE(detached.ok);
  CHECK(detached.message.find("does not require grad") != std::string::npos);

  // and a correct op passes, leaving the inputs' own grads untouched
  auto x = leaf({3}, 33);
  (x * 1.0).sum().backward();
  const auto ok = chord::gradcheck([](const Inputs& in) { return in[0] * in[0]; }, {x});
  CHECK(ok.ok);
  CHECK(ok.message.empty());
  check_values(x.grad(), {1, 1, 1});
}
