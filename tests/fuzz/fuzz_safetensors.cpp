// libFuzzer target: chord::io::SafetensorsFile::read on the bytes (written to a scratch file: the
// reader takes a path), then every tensor read as float. A file whose tensors all load must
// survive a round trip through save_safetensors bit for bit.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "chord/io/safetensors.hpp"
#include "chord/ops/view.hpp"  // Tensor::clone, which save_safetensors uses (core/tensor.hpp: ops live in ops/)
#include "fuzz_common.hpp"

using namespace chord;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string dir = chord_fuzz::fresh_scratch_dir();
  const std::string path = dir + "/fuzz.safetensors";
  chord_fuzz::write_file(path, std::string_view(reinterpret_cast<const char*>(data), size));
  try {
    const io::SafetensorsFile file = io::SafetensorsFile::read(path);
    io::NamedTensorList<float> tensors;
    bool all = true;
    for (const std::string& name : file.names()) {
      try {
        Tensor<float> t = file.tensor<float>(name);
        FUZZ_CHECK(t.shape() == file.entry(name).shape);
        tensors.emplace_back(name, t);
      } catch (const Error&) {  // an integer dtype: refused, the other tensors still load
        all = false;
      }
    }
    if (!all) return 0;
    const std::string copy = dir + "/copy.safetensors";
    io::save_safetensors(copy, tensors, file.metadata());
    const io::SafetensorsFile again = io::SafetensorsFile::read(copy);
    FUZZ_CHECK(again.names() == file.names() && again.metadata() == file.metadata());
    for (const auto& [name, t] : tensors) {
      const Tensor<float> u = again.tensor<float>(name);
      FUZZ_CHECK(u.shape() == t.shape());
      FUZZ_CHECK(t.numel() == 0 || std::memcmp(u.data(), t.data(), sizeof(float) * t.numel()) == 0);
    }
  } catch (const Error&) {
  }
  return 0;
}
