// nn::WeightPacks: the model's weights packed for the cpu's decoding steps. Made once, reused by
// every decoding step and by the caches index_rows makes, remade after a weight changes, and the
// same values as the unpacked product.

#include <thread>
#include <vector>

#include "test_util.hpp"

using namespace chord;
using chord::testing::tokens_of;

namespace {

nn::GPTConfig config(bool tied = true) {
  return nn::GPTConfig{.vocab_size = 13, .context_length = 16, .n_layer = 2, .n_head = 2, .n_embd = 16,
                       .tie_embeddings = tied};
}
// The weights a decoding step multiplies by: 4 Linear layers per block, and the head.
constexpr uint64_t kWeights = 4 * 2 + 1;

// Prefill 3 tokens per row, then `steps` decoding steps; returns every step's logits.
std::vector<std::vector<float>> decode(nn::GPT<float>& model, int64_t steps) {
  NoGradGuard no_grad;
  auto cache = model.make_cache(2, 3 + steps);
  std::vector<std::vector<float>> out;
  out.push_back(model.forward(tokens_of({1, 2, 3, 4, 5, 6}, 2, 3), cache).to_vector());
  for (int64_t s = 0; s < steps; ++s) out.push_back(model.forward(tokens_of({7 + s % 3, 2}, 2, 1), cache).to_vector());
  return out;
}

}  // namespace

TEST_CASE("weight packs: made on the first decoding forward, reused by later steps, index_rows caches and calls") {
  for (const bool tied : {true, false}) {
    CAPTURE(tied);
    nn::GPT<float> model(config(tied), 3);
    model.eval();
    auto& packs = model.weight_packs();
    CHECK(packs.packs_made() == 0);
    {
      NoGradGuard no_grad;
      (void)model.forward(tokens_of({1, 2, 3}, 1, 3));  // a forward without a cache packs nothing
    }
    CHECK(packs.packs_made() == 0);

    decode(model, 4);
    CHECK(packs.packs_made() == kWeights);  // each weight once, for the prefill and every step
    CHECK(packs.size() == kWeights);

    // The caches index_rows makes decode with the same packs.
    NoGradGuard no_grad;
    auto cache = model.make_cache(2, 8);
    (void)model.forward(tokens_of({1, 2, 3, 4, 5, 6}, 2, 3), cache);
    auto repeated = cache.index_rows({1, 1, 0, 0});
    const Tensor<float> c_attn = model.h->operator[](1).attn->c_attn->weight;
    const auto packed_before = packs.packed(c_attn);
    (void)model.forward(tokens_of({4, 5, 6, 7}, 4, 1), repeated);
    (void)model.forward(tokens_of({4, 5, 6, 7}, 4, 1), repeated);
    CHECK(packs.packs_made() == kWeights);
    CHECK(packs.packed(c_attn) == packed_before);  // the very same pack

    // And so does the next generation.
    (void)generate(model, {{1, 2}, {3}}, {.max_new_tokens = 5, .seed = 1}, 3);
    CHECK(packs.packs_made() == kWeights);

    packs.clear();
    CHECK(packs.size() == 0);
    decode(model, 1);
    CHECK(packs.packs_made() == 2 * kWeights);
  }
}

TEST_CASE("weight packs: an optimizer step (a new version of every weight) makes the next decoding step repack") {
  nn::GPT<float> model(config(), 5);
  const auto before = decode(model, 3);
  REQUIRE(model.weight_packs().packs_made() == kWeights);

  // One training step: every parameter changes in place, and its version with it.
  model.train();
  optim::AdamW<float> opt(model.named_parameters(), {.lr = 1e-2, .weight_decay = 0.0});
  const auto input = tokens_of({1, 2, 3, 4, 5, 6}, 2, 3), target = tokens_of({2, 3, 4, 5, 6, 7}, 2, 3);
  nn::lm_loss(model.forward(input), target).backward();
  opt.step();
  model.eval();

  const auto after = decode(model, 3);
  CHECK(model.weight_packs().packs_made() == 2 * kWeights);
  CHECK(model.weight_packs().size() == kWeights);  // remade in place of the stale ones
  CHECK(after != before);

  // The new packs hold the new weights: the same bits as a model that never packed the old ones.
  nn::GPT<float> fresh(config(), 99);
  {
    NoGradGuard no_grad;
    fresh.load_state_dict(model.state_dict());
  }
  CHECK(decode(fresh, 3) == after);

  // An in-place change outside an optimizer (a version bump too) also repacks.
  {
    NoGradGuard no_grad;
    Tensor<float> w = model.h->operator[](0).mlp->c_fc->weight;
    mul_(w, 0.5f);
  }
  decode(model, 1);
  CHECK(model.weight_packs().packs_made() == 2 * kWeights + 1);
}

TEST_CASE("weight packs: the packed product gives the plain product's values; no pack without use() or with a graph") {
  Generator gen(11);
  const auto weight = Tensor<float>::randn({24, 40}, gen), bias = Tensor<float>::randn({24}, gen);
  nn::WeightPacks<float> packs;
  CHECK(nn::WeightPacks<float>::current() == nullptr);
  for (const int64_t rows : {1, 3, 17}) {
    const auto x = Tensor<float>::randn({rows, 40}, gen);
    // (Equal up to rounding: for a few rows the plain product may sum in another order.)
    const auto close = [](const Tensor<float>& got, const Tensor<float>& want) {
      const auto g = got.to_vector(), w = want.to_vector();
      REQUIRE(g.size() == w.size());
      for (std::size_t i = 0; i < g.size(); ++i) CHECK(g[i] == doctest::Approx(w[i]).epsilon(1e-5).scale(1.0));
    };
    {
      const auto decoding = packs.use();
      CHECK(nn::WeightPacks<float>::current() == &packs);
      close(nn::WeightPacks<float>::linear(x, weight, bias), linear(x, weight, bias));
      close(nn::WeightPacks<float>::linear(x, weight), linear(x, weight));
      // The packed route is the one taken: the bits of the product by the pack itself.
      CHECK(nn::WeightPacks<float>::linear(x, weight, bias).to_vector() ==
            linear(x, *packs.packed(weight), bias).to_vector());
    }
    CHECK(nn::WeightPacks<float>::current() == nullptr);
  }
  CHECK(packs.packs_made() == 1);

  // A product that records a graph multiplies by the weight itself (its gradient needs it).
  auto w = weight.detach();
  w.set_requires_grad(true);
  {
    const auto decoding = packs.use();
    const auto y = nn::WeightPacks<float>::linear(Tensor<float>::randn({2, 40}, gen), w);
    CHECK(y.requires_grad());
  }
  CHECK(packs.packs_made() == 1);

  // Uses nest: the inner one is in force, the outer comes back.
  nn::WeightPacks<float> inner;
  {
    const auto outer_use = packs.use();
    {
      const auto inner_use = inner.use();
      CHECK(nn::WeightPacks<float>::current() == &inner);
    }
    CHECK(nn::WeightPacks<float>::current() == &packs);
  }

  // A pack whose weight no tensor refers to any more is dropped when the next pack is made.
  nn::WeightPacks<float> table;
  {
    const auto gone = Tensor<float>::randn({4, 4}, gen);
    (void)table.packed(gone);
  }
  CHECK(table.size() == 1);
  (void)table.packed(weight);
  CHECK(table.size() == 1);
  CHORD_CHECK_ERROR(table.packed(bias), "expected a 2-D weight on the cpu");
}

TEST_CASE("weight packs: threads decoding with one model at once share its packs and get its logits") {
  nn::GPT<float> model(config(), 8);
  model.eval();
  nn::GPT<float> reference(config(), 8);
  const auto want = decode(reference, 6);
  std::vector<std::vector<std::vector<float>>> got(4);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < got.size(); ++i) threads.emplace_back([&, i] { got[i] = decode(model, 6); });
  for (auto& t : threads) t.join();
  for (const auto& g : got) CHECK(g == want);
  CHECK(model.weight_packs().packs_made() == kWeights);
}
