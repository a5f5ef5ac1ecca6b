// Optimizers, learning-rate schedules and gradient clipping against values
// computed by hand from their update rules.

#include "test_util.hpp"

using namespace chord;
using chord::testing::check_values;

namespace {
// A leaf with the given values and a gradient set by hand.
Tensor<double> param_with_grad(std::vector<double> values, std::vector<double> grad, Shape shape) {
  Tensor<double> p = Tensor<double>::from_vector(values, shape);
  p.set_requires_grad();
  p.set_grad(Tensor<double>::from_vector(grad, shape));
  return p;
}
}  // namespace

TEST_CASE("AdamW matches the update rule written out by hand for two steps") {
  Tensor<double> w = param_with_grad({1.0, -2.0, 0.5, 3.0}, {0.1, -0.2, 0.3, 0.0}, {2, 2});
  const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.1;
  optim::AdamW<double> opt({{"h.0.mlp.c_fc.weight", w}}, {.lr = lr, .beta1 = b1, .beta2 = b2, .eps = eps, .weight_decay = wd});
  std::vector<double> p = {1.0, -2.0, 0.5, 3.0}, g = {0.1, -0.2, 0.3, 0.0}, m(4, 0), v(4, 0);
  for (int t = 1; t <= 2; ++t) {
    opt.step();
    for (int i = 0; i < 4; ++i) {
      p[i] *= 1 - lr * wd;
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      const double mhat = m[i] / (1 - std::pow(b1, t)), vhat = v[i] / (1 - std::pow(b2, t));
      p[i] -= lr * mhat / (std::sqrt(vhat) + eps);
    }
    check_values(w, p, 1e-12);
  }
  CHECK(opt.step_count() == 2);
}

TEST_CASE("AdamW applies no weight decay to biases, norms and embeddings by default") {
  Tensor<double> bias = param_with_grad({1.0, 1.0}, {0.0, 0.0}, {2});
  Tensor<double> wte = param_with_grad({1.0, 1.0, 1.0, 1.0}, {0.0, 0.0, 0.0, 0.0}, {2, 2});
  Tensor<double> fc = param_with_grad({1.0, 1.0, 1.0, 1.0}, {0.0, 0.0, 0.0, 0.0}, {2, 2});
  optim::AdamW<double> opt({{"h.0.ln_1.bias", bias}, {"wte.weight", wte}, {"h.0.attn.c_attn.weight", fc}},
                           {.lr = 0.1, .weight_decay = 0.5});
  CHECK_FALSE(opt.decays(0));
  CHECK_FALSE(opt.decays(1));
  CHECK(opt.decays(2));
  opt.step();  // zero gradients: only the decay moves a parameter
  check_values(bias, {1.0, 1.0}, 1e-12);
  check_values(wte, {1.0, 1.0, 1.0, 1.0}, 1e-12);
  check_values(fc, {0.95, 0.95, 0.95, 0.95}, 1e-12);

  optim::AdamW<double> all({{"h.0.ln_1.bias", bias}}, {.lr = 0.1, .weight_decay = 0.5,
                                                        .decay_filter = [](const std::string&, int) { return true; }});
  CHECK(all.decays(0));
}

TEST_CASE("AdamW skips parameters without a gradient and zero_grad drops gradients") {
  Tensor<double> a = param_with_grad({1.0}, {1.0}, {1});
  Tensor<double> b = Tensor<double>::from_vector({2.0}, {1});
  b.set_requires_grad();
  optim::AdamW<double> opt(std::vector<Tensor<double>>{a, b}, {.lr = 0.1, .weight_decay = 0.0});
  opt.step();
  CHECK(a.item() == doctest::Approx(0.9).epsilon(1e-6));
  CHECK(b.item() == 2.0);
  opt.zero_grad();
  CHECK_FALSE(a.grad().defined());
}

TEST_CASE("AdamW drives a quadratic to its minimum") {
  Tensor<float> x = Tensor<float>::from_vector({5.0f, -3.0f}, {2});
  x.set_requires_grad();
  const Tensor<float> target = Tensor<float>::from_vector({1.0f, 2.0f}, {2});
  optim::AdamW<float> opt(std::vector<Tensor<float>>{x}, {.lr = 0.1, .weight_decay = 0.0});
  for (int step = 0; step < 300; ++step) {
    opt.zero_grad();
    Tensor<float> d = x - target;
    (d * d).sum().backward();
    opt.step();
  }
  check_values(x, {1.0, 2.0}, 1e-2);
}

TEST_CASE("AdamW rejects nonsense options and non-leaf parameters") {
  Tensor<double> w = param_with_grad({1.0}, {1.0}, {1});
  CHORD_CHECK_ERROR((optim::AdamW<double>(std::vector<Tensor<double>>{w}, {.lr = -1})), "learning rate");
  CHORD_CHECK_ERROR((optim::AdamW<double>(std::vector<Tensor<double>>{w}, {.beta1 = 1.0})), "beta1");
  CHORD_CHECK_ERROR((optim::AdamW<double>(std::vector<Tensor<double>>{w}, {.eps = 0})), "eps");
  Tensor<double> not_leaf = w * 2.0;
  CHORD_CHECK_ERROR((optim::AdamW<double>(std::vector<Tensor<double>>{not_leaf}, {})), "leaf");
}

TEST_CASE("SGD with momentum and nesterov follow torch.optim.SGD's update") {
  Tensor<double> w = param_with_grad({1.0, 2.0}, {0.5, -1.0}, {2});
  optim::SGD<double> opt({w}, {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.0});
  opt.step();  // buf = g
  check_values(w, {1.0 - 0.05, 2.0 + 0.1}, 1e-12);
  opt.step();  // buf = 0.9 g + g = 1.9 g
  check_values(w, {0.95 - 0.1 * 1.9 * 0.5, 2.1 + 0.1 * 1.9 * 1.0}, 1e-12);

  Tensor<double> n = param_with_grad({1.0}, {1.0}, {1});
  optim::SGD<double> nest({n}, {.lr = 0.1, .momentum = 0.5, .weight_decay = 0.1, .nesterov = true});
  nest.step();  // d = g + wd p = 1.1; buf = 1.1; step d + mu buf = 1.65
  CHECK(n.item() == doctest::Approx(1.0 - 0.165).epsilon(1e-12));
  CHORD_CHECK_ERROR((optim::SGD<double>({n}, {.nesterov = true})), "nesterov");
}

TEST_CASE("warm-up then cosine schedule hits its values at the edge steps") {
  const auto s = optim::LRSchedule::warmup_cosine(1.0, 0.1, 10, 110);
  CHECK(s(1) == doctest::Approx(0.1));
  CHECK(s(5) == doctest::Approx(0.5));
  CHECK(s(10) == doctest::Approx(1.0));
  CHECK(s(60) == doctest::Approx(0.1 + 0.9 * 0.5));
  CHECK(s(110) == doctest::Approx(0.1));
  CHECK(s(1000) == doctest::Approx(0.1));
  CHECK(s(11) < 1.0);
  const auto no_warmup = optim::LRSchedule::warmup_cosine(1.0, 0.0, 0, 100);
  CHECK(no_warmup(1) == doctest::Approx(0.5 * (1 + std::cos(std::numbers::pi / 100))));
  const auto c = optim::LRSchedule::constant(3e-4);
  CHECK(c(1) == 3e-4);
  CHECK(c(12345) == 3e-4);
  CHORD_CHECK_ERROR(optim::LRSchedule::warmup_cosine(1.0, 0.0, 20, 10), "warmup_steps");
  CHORD_CHECK_ERROR(s(0), "count from 1");
}

TEST_CASE("clip_grad_norm returns the norm before clipping and scales all gradients together") {
  Tensor<double> a = param_with_grad({0, 0}, {3.0, 0.0}, {2});
  Tensor<double> b = param_with_grad({0}, {4.0}, {1});
  const double norm = optim::clip_grad_norm<double>({a, b}, 1.0);
  CHECK(norm == doctest::Approx(5.0));
  check_values(a.grad(), {3.0 / 5.0, 0.0}, 1e-5);
  check_values(b.grad(), {4.0 / 5.0}, 1e-5);
  // Below the threshold nothing changes.
  const double again = optim::clip_grad_norm<double>({a, b}, 10.0);
  CHECK(again == doctest::Approx(1.0).epsilon(1e-5));
  check_values(b.grad(), {4.0 / 5.0}, 1e-5);
  CHORD_CHECK_ERROR(optim::clip_grad_norm<double>({a}, 0.0), "max_norm");
}
