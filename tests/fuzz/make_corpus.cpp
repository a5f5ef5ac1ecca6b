// Writes the seed corpora of the libFuzzer targets in tests/fuzz/, with chord's own writers, and a
// libFuzzer dictionary. tools/fuzz.sh builds it (no sanitizers, no libFuzzer) and runs it:
//
//   make_corpus OUT        # OUT/json/, OUT/safetensors/, OUT/tokenizer/, OUT/checkpoint/,
//                          # OUT/resume/ (one folder per target), OUT/fuzz.dict
//
// The multi-file seeds (checkpoint, resume) are the files joined by chord_fuzz::kFileSeparator, in
// the order the targets read them (see fuzz_checkpoint.cpp and fuzz_resume.cpp).

#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "chord/io/checkpoint_dir.hpp"
#include "chord/io/gpt_checkpoint.hpp"
#include "chord/io/json.hpp"
#include "chord/io/metrics.hpp"
#include "chord/io/safetensors.hpp"
#include "chord/io/tokenizer.hpp"
#include "fuzz_common.hpp"
#include "tiny_run.hpp"

using namespace chord;
namespace fs = std::filesystem;

namespace {

std::string out_root;
int seeds = 0;

void seed(const std::string& target, const std::string& name, const std::string& bytes) {
  const fs::path dir = fs::path(out_root) / target;
  fs::create_directories(dir);
  chord_fuzz::write_file((dir / name).string(), bytes);
  ++seeds;
}

std::string read(const std::string& path) { return io::read_file(path, "make_corpus"); }

// The files of a save_gpt checkpoint at `stem`.safetensors, in fuzz_checkpoint's order.
std::string checkpoint_seed(const std::string& weights, const std::string& config, const std::string& tokenizer) {
  std::vector<std::string> parts{read(weights), read(config)};
  if (!tokenizer.empty()) parts.push_back(read(tokenizer));
  return chord_fuzz::join_files(parts);
}

// A trainer checkpoint directory, in fuzz_resume's order: the manifest's fields (without "files"),
// then trainer.json, optimizer.safetensors, model.safetensors, model.config.json,
// model.tokenizer.json and, with beta > 0, reference.safetensors.
std::string resume_seed(const std::string& dir) {
  const io::Json manifest = io::Json::parse(read(dir + "/" + io::kManifestName));
  io::Json::Object fields;
  for (const auto& [k, v] : manifest.as_object())
    if (k != "files") fields.emplace_back(k, v);
  std::vector<std::string> parts{io::Json(fields).dump()};
  for (const char* name : {"trainer.json", "optimizer.safetensors", "model.safetensors", "model.config.json",
                           "model.tokenizer.json", "reference.safetensors"})
    if (fs::exists(dir + "/" + name)) parts.push_back(read(dir + "/" + name));
  return chord_fuzz::join_files(parts);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_corpus OUT_DIR\n");
    return 2;
  }
  out_root = argv[1];
  const fs::path work = fs::path(out_root) / "work";
  fs::remove_all(work);
  fs::create_directories(work);
  const std::string w = work.string();

  // Tokenizers: char-level (ASCII, and some multi-byte characters), byte-level.
  const io::Tokenizer tok = chord_fuzz::tiny_tokenizer();
  tok.save(w + "/char.tokenizer.json");
  io::Tokenizer::char_level("h\xC3\xA9llo w\xE2\x82\xAC" "rld\n\t\"\\").save(w + "/unicode.tokenizer.json");
  io::Tokenizer::byte_level().save(w + "/byte.tokenizer.json");
  for (const char* name : {"char", "unicode", "byte"})
    seed("tokenizer", name, read(w + "/" + name + ".tokenizer.json"));

  // safetensors: float with metadata, double, an empty tensor and a scalar.
  Generator gen(3);
  io::save_safetensors<float>(w + "/f32.safetensors",
                              {{"a", Tensor<float>::randn({2, 3}, gen)}, {"b.bias", Tensor<float>::randn({4}, gen)},
                               {"scalar", Tensor<float>::full({}, 1.5f)}, {"empty", Tensor<float>::zeros({0, 2})}},
                              {{"format", "pt"}, {"note", "seed"}});
  io::save_safetensors<double>(w + "/f64.safetensors", {{"x", Tensor<double>::randn({3, 1, 2}, gen)}});
  seed("safetensors", "f32", read(w + "/f32.safetensors"));
  seed("safetensors", "f64", read(w + "/f64.safetensors"));

  // GPT checkpoints: tied with a tokenizer; untied without; a Hugging Face directory's files.
  nn::GPT<float> tied(chord_fuzz::tiny_config(), 1);
  io::save_gpt(w + "/tied.safetensors", tied, &tok);
  seed("checkpoint", "tied",
       checkpoint_seed(w + "/tied.safetensors", w + "/tied.config.json", w + "/tied.tokenizer.json"));
  nn::GPTConfig untied_config = chord_fuzz::tiny_config();
  untied_config.tie_embeddings = false;
  untied_config.n_layer = 2;
  nn::GPT<float> untied(untied_config, 2);
  io::save_gpt(w + "/untied.safetensors", untied);
  seed("checkpoint", "untied", checkpoint_seed(w + "/untied.safetensors", w + "/untied.config.json", ""));
  io::save_gpt_pretrained(w + "/hf", tied, &tok);
  seed("checkpoint", "hf",
       checkpoint_seed(w + "/hf/model.safetensors", w + "/hf/config.json", w + "/hf/model.tokenizer.json"));
  seed("safetensors", "gpt", read(w + "/tied.safetensors"));

  // Trainer checkpoints: a 1-step run, without and with a frozen reference (beta > 0).
  const chord_fuzz::TinyEnv env;
  for (double beta : {0.0, 0.1}) {
    const std::string run = w + (beta > 0 ? "/run-beta" : "/run");
    rl::TrainerOptions options = chord_fuzz::tiny_options(beta, run);
    options.steps = 1;
    nn::GPT<float> model(chord_fuzz::tiny_config(), 7);
    rl::Trainer<float>(model, tok, env, options).train();
    seed("resume", beta > 0 ? "beta" : "plain", resume_seed(run + "/checkpoint"));
    if (beta == 0) {
      seed("json", "manifest", read(run + "/checkpoint/" + io::kManifestName));
      seed("json", "trainer", read(run + "/checkpoint/trainer.json"));
      seed("json", "metrics", read(run + "/metrics.jsonl"));
    }
  }

  // JSON: the files above, and a document with every kind of value, escape and number form.
  for (const char* name : {"char", "unicode"})
    seed("json", std::string("tokenizer-") + name, read(w + "/" + name + ".tokenizer.json"));
  seed("json", "hf-config", read(w + "/hf/config.json"));
  seed("json", "values",
       R"({"a": [1, -2.5e-3, 0, -0, 1E+10, 123456789012345678], "b": {"c": null, "d": true, "e": false},)"
       R"( "s": "esc \" \\ \/ \b \f \n \r \t \u00e9 \ud83d\ude00 \u0000", "u": "h\u00e9 )"
       "\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80" R"(", "nested": [[[{"x": []}]]], "empty": {}})");

  // A dictionary for libFuzzer: the file separator and the words the loaders look for.
  std::string dict = "sep=\"\\x0A#chord-fuzz-file#\\x0A\"\n";
  for (const char* word : {"dtype", "shape", "data_offsets", "__metadata__", "F32", "F64", "F16", "BF16", "I64",
                           "chord_config", "vocab_size", "n_positions", "n_ctx", "n_layer", "n_head", "n_embd",
                           "n_inner", "tie_word_embeddings", "resid_pdrop", "layer_norm_epsilon", "kind", "vocab",
                           "special", "pad", "bos", "eos", "char", "byte", "step", "method", "seed", "GRPO", "files",
                           "bytes", "fnv1a64", "step_count", "exp_avg.", "exp_avg_sq.", "wte.weight", "wpe.weight",
                           "lm_head.weight", "transformer.", "h.0.attn.c_attn.weight", "h.1.",
                           "9223372036854775807", "\\u", "1e308"})
  {
    dict += '"';
    for (const char c : std::string(word)) dict += c == '\\' || c == '"' ? std::string{'\\', c} : std::string{c};
    dict += "\"\n";
  }
  chord_fuzz::write_file(out_root + "/fuzz.dict", dict);

  fs::remove_all(work);
  std::printf("make_corpus: %d seeds in %s\n", seeds, out_root.c_str());
  return 0;
}
