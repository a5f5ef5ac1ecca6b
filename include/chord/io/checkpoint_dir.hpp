#pragma once
// A checkpoint directory that is published whole or not at all.
//
// A training checkpoint is several files (weights, optimizer moments, the trainer's state). Each
// file written atomically is not enough: a process killed between two of them leaves a directory
// that mixes two steps. So a checkpoint is built in a fresh temporary directory, sealed with a
// manifest (every file's size and checksum, written last), and published by renames:
//
//   build  dir.tmp-<pid>/   the files, then manifest.json
//   swap   dir -> dir.previous,  dir.tmp-<pid> -> dir,  remove dir.previous
//
// A kill at any point leaves `dir` complete (old or new), or, between the two renames, only
// `dir.previous` complete. The reader (find_complete_checkpoint) verifies the manifest of `dir` and
// falls back to `dir.previous`; a directory whose files disagree with its manifest is refused.
//
//   io::write_checkpoint_directory("run/checkpoint", [&](const std::string& tmp) { ...write files in tmp... },
//                                  {{"step", io::Json(step)}});
//   io::CompleteCheckpoint c = io::find_complete_checkpoint("run/checkpoint");  // c.dir, c.manifest

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "chord/core/non_templates.hpp"
#include "chord/io/json.hpp"

namespace chord::io {

inline constexpr const char* kManifestName = "manifest.json";

// FNV-1a, 64 bits, as 16 hex digits: a checksum against torn and mixed files (not an attacker).
std::string fnv1a64_hex(std::string_view bytes);

namespace checkpoint_dir_detail {

namespace fs = std::filesystem;

// The manifest of the files in `dir` (every regular file but the manifest), with `fields` added.
Json manifest_of(const fs::path& dir, const Json::Object& fields);

// Why `dir` is not a complete checkpoint, or nullopt when its manifest checks out.
std::optional<std::string> why_incomplete(const fs::path& dir, Json* manifest_out);

}  // namespace checkpoint_dir_detail

// Builds a checkpoint in a fresh temporary directory (write_files(tmp_dir) writes its files), seals
// it with a manifest holding `fields` and every file's size and checksum, and publishes it as `dir`
// (see the top of this file). A failure leaves `dir` as it was.
void write_checkpoint_directory(const std::string& dir, const std::function<void(const std::string&)>& write_files,
                                const Json::Object& fields = {});

struct CompleteCheckpoint {
  std::string dir;  // `dir`, or `dir.previous` when `dir` is incomplete or missing
  Json manifest;    // its manifest (the fields given to write_checkpoint_directory, and "files")
  std::string note; // why `dir` was passed over for `dir.previous` ("" when it was not)
};

// The complete checkpoint at `dir` (its manifest verified file by file), else the one at
// `dir.previous`; a chord::Error saying why `dir` is not complete when neither is.
CompleteCheckpoint find_complete_checkpoint(const std::string& dir);

}  // namespace chord::io

#if CHORD_DEFINES_NON_TEMPLATES
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <system_error>
#include <utility>
#include <vector>

#include <unistd.h>

#include "chord/core/error.hpp"
#include "chord/io/atomic_file.hpp"

namespace chord::io {

CHORD_INLINE std::string fnv1a64_hex(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

namespace checkpoint_dir_detail {

CHORD_INLINE Json manifest_of(const fs::path& dir, const Json::Object& fields) {
  Json::Object files;
  std::vector<fs::path> paths;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_regular_file() && entry.path().filename() != kManifestName) paths.push_back(entry.path());
  std::sort(paths.begin(), paths.end());
  for (const fs::path& p : paths) {
    const std::string bytes = read_file(p.string(), "write_checkpoint_directory");
    files.emplace_back(p.filename().string(),
                       Json(Json::Object{{"bytes", Json(static_cast<int64_t>(bytes.size()))},
                                         {"fnv1a64", Json(fnv1a64_hex(bytes))}}));
  }
  Json::Object out = fields;
  out.emplace_back("files", Json(std::move(files)));
  return Json(std::move(out));
}

CHORD_INLINE std::optional<std::string> why_incomplete(const fs::path& dir, Json* manifest_out) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return "'" + dir.string() + "' is not a directory";
  const fs::path manifest_path = dir / kManifestName;
  if (!fs::is_regular_file(manifest_path, ec))
    return "'" + dir.string() + "' has no " + kManifestName + " (an interrupted save, or not a checkpoint)";
  Json manifest;
  try {
    manifest = Json::parse(read_file(manifest_path.string(), "checkpoint"));
    const Json& files = manifest.at("files");
    for (const auto& [name, entry] : files.as_object("files")) {
      const fs::path file = dir / name;
      if (!fs::is_regular_file(file, ec)) return "'" + file.string() + "', listed in its manifest, is missing";
      const std::string bytes = read_file(file.string(), "checkpoint");
      const int64_t expected = entry.at("bytes").as_int("bytes");
      if (static_cast<int64_t>(bytes.size()) != expected)
        return "'" + file.string() + "' has " + std::to_string(bytes.size()) + " bytes, its manifest says " +
               std::to_string(expected);
      if (fnv1a64_hex(bytes) != entry.at("fnv1a64").as_string("fnv1a64"))
        return "'" + file.string() + "' does not match the checksum in its manifest (changed after the save)";
    }
  } catch (const Error& e) {
    return "'" + manifest_path.string() + "' is not a valid manifest: " + e.what();
  }
  if (manifest_out) *manifest_out = std::move(manifest);
  return std::nullopt;
}

}  // namespace checkpoint_dir_detail

CHORD_INLINE void write_checkpoint_directory(const std::string& dir,
                                             const std::function<void(const std::string&)>& write_files,
                                             const Json::Object& fields) {
  namespace fs = std::filesystem;
  namespace d = checkpoint_dir_detail;
  check(!dir.empty(), "write_checkpoint_directory", "the checkpoint directory name is empty");
  const fs::path target = fs::path(dir).lexically_normal();
  const fs::path tmp = target.string() + ".tmp-" + std::to_string(::getpid());
  const fs::path previous = target.string() + ".previous";
  if (target.has_parent_path()) fs::create_directories(target.parent_path());
  atomic_file_detail::remove_left_by_dead_writers(target.string(), ".tmp-");  // killed saves
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp);
  try {
    write_files(tmp.string());
    write_text_file_atomically((tmp / kManifestName).string(), d::manifest_of(tmp, fields).dump() + "\n");
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  // A complete `dir` is kept as `dir.previous` until the new one is in place.
  fs::remove_all(previous, ec);
  if (fs::exists(target)) fs::rename(target, previous);
  fs::rename(tmp, target);
  atomic_file_detail::sync_directory(target.string());
  fs::remove_all(previous, ec);
}

CHORD_INLINE CompleteCheckpoint find_complete_checkpoint(const std::string& dir) {
  namespace d = checkpoint_dir_detail;
  const std::filesystem::path target = std::filesystem::path(dir).lexically_normal();
  CompleteCheckpoint out;
  const std::optional<std::string> why = d::why_incomplete(target, &out.manifest);
  if (!why) {
    out.dir = target.string();
    return out;
  }
  const std::string previous = target.string() + ".previous";
  if (!d::why_incomplete(previous, &out.manifest)) {
    out.dir = previous;
    out.note = *why;
    return out;
  }
  fail("checkpoint", "no complete checkpoint at '", dir, "': ", *why);
}

}  // namespace chord::io
#endif  // CHORD_DEFINES_NON_TEMPLATES
