#pragma once
// Line plots as PNG files: training curves a person can read.
//
//   chord::io::save_line_plot("reward.png",
//       {{.label = "CHORD", .x = steps, .y = reward}, {.label = "SFT+RL", .x = steps, .y = reward2}},
//       {.title = "reward/mean", .x_label = "step", .y_label = "reward", .smoothing = 0.6});
//
// The chart is drawn into an RGB pixel buffer (`Image`) by this file: axes with
// 1-2-5 tick steps and labels, light grid lines, a title, axis labels, a legend
// with one colour per series, anti-aliased curves. Text uses chord's own bitmap
// font (font.hpp). stb_image_write only encodes the finished buffer as PNG, and
// the file is written atomically (temporary name, then rename).
//
// NaN and infinite points are skipped, leaving a gap in the curve; a point
// without a finite neighbour is drawn as a dot. A constant series gets a range
// around its value; a plot with no finite point at all shows empty axes.
//
// Curves over several seeds: a series may carry a band, `.lower` and `.upper`
// (one value per x, e.g. the min and max over seeds), shaded faintly in its
// colour under all curves and smoothed like the curve. `PlotOptions::reference_lines`
// ({.y = 0.42, .label = "base policy"}) are dashed horizontal lines with a label
// at the right end. The y range includes both.
//
// The PNG bytes come from io/png.hpp (stb_image_write): one .cpp file of a program that
// saves plots defines CHORD_IMPLEMENTATION before including chord (see there).

#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chord/core/error.hpp"
#include "chord/core/non_templates.hpp"
#include "chord/io/font.hpp"
#include "chord/io/png.hpp"

namespace chord::io {

// ---- pixels -------------------------------------------------------------------

struct Rgb {
  std::uint8_t r = 0, g = 0, b = 0;
  bool operator==(const Rgb&) const = default;
};

// Series colours, in order: blue, orange, green, red, purple, brown, pink, cyan
// (Tableau 10). Series beyond the eighth reuse them.
inline constexpr std::array<Rgb, 8> kPalette = {{
    {31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40},
    {148, 103, 189}, {140, 86, 75}, {227, 119, 194}, {23, 190, 207},
}};

// An RGB image, row-major from the top-left corner.
struct Image {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> pixels;  // [height, width, 3]

  Image() = default;
  Image(int w, int h, Rgb fill = {255, 255, 255});
  bool contains(int x, int y) const { return x >= 0 && y >= 0 && x < width && y < height; }
  Rgb at(int x, int y) const;
  // Pixels outside the image are ignored by set() and blend().
  void set(int x, int y, Rgb c);
  // Paints c over the pixel with opacity alpha in [0, 1].
  void blend(int x, int y, Rgb c, double alpha);
  void fill_rect(int x0, int y0, int x1, int y1, Rgb c, double alpha = 1.0);  // [x0, x1) x [y0, y1)
  // Copies `other` with its top-left corner at (x0, y0).
  void paste(const Image& other, int x0, int y0);
};

// ---- text ----------------------------------------------------------------------

// Draws `text` with its top-left corner at (x, y), each font pixel a scale x scale block.
void draw_text(Image& img, int x, int y, std::string_view text, Rgb color, int scale = 1);

// Draws `text` turned 90 degrees counter-clockwise (reading upwards), its
// baseline side to the right, starting at (x, y_bottom) and going up.
void draw_text_vertical(Image& img, int x, int y_bottom, std::string_view text, Rgb color, int scale = 1);

inline int text_width(std::string_view text, int scale = 1) { return font::text_width(text) * scale; }

// ---- ticks ---------------------------------------------------------------------

struct Ticks {
  std::vector<double> values;  // increasing, all inside [lo, hi]
  double step = 0;             // 1, 2 or 5 times a power of ten; 0 for a log axis
  bool log = false;
};

// Round tick values inside [lo, hi] with a step of 1, 2 or 5 times a power of
// ten, chosen so that there are about `target` of them: at least two, at most
// 1.5 * target + 1. lo == hi gives the single tick lo.
Ticks nice_ticks(double lo, double hi, int target = 6);

// Ticks for a log10 axis over [lo, hi] (lo > 0): the powers of ten inside
// (every k-th one when there are more than about 1.5 * target); when fewer than
// two fit, also 2x and 5x them; when still fewer than two, the 1-2-5 ticks of
// the linear range.
Ticks log_ticks(double lo, double hi, int target = 6);

namespace detail {
// "1.5e-05" -> "1.5e-5", "2e+06" -> "2e6".
std::string compact_exponent(std::string s);
std::string format_fixed(double v, int decimals);
std::string format_general(double v, int digits);
// Always mantissa and exponent, no trailing zeros: 2e-3, 1.5e6.
std::string format_exponent(double v);
}  // namespace detail

// Labels for ticks, the same style along one axis: "0.25" with as many
// decimals as the step needs; "20k", "1.5M" from 10^4 up; "2e-5" below 10^-3.
std::vector<std::string> tick_labels(const Ticks& t);

// ---- the plot ------------------------------------------------------------------

struct Series {
  std::string label{};          // legend text; series without one are left out of the legend
  std::vector<double> x{}, y{}; // same length; non-finite points are skipped
  // An optional shaded band, e.g. the min and max (or mean -+ std) over seeds:
  // both empty (no band) or both as long as x. Drawn in the series' colour, faint,
  // under every curve; a point where x, lower or upper is not finite breaks it.
  std::vector<double> lower{}, upper{};
  std::optional<Rgb> color{};   // default: kPalette[index % 8]
};

// A dashed horizontal line across the plot area at y (a baseline, say "base
// policy"), its label in small text at the right end just above it.
struct ReferenceLine {
  double y = 0;
  std::string label{};
  std::optional<Rgb> color{};   // default: grey
};

struct PlotOptions {
  std::string title{}, x_label{}, y_label{};
  int width = 800, height = 500;      // pixels
  double smoothing = 0;               // EMA weight in [0, 1): 0 = raw; else raw curve faint, smoothed on top
  std::optional<double> y_min{}, y_max{}; // fixed y range (default: the data's, padded 5%)
  bool log_y = false;                 // log10 y axis; every finite y must be > 0
  double line_width = 2.0;            // pixels at font scale 1 (times the scale in larger images)
  bool antialias = true;
  int font_scale = 0;                 // text pixel size; 0 = by image size: max(1, min(width, height) / 500)
  bool legend = true;
  std::vector<ReferenceLine> reference_lines{};  // dashes under the curves, labels over them
};

// TensorBoard-style smoothing: the exponential moving average s_t = a s_{t-1} +
// (1 - a) y_t, divided by (1 - a^n) after n points so the first values are not
// pulled toward 0. Non-finite values stay where they are and do not enter the average.
std::vector<double> ema(const std::vector<double>& y, double smoothing);

// Where the data goes: the plot area in pixels and the data range it shows.
struct PlotLayout {
  int left = 0, top = 0, right = 0, bottom = 0;  // plot area [left, right) x [top, bottom)
  int inset = 0;                                 // data range starts this many pixels inside the area
  double x_lo = 0, x_hi = 1, y_lo = 0, y_hi = 1; // y_lo, y_hi in data units (also on a log axis)
  bool log_y = false;
  int scale = 1;                                 // font scale
  Ticks x_ticks, y_ticks;
  std::vector<std::string> x_tick_labels, y_tick_labels;

  // Pixel coordinates (continuous: pixel i covers [i, i + 1)) of a data point.
  double px(double x) const {
    return left + inset + (x - x_lo) / (x_hi - x_lo) * (right - left - 2 * inset);
  }
  double py(double y) const {
    const double f = log_y ? (std::log10(y) - std::log10(y_lo)) / (std::log10(y_hi) - std::log10(y_lo))
                           : (y - y_lo) / (y_hi - y_lo);
    return bottom - inset - f * (bottom - top - 2 * inset);
  }
};

namespace detail {

inline constexpr Rgb kInk{34, 34, 34};         // title, labels
inline constexpr Rgb kTickInk{70, 70, 70};     // tick labels
inline constexpr Rgb kFrame{90, 90, 90};       // axes box and tick marks
inline constexpr Rgb kGrid{232, 232, 232};     // grid lines
inline constexpr Rgb kBackground{255, 255, 255};
inline constexpr Rgb kReference{110, 110, 110}; // reference lines without a colour of their own
inline constexpr double kBandAlpha = 0.2;       // a band's opacity: the grid and other bands show through

void check_series(const std::vector<Series>& series, const PlotOptions& o);

// A band point is drawn where x, lower and upper are all finite.
bool band_point(const Series& s, std::size_t j);

// A range that is never empty: [v - d, v + d] around a single value.
std::pair<double, double> widen(double lo, double hi, bool log);

}  // namespace detail

// The layout render_line_plot() uses: margins around the plot area sized for the
// labels, the data range, and the ticks.
PlotLayout layout_line_plot(const std::vector<Series>& series, const PlotOptions& o = {});

namespace detail {

// Clips the segment p0-p1 to the box [x0, x1] x [y0, y1] (Liang-Barsky).
// False when nothing of it is inside.
bool clip_segment(double& ax, double& ay, double& bx, double& by, double x0, double y0, double x1, double y1);

// Per-pixel coverage of one curve inside the plot area, so that overlapping
// segments at a joint do not darken it: a pixel takes the largest coverage.
struct Coverage;

// Draws one polyline (gaps at non-finite points) into a fresh coverage.
void draw_curve(Image& img, const PlotLayout& L, const std::vector<double>& xs, const std::vector<double>& ys,
                Rgb color, double alpha, const PlotOptions& o, std::vector<std::uint8_t>& ink);

// Shades one series' band: every pixel column whose centre lies between two
// consecutive band points is filled between lower and upper, both interpolated
// linearly in pixels (so on a log axis the band's edges are straight, like the
// curves). The pixels are collected first and blended once, so that segments
// meeting at a column (or x values out of order) do not darken it. lower above
// upper is shaded all the same. A band point without band neighbours is one column.
void draw_band(Image& img, const PlotLayout& L, const std::vector<double>& xs, const std::vector<double>& lower,
               const std::vector<double>& upper, Rgb color);

// The top row of a reference line's dashes (s pixels thick), or nothing when
// its y lies outside a fixed y range.
std::optional<int> reference_row(const PlotLayout& L, const ReferenceLine& r);

}  // namespace detail

// Draws the chart into a new image of options.width x options.height.
Image render_line_plot(const std::vector<Series>& series, const PlotOptions& o = {});

// ---- PNG -----------------------------------------------------------------------

// The image as PNG file bytes.
std::string encode_png(const Image& img);

// Writes the image as a PNG file (atomically).
void save_png(const std::string& path, const Image& img);

void save_line_plot(const std::string& path, const std::vector<Series>& series, const PlotOptions& options = {});

// ---- several panels in one image --------------------------------------------------

// One chart of a grid; its options.width/height are the panel's size.
struct Panel {
  std::vector<Series> series{};
  PlotOptions options{};
};

// Panels left to right, top to bottom, `columns` per row, each in a cell as large
// as the largest panel. A series label keeps one colour in every panel (the
// colours go to labels in order of first appearance), so a method reads the
// same everywhere; series without a label or with an explicit colour keep theirs.
Image render_plot_grid(const std::vector<Panel>& panels, int columns = 2);

void save_plot_grid(const std::string& path, const std::vector<Panel>& panels, int columns = 2);

}  // namespace chord::io

#if CHORD_DEFINES_NON_TEMPLATES
#include <algorithm>
#include <cstdio>
#include <limits>
#include <map>

#include "chord/io/atomic_file.hpp"

namespace chord::io {

CHORD_INLINE Image::Image(int w, int h, Rgb fill) : width(w), height(h) {
  check(w > 0 && h > 0, "plot", "image size must be positive, got ", w, "x", h);
  check(w <= 16384 && h <= 16384, "plot", "image size ", w, "x", h, " is larger than 16384x16384");
  pixels.resize(static_cast<std::size_t>(w) * h * 3);
  for (std::size_t i = 0; i < pixels.size(); i += 3) {
    pixels[i] = fill.r;
    pixels[i + 1] = fill.g;
    pixels[i + 2] = fill.b;
  }
}

CHORD_INLINE Rgb Image::at(int x, int y) const {
  check(contains(x, y), "plot", "pixel (", x, ", ", y, ") is outside the ", width, "x", height, " image");
  const std::uint8_t* p = &pixels[(static_cast<std::size_t>(y) * width + x) * 3];
  return {p[0], p[1], p[2]};
}

CHORD_INLINE void Image::set(int x, int y, Rgb c) {
  if (!contains(x, y)) return;
  std::uint8_t* p = &pixels[(static_cast<std::size_t>(y) * width + x) * 3];
  p[0] = c.r;
  p[1] = c.g;
  p[2] = c.b;
}

CHORD_INLINE void Image::blend(int x, int y, Rgb c, double alpha) {
  if (!contains(x, y) || !(alpha > 0)) return;
  alpha = std::min(alpha, 1.0);
  std::uint8_t* p = &pixels[(static_cast<std::size_t>(y) * width + x) * 3];
  auto mix = [alpha](std::uint8_t under, std::uint8_t over) {
    return static_cast<std::uint8_t>(std::lround(under + (over - under) * alpha));
  };
  p[0] = mix(p[0], c.r);
  p[1] = mix(p[1], c.g);
  p[2] = mix(p[2], c.b);
}

CHORD_INLINE void Image::fill_rect(int x0, int y0, int x1, int y1, Rgb c, double alpha) {
  for (int y = std::max(y0, 0); y < std::min(y1, height); ++y)
    for (int x = std::max(x0, 0); x < std::min(x1, width); ++x) blend(x, y, c, alpha);
}

CHORD_INLINE void Image::paste(const Image& other, int x0, int y0) {
  for (int y = 0; y < other.height; ++y)
    for (int x = 0; x < other.width; ++x) set(x0 + x, y0 + y, other.at(x, y));
}

CHORD_INLINE void draw_text(Image& img, int x, int y, std::string_view text, Rgb color, int scale) {
  font::for_each_pixel(text, [&](int fx, int fy) {
    img.fill_rect(x + fx * scale, y + fy * scale, x + (fx + 1) * scale, y + (fy + 1) * scale, color);
  });
}

CHORD_INLINE void draw_text_vertical(Image& img, int x, int y_bottom, std::string_view text, Rgb color, int scale) {
  font::for_each_pixel(text, [&](int fx, int fy) {
    const int px = x + fy * scale, py = y_bottom - (fx + 1) * scale;
    img.fill_rect(px, py, px + scale, py + scale, color);
  });
}

CHORD_INLINE Ticks nice_ticks(double lo, double hi, int target) {
  check(std::isfinite(lo) && std::isfinite(hi) && lo <= hi, "nice_ticks", "bad range [", lo, ", ", hi, "]");
  check(std::isfinite(hi - lo), "nice_ticks", "range [", lo, ", ", hi, "] is too wide");
  check(target >= 1, "nice_ticks", "target must be >= 1, got ", target);
  Ticks t;
  if (lo == hi) {
    t.values = {lo};
    return t;
  }
  const double raw = (hi - lo) / target;
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / mag;
  int m = norm < 1.5 ? 1 : norm < 3.0 ? 2 : norm < 7.0 ? 5 : 10;
  while (true) {
    t.step = m * mag;
    // Ticks k * step for integer k: no accumulated rounding.
    const double eps = t.step * 1e-9;
    const double k0 = std::ceil((lo - eps) / t.step), k1 = std::floor((hi + eps) / t.step);
    if (k1 - k0 >= 1 || t.step <= (hi - lo) * 1e-6) {
      for (double k = k0; k <= k1; k += 1.0) {
        double v = k * t.step;
        if (std::abs(v) < eps) v = 0;  // no "-0"
        t.values.push_back(std::clamp(v, lo, hi));
      }
      return t;
    }
    // Fewer than two ticks fit: the next smaller step (10 -> 5 -> 2 -> 1 -> 0.5 ...).
    if (m == 10) m = 5;
    else if (m == 5) m = 2;
    else if (m == 2) m = 1;
    else { m = 5; mag /= 10; }
  }
}

CHORD_INLINE Ticks log_ticks(double lo, double hi, int target) {
  check(std::isfinite(lo) && std::isfinite(hi) && lo > 0 && lo <= hi, "log_ticks", "bad range [", lo, ", ", hi,
        "]: need 0 < lo <= hi");
  Ticks t;
  t.log = true;
  check(target >= 1, "log_ticks", "target must be >= 1, got ", target);
  const int e0 = static_cast<int>(std::floor(std::log10(lo))), e1 = static_cast<int>(std::ceil(std::log10(hi)));
  const int every = (e1 - e0) * 2 > target * 3 ? (e1 - e0 + target - 1) / target : 1;
  auto collect = [&](std::initializer_list<double> mantissas) {
    t.values.clear();
    for (int e = e0; e <= e1; ++e)
      if (((e % every) + every) % every == 0)
      for (double m : mantissas) {
        const double v = m * std::pow(10.0, e);
        if (v >= lo * (1 - 1e-12) && v <= hi * (1 + 1e-12)) t.values.push_back(v);
      }
  };
  collect({1.0});
  if (t.values.size() < 2) collect({1.0, 2.0, 5.0});
  if (t.values.size() < 2) {
    t = nice_ticks(lo, hi, 4);
    t.log = true;
  }
  return t;
}

namespace detail {

CHORD_INLINE std::string compact_exponent(std::string s) {
  const auto e = s.find('e');
  if (e == std::string::npos) return s;
  std::string mant = s.substr(0, e), exp = s.substr(e + 1);
  const bool neg = !exp.empty() && exp[0] == '-';
  if (!exp.empty() && (exp[0] == '-' || exp[0] == '+')) exp.erase(0, 1);
  while (exp.size() > 1 && exp[0] == '0') exp.erase(0, 1);
  return mant + "e" + (neg ? "-" : "") + exp;
}

CHORD_INLINE std::string format_fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  std::string s = buf;
  if (s[0] == '-' && s.find_first_not_of("-0.") == std::string::npos) s.erase(0, 1);  // "-0.0" -> "0.0"
  return s;
}

CHORD_INLINE std::string format_general(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return compact_exponent(buf);
}

CHORD_INLINE std::string format_exponent(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3e", v);
  std::string s = buf;
  const auto e = s.find('e');
  std::string mant = s.substr(0, e);
  while (mant.back() == '0') mant.pop_back();
  if (mant.back() == '.') mant.pop_back();
  return compact_exponent(mant + s.substr(e));
}

}  // namespace detail

CHORD_INLINE std::vector<std::string> tick_labels(const Ticks& t) {
  std::vector<std::string> out;
  if (t.values.empty()) return out;
  if (t.log || t.step == 0) {  // plain decimals while all fit in [1e-3, 1e5), else all as 2e-3
    bool plain = true;
    for (double v : t.values) plain = plain && (v == 0 || (std::abs(v) >= 1e-3 && std::abs(v) < 1e5));
    for (double v : t.values)
      out.push_back(v == 0 ? "0" : plain ? detail::format_general(v, 6) : detail::format_exponent(v));
    return out;
  }
  double amax = 0;
  for (double v : t.values) amax = std::max(amax, std::abs(v));
  const auto decimals_for = [](double step) {
    return std::max(0, -static_cast<int>(std::floor(std::log10(step) + 1e-9)));
  };
  if (amax >= 1e4 && amax < 1e15) {
    const double unit = amax < 1e6 ? 1e3 : amax < 1e9 ? 1e6 : amax < 1e12 ? 1e9 : 1e12;
    const char* suffix = amax < 1e6 ? "k" : amax < 1e9 ? "M" : amax < 1e12 ? "G" : "T";
    for (double v : t.values)
      out.push_back(v == 0 ? "0" : detail::format_fixed(v / unit, decimals_for(t.step / unit)) + suffix);
  } else if (amax < 1e-3 || amax >= 1e15) {
    for (double v : t.values) {
      const int digits = std::max(1, static_cast<int>(std::floor(std::log10(std::max(std::abs(v), t.step)) + 1e-9) -
                                                      std::floor(std::log10(t.step) + 1e-9)) + 1);
      out.push_back(v == 0 ? "0" : detail::format_general(v, digits));
    }
  } else {
    for (double v : t.values) out.push_back(detail::format_fixed(v, decimals_for(t.step)));
  }
  return out;
}

CHORD_INLINE std::vector<double> ema(const std::vector<double>& y, double smoothing) {
  check(smoothing >= 0 && smoothing < 1, "ema", "smoothing must be in [0, 1), got ", smoothing);
  std::vector<double> out(y.size());
  double acc = 0, weight = 1;  // weight = a^n
  for (std::size_t i = 0; i < y.size(); ++i) {
    if (!std::isfinite(y[i])) {
      out[i] = y[i];
      continue;
    }
    acc = smoothing * acc + (1 - smoothing) * y[i];
    weight *= smoothing;
    out[i] = acc / (1 - weight);
  }
  return out;
}

namespace detail {

CHORD_INLINE void check_series(const std::vector<Series>& series, const PlotOptions& o) {
  check(o.width > 0 && o.height > 0, "plot", "image size must be positive, got ", o.width, "x", o.height);
  check(o.width <= 16384 && o.height <= 16384, "plot", "image size ", o.width, "x", o.height,
        " is larger than 16384x16384");
  check(o.smoothing >= 0 && o.smoothing < 1, "plot", "smoothing must be in [0, 1), got ", o.smoothing);
  check(std::isfinite(o.line_width) && o.line_width > 0 && o.line_width <= 64, "plot",
        "line_width must be in (0, 64], got ", o.line_width);
  check(o.font_scale >= 0 && o.font_scale <= 16, "plot", "font_scale must be in [0, 16], got ", o.font_scale);
  check(!o.y_min || std::isfinite(*o.y_min), "plot", "y_min must be finite, got ", o.y_min.value_or(0));
  check(!o.y_max || std::isfinite(*o.y_max), "plot", "y_max must be finite, got ", o.y_max.value_or(0));
  check(!o.y_min || !o.y_max || *o.y_min < *o.y_max, "plot", "y_min (", o.y_min.value_or(0),
        ") must be below y_max (", o.y_max.value_or(0), ")");
  check(!o.log_y || !o.y_min || *o.y_min > 0, "plot", "log_y needs y_min > 0, got ", o.y_min.value_or(0));
  check(!o.log_y || !o.y_max || *o.y_max > 0, "plot", "log_y needs y_max > 0, got ", o.y_max.value_or(0));
  for (std::size_t i = 0; i < series.size(); ++i) {
    const Series& s = series[i];
    check(s.x.size() == s.y.size(), "plot", "series ", i, " ('", s.label, "') has ", s.x.size(), " x values and ",
          s.y.size(), " y values");
    const bool band = !s.lower.empty() || !s.upper.empty();
    check(!band || (s.lower.size() == s.x.size() && s.upper.size() == s.x.size()), "plot", "series ", i, " ('",
          s.label, "') has ", s.x.size(), " x values but a band of ", s.lower.size(), " lower and ", s.upper.size(),
          " upper values (a band needs one of each per x)");
    if (o.log_y)
      for (std::size_t j = 0; j < s.y.size(); ++j) {
        check(!std::isfinite(s.x[j]) || !std::isfinite(s.y[j]) || s.y[j] > 0, "plot", "log_y: series ", i, " ('",
              s.label, "') has y[", j, "] = ", s.y[j], " <= 0");
        if (!band) continue;
        check(!std::isfinite(s.x[j]) || !std::isfinite(s.lower[j]) || s.lower[j] > 0, "plot", "log_y: series ", i,
              " ('", s.label, "') has lower[", j, "] = ", s.lower[j], " <= 0");
        check(!std::isfinite(s.x[j]) || !std::isfinite(s.upper[j]) || s.upper[j] > 0, "plot", "log_y: series ", i,
              " ('", s.label, "') has upper[", j, "] = ", s.upper[j], " <= 0");
      }
  }
  for (std::size_t k = 0; k < o.reference_lines.size(); ++k) {
    const ReferenceLine& r = o.reference_lines[k];
    check(std::isfinite(r.y), "plot", "reference line ", k, " ('", r.label, "') has y = ", r.y, ", not finite");
    check(!o.log_y || r.y > 0, "plot", "log_y: reference line ", k, " ('", r.label, "') has y = ", r.y, " <= 0");
  }
}

CHORD_INLINE bool band_point(const Series& s, std::size_t j) {
  return std::isfinite(s.x[j]) && std::isfinite(s.lower[j]) && std::isfinite(s.upper[j]);
}

CHORD_INLINE std::pair<double, double> widen(double lo, double hi, bool log) {
  if (lo < hi) return {lo, hi};
  if (log) return {lo / std::sqrt(10.0), hi * std::sqrt(10.0)};
  const double d = lo != 0 ? std::abs(lo) * 0.1 : 1.0;
  return {lo - d, hi + d};
}

}  // namespace detail

CHORD_INLINE PlotLayout layout_line_plot(const std::vector<Series>& series, const PlotOptions& o) {
  detail::check_series(series, o);
  PlotLayout L;
  L.log_y = o.log_y;
  L.scale = o.font_scale > 0 ? o.font_scale : std::max(1, std::min(o.width, o.height) / 500);
  const int s = L.scale;

  // Data range over the finite points, the bands' included. (Smoothed curves
  // and bands stay inside it: the EMA is a weighted mean of the raw values.)
  double xl = std::numeric_limits<double>::infinity(), xh = -xl, yl = xl, yh = -xl;
  for (const Series& se : series)
    for (std::size_t j = 0; j < se.x.size(); ++j) {
      if (std::isfinite(se.x[j]) && std::isfinite(se.y[j])) {
        xl = std::min(xl, se.x[j]);
        xh = std::max(xh, se.x[j]);
        yl = std::min(yl, se.y[j]);
        yh = std::max(yh, se.y[j]);
      }
      if (!se.lower.empty() && detail::band_point(se, j)) {
        xl = std::min(xl, se.x[j]);
        xh = std::max(xh, se.x[j]);
        yl = std::min({yl, se.lower[j], se.upper[j]});
        yh = std::max({yh, se.lower[j], se.upper[j]});
      }
    }
  if (!(xl <= xh)) {  // no finite point
    xl = 0;
    xh = 1;
  }
  for (const ReferenceLine& r : o.reference_lines) {
    yl = std::min(yl, r.y);
    yh = std::max(yh, r.y);
  }
  if (!(yl <= yh)) {  // nothing at all to show
    yl = o.log_y ? 1 : 0;
    yh = o.log_y ? 10 : 1;
  }
  std::tie(L.x_lo, L.x_hi) = detail::widen(xl, xh, false);
  if (o.log_y) {
    double a = std::log10(yl), b = std::log10(yh);
    if (a == b) { a -= 0.5; b += 0.5; }
    const double pad = 0.05 * (b - a);
    L.y_lo = o.y_min ? *o.y_min : std::pow(10.0, a - pad);
    L.y_hi = o.y_max ? *o.y_max : std::pow(10.0, b + pad);
    if (L.y_lo >= L.y_hi) {  // only one end fixed, and the data lie beyond it
      if (o.y_min) L.y_hi = L.y_lo * 10;
      else L.y_lo = L.y_hi / 10;
    }
  } else {
    std::tie(yl, yh) = detail::widen(yl, yh, false);
    const double pad = 0.05 * (yh - yl);
    L.y_lo = o.y_min ? *o.y_min : yl - pad;
    L.y_hi = o.y_max ? *o.y_max : yh + pad;
    if (L.y_lo >= L.y_hi) {  // only one end fixed, and the data lie beyond it
      if (o.y_min) L.y_hi = L.y_lo + std::max(1.0, std::abs(L.y_lo));
      else L.y_lo = L.y_hi - std::max(1.0, std::abs(L.y_hi));
    }
  }
  check(std::isfinite(L.y_hi - L.y_lo) && std::isfinite(L.x_hi - L.x_lo), "plot",
        "data range is too wide to plot: x [", L.x_lo, ", ", L.x_hi, "], y [", L.y_lo, ", ", L.y_hi, "]");

  // Margins: vertical ones first (they fix the y ticks, whose labels fix the left margin).
  const int glyph_h = font::kGlyphHeight * s, cap_h = font::kCapHeight * s, tick_len = 4 * s, gap = 4 * s;
  L.top = o.title.empty() ? 12 * s : 10 * s + font::kCapHeight * 2 * s + 10 * s;
  const int bottom_margin = tick_len + gap + glyph_h + (o.x_label.empty() ? 0 : 6 * s + glyph_h) + 8 * s;
  L.bottom = o.height - bottom_margin;
  L.inset = static_cast<int>(std::ceil(o.line_width * s / 2)) + 3;
  const int plot_h = L.bottom - L.top;
  check(plot_h >= 2 * L.inset + 16, "plot", "a ", o.width, "x", o.height,
        " image is too small for its title, labels and axes");
  const int y_target = std::clamp(plot_h / (cap_h * 7), 2, 10);
  L.y_ticks = o.log_y ? log_ticks(L.y_lo, L.y_hi, y_target) : nice_ticks(L.y_lo, L.y_hi, y_target);
  L.y_tick_labels = tick_labels(L.y_ticks);
  int label_w = 0;
  for (const auto& t : L.y_tick_labels) label_w = std::max(label_w, text_width(t, s));
  L.left = 8 * s + (o.y_label.empty() ? 0 : glyph_h + 6 * s) + label_w + gap + tick_len;

  // Horizontal: the x tick count shrinks until the labels have room.
  int right_pad = 14 * s;
  for (int target = 10; target >= 1; --target) {
    L.right = o.width - right_pad;
    const int plot_w = L.right - L.left;
    check(plot_w >= 2 * L.inset + 16, "plot", "a ", o.width, "x", o.height,
          " image is too small for its title, labels and axes");
    L.x_ticks = nice_ticks(L.x_lo, L.x_hi, std::min(target, std::max(1, plot_w / (60 * s))));
    L.x_tick_labels = tick_labels(L.x_ticks);
    int widest = 0;
    for (const auto& t : L.x_tick_labels) widest = std::max(widest, text_width(t, s));
    const int last_half = L.x_tick_labels.empty() ? 0 : text_width(L.x_tick_labels.back(), s) / 2;
    right_pad = std::max(14 * s, last_half + 4 * s);
    const double spacing = L.x_ticks.values.size() < 2
                               ? plot_w
                               : plot_w * (L.x_ticks.values[1] - L.x_ticks.values[0]) / (L.x_hi - L.x_lo);
    if (spacing >= widest + 16 * s || target == 1) break;
  }
  L.right = o.width - right_pad;
  check(L.right - L.left >= 2 * L.inset + 16, "plot", "a ", o.width, "x", o.height,
        " image is too small for its title, labels and axes");
  return L;
}

namespace detail {

CHORD_INLINE bool clip_segment(double& ax, double& ay, double& bx, double& by, double x0, double y0, double x1, double y1) {
  double t0 = 0, t1 = 1;
  const double dx = bx - ax, dy = by - ay;
  const double p[4] = {-dx, dx, -dy, dy}, q[4] = {ax - x0, x1 - ax, ay - y0, y1 - ay};
  for (int i = 0; i < 4; ++i) {
    if (p[i] == 0) {
      if (q[i] < 0) return false;
      continue;
    }
    const double r = q[i] / p[i];
    if (p[i] < 0) t0 = std::max(t0, r);
    else t1 = std::min(t1, r);
    if (t0 > t1) return false;
  }
  const double nax = ax + t0 * dx, nay = ay + t0 * dy;
  bx = ax + t1 * dx;
  by = ay + t1 * dy;
  ax = nax;
  ay = nay;
  return true;
}

struct Coverage {
  int x0, y0, w, h;
  std::vector<float> c;  // [h, w]
  Coverage(int left, int top, int right, int bottom)
      : x0(left), y0(top), w(right - left), h(bottom - top), c(static_cast<std::size_t>(w) * h, 0.0f) {}

  void put(int x, int y, double v) {
    float& cell = c[static_cast<std::size_t>(y - y0) * w + (x - x0)];
    cell = std::max(cell, static_cast<float>(v));
  }
  double amount(double dist, double half_width, bool aa) const {
    return aa ? std::clamp(half_width + 0.5 - dist, 0.0, 1.0) : (dist <= half_width ? 1.0 : 0.0);
  }
  // A thick segment: coverage from each pixel centre's distance to the segment.
  void segment(double ax, double ay, double bx, double by, double half_width, bool aa) {
    const double m = half_width + 2;
    if (!clip_segment(ax, ay, bx, by, x0 - m, y0 - m, x0 + w + m, y0 + h + m)) return;
    const int xa = std::max(x0, static_cast<int>(std::floor(std::min(ax, bx) - m)));
    const int xb = std::min(x0 + w - 1, static_cast<int>(std::ceil(std::max(ax, bx) + m)));
    const int ya = std::max(y0, static_cast<int>(std::floor(std::min(ay, by) - m)));
    const int yb = std::min(y0 + h - 1, static_cast<int>(std::ceil(std::max(ay, by) + m)));
    const double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
    for (int y = ya; y <= yb; ++y)
      for (int x = xa; x <= xb; ++x) {
        const double cx = x + 0.5, cy = y + 0.5;
        const double t = len2 > 0 ? std::clamp(((cx - ax) * dx + (cy - ay) * dy) / len2, 0.0, 1.0) : 0.0;
        const double ex = cx - (ax + t * dx), ey = cy - (ay + t * dy);
        const double v = amount(std::sqrt(ex * ex + ey * ey), half_width, aa);
        if (v > 0) put(x, y, v);
      }
  }
  void dot(double cx, double cy, double radius, bool aa) { segment(cx, cy, cx, cy, radius, aa); }

  // Paints `color` through the coverage; marks painted pixels in `ink`.
  void composite(Image& img, Rgb color, double alpha, std::vector<std::uint8_t>& ink) const {
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const float v = c[static_cast<std::size_t>(y) * w + x];
        if (v <= 0) continue;
        img.blend(x0 + x, y0 + y, color, v * alpha);
        ink[static_cast<std::size_t>(y) * w + x] = 1;
      }
  }
};

CHORD_INLINE void draw_curve(Image& img, const PlotLayout& L, const std::vector<double>& xs, const std::vector<double>& ys,
                             Rgb color, double alpha, const PlotOptions& o, std::vector<std::uint8_t>& ink) {
  Coverage cov(L.left, L.top, L.right, L.bottom);
  const double hw = o.line_width * L.scale / 2;
  const std::size_t n = xs.size();
  auto ok = [&](std::size_t j) { return std::isfinite(xs[j]) && std::isfinite(ys[j]); };
  for (std::size_t j = 0; j < n; ++j) {
    if (!ok(j)) continue;
    const double ax = L.px(xs[j]), ay = L.py(ys[j]);
    const bool prev = j > 0 && ok(j - 1), next = j + 1 < n && ok(j + 1);
    if (next) cov.segment(ax, ay, L.px(xs[j + 1]), L.py(ys[j + 1]), hw, o.antialias);
    if (!prev && !next) cov.dot(ax, ay, std::max(hw * 1.6, 2.0), o.antialias);
  }
  cov.composite(img, color, alpha, ink);
}

CHORD_INLINE void draw_band(Image& img, const PlotLayout& L, const std::vector<double>& xs, const std::vector<double>& lower,
                            const std::vector<double>& upper, Rgb color) {
  const int w = L.right - L.left;
  std::vector<std::uint8_t> mask(static_cast<std::size_t>(w) * (L.bottom - L.top), 0);
  // Pixel positions far outside the plot area (a fixed y range) are clamped before they become ints.
  auto clamp_y = [&](double v) { return std::clamp(v, L.top - 1.0, L.bottom + 1.0); };
  auto fill_column = [&](int col, double ya, double yb) {  // rows whose centres lie in [ya, yb]
    if (col < L.left || col >= L.right) return;
    if (ya > yb) std::swap(ya, yb);
    const int r0 = std::max(L.top, static_cast<int>(std::ceil(clamp_y(ya) - 0.5)));
    const int r1 = std::min(L.bottom - 1, static_cast<int>(std::floor(clamp_y(yb) - 0.5)));
    for (int r = r0; r <= r1; ++r) mask[static_cast<std::size_t>(r - L.top) * w + (col - L.left)] = 1;
  };
  const std::size_t n = xs.size();
  auto ok = [&](std::size_t j) { return std::isfinite(xs[j]) && std::isfinite(lower[j]) && std::isfinite(upper[j]); };
  for (std::size_t j = 0; j < n; ++j) {
    if (!ok(j)) continue;
    const bool prev = j > 0 && ok(j - 1), next = j + 1 < n && ok(j + 1);
    if (next) {
      double xa = L.px(xs[j]), xb = L.px(xs[j + 1]);
      double la = L.py(lower[j]), lb = L.py(lower[j + 1]), ua = L.py(upper[j]), ub = L.py(upper[j + 1]);
      if (xa > xb) {
        std::swap(xa, xb);
        std::swap(la, lb);
        std::swap(ua, ub);
      }
      const int c0 = std::max(L.left, static_cast<int>(std::ceil(xa - 0.5)));
      const int c1 = std::min(L.right - 1, static_cast<int>(std::floor(xb - 0.5)));
      for (int c = c0; c <= c1; ++c) {
        const double t = xb > xa ? (c + 0.5 - xa) / (xb - xa) : 0.5;
        fill_column(c, la + t * (lb - la), ua + t * (ub - ua));
      }
    } else if (!prev) {
      fill_column(static_cast<int>(std::floor(L.px(xs[j]))), L.py(lower[j]), L.py(upper[j]));
    }
  }
  for (int y = L.top; y < L.bottom; ++y)
    for (int x = L.left; x < L.right; ++x)
      if (mask[static_cast<std::size_t>(y - L.top) * w + (x - L.left)]) img.blend(x, y, color, kBandAlpha);
}

CHORD_INLINE std::optional<int> reference_row(const PlotLayout& L, const ReferenceLine& r) {
  const double y = L.py(r.y);
  if (!(y >= L.top && y < L.bottom)) return std::nullopt;
  return static_cast<int>(std::floor(y)) - L.scale / 2;
}

}  // namespace detail

CHORD_INLINE Image render_line_plot(const std::vector<Series>& series, const PlotOptions& o) {
  const PlotLayout L = layout_line_plot(series, o);
  const int s = L.scale;
  Image img(o.width, o.height, detail::kBackground);

  // Grid lines at the ticks, under the curves.
  for (double v : L.x_ticks.values) {
    const int x = static_cast<int>(std::floor(L.px(v)));
    img.fill_rect(x, L.top, x + 1, L.bottom, detail::kGrid);
  }
  for (double v : L.y_ticks.values) {
    const int y = static_cast<int>(std::floor(L.py(v)));
    img.fill_rect(L.left, y, L.right, y + 1, detail::kGrid);
  }

  // Bands, all of them under every curve. With smoothing, lower and upper are
  // smoothed like y (the same EMA), so that the band follows the smoothed curve
  // drawn at full colour; there is no faint raw band. Bands do not move the legend.
  for (std::size_t i = 0; i < series.size(); ++i) {
    const Series& se = series[i];
    if (se.lower.empty()) continue;
    const Rgb color = se.color.value_or(kPalette[i % kPalette.size()]);
    if (o.smoothing > 0) detail::draw_band(img, L, se.x, ema(se.lower, o.smoothing), ema(se.upper, o.smoothing), color);
    else detail::draw_band(img, L, se.x, se.lower, se.upper, color);
  }

  // Reference lines: dashed, over the bands, under the curves.
  for (const ReferenceLine& r : o.reference_lines) {
    const auto row = detail::reference_row(L, r);
    if (!row) continue;
    const int dash = 6 * s, space = 4 * s;
    for (int x = L.left; x < L.right; x += dash + space)
      img.fill_rect(x, std::max(*row, L.top), std::min(x + dash, L.right), std::min(*row + s, L.bottom),
                    r.color.value_or(detail::kReference));
  }

  // Curves, in order (later ones on top).
  std::vector<std::uint8_t> ink(static_cast<std::size_t>(L.right - L.left) * (L.bottom - L.top), 0);
  for (std::size_t i = 0; i < series.size(); ++i) {
    const Series& se = series[i];
    const Rgb color = se.color.value_or(kPalette[i % kPalette.size()]);
    if (o.smoothing > 0) {  // the raw curve thin and faint, the smoothed one on top
      PlotOptions raw = o;
      raw.line_width = std::max(1.0, o.line_width / 2);
      detail::draw_curve(img, L, se.x, se.y, color, 0.3, raw, ink);
      detail::draw_curve(img, L, se.x, ema(se.y, o.smoothing), color, 1.0, o, ink);
    } else {
      detail::draw_curve(img, L, se.x, se.y, color, 1.0, o, ink);
    }
  }

  // Reference line labels, on top of the curves: right-aligned just above the
  // line (below it when there is no room above). Their pixels count as ink, so
  // that the legend does not hide them.
  for (const ReferenceLine& r : o.reference_lines) {
    const auto row = detail::reference_row(L, r);
    if (!row || r.label.empty()) continue;
    const int gh = font::kGlyphHeight * s, tw = text_width(r.label, s);
    const int tx = L.right - 4 * s - tw;
    const int ty = *row - s - gh >= L.top + s ? *row - s - gh : *row + 2 * s;
    draw_text(img, tx, ty, r.label, r.color.value_or(detail::kReference), s);
    for (int y = std::max(ty, L.top); y < std::min(ty + gh, L.bottom); ++y)
      for (int x = std::max(tx, L.left); x < std::min(tx + tw, L.right); ++x)
        ink[static_cast<std::size_t>(y - L.top) * (L.right - L.left) + (x - L.left)] = 1;
  }

  // Axes box, tick marks and tick labels.
  img.fill_rect(L.left - s, L.top - s, L.right + s, L.top, detail::kFrame);
  img.fill_rect(L.left - s, L.bottom, L.right + s, L.bottom + s, detail::kFrame);
  img.fill_rect(L.left - s, L.top, L.left, L.bottom, detail::kFrame);
  img.fill_rect(L.right, L.top, L.right + s, L.bottom, detail::kFrame);
  const int tick_len = 4 * s, gap = 4 * s, cap_h = font::kCapHeight * s, glyph_h = font::kGlyphHeight * s;
  for (std::size_t k = 0; k < L.x_ticks.values.size(); ++k) {
    const int x = static_cast<int>(std::floor(L.px(L.x_ticks.values[k])));
    img.fill_rect(x, L.bottom + s, x + s, L.bottom + s + tick_len, detail::kFrame);
    const std::string& label = L.x_tick_labels[k];
    draw_text(img, x + s / 2 - text_width(label, s) / 2, L.bottom + s + tick_len + gap, label, detail::kTickInk, s);
  }
  for (std::size_t k = 0; k < L.y_ticks.values.size(); ++k) {
    const int y = static_cast<int>(std::floor(L.py(L.y_ticks.values[k])));
    img.fill_rect(L.left - s - tick_len, y, L.left - s, y + s, detail::kFrame);
    const std::string& label = L.y_tick_labels[k];
    draw_text(img, L.left - s - tick_len - gap - text_width(label, s), y + s / 2 - cap_h / 2, label,
              detail::kTickInk, s);
  }

  // Title and axis labels.
  if (!o.title.empty()) {
    const int ts = 2 * s;
    const int cx = (L.left + L.right) / 2 - text_width(o.title, ts) / 2;
    draw_text(img, std::max(2, cx), 10 * s, o.title, detail::kInk, ts);
  }
  if (!o.x_label.empty())
    draw_text(img, (L.left + L.right) / 2 - text_width(o.x_label, s) / 2,
              L.bottom + s + tick_len + gap + glyph_h + 6 * s, o.x_label, detail::kInk, s);
  if (!o.y_label.empty())
    draw_text_vertical(img, 8 * s, (L.top + L.bottom) / 2 + text_width(o.y_label, s) / 2, o.y_label, detail::kInk, s);

  // Legend: of the corners, edge middles and centre of the plot area, the place
  // that covers the fewest curve pixels (corners first on ties).
  std::vector<std::size_t> entries;
  for (std::size_t i = 0; i < series.size(); ++i)
    if (!series[i].label.empty()) entries.push_back(i);
  if (o.legend && !entries.empty()) {
    const int pad = 6 * s, row_h = glyph_h + 3 * s, swatch = 20 * s, swatch_gap = 6 * s;
    int label_w = 0;
    for (std::size_t i : entries) label_w = std::max(label_w, text_width(series[i].label, s));
    const int box_w = pad + swatch + swatch_gap + label_w + pad;
    const int box_h = pad + static_cast<int>(entries.size()) * row_h - 3 * s + pad - 2 * s;
    const int margin = 8 * s;
    const int xr = L.right - margin - box_w, xl = L.left + margin, xc = (L.left + L.right - box_w) / 2;
    const int yt = L.top + margin, yb = L.bottom - margin - box_h, yc = (L.top + L.bottom - box_h) / 2;
    const std::array<std::pair<int, int>, 9> corners = {{
        {xr, yt}, {xl, yt}, {xr, yb}, {xl, yb},  // corners first: on ties they win
        {xr, yc}, {xl, yc}, {xc, yt}, {xc, yb}, {xc, yc},
    }};
    std::size_t best = 0, best_ink = std::numeric_limits<std::size_t>::max();
    const int pw = L.right - L.left;
    for (std::size_t c = 0; c < corners.size(); ++c) {
      std::size_t count = 0;
      for (int y = std::max(corners[c].second, L.top); y < std::min(corners[c].second + box_h, L.bottom); ++y)
        for (int x = std::max(corners[c].first, L.left); x < std::min(corners[c].first + box_w, L.right); ++x)
          count += ink[static_cast<std::size_t>(y - L.top) * pw + (x - L.left)];
      if (count < best_ink) {
        best_ink = count;
        best = c;
      }
    }
    const auto [bx, by] = corners[best];
    img.fill_rect(bx, by, bx + box_w, by + box_h, detail::kBackground, 0.88);
    const Rgb border{200, 200, 200};
    img.fill_rect(bx, by, bx + box_w, by + 1, border);
    img.fill_rect(bx, by + box_h - 1, bx + box_w, by + box_h, border);
    img.fill_rect(bx, by, bx + 1, by + box_h, border);
    img.fill_rect(bx + box_w - 1, by, bx + box_w, by + box_h, border);
    const int thick = std::max(2, static_cast<int>(std::lround(o.line_width * s)));
    for (std::size_t r = 0; r < entries.size(); ++r) {
      const Series& se = series[entries[r]];
      const Rgb color = se.color.value_or(kPalette[entries[r] % kPalette.size()]);
      const int ty = by + pad + static_cast<int>(r) * row_h;
      const int mid = ty + cap_h / 2;
      img.fill_rect(bx + pad, mid - thick / 2, bx + pad + swatch, mid - thick / 2 + thick, color);
      draw_text(img, bx + pad + swatch + swatch_gap, ty, se.label, detail::kInk, s);
    }
  }
  return img;
}

CHORD_INLINE std::string encode_png(const Image& img) {
  check(img.width > 0 && img.height > 0 &&
            img.pixels.size() == static_cast<std::size_t>(img.width) * img.height * 3,
        "encode_png", "image ", img.width, "x", img.height, " has ", img.pixels.size(), " bytes");
  return encode_rgb_png(img.pixels.data(), img.width, img.height);
}

CHORD_INLINE void save_png(const std::string& path, const Image& img) {
  check(!path.empty(), "save_png", "empty path");
  write_text_file_atomically(path, encode_png(img));
}

CHORD_INLINE void save_line_plot(const std::string& path, const std::vector<Series>& series, const PlotOptions& options) {
  check(!path.empty(), "save_line_plot", "empty path");
  save_png(path, render_line_plot(series, options));
}

CHORD_INLINE Image render_plot_grid(const std::vector<Panel>& panels, int columns) {
  check(!panels.empty(), "plot_grid", "no panels");
  check(columns >= 1, "plot_grid", "columns must be >= 1, got ", columns);
  std::map<std::string, Rgb> colors;
  for (const Panel& p : panels)
    for (const Series& s : p.series)
      if (!s.label.empty() && !s.color && !colors.count(s.label))
        colors[s.label] = kPalette[colors.size() % kPalette.size()];
  int cell_w = 0, cell_h = 0;
  for (const Panel& p : panels) {
    cell_w = std::max(cell_w, p.options.width);
    cell_h = std::max(cell_h, p.options.height);
  }
  const int cols = std::min(columns, static_cast<int>(panels.size()));
  const int rows = (static_cast<int>(panels.size()) + cols - 1) / cols;
  check(static_cast<long long>(cell_w) * cols <= 16384 && static_cast<long long>(cell_h) * rows <= 16384, "plot_grid",
        "a grid of ", rows, "x", cols, " panels of ", cell_w, "x", cell_h, " is larger than 16384x16384");
  Image grid(cell_w * cols, cell_h * rows, detail::kBackground);
  for (std::size_t k = 0; k < panels.size(); ++k) {
    std::vector<Series> series = panels[k].series;
    for (std::size_t i = 0; i < series.size(); ++i)
      if (!series[i].color) series[i].color = series[i].label.empty() ? kPalette[i % kPalette.size()]
                                                                      : colors.at(series[i].label);
    const Image panel = render_line_plot(series, panels[k].options);
    grid.paste(panel, static_cast<int>(k % cols) * cell_w, static_cast<int>(k / cols) * cell_h);
  }
  return grid;
}

CHORD_INLINE void save_plot_grid(const std::string& path, const std::vector<Panel>& panels, int columns) {
  check(!path.empty(), "save_plot_grid", "empty path");
  save_png(path, render_plot_grid(panels, columns));
}

}  // namespace chord::io
#endif  // CHORD_DEFINES_NON_TEMPLATES
