// The GPT model: layers, gradients, learning, the KV cache, checkpoints.

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "test_util.hpp"

using namespace chord;
using namespace chord::testing;

namespace {

nn::GPTConfig tiny_config() {
  return nn::GPTConfig{.vocab_size = 11, .context_length = 16, .n_layer = 2, .n_head = 2, .n_embd = 8};
}

// Overwrites bytes [at, at + n) of a file.
void corrupt_file(const std::string& path, std::size_t at, const std::string& bytes) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(f.good());
  f.seekp(static_cast<std::streamoff>(at));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

TEST_CASE("GPT has Hugging Face GPT-2's parameter names in a stable order and the right count") {
  nn::GPT<float> model(tiny_config(), 7);
  const auto named = model.named_parameters();
  std::vector<std::string> names;
  for (const auto& [name, p] : named) names.push_back(name);
  const std::vector<std::string> first = {"wte.weight",          "wpe.weight",           "h.0.ln_1.weight",
                                          "h.0.ln_1.bias",       "h.0.attn.c_attn.weight", "h.0.attn.c_attn.bias",
                                          "h.0.attn.c_proj.weight", "h.0.attn.c_proj.bias", "h.0.ln_2.weight",
                                          "h.0.ln_2.bias",       "h.0.mlp.c_fc.weight",  "h.0.mlp.c_fc.bias",
                                          "h.0.mlp.c_proj.weight", "h.0.mlp.c_proj.bias"};
  REQUIRE(names.size() == 2 + 12 * 2 + 2);
  for (std::size_t i = 0; i < first.size(); ++i) CHECK(names[i] == first[i]);
  CHECK(names.back() == "ln_f.bias");
  // C = 8, V = 11, context 16: wte + wpe + per block (2 LN + attn + mlp) + ln_f.
  const int64_t C = 8, per_block = 4 * C + (C * 3 * C + 3 * C) + (C * C + C) + (C * 4 * C + 4 * C) + (4 * C * C + C);
  CHECK(model.num_parameters() == 11 * C + 16 * C + 2 * per_block + 2 * C);

  // Config S of bench/README.md: 3.26 M parameters.
  nn::GPT<float> s(nn::GPTConfig{.vocab_size = 256, .context_length = 128, .n_layer = 4, .n_head = 4, .n_embd = 256});
  CHECK(s.num_parameters() == 3'257'856);
}

TEST_CASE("GPT-2 initialisation: normal(0.02), scaled residual projections, zero biases, unit gains") {
  nn::GPTConfig config{.vocab_size = 64, .context_length = 64, .n_layer = 8, .n_head = 4, .n_embd = 64};
  nn::GPT<double> model(config, 3);
  auto stddev = [](const Tensor<double>& t) {
    const auto v = t.to_vector();
    double mean = 0, var = 0;
    for (double x : v) mean += x / v.size();
    for (double x : v) var += (x - mean) * (x - mean) / v.size();
    return std::sqrt(var);
  };
  CHECK(stddev(model.wte->weight) == doctest::Approx(0.02).epsilon(0.05));
  CHECK(stddev((*model.h)[0].mlp->c_fc->weight) == doctest::Approx(0.02).epsilon(0.05));
  CHECK(stddev((*model.h)[0].attn->c_proj->weight) == doctest::Approx(0.02 / std::sqrt(16.0)).epsilon(0.05));
  CHECK(stddev((*model.h)[3].mlp->c_proj->weight) == doctest::Approx(0.02 / std::sqrt(16.0)).epsilon(0.05));
  for (double b : (*model.h)[1].attn->c_attn->bias.to_vector()) CHECK(b == 0.0);
  for (double g : model.ln_f->weight.to_vector()) CHECK(g == 1.0);
  // Same seed, same model; another seed, another model.
  nn::GPT<double> same(config, 3), other(config, 4);
  CHECK(same.wte->weight.to_vector() == model.wte->weight.to_vector());
  CHECK(other.wte->weight.to_vector() != model.wte->weight.to_vector());
}

TEST_CASE("GPT forward and backward pass gradcheck in double (tied and untied heads)") {
  for (bool tied : {true, false}) {
    CAPTURE(tied);
    nn::GPTConfig config = tiny_config();
    config.tie_embeddings = tied;
    config.n_embd = 4;
    config.vocab_size = 5;
    nn::GPT<double> model(config, 11);
    // Larger weights than GPT-2's init, so every path contributes visibly to the loss.
    {
      NoGradGuard no_grad;
      Generator gen(5);
      for (auto& [name, p] : model.named_parameters()) p.copy_(TensorD::randn(p.shape(), gen) * TensorD::scalar(0.5));
    }
    const auto tokens = tokens_of({1, 4, 2, 0, 3, 3, 2, 1}, 2, 4);
    const auto targets = tokens_of({4, 2, 0, 3, 3, 2, 1, 0}, 2, 4);
    const Tensor<bool> mask = Tensor<bool>::from_vector({true, true, false, true, true, true, true, false}, {2, 4});
    // Check the gradient of every parameter: the parameters are the gradcheck inputs.
    std::vector<TensorD> params = model.parameters();
    auto f = [&](const std::vector<TensorD>&) { return nn::lm_loss(model.forward(tokens), targets, mask); };
    CHORD_CHECK_GRADCHECK(f, params);
  }
}

TEST_CASE("GPT learns a repeated sequence: the loss falls below 0.1 within 150 seeded AdamW steps") {
  nn::GPTConfig config{.vocab_size = 12, .context_length = 32, .n_layer = 2, .n_head = 2, .n_embd = 32};
  nn::GPT<float> model(config, 1);
  optim::AdamW<float> opt(model.named_parameters(), {.lr = 3e-3, .weight_decay = 0.0});
  std::vector<int64_t> seq;
  for (int i = 0; i < 25; ++i) seq.push_back((i * 7) % 11 + 1);
  const auto input = tokens_of(std::vector<int64_t>(seq.begin(), seq.end() - 1), 1, 24);
  const auto target = tokens_of(std::vector<int64_t>(seq.begin() + 1, seq.end()), 1, 24);
  float first = 0, last = 0;
  for (int step = 0; step < 150; ++step) {
    opt.zero_grad();
    auto loss = nn::lm_loss(model.forward(input), target);
    loss.backward();
    opt.step();
    if (step == 0) first = loss.item();
    last = loss.item();
  }
  CHECK(first > 2.0f);  // about log(12) at the start
  CHECK(last < 0.1f);
}

TEST_CASE("KV-cache logits equal full-recompute logits, also for left-padded prompts of different lengths") {
  nn::GPT<float> model(tiny_config(), 5);
  model.eval();
  NoGradGuard no_grad;
  const std::vector<int64_t> seq = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3};
  const auto full = model.forward(tokens_of(seq, 1, 10));  // [1, 10, V]

  // Prefill 4 tokens, then one at a time.
  auto cache = model.make_cache(1, 12);
  auto pre = model.forward(tokens_of({3, 1, 4, 1}, 1, 4), cache);
  std::vector<float> got = pre.to_vector();
  for (int t = 4; t < 10; ++t) {
    auto step = model.forward(tokens_of({seq[t]}, 1, 1), cache);
    for (float v : step.to_vector()) got.push_back(v);
  }
  CHECK(cache.length() == 10);
  const std::vector<float> want = full.to_vector();
  REQUIRE(got.size() == want.size());
  // Tolerance: the same math in another summation order, in float.
  for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-4).scale(1.0));

  // Two prompts, lengths 3 and 5, left-padded into one batch; then 2 decoding steps.
  const std::vector<int64_t> a = {2, 7, 1}, b = {5, 3, 8, 8, 4};
  auto batch_cache = model.make_cache(2, 8);
  batch_cache.key_start.data()[0] = 2;  // row 0: two padding slots
  batch_cache.key_start.data()[1] = 0;
  auto logits = model.forward(tokens_of({0, 0, 2, 7, 1, 5, 3, 8, 8, 4}, 2, 5), batch_cache);
  auto next = model.forward(tokens_of({6, 9}, 2, 1), batch_cache);
  auto ref_a = model.forward(tokens_of({2, 7, 1, 6}, 1, 4));
  auto ref_b = model.forward(tokens_of({5, 3, 8, 8, 4, 9}, 1, 6));
  const int64_t V = 11;
  for (int64_t v = 0; v < V; ++v) {
    CHECK(logits.at({0, 4, v}) == doctest::Approx(ref_a.at({0, 2, v})).epsilon(1e-4));
    CHECK(logits.at({1, 4, v}) == doctest::Approx(ref_b.at({0, 4, v})).epsilon(1e-4));
    CHECK(next.at({0, 0, v}) == doctest::Approx(ref_a.at({0, 3, v})).epsilon(1e-4));
    CHECK(next.at({1, 0, v}) == doctest::Approx(ref_b.at({0, 5, v})).epsilon(1e-4));
  }

  // index_rows repeats a prefilled row: each copy continues like the original.
  auto repeated = batch_cache.index_rows({1, 1, 0});
  CHECK(repeated.batch() == 3);
  CHECK(repeated.length() == 6);
  auto cont = model.forward(tokens_of({1, 2, 3}, 3, 1), repeated);
  auto ref_b2 = model.forward(tokens_of({5, 3, 8, 8, 4, 9, 1}, 1, 7));
  for (int64_t v = 0; v < V; ++v) CHECK(cont.at({0, 0, v}) == doctest::Approx(ref_b2.at({0, 6, v})).epsilon(1e-4));
}

TEST_CASE("GPT and KVCache reject bad input with clear errors") {
  nn::GPT<float> model(tiny_config(), 5);
  CHORD_CHECK_ERROR(model.forward(tokens_of({1, 2, 11}, 1, 3)), "out of range");
  CHORD_CHECK_ERROR(model.forward(Tensor<int64_t>::zeros({1, 17})), "longer than the context length 16");
  CHORD_CHECK_ERROR(model.forward(Tensor<int64_t>::zeros({4})), "expected tokens [batch, time]");
  auto cache = model.make_cache(2, 4);
  CHORD_CHECK_ERROR(model.forward(Tensor<int64_t>::zeros({1, 2}), cache), "the cache holds 2 rows");
  CHORD_CHECK_ERROR(model.forward(Tensor<int64_t>::zeros({2, 5}), cache), "do not fit in the cache");
  CHORD_CHECK_ERROR(model.make_cache(2, 17), "max_length 17");
  CHORD_CHECK_ERROR(nn::GPT<float>(nn::GPTConfig{.n_head = 3, .n_embd = 8}), "multiple of n_head");
  CHORD_CHECK_ERROR(nn::GPT<float>(nn::GPTConfig{.dropout = 1.0}), "dropout");
  if (!cuda::is_available()) CHORD_CHECK_ERROR(model.to(Device::cuda(0)), "cuda");  // no GPU (or no CUDA build)
}

TEST_CASE("save_gpt then load_gpt gives bit-identical logits, with the tokenizer, in HF's Conv1D layout") {
  const auto tokenizer = io::Tokenizer::char_level("abcdefgh");  // 3 specials + 8 chars = 11 tokens
  nn::GPT<float> model(tiny_config(), 9);
  const std::string path = temp_path("roundtrip.safetensors");
  io::save_gpt(path, model, &tokenizer);

  auto loaded = io::load_gpt<float>(path);
  REQUIRE(loaded.tokenizer.has_value());
  CHECK(loaded.tokenizer->vocab_size() == 11);
  CHECK(loaded.model->config().n_layer == 2);
  NoGradGuard no_grad;
  const auto tokens = tokens_of({1, 2, 3, 4, 5, 6}, 2, 3);
  const auto a = model.forward(tokens).to_vector(), b = loaded.model->forward(tokens).to_vector();
  REQUIRE(a.size() == b.size());
  CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);

  // The file stores c_attn as [in, out] = [8, 24], as HF's Conv1D.
  const auto file = io::SafetensorsFile::read(path);
  CHECK(file.entry("h.0.attn.c_attn.weight").shape == Shape{8, 24});
  CHECK(file.entry("h.1.mlp.c_proj.weight").shape == Shape{32, 8});
  CHECK(file.entry("wte.weight").shape == Shape{11, 8});
  const auto stored = file.tensor<float>("h.0.attn.c_attn.weight");
  CHECK(stored.at({2, 5}) == (*model.h)[0].attn->c_attn->weight.at({5, 2}));
  std::filesystem::remove(path);
  std::filesystem::remove(io::tokenizer_path_for(path));
  std::filesystem::remove(temp_path("roundtrip.config.json"));
}

TEST_CASE("load_gpt reads HF-style files: 'transformer.' prefix and attention-mask buffers") {
  nn::GPT<float> model(tiny_config(), 9);
  io::NamedTensorList<float> tensors;
  for (const auto& [name, p] : model.named_parameters())
    tensors.emplace_back("transformer." + name, io::gpt_checkpoint_detail::is_conv1d_weight(name) ? p.detach().t() : p.detach());
  tensors.emplace_back("transformer.h.0.attn.bias", Tensor<float>::ones({1, 1, 16, 16}));
  const std::string path = temp_path("hf.safetensors");
  io::save_safetensors(path, tensors);
  // No chord_config metadata: the config comes from the .config.json beside it.
  io::write_text_file_atomically(temp_path("hf.config.json"),
                                 R"({"vocab_size": 11, "n_positions": 16, "n_layer": 2, "n_head": 2, "n_embd": 8})");
  auto loaded = io::load_gpt<float>(path);
  CHECK(!loaded.tokenizer.has_value());
  NoGradGuard no_grad;
  const auto tokens = tokens_of({1, 2, 3}, 1, 3);
  CHECK(model.forward(tokens).to_vector() == loaded.model->forward(tokens).to_vector());
  std::filesystem::remove(path);
  std::filesystem::remove(temp_path("hf.config.json"));
}

TEST_CASE("each kind of bad GPT checkpoint raises an error naming the tensor or the problem") {
  nn::GPT<float> model(tiny_config(), 9);
  const std::string path = temp_path("bad.safetensors");
  auto write_with = [&](auto edit) {
    io::NamedTensorList<float> tensors;
    for (const auto& [name, p] : model.named_parameters())
      tensors.emplace_back(name, io::gpt_checkpoint_detail::is_conv1d_weight(name) ? p.detach().t() : p.detach());
    edit(tensors);
    const std::string config = io::gpt_checkpoint_detail::config_to_json(model.config()).dump();
    io::save_safetensors(path, tensors, {{"chord_config", config}});
  };
  nn::GPT<float> target(tiny_config(), 1);

  write_with([](auto& t) { t.erase(t.begin() + 5); });  // h.0.attn.c_attn.bias
  CHORD_CHECK_ERROR(io::load_gpt_weights(path, target), "has no tensor 'h.0.attn.c_attn.bias'");
  write_with([](auto& t) { t[6].second = Tensor<float>::zeros({8, 7}); });  // h.0.attn.c_proj.weight
  CHORD_CHECK_ERROR(io::load_gpt_weights(path, target), "tensor 'h.0.attn.c_proj.weight'");
  write_with([](auto& t) { t[0].second = Tensor<float>::zeros({12, 8}); });  // wte.weight
  CHORD_CHECK_ERROR(io::load_gpt_weights(path, target), "tensor 'wte.weight'");
  write_with([](auto& t) { t.emplace_back("h.2.ln_1.weight", Tensor<float>::ones({8})); });
  CHORD_CHECK_ERROR(io::load_gpt_weights(path, target), "h.2.ln_1.weight");
  // A failed load leaves the model as it was.
  CHECK(target.wte->weight.to_vector() == nn::GPT<float>(tiny_config(), 1).wte->weight.to_vector());

  // Truncated file.
  write_with([](auto&) {});
  const auto size = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, size - 10);
  CHORD_CHECK_ERROR(io::load_gpt<float>(path), "bad.safetensors");
  // A header length pointing past the end.
  write_with([](auto&) {});
  corrupt_file(path, 0, std::string("\xff\xff\xff\xff\x00\x00\x00\x00", 8));
  CHORD_CHECK_ERROR(io::load_gpt<float>(path), "bad.safetensors");
  // A nonsense config.
  {
    io::NamedTensorList<float> none{{"wte.weight", Tensor<float>::zeros({11, 8})}};
    io::save_safetensors(path, none, {{"chord_config", R"({"vocab_size": 11, "n_positions": 16, "n_layer": 2, "n_head": 3, "n_embd": 8})"}});
    CHORD_CHECK_ERROR(io::load_gpt<float>(path), "multiple of n_head");
    io::save_safetensors(path, none, {{"chord_config", "{not json"}});
    CHORD_CHECK_ERROR(io::load_gpt<float>(path), "not valid JSON");
  }
  CHORD_CHECK_ERROR(io::load_gpt<float>(temp_path("missing.safetensors")), "missing.safetensors");
  std::filesystem::remove(path);
}

TEST_CASE("lm_loss is the token mean over the mask, 0 with an empty mask") {
  Generator gen(2);
  auto logits = Tensor<double>::randn({2, 3, 5}, gen);
  const auto targets = tokens_of({1, 2, 3, 4, 0, 1}, 2, 3);
  const auto mask = Tensor<bool>::from_vector({true, false, true, false, false, true}, {2, 3});
  double want = 0;
  for (auto [b, t] : std::vector<std::pair<int64_t, int64_t>>{{0, 0}, {0, 2}, {1, 2}}) {
    double lse = 0;
    for (int64_t v = 0; v < 5; ++v) lse += std::exp(logits.at({b, t, v}));
    want += (std::log(lse) - logits.at({b, t, targets.at({b, t})})) / 3;
  }
  CHECK(nn::lm_loss(logits, targets, mask).item() == doctest::Approx(want).epsilon(1e-12));
  CHECK(nn::lm_loss(logits, targets, Tensor<bool>::zeros({2, 3})).item() == 0.0);
  CHORD_CHECK_ERROR(nn::lm_loss(logits, targets, Tensor<bool>::zeros({3, 2})), "mask of shape");
}
