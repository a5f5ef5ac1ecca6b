#pragma once
// GPT checkpoints in Hugging Face GPT-2's safetensors layout: chord's own files, and directories
// that transformers' GPT2LMHeadModel reads and writes (docs/huggingface.md).
//
//   save_gpt("run/model.safetensors", model, &tokenizer);     // chord's files, below
//   save_gpt_pretrained("run/hf", model, &tokenizer);          // a directory for from_pretrained
//   auto [model, tokenizer] = load_gpt<float>("run/model.safetensors");  // or a directory:
//   auto [model, tokenizer] = load_gpt<float>("run/hf");
//
// save_gpt writes three files:
//   run/model.safetensors          the weights, named as HF's GPT2Model ("wte.weight",
//                                  "h.0.attn.c_attn.weight", ..., "ln_f.bias"; "lm_head.weight" when
//                                  untied); the GPTConfig as JSON in the metadata, key "chord_config"
//   run/model.config.json          the config in HF's config.json form
//   run/model.tokenizer.json       the tokenizer, when one is given
//
// save_gpt_pretrained writes a directory laid out as GPT2LMHeadModel.save_pretrained lays it out:
//   dir/config.json                HF's config ("architectures": ["GPT2LMHeadModel"], "model_type": "gpt2")
//   dir/model.safetensors          the weights as HF names them ("transformer.wte.weight", ...,
//                                  "lm_head.weight" when untied), plus chord_config in the metadata
//   dir/model.tokenizer.json       chord's tokenizer, when one is given (HF's own tokenizer.json is
//                                  a BPE tokenizer, a different format: chord does not write one)
//
// load_gpt(path) takes a .safetensors file or a directory. For a directory it reads
// dir/model.safetensors and the config from dir/config.json (HF's name), else dir/model.config.json
// (chord's); for a file, the config beside it (run/model.config.json). The chord_config metadata,
// when present, must agree with that file; without it (HF's own files) the file is the config.
// The tokenizer is chord's model.tokenizer.json beside the weights; in a directory, also
// tokenizer.json when it is in chord's format. HF's BPE tokenizer files (tokenizer.json,
// vocab.json + merges.txt) cannot be read yet: the model then loads without a tokenizer.
//
// Layout: HF's GPT-2 uses Conv1D for c_attn, c_proj and c_fc, whose weight is [in, out]; chord's
// nn::Linear is [out, in] (PyTorch's nn.Linear). So those weights are transposed on save and on
// load. Loading also accepts HF's own files: a "transformer." prefix is stripped and the causal-mask
// buffers HF stores ("h.N.attn.bias", "h.N.attn.masked_bias", 4-D) are skipped.
// Every write is atomic (temporary file, then rename). A missing, misnamed, misshapen or corrupt
// tensor, or a config that disagrees with the tensors or with the other config, raises chord::Error
// naming the files and the tensor or field, and leaves no half-loaded model.

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "chord/core/error.hpp"
#include "chord/core/grad_mode.hpp"
#include "chord/core/non_templates.hpp"
#include "chord/io/atomic_file.hpp"
#include "chord/io/json.hpp"
#include "chord/io/safetensors.hpp"
#include "chord/io/tokenizer.hpp"
#include "chord/nn/gpt.hpp"

namespace chord::io {

namespace gpt_checkpoint_detail {

inline bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// True for the weights HF stores as Conv1D [in, out].
bool is_conv1d_weight(const std::string& name);

// HF's per-layer causal-mask buffers: not parameters, rebuilt by the model itself.
bool is_hf_mask_buffer(const std::string& name);

// GPT2LMHeadModel keeps the GPT2Model under "transformer."; files of a bare GPT2Model have no prefix.
inline constexpr std::string_view kHFPrefix = "transformer.";

std::string strip_prefix(const std::string& name);

std::string stem_of(const std::string& path);

bool is_file(const std::string& path);
bool is_directory(const std::string& path);
std::string join(const std::string& dir, const char* name);

// chord's GPT-2 has a fixed LayerNorm epsilon (nn::LayerNorm's default, HF's default).
inline constexpr double kLayerNormEpsilon = 1e-5;

// Activations that are GELU's tanh approximation, which chord's MLP computes.
bool is_tanh_gelu(const std::string& name);

Json config_to_json(const nn::GPTConfig& c);

// config.json for transformers: the config, the weights' dtype and the tokenizer's special ids.
template <FloatingPoint T>
Json hf_config_json(const nn::GPTConfig& c, const Tokenizer* tokenizer) {
  Json::Object fields = config_to_json(c).as_object();
  fields.emplace_back("torch_dtype", Json(dtype_name<T>()));
  fields.emplace_back("use_cache", Json(true));
  if (tokenizer) {
    fields.emplace_back("bos_token_id", Json(tokenizer->bos_id()));
    fields.emplace_back("eos_token_id", Json(tokenizer->eos_id()));
    fields.emplace_back("pad_token_id", Json(tokenizer->pad_id()));
  }
  return Json(std::move(fields));
}

// Checks that an optional HF field, when present, has the one value chord's GPT-2 implements.
void require_if_present(const Json& j, const char* key, bool value, const char* why);

// The GPTConfig of HF's config.json (or chord's chord_config, the same keys). Fields that change
// the architecture must have the values chord implements; the error names the field.
nn::GPTConfig config_from_json(const Json& j, const std::string& where);

// The first field (by its config.json key) in which two configs differ, as "key: a vs b"; "" if none.
std::string first_difference(const nn::GPTConfig& a, const nn::GPTConfig& b);

// Where a checkpoint's parts are, for a .safetensors path or a directory.
struct CheckpointFiles {
  std::string weights;                     // the .safetensors file
  std::optional<std::string> config;       // the config file, when there is one
  std::string config_expected;             // for the message when there is none
  std::string tokenizer;                   // chord's tokenizer file, loaded when present
  std::optional<std::string> hf_tokenizer;  // a file that may be HF's tokenizer: skipped when unreadable
};

CheckpointFiles checkpoint_files(const std::string& path);

// Parses the JSON text of a model config; the error says "<what> is not valid JSON".
Json parse_config_json(const std::string& text, const std::string& what);

// A checkpoint's config, and where it was read (for messages that name it).
struct ResolvedConfig {
  nn::GPTConfig config;
  std::string where;
};

// The config of a checkpoint: its chord_config metadata and its config file, which must agree when
// both exist; the metadata wins.
ResolvedConfig resolve_config(const SafetensorsFile& weights, const CheckpointFiles& files);

// The file's tensor names by their chord/HF name: prefix stripped, mask buffers left out.
std::map<std::string, std::string> tensor_names(const SafetensorsFile& file);

// The number of blocks the file holds weights for: 1 + the largest N of "h.N.*".
int64_t layers_in(const std::map<std::string, std::string>& names);

// Checks the config's sizes against the tensors' shapes, so that a wrong config.json is reported as
// the field it gets wrong rather than as a misshapen tensor.
void check_config_matches_tensors(const SafetensorsFile& file, const nn::GPTConfig& c,
                                  const std::string& config_where);

// Reads the weights of `file` into `model` (all or nothing).
template <FloatingPoint T>
void load_weights(const SafetensorsFile& file, nn::GPT<T>& model) {
  const std::string& path = file.path();
  const auto file_name = tensor_names(file);  // chord/HF name -> the name in the file
  nn::NamedTensors<T> values;
  std::set<std::string> used;
  for (const auto& [name, p] : model.named_parameters()) {
    auto it = file_name.find(name);
    check(it != file_name.end(), "load_gpt", "'", path, "' has no tensor '", name, "' (shape ", p.shape(), ")");
    Tensor<T> t = file.tensor<T>(it->second);
    if (is_conv1d_weight(name)) {
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

// The tokenizer beside the weights: chord's files must load; a file that may be HF's is skipped
// when it is not in chord's format.
std::optional<Tokenizer> load_tokenizer(const CheckpointFiles& files);

// The host copies of the model's parameters, in HF's layout (Conv1D weights [in, out]), with
// `prefix` before every name but lm_head's.
template <FloatingPoint T>
NamedTensorList<T> hf_tensors(const nn::GPT<T>& model, std::string_view prefix) {
  NamedTensorList<T> tensors;
  for (const auto& [name, p] : model.named_parameters()) {  // on the host (a copy for a model on a GPU)
    const Tensor<T> host = p.detach().to(Device::cpu());
    const std::string stored = name == "lm_head.weight" ? name : std::string(prefix) + name;
    tensors.emplace_back(stored, is_conv1d_weight(name) ? host.t() : host);
  }
  return tensors;
}

template <FloatingPoint T>
void check_tokenizer_fits(const char* op, const nn::GPT<T>& model, const Tokenizer* tokenizer) {
  if (tokenizer)
    check(tokenizer->vocab_size() <= model.config().vocab_size, op, "the tokenizer has ", tokenizer->vocab_size(),
          " tokens but the model only ", model.config().vocab_size);
}

}  // namespace gpt_checkpoint_detail

// Writes the model (and the tokenizer, when given) as chord's three files described above. The
// weights go last: each file is atomic, and a save killed before the weights leaves the previous
// weights beside side files that describe the same model (a process that re-saves one model keeps
// its config and tokenizer), or, on a first save, no weights at all; never new weights beside a
// missing tokenizer. (A trainer's checkpoint folder is atomic as a whole: io/checkpoint_dir.hpp.)
template <FloatingPoint T>
void save_gpt(const std::string& path, const nn::GPT<T>& model, const Tokenizer* tokenizer = nullptr) {
  namespace d = gpt_checkpoint_detail;
  check(!path.empty(), "save_gpt", "the checkpoint path is empty");
  d::check_tokenizer_fits("save_gpt", model, tokenizer);
  const Json config = d::config_to_json(model.config());
  write_text_file_atomically(d::stem_of(path) + ".config.json", config.dump() + "\n");
  if (tokenizer) tokenizer->save(tokenizer_path_for(path));
  save_safetensors(path, d::hf_tensors(model, ""), {{"format", "pt"}, {"chord_config", config.dump()}});
}

// Writes `dir` (created if missing) as transformers' GPT2LMHeadModel.save_pretrained would:
// config.json and model.safetensors, which GPT2LMHeadModel.from_pretrained(dir) loads, and chord's
// tokenizer as model.tokenizer.json when given. load_gpt(dir) reads it back.
template <FloatingPoint T>
void save_gpt_pretrained(const std::string& dir, const nn::GPT<T>& model, const Tokenizer* tokenizer = nullptr) {
  namespace d = gpt_checkpoint_detail;
  const char* op = "save_gpt_pretrained";
  check(!dir.empty(), op, "the directory path is empty");
  d::check_tokenizer_fits(op, model, tokenizer);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  check(d::is_directory(dir), op, "cannot create the directory '", dir, "'", ec ? ": " + ec.message() : "");
  const std::string chord_config = d::config_to_json(model.config()).dump();
  save_safetensors(d::join(dir, "model.safetensors"), d::hf_tensors(model, d::kHFPrefix),
                   {{"format", "pt"}, {"chord_config", chord_config}});
  const Json hf_config = d::hf_config_json<T>(model.config(), tokenizer);
  write_text_file_atomically(d::join(dir, "config.json"), hf_config.dump() + "\n");
  if (tokenizer) tokenizer->save(d::join(dir, "model.tokenizer.json"));
}

template <FloatingPoint T>
struct LoadedGPT {
  std::unique_ptr<nn::GPT<T>> model;
  std::optional<Tokenizer> tokenizer;  // when the checkpoint has one beside it (in chord's format)
};

// The config of a checkpoint (a .safetensors file or a directory), checked as load_gpt checks it.
nn::GPTConfig load_gpt_config(const std::string& path);

// How load_gpt and load_gpt_weights read a checkpoint.
struct LoadOptions {
  // Refuse a checkpoint holding a NaN or an infinity (a chord::Error naming the file, the tensor and
  // the element) instead of loading it as it is. Off by default: a file is loaded as written, like
  // PyTorch's load; Trainer::resume always checks.
  bool check_finite = false;
};

// A chord::Error unless every value of `t` (tensor `name` read from `file`) is finite; `why` ends
// the message (which check refused it). Loaders and Trainer::resume share it.
template <FloatingPoint T>
void check_finite_values(const Tensor<T>& t, const char* op, const std::string& file, const std::string& name,
                         const char* why) {
  const std::vector<T> values = t.to(Device::cpu()).to_vector();
  for (std::size_t i = 0; i < values.size(); ++i)
    check(std::isfinite(static_cast<double>(values[i])), op, "'", file, "': tensor '", name, "' holds ",
          static_cast<double>(values[i]), " at element ", i, " (", why, ")");
}

namespace gpt_checkpoint_detail {

template <FloatingPoint T>
void check_weights_finite(const nn::GPT<T>& model, const std::string& path) {
  for (const auto& [name, p] : model.named_parameters())
    check_finite_values(p, "load_gpt", path, name, "LoadOptions::check_finite");
}

}  // namespace gpt_checkpoint_detail

// Reads the weights of a checkpoint (a .safetensors file or a directory) into an existing model of
// the same config. With check_finite, a file holding a non-finite value leaves the model unchanged.
template <FloatingPoint T>
void load_gpt_weights(const std::string& path, nn::GPT<T>& model, const LoadOptions& options = {}) {
  namespace d = gpt_checkpoint_detail;
  const std::string weights = d::checkpoint_files(path).weights;
  if (!options.check_finite) return d::load_weights(SafetensorsFile::read(weights), model);
  nn::GPT<T> copy(model.config());
  d::load_weights(SafetensorsFile::read(weights), copy);
  d::check_weights_finite(copy, weights);
  model.load_state_dict(copy.state_dict());
}

// Builds the model a checkpoint (a .safetensors file or a directory) describes and loads its weights
// and its tokenizer, if it has one that chord can read.
template <FloatingPoint T = float>
LoadedGPT<T> load_gpt(const std::string& path, const LoadOptions& options = {}) {
  namespace d = gpt_checkpoint_detail;
  const d::CheckpointFiles files = d::checkpoint_files(path);
  const SafetensorsFile weights = SafetensorsFile::read(files.weights);
  const d::ResolvedConfig config = d::resolve_config(weights, files);
  d::check_config_matches_tensors(weights, config.config, config.where);
  LoadedGPT<T> out;
  out.model = std::make_unique<nn::GPT<T>>(config.config);
  d::load_weights(weights, *out.model);
  if (options.check_finite) d::check_weights_finite(*out.model, files.weights);
  out.tokenizer = d::load_tokenizer(files);
  return out;
}

}  // namespace chord::io

#if CHORD_DEFINES_NON_TEMPLATES
#include <algorithm>
#include <exception>
#include <limits>

namespace chord::io {

namespace gpt_checkpoint_detail {

CHORD_INLINE bool is_conv1d_weight(const std::string& name) {
  return name.rfind("h.", 0) == 0 &&
         (ends_with(name, ".attn.c_attn.weight") || ends_with(name, ".attn.c_proj.weight") ||
          ends_with(name, ".mlp.c_fc.weight") || ends_with(name, ".mlp.c_proj.weight"));
}

CHORD_INLINE bool is_hf_mask_buffer(const std::string& name) {
  return name.rfind("h.", 0) == 0 && (ends_with(name, ".attn.bias") || ends_with(name, ".attn.masked_bias"));
}

CHORD_INLINE std::string strip_prefix(const std::string& name) {
  return name.rfind(kHFPrefix, 0) == 0 ? name.substr(kHFPrefix.size()) : name;
}

CHORD_INLINE std::string stem_of(const std::string& path) {
  constexpr std::string_view ext = ".safetensors";
  return ends_with(path, ext) ? path.substr(0, path.size() - ext.size()) : path;
}

CHORD_INLINE bool is_file(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

CHORD_INLINE bool is_directory(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_directory(path, ec);
}

CHORD_INLINE std::string join(const std::string& dir, const char* name) {
  return (std::filesystem::path(dir) / name).string();
}

CHORD_INLINE bool is_tanh_gelu(const std::string& name) {
  return name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast";
}

CHORD_INLINE Json config_to_json(const nn::GPTConfig& c) {
  return Json(Json::Object{{"vocab_size", Json(c.vocab_size)},
                           {"n_positions", Json(c.context_length)},
                           {"n_ctx", Json(c.context_length)},
                           {"n_layer", Json(c.n_layer)},
                           {"n_head", Json(c.n_head)},
                           {"n_embd", Json(c.n_embd)},
                           {"n_inner", Json()},  // null: 4 * n_embd
                           {"resid_pdrop", Json(c.dropout)},
                           {"embd_pdrop", Json(c.dropout)},
                           {"attn_pdrop", Json(0.0)},
                           {"activation_function", Json("gelu_new")},
                           {"layer_norm_epsilon", Json(kLayerNormEpsilon)},
                           {"scale_attn_weights", Json(true)},
                           {"scale_attn_by_inverse_layer_idx", Json(false)},
                           {"reorder_and_upcast_attn", Json(false)},
                           {"tie_word_embeddings", Json(c.tie_embeddings)},
                           {"model_type", Json("gpt2")},
                           {"architectures", Json(Json::Array{Json("GPT2LMHeadModel")})}});
}

CHORD_INLINE void require_if_present(const Json& j, const char* key, bool value, const char* why) {
  if (const Json* v = j.find(key))
    check(v->as_bool(key) == value, "config", key, " is ", v->as_bool(key) ? "true" : "false",
          "; chord's GPT-2 supports only ", value ? "true" : "false", " (", why, ")");
}

CHORD_INLINE nn::GPTConfig config_from_json(const Json& j, const std::string& where) {
  try {
    check(j.is_object(), "config", "the top level is not a JSON object");
    if (const Json* type = j.find("model_type"))
      check(type->as_string("model_type") == "gpt2", "config", "model_type is \"", type->as_string(),
            "\"; chord loads only GPT-2 (\"gpt2\")");
    nn::GPTConfig c;
    c.vocab_size = j.at("vocab_size").as_int("vocab_size");
    // n_positions is the size of the position table; very old configs have only n_ctx.
    const Json* positions = j.find("n_positions");
    if (!positions) positions = j.find("n_ctx");
    check(positions != nullptr, "config", "missing key \"n_positions\" (or \"n_ctx\")");
    c.context_length = positions->as_int("n_positions");
    c.n_layer = j.at("n_layer").as_int("n_layer");
    c.n_head = j.at("n_head").as_int("n_head");
    c.n_embd = j.at("n_embd").as_int("n_embd");
    if (const Json* inner = j.find("n_inner"); inner && !inner->is_null())
      check(inner->as_int("n_inner") == 4 * c.n_embd, "config", "n_inner is ", inner->as_int("n_inner"),
            "; chord's GPT-2 MLP is 4 * n_embd = ", 4 * c.n_embd, " wide (or n_inner null)");
    if (const Json* act = j.find("activation_function"))
      check(is_tanh_gelu(act->as_string("activation_function")), "config", "activation_function is \"",
            act->as_string(), "\"; chord's GPT-2 computes GELU's tanh approximation (\"gelu_new\", also ",
            "\"gelu_pytorch_tanh\" or \"gelu_fast\")");
    if (const Json* eps = j.find("layer_norm_epsilon")) {
      const double e = eps->as_number("layer_norm_epsilon");
      check(std::abs(e - kLayerNormEpsilon) <= 1e-9 * kLayerNormEpsilon, "config", "layer_norm_epsilon is ", e,
            "; chord's GPT-2 LayerNorm uses ", kLayerNormEpsilon);
    }
    require_if_present(j, "scale_attn_weights", true, "attention scores are scaled by 1/sqrt(head_dim)");
    require_if_present(j, "scale_attn_by_inverse_layer_idx", false, "no per-layer attention scaling");
    require_if_present(j, "add_cross_attention", false, "decoder-only, no cross-attention");
    if (const Json* d = j.find("resid_pdrop")) c.dropout = d->as_number("resid_pdrop");
    if (const Json* t = j.find("tie_word_embeddings")) c.tie_embeddings = t->as_bool("tie_word_embeddings");
    c.validate();
    return c;
  } catch (const Error& e) {
    fail("load_gpt", "the model config in ", where, " is invalid: ", e.what());
  }
}

CHORD_INLINE std::string first_difference(const nn::GPTConfig& a, const nn::GPTConfig& b) {
  const auto differs = [](const char* key, const auto& x, const auto& y) {
    return x == y ? std::string() : chord::detail::concat(key, ": ", x, " vs ", y);
  };
  const auto text = [](bool v) { return std::string(v ? "true" : "false"); };
  for (const std::string& d :
       {differs("vocab_size", a.vocab_size, b.vocab_size), differs("n_positions", a.context_length, b.context_length),
        differs("n_layer", a.n_layer, b.n_layer), differs("n_head", a.n_head, b.n_head),
        differs("n_embd", a.n_embd, b.n_embd), differs("resid_pdrop", a.dropout, b.dropout),
        differs("tie_word_embeddings", text(a.tie_embeddings), text(b.tie_embeddings))})
    if (!d.empty()) return d;
  return "";
}

CHORD_INLINE CheckpointFiles checkpoint_files(const std::string& path) {
  check(!path.empty(), "load_gpt", "the checkpoint path is empty");
  CheckpointFiles files;
  if (!is_directory(path)) {
    files.weights = path;
    const std::string config = stem_of(path) + ".config.json";
    if (is_file(config)) files.config = config;
    files.config_expected = "'" + config + "'";
    files.tokenizer = tokenizer_path_for(path);
    return files;
  }
  files.weights = join(path, "model.safetensors");
  if (!is_file(files.weights)) {
    check(!is_file(join(path, "model.safetensors.index.json")), "load_gpt", "'", path,
          "' holds a sharded checkpoint (model.safetensors.index.json), which chord cannot load yet");
    check(!is_file(join(path, "pytorch_model.bin")), "load_gpt", "'", path,
          "' holds pytorch_model.bin; chord reads only safetensors (in Python: "
          "model.save_pretrained(dir, safe_serialization=True))");
    fail("load_gpt", "the directory '", path, "' has no model.safetensors");
  }
  for (const char* name : {"config.json", "model.config.json"})  // HF's name first
    if (!files.config && is_file(join(path, name))) files.config = join(path, name);
  files.config_expected = "'" + join(path, "config.json") + "' or '" + join(path, "model.config.json") + "'";
  files.tokenizer = join(path, "model.tokenizer.json");
  files.hf_tokenizer = join(path, "tokenizer.json");
  return files;
}

CHORD_INLINE Json parse_config_json(const std::string& text, const std::string& what) {
  try {
    return Json::parse(text);
  } catch (const Error& e) {
    fail("load_gpt", what, " is not valid JSON: ", e.what());
  }
}

CHORD_INLINE ResolvedConfig resolve_config(const SafetensorsFile& weights, const CheckpointFiles& files) {
  std::optional<ResolvedConfig> from_metadata, from_file;
  if (auto it = weights.metadata().find("chord_config"); it != weights.metadata().end()) {
    const std::string where = "the chord_config metadata of '" + weights.path() + "'";
    from_metadata = ResolvedConfig{config_from_json(parse_config_json(it->second, where), where), where};
  }
  if (files.config) {
    const std::string where = "'" + *files.config + "'";
    from_file = ResolvedConfig{
        config_from_json(parse_config_json(read_file(*files.config, "load_gpt"), "the model config " + where), where),
        where};
  }
  if (from_metadata && from_file) {
    const std::string difference = first_difference(from_metadata->config, from_file->config);
    check(difference.empty(), "load_gpt", from_metadata->where, " and ", from_file->where, " disagree on ",
          difference);
  }
  if (from_metadata) return *from_metadata;
  if (from_file) return *from_file;
  fail("load_gpt", "no model config for '", weights.path(), "': it has no chord_config metadata and there is no ",
       files.config_expected);
}

CHORD_INLINE std::map<std::string, std::string> tensor_names(const SafetensorsFile& file) {
  std::map<std::string, std::string> names;
  for (const std::string& name : file.names()) {
    const std::string plain = strip_prefix(name);
    if (is_hf_mask_buffer(plain)) continue;
    check(names.emplace(plain, name).second, "load_gpt", "'", file.path(), "' holds tensor '", plain, "' twice");
  }
  return names;
}

CHORD_INLINE int64_t layers_in(const std::map<std::string, std::string>& names) {
  int64_t layers = 0;
  for (const auto& [plain, name] : names) {
    if (plain.rfind("h.", 0) != 0) continue;
    const std::size_t dot = plain.find('.', 2);
    try {
      const long long index = std::stoll(plain.substr(2, dot - 2));
      // (h.9223372036854775807 would overflow the count: left to the weight check, like a non-number)
      if (index < std::numeric_limits<long long>::max()) layers = std::max<int64_t>(layers, index + 1);
    } catch (const std::exception&) {  // not "h.<number>.": the weight check names it
    }
  }
  return layers;
}

CHORD_INLINE void check_config_matches_tensors(const SafetensorsFile& file, const nn::GPTConfig& c,
                                               const std::string& config_where) {
  const auto names = tensor_names(file);
  const auto mismatch = [&](const char* key, int64_t value, const std::string& evidence) {
    fail("load_gpt", config_where, " says ", key, " = ", value, ", but '", file.path(), "' ", evidence);
  };
  if (auto it = names.find("wte.weight"); it != names.end() && file.entry(it->second).shape.size() == 2) {
    const Shape& s = file.entry(it->second).shape;
    const std::string evidence = "has wte.weight of shape " + s.str() + " = [vocab_size, n_embd]";
    if (s[0] != c.vocab_size) mismatch("vocab_size", c.vocab_size, evidence);
    if (s[1] != c.n_embd) mismatch("n_embd", c.n_embd, evidence);
  }
  if (auto it = names.find("wpe.weight"); it != names.end() && file.entry(it->second).shape.size() == 2) {
    const Shape& s = file.entry(it->second).shape;
    if (s[0] != c.context_length)
      mismatch("n_positions", c.context_length, "has wpe.weight of shape " + s.str() + " = [n_positions, n_embd]");
  }
  const int64_t layers = layers_in(names);
  if (layers != c.n_layer)
    mismatch("n_layer", c.n_layer,
             "holds " + std::to_string(layers) + " layers" +
                 (layers > 0 ? " (h.0 .. h." + std::to_string(layers - 1) + ")" : std::string()));
  check(c.tie_embeddings || names.count("lm_head.weight") != 0, "load_gpt", config_where,
        " says tie_word_embeddings = false, but '", file.path(), "' has no lm_head.weight");
  // Whatever the checks above could not see (a tensor missing altogether, say wte.weight with a
  // vocab_size of 10^9): a config that declares more numbers than the file holds is refused here,
  // before the model is built and allocated.
  double stored = 0;
  for (const std::string& name : file.names()) stored += static_cast<double>(numel_of(file.entry(name).shape));
  if (c.num_parameters() > stored)
    fail("load_gpt", config_where, " describes a model of ", c.num_parameters(), " parameters (vocab_size ",
         c.vocab_size, ", n_positions ", c.context_length, ", n_embd ", c.n_embd, ", n_layer ", c.n_layer, "), but '",
         file.path(), "' holds only ", stored, " numbers");
}

CHORD_INLINE std::optional<Tokenizer> load_tokenizer(const CheckpointFiles& files) {
  if (is_file(files.tokenizer)) return Tokenizer::load(files.tokenizer);
  if (files.hf_tokenizer && is_file(*files.hf_tokenizer)) {
    try {
      return Tokenizer::load(*files.hf_tokenizer);
    } catch (const Error&) {  // HF's BPE tokenizer, which chord cannot read yet
    }
  }
  return std::nullopt;
}

}  // namespace gpt_checkpoint_detail

CHORD_INLINE nn::GPTConfig load_gpt_config(const std::string& path) {
  namespace d = gpt_checkpoint_detail;
  const d::CheckpointFiles files = d::checkpoint_files(path);
  return d::resolve_config(SafetensorsFile::read(files.weights), files).config;
}

}  // namespace chord::io
#endif  // CHORD_DEFINES_NON_TEMPLATES
