// libFuzzer target: chord::rl::Trainer<float>::resume on a checkpoint directory built from the
// bytes. The bytes are cut at chord_fuzz::kFileSeparator into, in order:
//   0 the manifest's fields (a JSON object, e.g. {"step":2}; anything else: no fields)
//   1 trainer.json   2 optimizer.safetensors   3 model.safetensors   4 model.config.json
//   5 model.tokenizer.json   6 reference.safetensors (when present, the trainer has beta > 0)
// and sealed with io::write_checkpoint_directory, so that the manifest's sizes and checksums hold
// and the fuzzer reaches resume's checks of the metadata and the weights. (Fields that include
// "files" replace the manifest's own list of files: the manifest checks are fuzzed too.)
// A resume that succeeds must leave a trainer that trains its remaining steps (or refuses with a
// chord::Error, e.g. when finite but huge weights give NaN logits).

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_common.hpp"
#include "tiny_run.hpp"

using namespace chord;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const char* const kNames[] = {"trainer.json",         "optimizer.safetensors", "model.safetensors",
                                       "model.config.json",    "model.tokenizer.json",  "reference.safetensors"};
  const io::Tokenizer& tok = chord_fuzz::tiny_tokenizer();
  static const chord_fuzz::TinyEnv env;
  const std::string dir = chord_fuzz::fresh_scratch_dir();
  const std::string ckpt = dir + "/run/checkpoint";
  const std::vector<std::string> parts =
      chord_fuzz::split_files(std::string_view(reinterpret_cast<const char*>(data), size));

  io::Json::Object fields;
  try {
    const io::Json j = io::Json::parse(parts[0]);
    if (j.is_object()) fields = j.as_object();
  } catch (const Error&) {
  }
  io::write_checkpoint_directory(
      ckpt,
      [&](const std::string& tmp) {
        for (std::size_t i = 1; i < parts.size() && i - 1 < std::size(kNames); ++i)
          chord_fuzz::write_file(tmp + "/" + kNames[i - 1], parts[i]);
      },
      fields);

  nn::GPT<float> model(chord_fuzz::tiny_config(), 7);
  rl::Trainer<float> trainer(model, tok, env, chord_fuzz::tiny_options(parts.size() > 6 ? 0.1 : 0.0));
  try {
    trainer.resume(ckpt);
  } catch (const Error&) {
    FUZZ_CHECK(trainer.step() == 0);  // a refused checkpoint leaves the trainer as it was
    return 0;
  }
  FUZZ_CHECK(trainer.step() >= 0 && trainer.step() <= trainer.options().steps);
  try {  // finite but huge weights can still overflow to NaN logits: sampling refuses them with an error
    trainer.train();
    FUZZ_CHECK(trainer.step() == trainer.options().steps);
  } catch (const Error&) {
  }
  return 0;
}
