#pragma once
// GPT checkpoints in Hugging Face GPT-2's safetensors layout.
//
//   save_gpt("run/model.safetensors", model, &tokenizer);
//   auto [model, tokenizer] = load_gpt<float>("run/model.safetensors");
//
// Files:
//   run/model.safetensors          the weights, named as HF's GPT2Model ("wte.weight",
//                                  "h.0.attn.c_attn.weight", ..., "ln_f.bias"; "lm_head.weight" when
//                                  untied); the GPTConfig as JSON in the metadata, key "chord_config"
//   run/model.config.json          the config in HF's config.json form (rename it config.json
//                                  beside a model.safetensors for transformers' from_pretrained)
//   run/model.tokenizer.json       the tokenizer, when one is given
//
// Layout: HF's GPT-2 uses Conv1D for c_attn, c_proj and c_fc, whose weight is [in, out]; chord's
// nn::Linear is [out, in] (PyTorch's nn.Linear). So those weights are transposed on save and on
// load. Loading also accepts HF's own files: a "transformer." prefix is stripped and the causal-mask
// buffers HF stores ("h.N.attn.bias", "h.N.attn.masked_bias", 4-D) are skipped.
// Every write is atomic (temporary file, then rename). A missing, misnamed, misshapen or corrupt
// tensor raises chord::Error naming the file and the tensor, and leaves no half-loaded model.

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "chord/core/error.hpp"
#include "chord/core/grad_mode.hpp"
#include "chord/io/atomic_file.hpp"
#include "chord/io/json.hpp"
#include "chord/io/safetensors.hpp"
#include "chord/io/tokenizer.hpp"
#include "chord/nn/gpt.hpp"

namespace chord::io {

namespace gpt_checkpoint_detail {

// True for the weights HF stores as Conv1D [in, out].
inline bool is_conv1d_weight(const std::string& name) {
  auto ends_with = [&](std::string_view suffix) {
    return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return name.rfind("h.", 0) == 0 &&
         (ends_with(".attn.c_attn.weight") || ends_with(".attn.c_proj.weight") || ends_with(".mlp.c_fc.weight") ||
          ends_with(".mlp.c_proj.weight"));
}

// HF's per-layer causal-mask buffers: not parameters, rebuilt by the model itself.
inline bool is_hf_mask_buffer(const std::string& name) {
  auto ends_with = [&](std::string_view suffix) {
    return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return name.rfind("h.", 0) == 0 && (ends_with(".attn.bias") || ends_with(".attn.masked_bias"));
}

inline std::string strip_prefix(const std::string& name) {
  constexpr std::string_view prefix = "transformer.";
  return name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
}

inline std::string stem_of(const std::string& path) {
  constexpr std::string_view ext = ".safetensors";
  if (path.size() >= ext.size() && path.compare(path.size() - ext.size(), ext.size(), ext) == 0)
    return path.substr(0, path.size() - ext.size());
  return path;
}

inline Json config_to_json(const nn::GPTConfig& c) {
  return Json(Json::Object{{"vocab_size", Json(c.vocab_size)},
                           {"n_positions", Json(c.context_length)},
                           {"n_ctx", Json(c.context_length)},
                           {"n_layer", Json(c.n_layer)},
                           {"n_head", Json(c.n_head)},
                           {"n_embd", Json(c.n_embd)},
                           {"resid_pdrop", Json(c.dropout)},
                           {"embd_pdrop", Json(c.dropout)},
                           {"attn_pdrop", Json(0.0)},
                           {"activation_function", Json("gelu_new")},
                           {"layer_norm_epsilon", Json(1e-5)},
                           {"tie_word_embeddings", Json(c.tie_embeddings)},
                           {"model_type", Json("gpt2")},
                           {"architectures", Json(Json::Array{Json("GPT2LMHeadModel")})}});
}

inline nn::GPTConfig config_from_json(const Json& j, const std::string& where) {
  try {
    nn::GPTConfig c;
    c.vocab_size = j.at("vocab_size").as_int("vocab_size");
    c.context_length = j.at("n_positions").as_int("n_positions");
    c.n_layer = j.at("n_layer").as_int("n_layer");
    c.n_head = j.at("n_head").as_int("n_head");
    c.n_embd = j.at("n_embd").as_int("n_embd");
    if (const Json* d = j.find("resid_pdrop")) c.dropout = d->as_number("resid_pdrop");
    if (const Json* t = j.find("tie_word_embeddings")) c.tie_embeddings = t->as_bool("tie_word_embeddings");
    c.validate();
    return c;
  } catch (const Error& e) {
    fail("load_gpt", "the model config in '", where, "' is invalid: ", e.what());
  }
}

}  // namespace gpt_checkpoint_detail

// Writes the model (and the tokenizer, when given) as described above.
template <FloatingPoint T>
void save_gpt(const std::string& path, const nn::GPT<T>& model, const Tokenizer* tokenizer = nullptr) {
  namespace d = gpt_checkpoint_detail;
  check(!path.empty(), "save_gpt", "the checkpoint path is empty");
  if (tokenizer)
    check(tokenizer->vocab_size() <= model.config().vocab_size, "save_gpt", "the tokenizer has ",
          tokenizer->vocab_size(), " tokens but the model only ", model.config().vocab_size);
  NamedTensorList<T> tensors;
  for (const auto& [name, p] : model.named_parameters()) {  // on the host (a copy for a model on a GPU)
    const Tensor<T> host = p.detach().to(Device::cpu());
    tensors.emplace_back(name, d::is_conv1d_weight(name) ? host.t() : host);
  }
  const Json config = d::config_to_json(model.config());
  save_safetensors(path, tensors, {{"format", "pt"}, {"chord_config", config.dump()}});
  write_text_file_atomically(d::stem_of(path) + ".config.json", config.dump() + "\n");
  if (tokenizer) tokenizer->save(tokenizer_path_for(path));
}

// Reads the weights of a checkpoint into an existing model of the same config.
template <FloatingPoint T>
void load_gpt_weights(const std::string& path, nn::GPT<T>& model) {
  namespace d = gpt_checkpoint_detail;
  const SafetensorsFile file = SafetensorsFile::read(path);
  std::map<std::string, std::string> file_name;  // chord/HF name -> the name in the file
  for (const std::string& name : file.names()) {
    const std::string plain = d::strip_prefix(name);
    if (d::is_hf_mask_buffer(plain)) continue;
    check(file_name.emplace(plain, name).second, "load_gpt", "'", path, "' holds tensor '", plain, "' twice");
  }
  nn::NamedTensors<T> values;
  std::set<std::string> used;
  for (const auto& [name, p] : model.named_parameters()) {
    auto it = file_name.find(name);
    check(it != file_name.end(), "load_gpt", "'", path, "' has no tensor '", name, "' (shape ", p.shape(), ")");
    Tensor<T> t = file.tensor<T>(it->second);
    if (d::is_conv1d_weight(name)) {
      check(t.dim() == 2, "load_gpt", "tensor '", name, "' in '", path, "' has shape ", t.shape(),
            ", expected the Conv1D layout [in, out] = [", p.size(1), ", ", p.size(0), "]");
      t = t.t().contiguous();
    }
    check(t.shape() == p.shape(), "load_gpt", "tensor '", name, "' in '", path, "' has shape ", t.shape(),
          ", the model expects ", p.shape());
    values.emplace_back(name, t);
    used.insert(name);
  }
  for (const auto& [plain, name] : file_name)
    check(used.count(plain) != 0 || (plain == "lm_head.weight" && model.config().tie_embeddings), "load_gpt", "'",
          path, "' holds tensor '", name, "', which this model (", model.config().n_layer, " layers) has no place for");
  model.load_state_dict(values);
}

template <FloatingPoint T>
struct LoadedGPT {
  std::unique_ptr<nn::GPT<T>> model;
  std::optional<Tokenizer> tokenizer;  // when the checkpoint has one beside it
};

// The config of a checkpoint: its metadata, else the .config.json beside it.
inline nn::GPTConfig load_gpt_config(const std::string& path) {
  namespace d = gpt_checkpoint_detail;
  const SafetensorsFile file = SafetensorsFile::read(path);
  auto it = file.metadata().find("chord_config");
  if (it != file.metadata().end()) {
    Json j;
    try {
      j = Json::parse(it->second);
    } catch (const Error& e) {
      fail("load_gpt", "the chord_config metadata of '", path, "' is not valid JSON: ", e.what());
    }
    return d::config_from_json(j, path);
  }
  const std::string config_path = d::stem_of(path) + ".config.json";
  return d::config_from_json(Json::parse(read_file(config_path, "load_gpt")), config_path);
}

// Builds the model a checkpoint describes and loads its weights (and tokenizer, if saved).
template <FloatingPoint T = float>
LoadedGPT<T> load_gpt(const std::string& path) {
  LoadedGPT<T> out;
  out.model = std::make_unique<nn::GPT<T>>(load_gpt_config(path));
  load_gpt_weights(path, *out.model);
  const std::string tokenizer_path = tokenizer_path_for(path);
  if (std::FILE* f = std::fopen(tokenizer_path.c_str(), "rb")) {
    std::fclose(f);
    out.tokenizer = Tokenizer::load(tokenizer_path);
  }
  return out;
}

}  // namespace chord::io
