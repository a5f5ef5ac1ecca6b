#pragma once
// Atomic file writes: the bytes go to a temporary file beside the target,
// are flushed to disk, and only then renamed over the target. A reader sees
// either the old file or the whole new one, never half of it.

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include <unistd.h>

#include "chord/core/error.hpp"
#include "chord/core/non_templates.hpp"

namespace chord::io {

namespace atomic_file_detail {

// The temporary name of `path` for process `pid`.
inline std::string temporary_name(const std::string& path, long pid) { return path + ".tmp-" + std::to_string(pid); }

// Removes the entries beside `path` named "<path's name><suffix><pid>" whose process no longer
// exists: what a write interrupted by a crash or kill -9 left, which must not pile up with every
// interruption. An entry of a live process (another writer) is left alone.
void remove_left_by_dead_writers(const std::string& path, const std::string& suffix);

// Flushes a directory's entries, so that a rename inside it survives a power loss (best effort:
// some file systems refuse to open or sync a directory, and the rename itself is still atomic).
void sync_directory(const std::string& path);

}  // namespace atomic_file_detail

// Calls write(FILE*) on a temporary file, then moves it to `path`. Temporaries that killed writers
// left beside `path` are removed first.
template <class WriteFn>
void write_file_atomically(const std::string& path, WriteFn&& write) {
  atomic_file_detail::remove_left_by_dead_writers(path, ".tmp-");
  const std::string tmp = atomic_file_detail::temporary_name(path, ::getpid());
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
  atomic_file_detail::sync_directory(path);
}

void write_bytes(std::FILE* f, const void* data, std::size_t size);

void write_text_file_atomically(const std::string& path, std::string_view text);

// The whole file as bytes.
std::string read_file(const std::string& path, const char* op = "load");

}  // namespace chord::io

#if CHORD_DEFINES_NON_TEMPLATES
#include <filesystem>
#include <system_error>

#include <fcntl.h>
#include <signal.h>
#include <sys/types.h>

namespace chord::io {

namespace atomic_file_detail {

CHORD_INLINE void remove_left_by_dead_writers(const std::string& path, const std::string& suffix) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  const std::string prefix = target.filename().string() + suffix;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string digits = name.substr(prefix.size());
    if (digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    const long pid = std::stol(digits);
    if (pid == ::getpid() || pid <= 0) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == -1 && errno == ESRCH) fs::remove_all(it->path(), ec);
  }
}

CHORD_INLINE void sync_directory(const std::string& path) {
  const std::filesystem::path target(path);
  const std::string dir = target.has_parent_path() ? target.parent_path().string() : std::string(".");
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

}  // namespace atomic_file_detail

CHORD_INLINE void write_bytes(std::FILE* f, const void* data, std::size_t size) {
  if (size == 0) return;
  check(std::fwrite(data, 1, size, f) == size, "save", "short write (disk full?)");
}

CHORD_INLINE void write_text_file_atomically(const std::string& path, std::string_view text) {
  write_file_atomically(path, [&](std::FILE* f) { write_bytes(f, text.data(), text.size()); });
}

CHORD_INLINE std::string read_file(const std::string& path, const char* op) {
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
#endif  // CHORD_DEFINES_NON_TEMPLATES
