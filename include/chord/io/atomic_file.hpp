#pragma once
// Atomic file writes: the bytes go to a temporary file beside the target,
// are flushed to disk, and only then renamed over the target. A reader sees
// either the old file or the whole new one, never half of it.

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

#include <unistd.h>

#include "chord/core/error.hpp"

namespace chord::io {

// Calls write(FILE*) on a temporary file, then moves it to `path`.
template <class WriteFn>
void write_file_atomically(const std::string& path, WriteFn&& write) {
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  check(f != nullptr, "save", "cannot open '", tmp, "' for writing: ", std::strerror(errno));
  bool ok = false;
  try {
    write(f);
    ok = std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
  } catch (...) {
    std::fclose(f);
    std::remove(tmp.c_str());
    throw;
  }
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    const std::string reason = std::strerror(errno);
    std::remove(tmp.c_str());
    fail("save", "writing '", tmp, "' failed: ", reason);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    std::remove(tmp.c_str());
    fail("save", "cannot rename '", tmp, "' to '", path, "': ", reason);
  }
}

inline void write_bytes(std::FILE* f, const void* data, std::size_t size) {
  if (size == 0) return;
  check(std::fwrite(data, 1, size, f) == size, "save", "short write (disk full?)");
}

inline void write_text_file_atomically(const std::string& path, std::string_view text) {
  write_file_atomically(path, [&](std::FILE* f) { write_bytes(f, text.data(), text.size()); });
}

// The whole file as bytes.
inline std::string read_file(const std::string& path, const char* op = "load") {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  check(f != nullptr, op, "cannot open '", path, "': ", std::strerror(errno));
  std::string bytes;
  char buf[1 << 16];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) bytes.append(buf, n);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  check(!failed, op, "error reading '", path, "'");
  return bytes;
}

}  // namespace chord::io
