// libFuzzer target: chord::io::Json::parse on the bytes (tools/fuzz.sh builds and runs it).
// A document that parses must survive a round trip: parse(dump(v)) dumps to the same text.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "chord/io/json.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  chord::io::Json value;
  try {
    value = chord::io::Json::parse(text);
  } catch (const chord::Error&) {
    return 0;
  }
  const std::string once = value.dump();  // parse() accepts only finite numbers, so dump() cannot throw
  const std::string twice = chord::io::Json::parse(once).dump();
  FUZZ_CHECK(once == twice);
  return 0;
}
