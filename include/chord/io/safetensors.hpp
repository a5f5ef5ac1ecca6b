#pragma once
// safetensors checkpoints (the format of Hugging Face's `safetensors`):
//
//   [8 bytes: N, little-endian u64] [N bytes: JSON header] [data buffer]
//   header = {"<name>": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//             "__metadata__": {"<key>": "<string>", ...}}
//   offsets are byte offsets into the data buffer; tensors are row-major.
//
// Reading checks the header's bounds before anything else is read, and
// every entry against the buffer: a truncated or corrupt file, a missing
// tensor, a wrong dtype or shape raises chord::Error naming the file and the
// tensor. Writing is atomic (temporary file, then rename).

#include <bit>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "chord/core/error.hpp"
#include "chord/core/non_templates.hpp"
#include "chord/core/tensor.hpp"
#include "chord/io/atomic_file.hpp"
#include "chord/io/json.hpp"

namespace chord::io {

static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian machine");

template <FloatingPoint T>
using NamedTensorList = std::vector<std::pair<std::string, Tensor<T>>>;

namespace detail {
int64_t dtype_size(const std::string& dtype);
float half_to_float(uint16_t h);
}  // namespace detail

// One tensor's entry in a safetensors header.
struct SafetensorsEntry {
  std::string dtype;  // "F32", "F64", ...
  Shape shape;
  int64_t begin = 0, end = 0;  // byte range in the data buffer
};

class SafetensorsFile {
 public:
  // Reads and validates the whole file.
  static SafetensorsFile read(const std::string& path);

  const std::string& path() const { return path_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::vector<std::string>& names() const { return names_; }  // in header order
  bool contains(const std::string& name) const { return entries_.count(name) != 0; }
  const SafetensorsEntry& entry(const std::string& name) const;

  // The tensor `name` converted to T (from F32, F64, F16 or BF16).
  template <FloatingPoint T>
  Tensor<T> tensor(const std::string& name) const {
    const SafetensorsEntry& e = entry(name);
    Tensor<T> out = Tensor<T>::empty(e.shape);
    const char* src = bytes_.data() + data_start_ + e.begin;
    const int64_t n = out.numel();
    T* dst = out.data();
    if (e.dtype == "F32") {
      for (int64_t i = 0; i < n; ++i) { float v; std::memcpy(&v, src + 4 * i, 4); dst[i] = static_cast<T>(v); }
    } else if (e.dtype == "F64") {
      for (int64_t i = 0; i < n; ++i) { double v; std::memcpy(&v, src + 8 * i, 8); dst[i] = static_cast<T>(v); }
    } else if (e.dtype == "F16" || e.dtype == "BF16") {
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        dst[i] = static_cast<T>(e.dtype == "F16" ? detail::half_to_float(h)
                                                 : std::bit_cast<float>(static_cast<uint32_t>(h) << 16));
      }
    } else {
      fail("load_safetensors", "tensor '", name, "' in '", path_, "' has dtype ", e.dtype,
           "; only floating-point tensors (F32, F64, F16, BF16) can be loaded as ", dtype_name<T>());
    }
    return out;
  }

  // The tensor `name`, which must have `shape`.
  template <FloatingPoint T>
  Tensor<T> tensor(const std::string& name, const Shape& shape) const {
    check(entry(name).shape == shape, "load_safetensors", "tensor '", name, "' in '", path_, "' has shape ",
          entry(name).shape, ", expected ", shape);
    return tensor<T>(name);
  }

 private:
  [[noreturn]] void corrupt(const std::string& why) const;

  void parse();

  std::string path_;
  std::string bytes_;
  int64_t data_start_ = 0;
  std::map<std::string, SafetensorsEntry> entries_;
  std::vector<std::string> names_;
  std::map<std::string, std::string> metadata_;
};

// Writes tensors (F32 for float, F64 for double) with optional string metadata, atomically.
template <FloatingPoint T>
void save_safetensors(const std::string& path, const NamedTensorList<T>& tensors,
                      const std::map<std::string, std::string>& metadata = {}) {
  Json::Object header;
  if (!metadata.empty()) {
    Json::Object meta;
    for (const auto& [k, v] : metadata) meta.emplace_back(k, Json(v));
    header.emplace_back("__metadata__", Json(std::move(meta)));
  }
  int64_t offset = 0;
  std::vector<Tensor<T>> contiguous;
  for (const auto& [name, t] : tensors) {
    check(t.defined(), "save_safetensors", "tensor '", name, "' is undefined");
    check(t.device().is_cpu(), "save_safetensors", "tensor '", name, "' is on ", t.device(), "; move it to the cpu");
    for (const auto& [other, value] : header)
      check(other != name, "save_safetensors", "tensor name '", name, "' appears twice");
    Json::Array shape;
    for (int64_t s : t.shape()) shape.emplace_back(s);
    const int64_t bytes = t.numel() * static_cast<int64_t>(sizeof(T));
    header.emplace_back(name, Json(Json::Object{{"dtype", Json(sizeof(T) == 4 ? "F32" : "F64")},
                                                {"shape", Json(std::move(shape))},
                                                {"data_offsets", Json(Json::Array{Json(offset), Json(offset + bytes)})}}));
    offset += bytes;
    contiguous.push_back(t.is_contiguous() ? t : t.clone());
  }
  std::string text = Json(std::move(header)).dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // pad so the data buffer starts 8-byte aligned
  write_file_atomically(path, [&](std::FILE* f) {
    const uint64_t n = text.size();
    write_bytes(f, &n, 8);
    write_bytes(f, text.data(), text.size());
    for (const Tensor<T>& t : contiguous) write_bytes(f, t.data(), static_cast<std::size_t>(t.numel()) * sizeof(T));
  });
}

// Every tensor of a file, as T, in the file's header order.
template <FloatingPoint T>
NamedTensorList<T> load_safetensors(const std::string& path) {
  const SafetensorsFile file = SafetensorsFile::read(path);
  NamedTensorList<T> out;
  for (const std::string& name : file.names()) out.emplace_back(name, file.tensor<T>(name));
  return out;
}

}  // namespace chord::io

#if CHORD_DEFINES_NON_TEMPLATES
#include <algorithm>
#include <cmath>

namespace chord::io {

namespace detail {
CHORD_INLINE int64_t dtype_size(const std::string& dtype) {
  if (dtype == "F64" || dtype == "I64" || dtype == "U64") return 8;
  if (dtype == "F32" || dtype == "I32" || dtype == "U32") return 4;
  if (dtype == "F16" || dtype == "BF16" || dtype == "I16" || dtype == "U16") return 2;
  if (dtype == "I8" || dtype == "U8" || dtype == "BOOL") return 1;
  return 0;
}
CHORD_INLINE float half_to_float(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1F, mant = h & 0x3FF;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) bits = sign;
    else {  // subnormal: renormalise
      int e = -1;
      uint32_t m = mant;
      do { ++e; m <<= 1; } while ((m & 0x400) == 0);
      bits = sign | static_cast<uint32_t>(127 - 15 - e) << 23 | (m & 0x3FF) << 13;
    }
  } else if (exp == 31) {
    bits = sign | 0x7F800000u | mant << 13;
  } else {
    bits = sign | (exp + 127 - 15) << 23 | mant << 13;
  }
  return std::bit_cast<float>(bits);
}
}  // namespace detail

CHORD_INLINE SafetensorsFile SafetensorsFile::read(const std::string& path) {
  SafetensorsFile file;
  file.path_ = path;
  file.bytes_ = read_file(path, "load_safetensors");
  file.parse();
  return file;
}

CHORD_INLINE const SafetensorsEntry& SafetensorsFile::entry(const std::string& name) const {
  auto it = entries_.find(name);
  check(it != entries_.end(), "load_safetensors", "'", path_, "' has no tensor named '", name, "'");
  return it->second;
}

CHORD_INLINE void SafetensorsFile::corrupt(const std::string& why) const {
  fail("load_safetensors", "'", path_, "' is not a valid safetensors file: ", why);
}

CHORD_INLINE void SafetensorsFile::parse() {
  if (bytes_.size() < 8) corrupt("shorter than its 8-byte header length");
  uint64_t header_len;
  std::memcpy(&header_len, bytes_.data(), 8);
  if (header_len > bytes_.size() - 8)
    corrupt("header length " + std::to_string(header_len) + " runs past the end of the file (" +
            std::to_string(bytes_.size()) + " bytes; truncated?)");
  data_start_ = 8 + static_cast<int64_t>(header_len);
  const int64_t buffer_size = static_cast<int64_t>(bytes_.size()) - data_start_;
  Json header;
  try {
    header = Json::parse(std::string_view(bytes_).substr(8, header_len));
  } catch (const Error& e) {
    corrupt(std::string("header is not valid JSON (") + e.what() + ")");
  }
  if (!header.is_object()) corrupt("header is not a JSON object");
  std::vector<std::pair<int64_t, int64_t>> ranges;
  for (const auto& [name, value] : header.as_object()) {
    if (name == "__metadata__") {
      if (!value.is_object()) corrupt("__metadata__ is not an object");
      for (const auto& [k, v] : value.as_object()) {
        if (!v.is_string()) corrupt("metadata value of '" + k + "' is not a string");
        metadata_[k] = v.as_string();
      }
      continue;
    }
    if (entries_.count(name)) corrupt("tensor '" + name + "' appears twice");
    if (!value.is_object()) corrupt("entry '" + name + "' is not an object");
    const Json* dtype = value.find("dtype");
    const Json* shape = value.find("shape");
    const Json* offsets = value.find("data_offsets");
    if (!dtype || !dtype->is_string() || detail::dtype_size(dtype->as_string()) == 0)
      corrupt("tensor '" + name + "' has a missing or unknown dtype");
    if (!shape || !shape->is_array() || shape->as_array().size() > static_cast<std::size_t>(kMaxDims))
      corrupt("tensor '" + name + "' has a missing shape or more than 8 dimensions");
    if (!offsets || !offsets->is_array() || offsets->as_array().size() != 2)
      corrupt("tensor '" + name + "' has no [begin, end] data_offsets");
    SafetensorsEntry e;
    e.dtype = dtype->as_string();
    for (const Json& s : shape->as_array()) {
      if (!s.is_number() || s.as_number() < 0 || s.as_number() > 1e15 || std::floor(s.as_number()) != s.as_number())
        corrupt("tensor '" + name + "' has an invalid size in its shape");
      e.shape.push_back(s.as_int());
    }
    int64_t numel = 0;
    try {
      numel = checked_numel(e.shape, "load_safetensors");  // overflow-safe: sizes are at most 1e15 each
    } catch (const Error&) {
      corrupt("tensor '" + name + "' has shape " + e.shape.str() + ", more than 2^48 elements: impossibly large");
    }
    for (const Json& o : offsets->as_array())
      if (!o.is_number() || o.as_number() < 0 || std::floor(o.as_number()) != o.as_number())
        corrupt("tensor '" + name + "' has invalid data_offsets");
    e.begin = offsets->as_array()[0].as_int();
    e.end = offsets->as_array()[1].as_int();
    if (e.begin > e.end || e.end > buffer_size)
      corrupt("tensor '" + name + "' has data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
              "] outside the " + std::to_string(buffer_size) + "-byte data buffer (truncated?)");
    if (e.end - e.begin != numel * detail::dtype_size(e.dtype))
      corrupt("tensor '" + name + "' has " + std::to_string(e.end - e.begin) + " bytes of data, but its shape " +
              e.shape.str() + " and dtype " + e.dtype + " need " +
              std::to_string(numel * detail::dtype_size(e.dtype)));
    ranges.emplace_back(e.begin, e.end);
    names_.push_back(name);
    entries_.emplace(name, std::move(e));
  }
  std::sort(ranges.begin(), ranges.end());
  for (std::size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].first < ranges[i - 1].second) corrupt("two tensors' data ranges overlap");
}

}  // namespace chord::io
#endif  // CHORD_DEFINES_NON_TEMPLATES
