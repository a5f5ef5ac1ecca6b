#pragma once
// chord's files and what a person reads: safetensors and GPT checkpoints (Hugging Face's GPT-2
// layout), crash-consistent checkpoint folders, tokenizers, JSON, metric logs (JSONL + CSV),
// Markdown tables, progress lines, command lines, and PNG line plots.
//
//   #include <chord/io.hpp>
//
// PNG plots: one .cpp file of the program defines CHORD_IMPLEMENTATION before including chord,
// which compiles the PNG encoder there (io/png.hpp); every other file includes chord as usual.

#include "chord/nn.hpp"

#include "chord/io/args.hpp"
#include "chord/io/atomic_file.hpp"
#include "chord/io/checkpoint_dir.hpp"
#include "chord/io/font.hpp"
#include "chord/io/gpt_checkpoint.hpp"
#include "chord/io/json.hpp"
#include "chord/io/metrics.hpp"
#include "chord/io/plot.hpp"
#include "chord/io/png.hpp"
#include "chord/io/progress.hpp"
#include "chord/io/safetensors.hpp"
#include "chord/io/table.hpp"
#include "chord/io/tokenizer.hpp"
#include "chord/io/utf8.hpp"

// The compiled mode (docs/design.md, "The compiled mode"): where CHORD_COMPILED is defined (CMake's
// chord::compiled defines it), this topic's templates for float and double are only declared here,
// `extern template`, and the library compiled them once.
#ifdef CHORD_COMPILED
#define CHORD_INSTANCE extern template
#include "chord/instances/io_float.inc"
#include "chord/instances/io_double.inc"
#undef CHORD_INSTANCE
#endif
