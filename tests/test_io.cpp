// JSON and safetensors: round trips, the exact on-disk layout, and a clear
// chord::Error for every kind of broken file. GPT checkpoints as Hugging Face directories.

#include <cstdio>
#include <filesystem>
#include <limits>
#include <fstream>

#include <unistd.h>

#include "test_util.hpp"

using namespace chord;
using chord::io::Json;
using chord::testing::temp_path;
using chord::testing::write_raw;

namespace {
// A safetensors file from a header text and a data buffer.
std::string make_file(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  return out + header + data;
}
}  // namespace

TEST_CASE("Json parses and writes objects, arrays, strings with escapes and numbers") {
  const Json j = Json::parse(R"( {"a": [1, -2.5, 3e2, true, false, null], "s": "q\"\\\n\u00e9\ud83d\ude00"} )");
  CHECK(j.at("a").as_array().size() == 6);
  CHECK(j.at("a").as_array()[1].as_number() == -2.5);
  CHECK(j.at("a").as_array()[2].as_int() == 300);
  CHECK(j.at("s").as_string() == "q\"\\\n\xC3\xA9\xF0\x9F\x98\x80");
  CHECK(Json::parse(j.dump()).dump() == j.dump());
  CHECK(Json(Json::Object{{"k", Json(1.5)}, {"n", Json(int64_t{7})}}).dump() == R"({"k":1.5,"n":7})");
}

TEST_CASE("Json rejects malformed text with the byte offset") {
  CHORD_CHECK_ERROR(Json::parse("{\"a\":1,}"), "at byte");
  CHORD_CHECK_ERROR(Json::parse("[1 2]"), "expected ','");
  CHORD_CHECK_ERROR(Json::parse("\"abc"), "unterminated");
  CHORD_CHECK_ERROR(Json::parse("{} x"), "trailing");
  CHORD_CHECK_ERROR(Json::parse(std::string(200, '[')), "too deep");
  CHORD_CHECK_ERROR(Json::parse("1.5").as_int(), "integer");
  CHORD_CHECK_ERROR(Json::parse("{}").at("x"), "missing key");
}

TEST_CASE("safetensors round trip keeps names, order, shapes, values and metadata") {
  const std::string path = temp_path("round_trip.safetensors");
  Generator gen(3);
  io::NamedTensorList<float> tensors = {{"wte.weight", Tensor<float>::randn({5, 4}, gen)},
                                        {"h.0.ln_1.bias", Tensor<float>::randn({4}, gen)},
                                        {"scalar", Tensor<float>::full({}, 2.5f)},
                                        {"transposed", Tensor<float>::randn({3, 2}, gen).t()}};
  io::save_safetensors(path, tensors, {{"format", "pt"}});
  const auto file = io::SafetensorsFile::read(path);
  CHECK(file.names() == std::vector<std::string>{"wte.weight", "h.0.ln_1.bias", "scalar", "transposed"});
  CHECK(file.metadata().at("format") == "pt");
  const auto loaded = io::load_safetensors<float>(path);
  REQUIRE(loaded.size() == tensors.size());
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    CHECK(loaded[i].second.shape() == tensors[i].second.shape());
    CHECK(loaded[i].second.to_vector() == tensors[i].second.to_vector());  // bit-identical
  }
  // Loading as double converts.
  CHECK(file.tensor<double>("scalar").item() == 2.5);
  std::filesystem::remove(path);
}

TEST_CASE("safetensors layout matches the format: u64 header length, 8-byte aligned data, F32 row-major") {
  const std::string path = temp_path("layout.safetensors");
  io::save_safetensors<float>(path, {{"x", Tensor<float>::from_vector({1.f, 2.f, 3.f}, {3})}});
  const std::string bytes = io::read_file(path);
  uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  CHECK((8 + n) % 8 == 0);
  const Json header = Json::parse(bytes.substr(8, n));
  CHECK(header.at("x").at("dtype").as_string() == "F32");
  CHECK(header.at("x").at("data_offsets").as_array()[1].as_int() == 12);
  float values[3];
  std::memcpy(values, bytes.data() + 8 + n, 12);
  CHECK(values[2] == 3.f);
  CHECK(bytes.size() == 8 + n + 12);
  std::filesystem::remove(path);
}

TEST_CASE("safetensors reads F16 and BF16 tensors") {
  const std::string path = temp_path("half.safetensors");
  // 1.0 and -2.0 in F16 (0x3C00, 0xC000) and in BF16 (0x3F80, 0xC000); 2^-24 subnormal F16 (0x0001).
  const std::string data("\x00\x3C\x00\xC0\x01\x00\x80\x3F\x00\xC0", 10);
  write_raw(path, make_file(R"({"h":{"dtype":"F16","shape":[3],"data_offsets":[0,6]},)"
                            R"("b":{"dtype":"BF16","shape":[2],"data_offsets":[6,10]}})",
                            data));
  const auto file = io::SafetensorsFile::read(path);
  CHECK(file.tensor<float>("h").to_vector() == std::vector<float>{1.f, -2.f, std::ldexp(1.f, -24)});
  CHECK(file.tensor<float>("b").to_vector() == std::vector<float>{1.f, -2.f});
  std::filesystem::remove(path);
}

TEST_CASE("every kind of broken safetensors file raises an error that names the problem") {
  const std::string path = temp_path("broken.safetensors");
  const std::string good_header = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const std::string data(8, '\0');
  auto expect = [&](const std::string& bytes, const char* needle) {
    write_raw(path, bytes);
    CHORD_CHECK_ERROR(io::SafetensorsFile::read(path), needle);
  };
  write_raw(path, make_file(good_header, data));
  CHECK(io::SafetensorsFile::read(path).tensor<float>("w").numel() == 2);

  expect("abc", "shorter than");
  expect(make_file(good_header, data).substr(0, 20), "runs past the end");  // truncated inside the header
  expect(make_file(good_header, data.substr(0, 4)), "outside the");        // truncated data
  expect(make_file("{\"w\": [", data), "not valid JSON");
  expect(make_file("[1,2]", data), "not a JSON object");
  expect(make_file(R"({"w":{"dtype":"F99","shape":[2],"data_offsets":[0,8]}})", data), "unknown dtype");
  expect(make_file(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", data), "invalid size");
  expect(make_file(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", data), "need 12");
  expect(make_file(R"({"w":{"dtype":"F32","shape":[2]}})", data), "data_offsets");
  expect(make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                   R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                   data),
         "overlap");
  std::string huge(8, '\xFF');
  expect(huge + "{}", "runs past the end");
  // Sizes whose product overflows int64 (2^49 x 2^15 = 2^64 wraps to 0, which once matched 0 bytes
  // of data and loaded as an empty tensor), or is merely beyond 2^48 elements.
  expect(make_file(R"({"w":{"dtype":"F32","shape":[562949953421312,32768],"data_offsets":[0,0]}})", ""),
         "impossibly large");
  expect(make_file(R"({"w":{"dtype":"F32","shape":[0,4294967296,2147483648],"data_offsets":[0,0]}})", ""),
         "impossibly large");
  expect(make_file(R"({"w":{"dtype":"F32","shape":[16777216,16777217],"data_offsets":[0,8]}})", data),
         "impossibly large");

  write_raw(path, make_file(good_header, data));
  const auto file = io::SafetensorsFile::read(path);
  CHORD_CHECK_ERROR(file.tensor<float>("missing"), "no tensor named 'missing'");
  CHORD_CHECK_ERROR(file.tensor<float>("w", Shape{3}), "tensor 'w'");
  write_raw(path, make_file(R"({"i":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", data));
  CHORD_CHECK_ERROR(io::SafetensorsFile::read(path).tensor<float>("i"), "dtype I64");
  CHORD_CHECK_ERROR(io::SafetensorsFile::read(temp_path("does_not_exist")), "cannot open");
  std::filesystem::remove(path);
}

TEST_CASE("a failed save leaves the previous file intact and no temporary file behind") {
  const std::string path = temp_path("atomic.safetensors");
  io::save_safetensors<float>(path, {{"a", Tensor<float>::ones({2})}});
  // An undefined tensor makes the save fail before anything is written.
  CHORD_CHECK_ERROR(io::save_safetensors<float>(path, {{"a", Tensor<float>()}}), "undefined");
  // Duplicate names fail too.
  CHORD_CHECK_ERROR(io::save_safetensors<float>(path, {{"a", Tensor<float>::ones({1})}, {"a", Tensor<float>::ones({1})}}),
                    "appears twice");
  CHECK(io::load_safetensors<float>(path)[0].second.to_vector() == std::vector<float>{1.f, 1.f});
  for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(path).parent_path()))
    CHECK(entry.path().string().find(path + ".tmp") == std::string::npos);
  // A directory that does not exist: the error names the path.
  CHORD_CHECK_ERROR(io::save_safetensors<float>("/nonexistent-dir/x.safetensors", {{"a", Tensor<float>::ones({1})}}),
                    "/nonexistent-dir");
  std::filesystem::remove(path);
}

TEST_CASE("Json rejects lone low surrogates and numbers out of double range") {
  CHORD_CHECK_ERROR(Json::parse("\"\\udc00\""), "unpaired low surrogate");
  CHORD_CHECK_ERROR(Json::parse("1e999"), "out of range");
}

TEST_CASE("Json strings must be valid UTF-8: overlong, truncated, stray and surrogate bytes are errors") {
  // Valid multi-byte characters pass through unchanged: e-acute, the euro sign, an emoji.
  CHECK(Json::parse("\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"").as_string() ==
        "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
  CHORD_CHECK_ERROR(Json::parse("\"\xC0\xAF\""), "overlong encoding");      // '/' in two bytes
  CHORD_CHECK_ERROR(Json::parse("\"\xE0\x80\xAF\""), "overlong encoding");  // '/' in three bytes
  CHORD_CHECK_ERROR(Json::parse("\"\xE2\x82\""), "truncated multi-byte");    // a euro sign cut short
  CHORD_CHECK_ERROR(Json::parse("\"\x80\""), "unexpected continuation byte");
  CHORD_CHECK_ERROR(Json::parse("\"\xFF\""), "invalid lead byte");
  CHORD_CHECK_ERROR(Json::parse("\"\xED\xA0\x80\""), "encoded surrogate");  // U+D800 written as UTF-8
  CHORD_CHECK_ERROR(Json::parse("\"\xF4\x90\x80\x80\""), "above U+10FFFF");
  CHORD_CHECK_ERROR(Json::parse("{\"k\xC3\": 1}"), "invalid UTF-8");         // keys too
}

// ---- GPT checkpoints as Hugging Face directories -----------------------------------

namespace {

nn::GPTConfig tiny_gpt_config(bool tied = true) {
  return nn::GPTConfig{
      .vocab_size = 11, .context_length = 16, .n_layer = 2, .n_head = 2, .n_embd = 8, .tie_embeddings = tied};
}

// A fresh empty directory under the temp dir.
std::string temp_dir(const std::string& name) {
  const std::string dir = temp_path(name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

std::string in(const std::string& dir, const char* file) { return (std::filesystem::path(dir) / file).string(); }

// The logits of `model` for a fixed batch, in eval mode (so dropout from a config is off).
std::vector<float> logits_of(nn::GPT<float>& model) {
  NoGradGuard no_grad;
  model.eval();
  return model.forward(Tensor<int64_t>::from_vector({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 1}, {2, 6})).to_vector();
}

// The weights of `model` as transformers stores them: Conv1D weights [in, out], names with `prefix`
// (but lm_head's), and the causal-mask buffers HF's GPT-2 files carry, with no chord metadata.
void write_hf_safetensors(const std::string& path, const nn::GPT<float>& model, const std::string& prefix) {
  io::NamedTensorList<float> tensors;
  for (const auto& [name, p] : model.named_parameters()) {
    const Tensor<float> t = io::gpt_checkpoint_detail::is_conv1d_weight(name) ? p.detach().t() : p.detach();
    tensors.emplace_back(name == "lm_head.weight" ? name : prefix + name, t);
  }
  const int64_t n = model.config().context_length;
  for (int64_t l = 0; l < model.config().n_layer; ++l) {
    tensors.emplace_back(prefix + "h." + std::to_string(l) + ".attn.bias", Tensor<float>::ones({1, 1, n, n}));
    tensors.emplace_back(prefix + "h." + std::to_string(l) + ".attn.masked_bias", Tensor<float>::full({}, -1e4f));
  }
  io::save_safetensors(path, tensors, {{"format", "pt"}});
}

// config.json as transformers (4.x) writes it for GPT2LMHeadModel: sorted keys, 2-space indent.
std::string hf_config_text(int64_t n_embd = 8, int64_t n_layer = 2, const std::string& extra = "") {
  return R"({
  "activation_function": "gelu_new",
  "architectures": [
    "GPT2LMHeadModel"
  ],
  "attn_pdrop": 0.1,
  "bos_token_id": 50256,
  "embd_pdrop": 0.1,
  "eos_token_id": 50256,
  "initializer_range": 0.02,
  "layer_norm_epsilon": 1e-05,
  "model_type": "gpt2",
  "n_ctx": 16,
  "n_embd": )" + std::to_string(n_embd) + R"(,
  "n_head": 2,
  "n_inner": null,
  "n_layer": )" + std::to_string(n_layer) + R"(,
  "n_positions": 16,
  "reorder_and_upcast_attn": false,
  "resid_pdrop": 0.1,
  "scale_attn_by_inverse_layer_idx": false,
  "scale_attn_weights": true,
  "summary_activation": null,
  "summary_first_dropout": 0.1,
  "summary_proj_to_labels": true,
  "summary_type": "cls_index",
  "summary_use_proj": true,
  "torch_dtype": "float32",
  "transformers_version": "4.41.2",)" + extra + R"(
  "use_cache": true,
  "vocab_size": 11
}
)";
}

// A directory as the Hub holds a GPT-2: config.json, model.safetensors and HF's BPE tokenizer files.
std::string make_hf_directory(const std::string& name, const nn::GPT<float>& model, const std::string& prefix) {
  const std::string dir = temp_dir(name);
  write_hf_safetensors(in(dir, "model.safetensors"), model, prefix);
  io::write_text_file_atomically(in(dir, "config.json"), hf_config_text());
  io::write_text_file_atomically(
      in(dir, "tokenizer.json"),
      R"({"version": "1.0", "model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b"]}})");
  io::write_text_file_atomically(in(dir, "vocab.json"), R"({"a": 0, "b": 1})");
  io::write_text_file_atomically(in(dir, "merges.txt"), "#version: 0.2\na b\n");
  return dir;
}

}  // namespace

TEST_CASE("save_gpt_pretrained writes config.json and HF-named weights; load_gpt(dir) gives the same logits") {
  const auto tokenizer = io::Tokenizer::char_level("abcdefgh");  // 11 tokens
  for (bool tied : {true, false}) {
    CAPTURE(tied);
    nn::GPT<float> model(tiny_gpt_config(tied), 5);
    const std::string dir = temp_path(tied ? "pretrained_tied" : "pretrained_untied");
    std::filesystem::remove_all(dir);
    io::save_gpt_pretrained(dir, model, &tokenizer);  // creates the directory

    // config.json carries what transformers' GPT2Config reads.
    const Json config = Json::parse(io::read_file(in(dir, "config.json")));
    CHECK(config.at("architectures").as_array().at(0).as_string() == "GPT2LMHeadModel");
    CHECK(config.at("model_type").as_string() == "gpt2");
    CHECK(config.at("n_embd").as_int() == 8);
    CHECK(config.at("n_head").as_int() == 2);
    CHECK(config.at("n_layer").as_int() == 2);
    CHECK(config.at("n_positions").as_int() == 16);
    CHECK(config.at("vocab_size").as_int() == 11);
    CHECK(config.at("activation_function").as_string() == "gelu_new");
    CHECK(config.at("layer_norm_epsilon").as_number() == 1e-5);
    CHECK(config.at("tie_word_embeddings").as_bool() == tied);
    CHECK(config.at("eos_token_id").as_int() == tokenizer.eos_id());
    CHECK(config.at("torch_dtype").as_string() == "float32");

    // The weights as GPT2LMHeadModel.save_pretrained names them, Conv1D weights [in, out].
    const auto file = io::SafetensorsFile::read(in(dir, "model.safetensors"));
    CHECK(file.metadata().at("format") == "pt");
    CHECK(file.entry("transformer.wte.weight").shape == Shape{11, 8});
    CHECK(file.entry("transformer.h.0.attn.c_attn.weight").shape == Shape{8, 24});
    CHECK(file.entry("transformer.h.1.mlp.c_fc.weight").shape == Shape{8, 32});
    CHECK(file.contains("lm_head.weight") == !tied);
    CHECK(std::filesystem::exists(in(dir, "model.tokenizer.json")));
    CHECK_FALSE(std::filesystem::exists(in(dir, "tokenizer.json")));  // that name is HF's BPE format

    auto loaded = io::load_gpt<float>(dir);
    REQUIRE(loaded.tokenizer.has_value());
    CHECK(*loaded.tokenizer == tokenizer);
    CHECK(loaded.model->config().tie_embeddings == tied);
    CHECK(logits_of(*loaded.model) == logits_of(model));  // bit-identical

    nn::GPT<float> target(tiny_gpt_config(tied), 99);
    io::load_gpt_weights(dir, target);
    CHECK(logits_of(target) == logits_of(model));
    CHECK(io::load_gpt_config(dir).n_layer == 2);
    std::filesystem::remove_all(dir);
  }
}

TEST_CASE("save_gpt writes the weights last, so a kill mid-save never leaves new weights without their tokenizer") {
  const std::string dir = temp_dir("save_order");
  nn::GPT<float> model(tiny_gpt_config(), 8);
  const auto tok = io::Tokenizer::char_level("abcdefgh");  // 8 characters + 3 special tokens = vocab 11
  io::save_gpt(dir + "/model.safetensors", model, &tok);
  namespace fs = std::filesystem;
  const auto weights = fs::last_write_time(dir + "/model.safetensors");
  CHECK(fs::last_write_time(dir + "/model.tokenizer.json") <= weights);
  CHECK(fs::last_write_time(dir + "/model.config.json") <= weights);
  // A first save killed before its weights: the folder holds no weights, and loading says so.
  fs::remove(dir + "/model.safetensors");
  CHORD_CHECK_ERROR(io::load_gpt<float>(dir), "model.safetensors");
  fs::remove_all(dir);
}

TEST_CASE("LoadOptions::check_finite refuses NaN and infinite weights, naming the tensor; the default loads them") {
  const std::string dir = temp_dir("nan_weights");
  nn::GPT<float> model(tiny_gpt_config(), 8);
  {
    NoGradGuard no_grad;
    model.named_parameters().front().second.data()[3] = std::numeric_limits<float>::infinity();
  }
  io::save_gpt(dir + "/model.safetensors", model);
  const std::string first = model.named_parameters().front().first;
  CHECK(std::isinf(io::load_gpt<float>(dir).model->named_parameters().front().second.to_vector()[3]));
  CHORD_CHECK_ERROR(io::load_gpt<float>(dir, {.check_finite = true}), ("tensor '" + first + "' holds inf at element 3").c_str());
  nn::GPT<float> target(tiny_gpt_config(), 9);
  const auto before = target.named_parameters().front().second.to_vector();
  CHORD_CHECK_ERROR(io::load_gpt_weights(dir, target, {.check_finite = true}), "(LoadOptions::check_finite)");
  CHECK(target.named_parameters().front().second.to_vector() == before);  // left unchanged
  std::filesystem::remove_all(dir);
}

TEST_CASE("load_gpt reads a chord checkpoint directory (save_gpt's model.safetensors, model.config.json)") {
  const auto tokenizer = io::Tokenizer::byte_level();
  nn::GPTConfig config = tiny_gpt_config();
  config.vocab_size = tokenizer.vocab_size();
  nn::GPT<float> model(config, 6);
  const std::string dir = temp_dir("chord_dir");
  io::save_gpt(in(dir, "model.safetensors"), model, &tokenizer);
  auto loaded = io::load_gpt<float>(dir);
  REQUIRE(loaded.tokenizer.has_value());
  CHECK(loaded.tokenizer->kind() == io::TokenizerKind::Byte);
  CHECK(logits_of(*loaded.model) == logits_of(model));
  std::filesystem::remove_all(dir);
}

TEST_CASE("a directory laid out as HF's GPT-2 loads with the same logits, and saves back the same") {
  nn::GPT<float> model(tiny_gpt_config(), 8);
  // The Hub's gpt2 stores GPT2Model's names ("wte.weight", "h.0.attn.bias", ...); save_pretrained
  // of GPT2LMHeadModel prefixes them with "transformer.". Both load.
  for (const std::string prefix : {"", "transformer."}) {
    CAPTURE(prefix);
    const std::string dir = make_hf_directory("hf_dir", model, prefix);
    auto loaded = io::load_gpt<float>(dir);
    CHECK_FALSE(loaded.tokenizer.has_value());  // HF's BPE tokenizer.json is skipped, not an error
    CHECK(loaded.model->config().dropout == 0.1);  // resid_pdrop
    CHECK(logits_of(*loaded.model) == logits_of(model));

    // And back: save_gpt_pretrained writes the same tensors and config fields HF's directory had.
    const std::string out = temp_path("hf_dir_out");
    std::filesystem::remove_all(out);
    io::save_gpt_pretrained(out, *loaded.model);
    const auto original = io::SafetensorsFile::read(in(dir, "model.safetensors"));
    const auto written = io::SafetensorsFile::read(in(out, "model.safetensors"));
    std::size_t compared = 0;  // HF's attention-mask buffers are not weights: left out, the rest counted
    for (const std::string& name : original.names()) {
      const std::string plain = io::gpt_checkpoint_detail::strip_prefix(name);
      if (io::gpt_checkpoint_detail::is_hf_mask_buffer(plain)) continue;
      CAPTURE(name);
      REQUIRE(written.contains("transformer." + plain));
      CHECK(written.tensor<float>("transformer." + plain).to_vector() == original.tensor<float>(name).to_vector());
      ++compared;
    }
    CHECK(compared == model.named_parameters().size());  // every weight was compared
    const Json a = Json::parse(io::read_file(in(dir, "config.json")));
    const Json b = Json::parse(io::read_file(in(out, "config.json")));
    for (const char* key : {"n_embd", "n_head", "n_layer", "n_positions", "vocab_size", "layer_norm_epsilon",
                            "resid_pdrop", "activation_function", "model_type"})
      CHECK_MESSAGE(a.at(key).dump() == b.at(key).dump(), key);
    std::filesystem::remove_all(out);
    std::filesystem::remove_all(dir);
  }
}

TEST_CASE("a config.json that disagrees with the tensors raises an error naming the field") {
  nn::GPT<float> model(tiny_gpt_config(), 8);
  const std::string dir = make_hf_directory("hf_mismatch", model, "transformer.");
  const std::string config = in(dir, "config.json");
  const auto expect = [&](const std::string& text, const char* needle) {
    io::write_text_file_atomically(config, text);
    CHORD_CHECK_ERROR(io::load_gpt<float>(dir), needle);
  };
  expect(hf_config_text(16), "config.json' says n_embd = 16, but");
  const std::string layers = "config.json' says n_layer = 3, but '" + in(dir, "model.safetensors") +
                             "' holds 2 layers (h.0 .. h.1)";
  expect(hf_config_text(8, 3), layers.c_str());
  std::string text = hf_config_text();
  expect(text.replace(text.find("\"vocab_size\": 11"), 16, "\"vocab_size\": 12"), "says vocab_size = 12");
  text = hf_config_text();
  expect(text.replace(text.find("\"n_positions\": 16"), 17, "\"n_positions\": 32"), "says n_positions = 32");
  expect(hf_config_text(8, 2, "\n  \"tie_word_embeddings\": false,"), "no lm_head.weight");
  std::filesystem::remove_all(dir);
}

TEST_CASE("a layer index too large to count with is refused with an error, not an overflow") {
  // "h.9223372036854775807.*" once made load_gpt's layer count overflow int64 (undefined behaviour:
  // the sanitizer pass, and tests/fuzz/fuzz_checkpoint.cpp given such a file, report it).
  nn::GPT<float> model(tiny_gpt_config(), 8);
  const std::string path = temp_path("huge_layer_index.safetensors");
  for (const char* name : {"h.9223372036854775807.mlp.c_fc.bias", "h.99999999999999999999.mlp.c_fc.bias"}) {
    io::NamedTensorList<float> tensors = io::gpt_checkpoint_detail::hf_tensors(model, "");
    tensors.emplace_back(name, Tensor<float>::ones({1}));
    io::save_safetensors(path, tensors,
                         {{"chord_config", io::gpt_checkpoint_detail::config_to_json(model.config()).dump()}});
    CHORD_CHECK_ERROR(io::load_gpt<float>(path), (std::string("holds tensor '") + name + "', which this model").c_str());
  }
  std::filesystem::remove(path);
}

TEST_CASE("a save removes the temporaries that killed writers left, and leaves a live writer's alone") {
  const std::string dir = temp_dir("stale_temporaries");
  const std::string path = dir + "/model.safetensors";
  // 999999999 is above Linux's largest pid (2^22): no such process. The parent process is alive.
  const std::string dead = path + ".tmp-999999999", live = path + ".tmp-" + std::to_string(::getppid()),
                    other = path + ".tmp-notapid", unrelated = dir + "/other.safetensors.tmp-999999999";
  for (const std::string& f : {dead, live, other, unrelated}) io::write_text_file_atomically(f, "partial");
  io::save_safetensors<float>(path, {{"a", Tensor<float>::ones({2})}});
  CHECK_FALSE(std::filesystem::exists(dead));
  CHECK(std::filesystem::exists(live));
  CHECK(std::filesystem::exists(other));
  CHECK(std::filesystem::exists(unrelated));  // another file's temporary: its own next save cleans it
  CHECK(io::load_safetensors<float>(path)[0].second.to_vector() == std::vector<float>{1.f, 1.f});
  std::filesystem::remove_all(dir);
}

TEST_CASE("a config that declares more parameters than the file holds is refused before the model is built") {
  nn::GPT<float> model(tiny_gpt_config(), 8);
  CHECK(model.config().num_parameters() == static_cast<double>(model.num_parameters()));
  nn::GPTConfig untied = tiny_gpt_config();
  untied.tie_embeddings = false;
  CHECK(untied.num_parameters() == static_cast<double>(nn::GPT<float>(untied, 8).num_parameters()));

  // A file without wte.weight whose config claims a vocabulary of 10^9 (4 GB of embeddings): the
  // error comes from the count, not from an allocation.
  const std::string dir = make_hf_directory("hf_huge_vocab", model, "transformer.");
  io::NamedTensorList<float> tensors;
  for (const auto& [name, t] : io::load_safetensors<float>(in(dir, "model.safetensors")))
    if (name != "transformer.wte.weight") tensors.emplace_back(name, t);
  io::save_safetensors<float>(in(dir, "model.safetensors"), tensors);
  std::string text = hf_config_text();
  io::write_text_file_atomically(in(dir, "config.json"),
                                 text.replace(text.find("\"vocab_size\": 11"), 16, "\"vocab_size\": 1000000000"));
  CHORD_CHECK_ERROR(io::load_gpt<float>(dir), "describes a model of");
  std::filesystem::remove_all(dir);
}

TEST_CASE("HF config fields chord cannot honour are rejected by name") {
  nn::GPT<float> model(tiny_gpt_config(), 8);
  const std::string dir = make_hf_directory("hf_fields", model, "");
  const auto expect = [&](const std::string& from, const std::string& to, const char* needle) {
    std::string text = hf_config_text();
    REQUIRE(text.find(from) != std::string::npos);
    io::write_text_file_atomically(in(dir, "config.json"), text.replace(text.find(from), from.size(), to));
    CHORD_CHECK_ERROR(io::load_gpt<float>(dir), needle);
  };
  expect("\"gelu_new\"", "\"relu\"", "activation_function is \"relu\"");
  expect("\"gelu_new\"", "\"gelu\"", "tanh approximation");
  expect("\"layer_norm_epsilon\": 1e-05", "\"layer_norm_epsilon\": 1e-06", "layer_norm_epsilon");
  expect("\"n_inner\": null", "\"n_inner\": 16", "n_inner is 16");
  expect("\"model_type\": \"gpt2\"", "\"model_type\": \"llama\"", "model_type");
  expect("\"scale_attn_by_inverse_layer_idx\": false", "\"scale_attn_by_inverse_layer_idx\": true",
         "scale_attn_by_inverse_layer_idx");
  expect("\"n_layer\": 2,", "", "missing key \"n_layer\"");
  expect("\"n_head\": 2", "\"n_head\": 3", "multiple of n_head");
  expect("\"use_cache\": true", "\"tie_word_embeddings\": \"yes\"", "tie_word_embeddings");
  // Other activations that are the same tanh formula load.
  std::string text = hf_config_text();
  io::write_text_file_atomically(in(dir, "config.json"),
                                 text.replace(text.find("gelu_new"), 8, "gelu_pytorch_tanh"));
  CHECK(logits_of(*io::load_gpt<float>(dir).model) == logits_of(model));
  std::filesystem::remove_all(dir);
}

TEST_CASE("the chord_config metadata and config.json must agree: the error names both files and the field") {
  nn::GPT<float> model(tiny_gpt_config(), 8);
  const std::string dir = temp_path("hf_disagree");
  std::filesystem::remove_all(dir);
  io::save_gpt_pretrained(dir, model);
  Json::Object fields = Json::parse(io::read_file(in(dir, "config.json"))).as_object();
  for (auto& [key, value] : fields)
    if (key == "n_head") value = Json(4);
  io::write_text_file_atomically(in(dir, "config.json"), Json(fields).dump());
  const std::string message = "chord_config metadata of '" + in(dir, "model.safetensors") + "' and '" +
                              in(dir, "config.json") + "' disagree on n_head: 2 vs 4";
  CHORD_CHECK_ERROR(io::load_gpt<float>(dir), message.c_str());
  std::filesystem::remove_all(dir);
}

TEST_CASE("a checkpoint directory without config.json or model.safetensors raises a clear error") {
  nn::GPT<float> model(tiny_gpt_config(), 8);
  const std::string dir = make_hf_directory("hf_missing", model, "");
  std::filesystem::remove(in(dir, "config.json"));
  const std::string message = "no model config for '" + in(dir, "model.safetensors") +
                              "': it has no chord_config metadata and there is no '" + in(dir, "config.json") +
                              "' or '" + in(dir, "model.config.json") + "'";
  CHORD_CHECK_ERROR(io::load_gpt<float>(dir), message.c_str());
  // chord's name for the config is the fallback.
  io::write_text_file_atomically(in(dir, "model.config.json"), hf_config_text());
  CHECK(logits_of(*io::load_gpt<float>(dir).model) == logits_of(model));

  std::filesystem::remove(in(dir, "model.safetensors"));
  CHORD_CHECK_ERROR(io::load_gpt<float>(dir), "has no model.safetensors");
  io::write_text_file_atomically(in(dir, "pytorch_model.bin"), "");
  CHORD_CHECK_ERROR(io::load_gpt<float>(dir), "reads only safetensors");
  CHORD_CHECK_ERROR(io::load_gpt<float>(temp_path("no_such_dir")), "no_such_dir");
  std::filesystem::remove_all(dir);
}
