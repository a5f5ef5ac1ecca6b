#pragma once
// Shared by the libFuzzer targets in tests/fuzz/ (built and run by tools/fuzz.sh).
//
// The loaders read files, so each target writes the fuzzer's bytes into a scratch directory of
// its own process (removed at exit) and loads from there. Targets that need several files split
// the bytes at kFileSeparator: part 0 is the first file, part 1 the second, and so on (tests/fuzz/
// make_corpus.cpp writes its seeds the same way, and tools/fuzz.sh gives libFuzzer the separator
// as a dictionary word).
//
// The contract every target checks: an input either loads or throws chord::Error. Any other
// exception, a crash, a leak or undefined behaviour is a finding; so is a broken invariant that a
// target checks itself (FUZZ_CHECK, e.g. a round trip that does not reproduce its input).

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

namespace chord_fuzz {

inline constexpr std::string_view kFileSeparator = "\n#chord-fuzz-file#\n";

// The bytes as parts, cut at every kFileSeparator.
inline std::vector<std::string> split_files(std::string_view bytes) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t at = bytes.find(kFileSeparator, start);
    if (at == std::string_view::npos) break;
    parts.emplace_back(bytes.substr(start, at - start));
    start = at + kFileSeparator.size();
  }
  parts.emplace_back(bytes.substr(start));
  return parts;
}

// The parts joined again (make_corpus writes its seeds with this).
inline std::string join_files(const std::vector<std::string>& parts) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += kFileSeparator;
    out += parts[i];
  }
  return out;
}

// A scratch directory of this process ($TMPDIR or /tmp), emptied on every call, removed at exit.
inline std::string fresh_scratch_dir() {
  static const std::string* dir = [] {
    const char* base = std::getenv("TMPDIR");
    const auto* path = new std::string(  // never freed: the exit handler below still needs it
        (std::filesystem::path(base && *base ? base : "/tmp") / ("chord-fuzz-" + std::to_string(::getpid()))).string());
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(*dir, ec);
    });
    return path;
  }();
  std::error_code ec;
  std::filesystem::remove_all(*dir, ec);
  std::filesystem::create_directories(*dir);
  return *dir;
}

inline void write_file(const std::string& path, std::string_view bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) {
    std::perror(path.c_str());
    std::abort();
  }
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) std::abort();
  std::fclose(f);
}

}  // namespace chord_fuzz

// A target's own invariant: a broken one is a finding (abort, so libFuzzer saves the input).
#define FUZZ_CHECK(cond)                                                                          \
  do {                                                                                            \
    if (!(cond)) {                                                                                \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #cond);          \
      std::abort();                                                                               \
    }                                                                                             \
  } while (0)
