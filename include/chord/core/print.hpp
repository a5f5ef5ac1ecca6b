#pragma once
// Printing tensors the way PyTorch prints them (torch/_tensor_str.py, default print options):
//
//   std::cout << chord::tensor<float>({{1, 2}, {3, 4}});
//   tensor([[1., 2.],
//           [3., 4.]])
//
// - Nested brackets, one row per line, aligned under "tensor(["; a blank line between the
//   blocks of a 3-D (or higher) tensor.
// - One width for every element, so columns line up; long rows wrap at 80 columns.
// - Floats: all whole numbers -> "1."; otherwise 4 decimals "0.2500"; scientific "1.0000e-05"
//   when the nonzero magnitudes span more than 1000x, exceed 1e8, or go below 1e-4.
//   int64 as integers, bool as True / False.
// - More than 1000 elements: each dimension shows its first and last 3 entries around "...".
// - Suffixes: device='cuda:0' off the CPU; size=(0, 3) for an empty tensor that is not 1-D;
//   dtype=... unless float32 (PyTorch's default; unlike PyTorch, chord names int64 and bool too);
//   requires_grad=True for a tensor that requires grad: a leaf, or an op's output. (PyTorch shows
//   grad_fn=<MulBackward> for the latter; the node's name lives in the autograd layer, above
//   core, so core prints the flag only. docs/design.md: each layer uses only the ones below.)
//
// Values are read in logical (row-major) order through the strides, so views print as what they
// show; a CUDA tensor is copied to the host first.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ostream>
#include <string>
#include <type_traits>
#include <vector>

#include "chord/core/tensor.hpp"

namespace chord {

namespace print_detail {

// PyTorch's defaults (torch.set_printoptions).
inline constexpr int kPrecision = 4;         // digits after the point
inline constexpr int64_t kThreshold = 1000;  // summarise tensors with more elements than this
inline constexpr int64_t kEdgeItems = 3;     // entries kept at each end of a summarised dimension
inline constexpr int kLineWidth = 80;

// Marks the "..." between the two ends of a summarised dimension.
inline constexpr int64_t kGap = -1;

// The indices shown along a dimension of `size`: all, or the first and last kEdgeItems around kGap.
inline std::vector<int64_t> shown_indices(int64_t size, bool summarize) {
  std::vector<int64_t> indices;
  if (summarize && size > 2 * kEdgeItems) {
    for (int64_t i = 0; i < kEdgeItems; ++i) indices.push_back(i);
    indices.push_back(kGap);
    for (int64_t i = size - kEdgeItems; i < size; ++i) indices.push_back(i);
  } else {
    for (int64_t i = 0; i < size; ++i) indices.push_back(i);
  }
  return indices;
}

// Host memory laid out by shape and strides: the values to print.
template <class T>
struct HostView {
  const T* data;
  Shape shape;
  Strides strides;
};

// Calls f(value) for every element that will be shown, in row-major order.
template <class T, class F>
void for_each_shown(const HostView<T>& view, int dim, int64_t offset, bool summarize, F&& f) {
  if (dim == view.shape.size()) {
    f(view.data[offset]);
    return;
  }
  for (int64_t i : shown_indices(view.shape[dim], summarize))
    if (i != kGap) for_each_shown(view, dim + 1, offset + i * view.strides[dim], summarize, f);
}

// A double in printf's %.*f or %.*e, with non-finite values spelled as Python spells them (C may
// write "-nan").
inline std::string format_double(double value, char conversion, int precision) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buf[64];
  if (conversion == 'e') std::snprintf(buf, sizeof buf, "%.*e", precision, value);
  else std::snprintf(buf, sizeof buf, "%.*f", precision, value);
  return buf;
}

// Turns one element into text padded to the width shared by all shown elements. For floats the
// notation is chosen once, from the shown values, as PyTorch's _Formatter does.
template <class T>
class ElementFormatter {
 public:
  explicit ElementFormatter(const std::vector<T>& shown) {
    if constexpr (FloatingPoint<T>) choose_notation(shown);
    else for (T v : shown) width_ = std::max(width_, static_cast<int>(text(v).size()));
  }

  int width() const { return width_; }

  std::string format(T value) const {
    const std::string s = text(value);
    return std::string(std::max(0, width_ - static_cast<int>(s.size())), ' ') + s;
  }

 private:
  enum class Notation { WholeNumbers, Fixed, Scientific };

  // Only the nonzero finite values decide (a 0 or a nan fits any notation).
  void choose_notation(const std::vector<T>& shown) {
    std::vector<double> values;
    for (T v : shown)
      if (std::isfinite(v) && v != T(0)) values.push_back(static_cast<double>(v));
    if (values.empty()) return;  // whole numbers, width 1
    bool all_whole = true;
    double min_abs = std::abs(values[0]), max_abs = min_abs;
    for (double v : values) {
      all_whole = all_whole && v == std::ceil(v);
      min_abs = std::min(min_abs, std::abs(v));
      max_abs = std::max(max_abs, std::abs(v));
    }
    const bool wide_range = max_abs / min_abs > 1000.0 || max_abs > 1.0e8;
    if (all_whole) notation_ = wide_range ? Notation::Scientific : Notation::WholeNumbers;
    else notation_ = wide_range || min_abs < 1.0e-4 ? Notation::Scientific : Notation::Fixed;
    for (double v : values) width_ = std::max(width_, static_cast<int>(text(static_cast<T>(v)).size()));
  }

  std::string text(T value) const {
    if constexpr (std::is_same_v<T, bool>) {
      return value ? "True" : "False";
    } else if constexpr (std::is_same_v<T, int64_t>) {
      return std::to_string(value);
    } else {
      const double v = static_cast<double>(value);
      switch (notation_) {
        case Notation::Scientific: return format_double(v, 'e', kPrecision);
        case Notation::Fixed: return format_double(v, 'f', kPrecision);
        case Notation::WholeNumbers: break;
      }
      // "2." rather than "2", so that a float tensor of whole numbers does not read as integers.
      const std::string whole = format_double(v, 'f', 0);
      return std::isfinite(v) ? whole + "." : whole;
    }
  }

  Notation notation_ = Notation::WholeNumbers;
  int width_ = 1;
};

// The last dimension: "[a, b, c]", wrapped so that lines stay within kLineWidth. `indent` is the
// column of the opening bracket; continuation lines start one column to its right.
template <class T>
std::string row_text(const HostView<T>& view, int64_t offset, int indent, bool summarize,
                     const ElementFormatter<T>& formatter) {
  const int dim = view.shape.size() - 1;
  const int per_line = std::max(1, (kLineWidth - indent) / (formatter.width() + 2));  // + ", "
  std::string out = "[";
  int count = 0;
  for (int64_t i : shown_indices(view.shape[dim], summarize)) {
    if (count > 0) out += count % per_line == 0 ? ",\n" + std::string(indent + 1, ' ') : ", ";
    out += i == kGap ? " ..." : formatter.format(view.data[offset + i * view.strides[dim]]);
    ++count;
  }
  return out + "]";
}

// Dimensions dim.. of the tensor at `offset`, recursively: the sub-tensors of an outer dimension
// go one per line, with (dimensions left - 1) newlines between them, as PyTorch separates them.
template <class T>
std::string nested_text(const HostView<T>& view, int dim, int64_t offset, int indent, bool summarize,
                        const ElementFormatter<T>& formatter) {
  const int dims_left = view.shape.size() - dim;
  if (dims_left == 0) return formatter.format(view.data[offset]);  // a 0-d tensor
  if (dims_left == 1) return row_text(view, offset, indent, summarize, formatter);
  const std::string separator = "," + std::string(dims_left - 1, '\n') + std::string(indent + 1, ' ');
  std::string out = "[";
  bool first = true;
  for (int64_t i : shown_indices(view.shape[dim], summarize)) {
    if (!first) out += separator;
    first = false;
    if (i == kGap) out += "...";
    else out += nested_text(view, dim + 1, offset + i * view.strides[dim], indent + 1, summarize, formatter);
  }
  return out + "]";
}

// The values of a non-empty host tensor, as they follow "tensor(" (which is `indent` wide).
template <class T>
std::string values_text(const Tensor<T>& host, int indent) {
  const HostView<T> view{host.data(), host.shape(), host.strides()};
  const bool summarize = host.numel() > kThreshold;
  std::vector<T> shown;
  for_each_shown(view, 0, 0, summarize, [&](T v) { shown.push_back(v); });
  return nested_text(view, 0, 0, indent, summarize, ElementFormatter<T>(shown));
}

// (0, 3), (2,): a shape as Python writes a tuple.
inline std::string shape_tuple(const Shape& shape) {
  std::string out = "(";
  for (int d = 0; d < shape.size(); ++d) out += (d ? ", " : "") + std::to_string(shape[d]);
  return out + (shape.size() == 1 ? ",)" : ")");
}

// Appends ", suffix" to `text` for each suffix, starting a new line (at `indent`) for a suffix that
// would push the last line past kLineWidth; then the closing ")".
inline std::string add_suffixes(std::string text, const std::vector<std::string>& suffixes, int indent) {
  const std::size_t newline = text.rfind('\n');
  // PyTorch's count (len - rfind + 1, with rfind = -1 when there is no newline): two more than the
  // last line's length. Kept so that the line breaks fall where PyTorch's do.
  int last_line = static_cast<int>(text.size()) - (newline == std::string::npos ? -1 : static_cast<int>(newline)) + 1;
  for (const std::string& suffix : suffixes) {
    const int length = static_cast<int>(suffix.size());
    if (last_line + length + 2 > kLineWidth) {
      text += ",\n" + std::string(indent, ' ') + suffix;
      last_line = indent + length;
    } else {
      text += ", " + suffix;
      last_line += length + 2;
    }
  }
  return text + ")";
}

template <class T>
std::string tensor_text(const Tensor<T>& t) {
  if (!t.defined()) return "tensor(undefined)";
  const std::string prefix = "tensor(";
  const int indent = static_cast<int>(prefix.size());
  std::vector<std::string> suffixes;
  if (!t.device().is_cpu()) suffixes.push_back("device='" + t.device().str() + "'");
  std::string values = "[]";
  if (t.numel() == 0) {
    if (t.dim() != 1) suffixes.push_back("size=" + shape_tuple(t.shape()));
  } else {
    // A CUDA tensor: its values, copied to the host in logical order (to_vector reads the device).
    const Tensor<T> host = t.device().is_cpu() ? t : Tensor<T>::from_vector(t.to_vector(), t.shape());
    values = values_text(host, indent);
  }
  if (!std::is_same_v<T, float>) suffixes.push_back(std::string("dtype=") + t.dtype());
  if (t.requires_grad()) suffixes.push_back("requires_grad=True");
  return add_suffixes(prefix + values, suffixes, indent);
}

}  // namespace print_detail

// Prints like PyTorch (see the top of this file).
template <Element T>
std::ostream& operator<<(std::ostream& os, const Tensor<T>& t) {
  return os << print_detail::tensor_text(t);
}

}  // namespace chord
