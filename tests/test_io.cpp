// JSON and safetensors: round trips, the exact on-disk layout, and a clear
// chord::Error for every kind of broken file.

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "test_util.hpp"

using namespace chord;
using chord::io::Json;

namespace {
std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("chord_test_" + std::to_string(::getpid()) + "_" + name)).string();
}
void write_raw(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}
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
