// What a person looks at: PNG line plots (pixels where the data say), metric
// logs (JSONL + CSV, resume), Markdown tables, the progress line.

// This file compiles the PNG encoder (io/png.hpp) for the whole test executable; in the compiled
// mode (the CTest test compiled_mode_tests) the library chord::compiled holds it.
#ifndef CHORD_COMPILED
#define CHORD_IMPLEMENTATION
#endif

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>

#include "test_util.hpp"

#include <chord/io/font.hpp>
#include <chord/io/metrics.hpp>
#include <chord/io/plot.hpp>
#include <chord/io/progress.hpp>
#include <chord/io/table.hpp>

// stb_image reads the PNGs back, as private static functions of this file.
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#endif
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#include <stb_image.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

using namespace chord::io;
using chord::testing::kNaN;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

std::string plot_temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("chord_plot_test_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

std::string slurp(const std::string& path) { return read_file(path); }

void spit(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary).write(text.data(), static_cast<std::streamsize>(text.size()));
}

// The pixel that holds the data point (x, y).
Rgb pixel_at(const Image& img, const PlotLayout& L, double x, double y) {
  return img.at(static_cast<int>(std::floor(L.px(x))), static_cast<int>(std::floor(L.py(y))));
}

bool is_background(Rgb c) { return c == Rgb{255, 255, 255} || c == Rgb{232, 232, 232}; }

// The longest horizontal run of pixels of exactly `color`, and the row it is on.
std::pair<int, int> longest_run(const Image& img, Rgb color) {
  int best = 0, best_row = -1;
  for (int y = 0; y < img.height; ++y) {
    int run = 0;
    for (int x = 0; x < img.width; ++x) {
      run = img.at(x, y) == color ? run + 1 : 0;
      if (run > best) {
        best = run;
        best_row = y;
      }
    }
  }
  return {best, best_row};
}

std::size_t count_color(const Image& img, Rgb color) {
  std::size_t n = 0;
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) n += img.at(x, y) == color;
  return n;
}

bool is_nice_step(double step) {
  const double mag = std::pow(10.0, std::floor(std::log10(step)));
  const double m = step / mag;
  return std::abs(m - 1) < 1e-9 || std::abs(m - 2) < 1e-9 || std::abs(m - 5) < 1e-9;
}

}  // namespace

// ---- font -------------------------------------------------------------------------

TEST_CASE("font: every printable glyph has ink, widths follow the inked columns, digits are 5 wide") {
  for (int c = 33; c < 127; ++c) {
    int pixels = 0;
    font::for_each_pixel(std::string(1, static_cast<char>(c)), [&](int x, int y) {
      CHECK(x >= 0);
      CHECK(x < font::span(static_cast<char>(c)).width);
      CHECK(y >= 0);
      CHECK(y < font::kGlyphHeight);
      ++pixels;
    });
    INFO("character " << static_cast<char>(c));
    CHECK(pixels > 0);
  }
  // Glyphs differ from each other (a plain zero and O share a shape on purpose).
  std::set<std::array<std::uint8_t, font::kGlyphHeight>> shapes;
  for (int c = 32; c < 127; ++c)
    if (c != 'O') CHECK(shapes.insert(font::glyph(static_cast<char>(c))).second);
  CHECK(font::text_width("") == 0);
  CHECK(font::text_width("0") == 5);
  CHECK(font::text_width("1") == 5);                   // digits: tabular
  CHECK(font::text_width("i") == 3);                   // '.#...' '##...' '###..' -> 3 columns
  CHECK(font::text_width("10") == 5 + 1 + 5);
  CHECK(font::text_width(".") == 1);
  CHECK(font::text_width(" ") == font::kSpaceWidth);
  CHECK(font::text_width("\xC3\xA9") == font::text_width("?"));  // one UTF-8 code point -> one '?'
  std::vector<std::pair<int, int>> dot;
  font::for_each_pixel(".", [&](int x, int y) { dot.emplace_back(x, y); });
  CHECK(dot == std::vector<std::pair<int, int>>{{0, 6}});
  // Descenders sit below the baseline: 'g' has ink in rows 7-8, 'a' does not.
  int g_low = 0, a_low = 0;
  font::for_each_pixel("g", [&](int, int y) { g_low += y >= font::kCapHeight; });
  font::for_each_pixel("a", [&](int, int y) { a_low += y >= font::kCapHeight; });
  CHECK(g_low > 0);
  CHECK(a_low == 0);
}

TEST_CASE("draw_text paints the glyph pixels at the given scale and nothing else") {
  Image img(40, 30);
  draw_text(img, 3, 4, "1", {0, 0, 0}, 2);
  // '1' row 0 is '..#..': font pixel (2, 0) -> image block [7, 9) x [4, 6).
  CHECK(img.at(7, 4) == Rgb{0, 0, 0});
  CHECK(img.at(8, 5) == Rgb{0, 0, 0});
  CHECK(img.at(6, 4) == Rgb{255, 255, 255});
  // Row 6 '.###.': font pixels 1..3 -> x in [5, 11), y in [16, 18).
  for (int x = 5; x < 11; ++x) CHECK(img.at(x, 16) == Rgb{0, 0, 0});
  CHECK(img.at(4, 16) == Rgb{255, 255, 255});
  CHECK(img.at(11, 16) == Rgb{255, 255, 255});
  std::size_t black = count_color(img, {0, 0, 0});
  int font_pixels = 0;
  font::for_each_pixel("1", [&](int, int) { ++font_pixels; });
  CHECK(black == static_cast<std::size_t>(font_pixels) * 4);
}

// ---- ticks ------------------------------------------------------------------------

TEST_CASE("nice_ticks picks 1-2-5 steps inside the range") {
  auto ticks = nice_ticks(0, 1, 5);
  CHECK(ticks.step == doctest::Approx(0.2));
  REQUIRE(ticks.values.size() == 6);
  for (int i = 0; i <= 5; ++i) CHECK(ticks.values[i] == doctest::Approx(0.2 * i));
  CHECK(tick_labels(ticks) == std::vector<std::string>{"0.0", "0.2", "0.4", "0.6", "0.8", "1.0"});

  ticks = nice_ticks(-3.7, 12.2, 6);  // raw step 2.65 -> 2
  CHECK(ticks.step == 2);
  CHECK(ticks.values == std::vector<double>{-2, 0, 2, 4, 6, 8, 10, 12});
  CHECK(tick_labels(ticks) == std::vector<std::string>{"-2", "0", "2", "4", "6", "8", "10", "12"});

  ticks = nice_ticks(0, 100000, 5);
  CHECK(ticks.step == 20000);
  CHECK(tick_labels(ticks) == std::vector<std::string>{"0", "20k", "40k", "60k", "80k", "100k"});

  ticks = nice_ticks(0, 3.5e6, 7);  // step 5e5
  CHECK(tick_labels(ticks) == std::vector<std::string>{"0", "0.5M", "1.0M", "1.5M", "2.0M", "2.5M", "3.0M", "3.5M"});

  ticks = nice_ticks(-1.2e-5, 2.1e-5, 3);  // step 1e-5
  CHECK(tick_labels(ticks) == std::vector<std::string>{"-1e-5", "0", "1e-5", "2e-5"});

  ticks = nice_ticks(0.31, 0.36, 5);  // step 0.01, no "-0", no rounding drift
  CHECK(tick_labels(ticks) == std::vector<std::string>{"0.31", "0.32", "0.33", "0.34", "0.35", "0.36"});

  ticks = nice_ticks(7, 7, 5);
  CHECK(ticks.values == std::vector<double>{7});

  // Over many ranges: steps are 1, 2 or 5 times a power of ten, ticks are
  // multiples of the step inside the range, and their count is near the target.
  chord::Generator gen(7);
  for (int trial = 0; trial < 300; ++trial) {
    const double scale = std::pow(10.0, static_cast<int>(gen.next_u64() % 13) - 6);
    const double a = (static_cast<double>(gen.next_u64() % 20001) - 10000) / 1000 * scale;
    const double b = a + (static_cast<double>(gen.next_u64() % 10000) + 1) / 1000 * scale;
    const int target = 2 + static_cast<int>(gen.next_u64() % 9);
    const auto t = nice_ticks(a, b, target);
    INFO("range [" << a << ", " << b << "] target " << target);
    CHECK(is_nice_step(t.step));
    CHECK(t.values.size() >= 2);
    CHECK(t.values.size() <= static_cast<std::size_t>(1.5 * target + 1));
    for (std::size_t i = 0; i < t.values.size(); ++i) {
      CHECK(t.values[i] >= a);
      CHECK(t.values[i] <= b);
      CHECK(std::abs(t.values[i] / t.step - std::round(t.values[i] / t.step)) < 1e-6);
      if (i > 0) CHECK(t.values[i] - t.values[i - 1] == doctest::Approx(t.step));
    }
    const auto labels = tick_labels(t);
    CHECK(std::set<std::string>(labels.begin(), labels.end()).size() == labels.size());  // all distinct
  }
}

TEST_CASE("log_ticks: powers of ten, 2x and 5x when the range is short, thinned when it is long") {
  auto t = log_ticks(1e-5, 2e-2);
  REQUIRE(t.values.size() == 4);
  for (int i = 0; i < 4; ++i) CHECK(t.values[i] == doctest::Approx(std::pow(10.0, i - 5)));
  CHECK(tick_labels(t) == std::vector<std::string>{"1e-5", "1e-4", "1e-3", "1e-2"});
  t = log_ticks(0.05, 20);
  CHECK(tick_labels(t) == std::vector<std::string>{"0.1", "1", "10"});
  t = log_ticks(1.5, 9);  // no power of ten inside: 2 and 5
  CHECK(t.values == std::vector<double>{2, 5});
  t = log_ticks(2.1, 4.5);  // not even those: linear 1-2-5 ticks
  CHECK(t.values.size() >= 2);
  for (double v : t.values) CHECK((v >= 2.1 && v <= 4.5));
  t = log_ticks(1e-8, 1e8, 4);  // 17 decades for 4 ticks: every 4th power
  CHECK(t.values.size() <= 6);
  CHECK(t.values.size() >= 3);
}

TEST_CASE("ema smooths like TensorBoard: debiased, non-finite values left out") {
  const auto s = ema({1, 3, kNaN, 5}, 0.5);
  // acc: 0.5, then 0.25 + 1.5 = 1.75 (weight 0.25), skip NaN, then 0.875 + 2.5 = 3.375 (weight 0.125)
  CHECK(s[0] == doctest::Approx(1.0));
  CHECK(s[1] == doctest::Approx(1.75 / 0.75));
  CHECK(std::isnan(s[2]));
  CHECK(s[3] == doctest::Approx(3.375 / 0.875));
  CHECK(ema({2, 4}, 0) == std::vector<double>{2, 4});
  CHECK_THROWS_AS(ema({1}, 1.0), chord::Error);
}

// ---- rendering -------------------------------------------------------------------

TEST_CASE("render_line_plot puts each curve's colour where its data map, background elsewhere, a legend") {
  const std::vector<Series> series = {
      {.label = "rising", .x = {0, 10}, .y = {0.3, 1.7}},
      {.label = "falling", .x = {0, 10}, .y = {1.7, 0.3}},
  };
  const PlotOptions opt{.title = "Two lines", .x_label = "step", .y_label = "value", .y_min = 0, .y_max = 2,
                        .line_width = 3, .antialias = false};
  const Image img = render_line_plot(series, opt);
  const PlotLayout L = layout_line_plot(series, opt);
  REQUIRE(img.width == 800);
  REQUIRE(img.height == 500);
  // The plot area lies inside the image, with room for labels around it.
  CHECK(L.left > 20);
  CHECK(L.top > 20);
  CHECK(L.right < 800);
  CHECK(L.bottom < 480);
  // The data range [0, 10] x [0, 2] spans the plot area (less the inset), up is up.
  CHECK(L.px(0) == L.left + L.inset);
  CHECK(L.px(10) == L.right - L.inset);
  CHECK(L.py(0) == L.bottom - L.inset);
  CHECK(L.py(2) == L.top + L.inset);

  for (double x : {0.5, 2.5, 4.0, 6.5, 9.5}) {
    INFO("x = " << x);
    CHECK(pixel_at(img, L, x, 0.3 + 0.14 * x) == kPalette[0]);
    CHECK(pixel_at(img, L, x, 1.7 - 0.14 * x) == kPalette[1]);
  }
  // Where no curve passes: white or a grid line.
  for (double x = 6; x <= 9; x += 0.25)
    for (double y = 0.05; y <= 0.25; y += 0.05) {
      INFO("x = " << x << ", y = " << y);
      CHECK(is_background(pixel_at(img, L, x, y)));
    }
  // Outside the plot area the curves do not reach: left margin rows are white or text.
  for (int y = L.top; y < L.bottom; ++y) CHECK(img.at(L.left - 2, y) != kPalette[0]);

  // Legend swatches: horizontal runs of each colour longer than any piece of
  // these steep curves, in the upper part of the plot (the data leave it free).
  for (int k = 0; k < 2; ++k) {
    const auto [run, row] = longest_run(img, kPalette[k]);
    INFO("series " << k);
    CHECK(run >= 20);
    CHECK(row > L.top);
    CHECK(row < L.top + (L.bottom - L.top) / 4);
  }
  // Title, tick labels and axis labels are there: dark text pixels above the
  // plot area and left of it.
  std::size_t above = 0, left = 0;
  for (int y = 0; y < L.top; ++y)
    for (int x = 0; x < img.width; ++x) above += img.at(x, y) == Rgb{34, 34, 34};
  for (int y = L.top; y < L.bottom; ++y)
    for (int x = 0; x < L.left - 6; ++x) left += img.at(x, y) == Rgb{70, 70, 70} || img.at(x, y) == Rgb{34, 34, 34};
  CHECK(above > 100);
  CHECK(left > 50);
}

TEST_CASE("the legend goes to a corner the curves leave free") {
  // A line along the top: the legend must move to the bottom half.
  const std::vector<Series> series = {{.label = "top", .x = {0, 1}, .y = {1.9, 1.9}}, {.label = "other", .x = {}, .y = {}}};
  const PlotOptions opt{.y_min = 0, .y_max = 2, .line_width = 3, .antialias = false};
  const Image img = render_line_plot(series, opt);
  const PlotLayout L = layout_line_plot(series, opt);
  const auto [run, row] = longest_run(img, kPalette[1]);  // the only pixels of colour 1: its swatch
  CHECK(run >= 20);
  CHECK(row > (L.top + L.bottom) / 2);
  CHECK(pixel_at(img, L, 0.5, 1.9) == kPalette[0]);
  // No legend without labels.
  const Image bare = render_line_plot({{.x = {0, 1}, .y = {0, 1}}, {.x = {}, .y = {}}}, opt);
  CHECK(count_color(bare, kPalette[1]) == 0);
}

TEST_CASE("non-finite points leave gaps; a point without finite neighbours is a dot") {
  const PlotOptions opt{.y_min = 0, .y_max = 2, .line_width = 3, .antialias = false, .legend = false};
  const std::vector<Series> gap = {{.x = {0, 1, 2, 3, 4, 5, 6}, .y = {1, 1, kNaN, 1, 1, kInf, 1}}};
  Image img = render_line_plot(gap, opt);
  PlotLayout L = layout_line_plot(gap, opt);
  CHECK(pixel_at(img, L, 0.5, 1) == kPalette[0]);
  CHECK(is_background(pixel_at(img, L, 1.5, 1)));
  CHECK(is_background(pixel_at(img, L, 2.0, 1)));
  CHECK(pixel_at(img, L, 3.5, 1) == kPalette[0]);
  CHECK(is_background(pixel_at(img, L, 5.0, 1)));
  CHECK(pixel_at(img, L, 6.0, 1) == kPalette[0]);  // isolated last point: a dot
  CHECK(is_background(pixel_at(img, L, 5.5, 1)));

  // x may be non-finite too; isolated points become dots.
  const std::vector<Series> dots = {{.x = {0, 1, 2, kNaN, 4}, .y = {1, kNaN, 1, 1, 1}}};
  img = render_line_plot(dots, opt);
  L = layout_line_plot(dots, opt);
  CHECK(pixel_at(img, L, 0, 1) == kPalette[0]);
  CHECK(pixel_at(img, L, 2, 1) == kPalette[0]);
  CHECK(pixel_at(img, L, 4, 1) == kPalette[0]);
  CHECK(is_background(pixel_at(img, L, 1, 1)));
  CHECK(is_background(pixel_at(img, L, 3, 1)));
}

TEST_CASE("empty series, a single point and constant values give a sensible range") {
  // Nothing to draw: empty axes, no error.
  const Image empty = render_line_plot({});
  CHECK(empty.width == 800);
  const Image empty2 = render_line_plot({{.label = "none", .x = {}, .y = {}}, {.x = {kNaN}, .y = {1}}});
  CHECK(count_color(empty2, kPalette[1]) == 0);

  const PlotOptions opt{.line_width = 3, .antialias = false};
  const std::vector<Series> one = {{.x = {5}, .y = {3}}};
  PlotLayout L = layout_line_plot(one, opt);
  CHECK(L.x_lo < 5);
  CHECK(L.x_hi > 5);
  CHECK(L.y_lo < 3);
  CHECK(L.y_hi > 3);
  CHECK(std::abs(L.px(5) - (L.left + L.right) / 2.0) < 1.0);
  CHECK(std::abs(L.py(3) - (L.top + L.bottom) / 2.0) < 1.0);
  CHECK(pixel_at(render_line_plot(one, opt), L, 5, 3) == kPalette[0]);

  for (double c : {0.0, -2.5, 1e-12, 1e12}) {
    const std::vector<Series> flat = {{.x = {0, 1, 2, 3}, .y = {c, c, c, c}}};
    L = layout_line_plot(flat, opt);
    INFO("constant " << c);
    CHECK(std::isfinite(L.y_lo));
    CHECK(L.y_lo < c);
    CHECK(L.y_hi > c);
    CHECK(L.y_ticks.values.size() >= 2);
    CHECK(std::abs(L.py(c) - (L.top + L.bottom) / 2.0) < 1.0);
    CHECK(pixel_at(render_line_plot(flat, opt), L, 1.5, c) == kPalette[0]);
  }
  // Only y_min given, data below it: the range still has room.
  L = layout_line_plot({{.x = {0, 1}, .y = {-5, -4}}}, {.y_min = 0});
  CHECK(L.y_lo == 0);
  CHECK(L.y_hi > 0);
}

TEST_CASE("log_y places decades evenly; smoothing draws the EMA on top of a faint raw curve") {
  const std::vector<Series> s = {{.x = {0, 1, 2}, .y = {1, 10, 100}}};
  const PlotOptions opt{.log_y = true, .line_width = 3, .antialias = false};
  const PlotLayout L = layout_line_plot(s, opt);
  CHECK(L.py(10) == doctest::Approx((L.py(1) + L.py(100)) / 2));
  const Image img = render_line_plot(s, opt);
  CHECK(pixel_at(img, L, 0.5, std::sqrt(10.0)) == kPalette[0]);  // straight in log space
  CHECK(pixel_at(img, L, 1.5, std::sqrt(1000.0)) == kPalette[0]);
  CHECK(tick_labels(L.y_ticks) == std::vector<std::string>{"1", "10", "100"});

  // Smoothing: the smoothed curve of a constant series is the same constant,
  // drawn at full colour; a noisy series shows faint raw pixels as well.
  const std::vector<Series> flat = {{.x = {0, 1, 2, 3}, .y = {1, 1, 1, 1}}};
  const PlotOptions smooth{.smoothing = 0.9, .y_min = 0, .y_max = 2, .line_width = 3, .antialias = false};
  const PlotLayout Ls = layout_line_plot(flat, smooth);
  CHECK(pixel_at(render_line_plot(flat, smooth), Ls, 1.5, 1) == kPalette[0]);
  const std::vector<Series> zigzag = {{.x = {0, 1, 2, 3, 4}, .y = {0.2, 1.8, 0.2, 1.8, 0.2}}};
  const Image z = render_line_plot(zigzag, smooth);
  const Rgb faint = pixel_at(z, layout_line_plot(zigzag, smooth), 1, 1.8);  // raw peak, far from the EMA
  CHECK(faint != kPalette[0]);
  CHECK(!is_background(faint));
  CHECK(faint.r > kPalette[0].r);  // lighter than the full colour: blended with white
}

TEST_CASE("anti-aliased curves blend into the background; the centre keeps the full colour") {
  const std::vector<Series> s = {{.x = {0, 10}, .y = {1, 1}}};
  const PlotOptions opt{.y_min = 0, .y_max = 2, .line_width = 2, .legend = false};
  const Image img = render_line_plot(s, opt);
  const PlotLayout L = layout_line_plot(s, opt);
  const int x = static_cast<int>(L.px(5.3));  // between vertical grid lines
  const double yc = L.py(1);
  // Pixel rows around the line: coverage = clamp(1 + 0.5 - distance, 0, 1).
  for (int y = static_cast<int>(yc) - 3; y <= static_cast<int>(yc) + 3; ++y) {
    const double cov = std::clamp(1.5 - std::abs(y + 0.5 - yc), 0.0, 1.0);
    const Rgb c = img.at(x, y);
    INFO("row " << y << " coverage " << cov);
    const double expect_r = 255 + (kPalette[0].r - 255) * cov;
    CHECK(std::abs(c.r - expect_r) <= 1.0);
  }
}

// ---- PNG files ---------------------------------------------------------------------

TEST_CASE("save_line_plot writes a PNG that decodes to the rendered pixels") {
  const std::vector<Series> s = {{.label = "loss", .x = {0, 1, 2, 3}, .y = {3, 2, 1.5, 1.2}},
                                 {.label = "eval", .x = {0, 3}, .y = {2.5, 1.4}}};
  const PlotOptions opt{.title = "loss", .x_label = "step", .width = 320, .height = 240};
  const std::string path = plot_temp_path("loss.png");
  save_line_plot(path, s, opt);
  const std::string bytes = slurp(path);
  REQUIRE(bytes.size() > 8);
  CHECK(bytes.substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));
  int w = 0, h = 0, channels = 0;
  unsigned char* data = stbi_load_from_memory(reinterpret_cast<const unsigned char*>(bytes.data()),
                                              static_cast<int>(bytes.size()), &w, &h, &channels, 3);
  REQUIRE(data != nullptr);
  CHECK(w == 320);
  CHECK(h == 240);
  CHECK(channels == 3);
  const Image img = render_line_plot(s, opt);
  CHECK(std::equal(img.pixels.begin(), img.pixels.end(), data));
  stbi_image_free(data);
  // No temporary file is left beside it.
  bool leftover = false;
  for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(path).parent_path()))
    leftover = leftover || entry.path().string().rfind(path + ".tmp", 0) == 0;
  CHECK(!leftover);
  std::remove(path.c_str());
}

TEST_CASE("save_plot_grid lays out panels and keeps one colour per label across them") {
  std::vector<Panel> panels;
  const char* titles[] = {"reward/mean", "eval/add/pass@1", "entropy", "mu"};
  for (int p = 0; p < 4; ++p) {
    Panel panel{.options = {.title = titles[p], .width = 300, .height = 200, .y_min = 0, .y_max = 2,
                            .line_width = 3, .antialias = false, .legend = false}};
    Series a{.label = "CHORD", .x = {0, 1}, .y = {0.5, 0.5}}, b{.label = "SFT+RL", .x = {0, 1}, .y = {1.5, 1.5}};
    // Panel 1 lists them the other way round; panel 3 has only SFT+RL.
    if (p == 1) panel.series = {b, a};
    else if (p == 3) panel.series = {b};
    else panel.series = {a, b};
    panels.push_back(panel);
  }
  const Image grid = render_plot_grid(panels, 2);
  CHECK(grid.width == 600);
  CHECK(grid.height == 400);
  for (int p = 0; p < 4; ++p) {
    const PlotLayout L = layout_line_plot(panels[p].series, panels[p].options);
    const int ox = (p % 2) * 300, oy = (p / 2) * 200;
    INFO("panel " << p);
    if (p != 3)
      CHECK(grid.at(ox + static_cast<int>(L.px(0.5)), oy + static_cast<int>(L.py(0.5))) == kPalette[0]);  // CHORD
    CHECK(grid.at(ox + static_cast<int>(L.px(0.5)), oy + static_cast<int>(L.py(1.5))) == kPalette[1]);    // SFT+RL
  }
  // Three panels in two columns: the fourth cell stays white.
  panels.pop_back();
  const Image three = render_plot_grid(panels, 2);
  CHECK(three.height == 400);
  CHECK(three.at(450, 300) == Rgb{255, 255, 255});
  const std::string path = plot_temp_path("grid.png");
  save_plot_grid(path, panels, 3);
  int w = 0, h = 0, ch = 0;
  CHECK(stbi_info(path.c_str(), &w, &h, &ch) == 1);
  CHECK(w == 900);
  CHECK(h == 200);
  std::remove(path.c_str());
}

TEST_CASE("plot errors: empty path, mismatched lengths, bad sizes, log of non-positive values") {
  const std::vector<Series> ok = {{.label = "a", .x = {0, 1}, .y = {1, 2}}};
  CHORD_CHECK_ERROR(save_line_plot("", ok), "empty path");
  CHORD_CHECK_ERROR(save_png("", Image(4, 4)), "empty path");
  CHORD_CHECK_ERROR(save_plot_grid("", {{.series = ok}}), "empty path");
  CHORD_CHECK_ERROR(render_line_plot({{.label = "bad", .x = {0, 1, 2}, .y = {1, 2}}}),
                    "series 0 ('bad') has 3 x values and 2 y values");
  CHORD_CHECK_ERROR(render_line_plot(ok, {.width = 0}), "image size must be positive, got 0x500");
  CHORD_CHECK_ERROR(render_line_plot(ok, {.height = -3}), "image size must be positive");
  CHORD_CHECK_ERROR(render_line_plot(ok, {.width = 100000}), "larger than 16384");
  CHORD_CHECK_ERROR(render_line_plot(ok, {.width = 40, .height = 30}), "too small");
  CHORD_CHECK_ERROR(render_line_plot({{.label = "lr", .x = {0, 1, 2}, .y = {1, 0, 2}}}, {.log_y = true}),
                    "log_y: series 0 ('lr') has y[1] = 0 <= 0");
  CHORD_CHECK_ERROR(render_line_plot({{.x = {0, 1}, .y = {1, -2}}}, {.log_y = true}), "<= 0");
  CHORD_CHECK_ERROR(render_line_plot(ok, {.y_min = -1, .log_y = true}), "log_y needs y_min > 0");
  CHORD_CHECK_ERROR(render_line_plot(ok, {.y_min = 2, .y_max = 1}), "y_min (2) must be below y_max (1)");
  CHORD_CHECK_ERROR(render_line_plot(ok, {.y_min = kNaN}), "y_min must be finite");
  CHORD_CHECK_ERROR(render_line_plot(ok, {.smoothing = 1.0}), "smoothing must be in [0, 1)");
  CHORD_CHECK_ERROR(render_line_plot(ok, {.line_width = 0}), "line_width");
  CHORD_CHECK_ERROR(render_line_plot(ok, {.font_scale = -1}), "font_scale");
  CHORD_CHECK_ERROR(render_plot_grid({}, 2), "no panels");
  CHORD_CHECK_ERROR(render_plot_grid({{.series = ok}}, 0), "columns must be >= 1");
  CHORD_CHECK_ERROR(nice_ticks(1, 0), "bad range");
  CHORD_CHECK_ERROR(nice_ticks(0, kNaN), "bad range");
  CHORD_CHECK_ERROR(log_ticks(0, 1), "0 < lo");
  CHORD_CHECK_ERROR(Image(0, 5), "image size must be positive");
  CHORD_CHECK_ERROR(Image(3, 3).at(3, 0), "outside");
  CHORD_CHECK_ERROR(save_line_plot(plot_temp_path("no_such_dir") + "/x.png", ok), "cannot open");
}

// ---- bands and reference lines ---------------------------------------------------

namespace {

// What Image::blend makes of `under` painted over with c at opacity alpha.
Rgb blended(Rgb under, Rgb c, double alpha) {
  auto mix = [alpha](std::uint8_t u, std::uint8_t o) {
    return static_cast<std::uint8_t>(std::lround(u + (o - u) * alpha));
  };
  return {mix(under.r, c.r), mix(under.g, c.g), mix(under.b, c.b)};
}

constexpr double kBand = 0.2;  // plot.hpp's detail::kBandAlpha, restated: the tests pin it

// The pixel holding the data point (x, y) in `with` is the one in `without`,
// tinted with c at the band's opacity.
bool tinted(const Image& with, const Image& without, const PlotLayout& L, double x, double y, Rgb c) {
  return pixel_at(with, L, x, y) == blended(pixel_at(without, L, x, y), c, kBand);
}

// FNV-1a of the pixels.
std::uint64_t pixel_hash(const Image& img) {
  std::uint64_t h = 14695981039346656037ull;
  for (std::uint8_t b : img.pixels) {
    h ^= b;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

TEST_CASE("plot bands: shaded in the series' colour between lower and upper, the pixels outside untouched") {
  const Series line{.x = {0, 10}, .y = {1, 1.2}};
  Series banded = line;
  banded.lower = {0.4, 0.8};
  banded.upper = {1.4, 1.8};
  const PlotOptions opt{.y_min = 0, .y_max = 2, .line_width = 3, .antialias = false, .legend = false};
  const Image plain = render_line_plot({line}, opt), img = render_line_plot({banded}, opt);
  const PlotLayout L = layout_line_plot({banded}, opt);
  // On white, away from the line: the series' colour at 20%.
  const Rgb light = blended({255, 255, 255}, kPalette[0], kBand);
  CHECK(light == Rgb{210, 228, 240});
  for (double x : {1.3, 3.3, 5.3, 7.3, 9.3}) {
    const double lo = 0.4 + 0.04 * x, hi = 1.4 + 0.04 * x, mid = 1 + 0.02 * x;
    INFO("x = " << x);
    CHECK(tinted(img, plain, L, x, (lo + mid) / 2, kPalette[0]));
    CHECK(tinted(img, plain, L, x, (mid + hi) / 2, kPalette[0]));
    CHECK(pixel_at(img, L, x, (lo + mid) / 2) != pixel_at(plain, L, x, (lo + mid) / 2));
    CHECK(pixel_at(img, L, x, mid) == kPalette[0]);  // the line on top, at full colour
    CHECK(pixel_at(img, L, x, lo - 0.05) == pixel_at(plain, L, x, lo - 0.05));
    CHECK(pixel_at(img, L, x, hi + 0.05) == pixel_at(plain, L, x, hi + 0.05));
  }
  // Every pixel of the plot area more than a pixel inside the band is tinted,
  // every one more than a pixel outside it is as without the band.
  std::size_t inside = 0, outside = 0, wrong = 0;
  const double span = L.right - L.left - 2 * L.inset;
  for (int c = L.left; c < L.right; ++c) {
    const double x = L.x_lo + (c + 0.5 - L.left - L.inset) / span * (L.x_hi - L.x_lo);
    const double one_px = (L.x_hi - L.x_lo) / span;
    for (int r = L.top; r < L.bottom; ++r) {
      const double cy = r + 0.5;
      bool in = false, out = x < -one_px || x > 10 + one_px;
      if (x > one_px && x < 10 - one_px) {
        const double y_lo = L.py(0.4 + 0.04 * x), y_hi = L.py(1.4 + 0.04 * x);  // y_lo below y_hi on screen
        in = cy > y_hi + 1 && cy < y_lo - 1;
        out = cy < y_hi - 1 || cy > y_lo + 1;
      }
      if (in) {
        ++inside;
        wrong += img.at(c, r) != blended(plain.at(c, r), kPalette[0], kBand);
      } else if (out) {
        ++outside;
        wrong += img.at(c, r) != plain.at(c, r);
      }
    }
  }
  CHECK(inside > 50000);
  CHECK(outside > 50000);
  CHECK(wrong == 0);
  // Nothing outside the plot area changed.
  std::size_t changed = 0;
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x)
      if (x < L.left || x >= L.right || y < L.top || y >= L.bottom) changed += img.at(x, y) != plain.at(x, y);
  CHECK(changed == 0);
}

TEST_CASE("plot bands: under every curve, broken at non-finite points, smoothed like the curve") {
  const PlotOptions opt{.y_min = 0, .y_max = 2, .line_width = 3, .antialias = false, .legend = false};
  // The second series' band covers the first series' line: the line stays on top.
  const std::vector<Series> plain = {{.x = {0, 10}, .y = {1, 1}}, {.x = {0, 10}, .y = {0.3, 0.3}}};
  std::vector<Series> banded = plain;
  banded[1].lower = {0.6, 0.6};
  banded[1].upper = {1.4, 1.4};
  Image img = render_line_plot(banded, opt), without = render_line_plot(plain, opt);
  PlotLayout L = layout_line_plot(banded, opt);
  for (double x : {1.3, 5.3, 8.3}) {
    INFO("x = " << x);
    CHECK(pixel_at(img, L, x, 1) == kPalette[0]);
    CHECK(tinted(img, without, L, x, 0.8, kPalette[1]));
    CHECK(tinted(img, without, L, x, 1.2, kPalette[1]));
    CHECK(pixel_at(img, L, x, 0.3) == kPalette[1]);
  }

  // A non-finite lower, upper or x breaks the band around that point; the line is not affected.
  const Series line{.x = {0, 1, 2, 3, 4, 5, 6}, .y = {1, 1, 1, 1, 1, 1, 1}};
  Series gaps = line;
  gaps.lower = {0.5, 0.5, kNaN, 0.5, 0.5, 0.5, 0.5};
  gaps.upper = {1.5, 1.5, 1.5, 1.5, kInf, 1.5, 1.5};
  img = render_line_plot({gaps}, opt);
  without = render_line_plot({line}, opt);
  L = layout_line_plot({gaps}, opt);
  for (double x : {0.5, 0.95, 5.1, 5.5}) {
    INFO("x = " << x);
    CHECK(tinted(img, without, L, x, 0.75, kPalette[0]));
  }
  for (double x : {1.5, 2.0, 2.5, 2.9, 3.1, 4.0, 4.5}) {
    INFO("x = " << x);
    CHECK(pixel_at(img, L, x, 0.75) == pixel_at(without, L, x, 0.75));
  }
  // Point 3 has no band neighbours: one column, at its x.
  CHECK(tinted(img, without, L, 3, 0.75, kPalette[0]));
  CHECK(tinted(img, without, L, 3, 1.25, kPalette[0]));
  CHECK(pixel_at(img, L, 3, 1.75) == pixel_at(without, L, 3, 1.75));
  CHECK(pixel_at(img, L, 1, 1) == kPalette[0]);

  // Smoothing: lower jumps from 0.2 to 0.9 at the last point. The EMA (weight
  // 0.9) takes it only to 0.371, so at x = 3.9 the smoothed band reaches down
  // to 0.354 and covers y = 0.6, which the raw band (down to 0.83) does not.
  const Series flat{.x = {0, 1, 2, 3, 4}, .y = {1, 1, 1, 1, 1}};
  Series jump = flat;
  jump.lower = {0.2, 0.2, 0.2, 0.2, 0.9};
  jump.upper = {1.2, 1.2, 1.2, 1.2, 1.2};
  CHECK(ema(jump.lower, 0.9)[4] == doctest::Approx(0.3709).epsilon(1e-3));
  PlotOptions smooth = opt;
  smooth.smoothing = 0.9;
  L = layout_line_plot({jump}, smooth);
  CHECK(tinted(render_line_plot({jump}, smooth), render_line_plot({flat}, smooth), L, 3.9, 0.6, kPalette[0]));
  CHECK(pixel_at(render_line_plot({jump}, opt), L, 3.9, 0.6) == pixel_at(render_line_plot({flat}, opt), L, 3.9, 0.6));
  CHECK(tinted(render_line_plot({jump}, opt), render_line_plot({flat}, opt), L, 3.9, 0.9, kPalette[0]));
}

TEST_CASE("plot bands: the y range takes in the band, and its x values; bad bands are errors") {
  const Series line{.label = "mean", .x = {0, 1, 2}, .y = {1, 1, 1}};
  Series wide = line;
  wide.lower = {0, -3, 0};
  wide.upper = {2, 5, 2};
  const PlotLayout plain = layout_line_plot({line}), L = layout_line_plot({wide});
  CHECK(plain.y_lo > 0);
  CHECK(plain.y_hi < 2);
  CHECK(L.y_lo < -3);
  CHECK(L.y_hi > 5);
  CHECK(L.py(-3) <= L.bottom - L.inset);
  CHECK(L.py(5) >= L.top + L.inset);
  CHECK(!is_background(pixel_at(render_line_plot({wide}), L, 1, 4.5)));
  // Band points count where x, lower and upper are finite, whatever y is.
  Series reach = line;
  reach.y = {1, 1, kNaN};
  reach.lower = {0.5, kNaN, 0.5};
  reach.upper = {1.5, 1e300, 7};
  const PlotLayout R = layout_line_plot({reach});
  CHECK(layout_line_plot({Series{.x = reach.x, .y = reach.y}}).x_hi == 1);
  CHECK(R.x_hi == 2);
  CHECK(R.y_hi > 7);
  CHECK(R.y_hi < 8);  // 1e300 sits at a point whose lower is NaN: not part of the band
  // Log axis: the band's values must be positive like y.
  Series logband = line;
  logband.lower = {0.5, 0.1, 0.5};
  logband.upper = {2, 100, 2};
  const PlotLayout G = layout_line_plot({logband}, {.log_y = true});
  CHECK(G.y_lo < 0.1);
  CHECK(G.y_hi > 100);

  Series bad = line;
  bad.label = "seeds";
  bad.lower = {0, 1};
  bad.upper = {2, 3};
  CHORD_CHECK_ERROR(render_line_plot({line, bad}), "series 1 ('seeds') has 3 x values but a band of 2 lower and 2 upper values");
  bad.lower = {};
  bad.upper = {2, 3, 4};
  CHORD_CHECK_ERROR(render_line_plot({bad}), "series 0 ('seeds') has 3 x values but a band of 0 lower and 3 upper values");
  CHORD_CHECK_ERROR(save_plot_grid(plot_temp_path("bad_band.png"), {{.series = {line, bad}}}), "a band of 0 lower");
  logband.lower = {0.5, 0, 0.5};
  CHORD_CHECK_ERROR(render_line_plot({logband}, {.log_y = true}), "log_y: series 0 ('mean') has lower[1] = 0 <= 0");
  logband.lower = {0.5, 0.5, 0.5};
  logband.upper = {2, -1, 2};
  CHORD_CHECK_ERROR(render_line_plot({logband}, {.log_y = true}), "log_y: series 0 ('mean') has upper[1] = -1 <= 0");
  logband.upper = {2, kNaN, 2};  // non-finite: skipped, not an error
  CHECK_NOTHROW(render_line_plot({logband}, {.log_y = true}));
}

TEST_CASE("plot reference lines: dashed at their row under the curves, labelled at the right end, in the y range") {
  const Rgb magenta{200, 0, 200};
  // A curve on the line's left half; another one sets the x range and stays high.
  const std::vector<Series> series = {{.x = {0, 5}, .y = {0.5, 0.5}}, {.x = {0, 10}, .y = {1.5, 2}}};
  PlotOptions opt{.line_width = 3, .antialias = false, .legend = false,
                  .reference_lines = {{.y = 0.5, .label = "base policy"}, {.y = 0.2, .color = magenta}}};
  const Image img = render_line_plot(series, opt);
  const PlotLayout L = layout_line_plot(series, opt);
  CHECK(layout_line_plot(series, {.line_width = 3}).y_lo > 0.2);
  CHECK(L.y_lo < 0.2);  // the range takes in the lower line
  const Rgb grey = chord::io::detail::kReference;

  const int row = static_cast<int>(std::floor(L.py(0.5)));
  // Left half: under the curve, which keeps its colour.
  for (int x = static_cast<int>(L.px(0)) + 2; x < static_cast<int>(L.px(5)) - 2; ++x) CHECK(img.at(x, row) == kPalette[0]);
  // Right half: dashes, 6 pixels on, 4 off, and nothing in the rows beside them.
  const int x0 = static_cast<int>(L.px(5)) + 3;
  int on = 0, runs = 0, longest = 0, run = 0;
  for (int x = x0; x < L.right; ++x) {
    const bool dash = img.at(x, row) == grey;
    on += dash;
    runs += dash && run == 0;
    run = dash ? run + 1 : 0;
    longest = std::max(longest, run);
    CHECK(img.at(x, row - 1) != grey);
    CHECK(img.at(x, row + 1) != grey);
  }
  const int width = L.right - x0;
  CHECK(on > width / 2);
  CHECK(on < width * 7 / 10);
  CHECK(longest == 6);
  CHECK(runs >= width / 10 - 1);

  // The label: right-aligned 4 pixels before the frame, its glyphs' bottom row 1 pixel above the line.
  const int tw = text_width("base policy"), gh = font::kGlyphHeight;
  int font_pixels = 0;
  font::for_each_pixel("base policy", [&](int, int) { ++font_pixels; });
  int label = 0;
  for (int y = row - 1 - gh; y < row - 1; ++y)
    for (int x = L.right - 4 - tw; x < L.right - 4; ++x) label += img.at(x, y) == grey;
  CHECK(label == font_pixels);
  int in_row1 = 0;
  for (int x = L.left; x < L.right; ++x) in_row1 += img.at(x, row) == grey;
  CHECK(count_color(img, grey) == static_cast<std::size_t>(in_row1 + label));  // nothing else is grey

  // An own colour; no label, no text.
  const int row2 = static_cast<int>(std::floor(L.py(0.2)));
  const auto [run2, at2] = longest_run(img, magenta);
  CHECK(at2 == row2);
  CHECK(run2 == 6);
  std::size_t in_row = 0;
  for (int x = L.left; x < L.right; ++x) in_row += img.at(x, row2) == magenta;
  CHECK(in_row == count_color(img, magenta));
  CHECK(in_row > static_cast<std::size_t>(L.right - L.left) / 2);

  // A fixed y range that leaves a line out draws neither it nor its label, even
  // when the label would reach into the plot area.
  opt.y_min = 1;
  opt.y_max = 3;
  opt.reference_lines = {{.y = 0.97, .label = "below"}, {.y = 3.03, .label = "above", .color = magenta}};
  const Image out = render_line_plot(series, opt);
  CHECK(count_color(out, grey) == 0);
  CHECK(count_color(out, magenta) == 0);
  // No room above the line for the label: it goes below.
  opt.y_min = 0;
  opt.y_max = 2;
  opt.reference_lines = {{.y = 1.99, .label = "top"}};
  const Image top = render_line_plot(series, opt);
  const PlotLayout T = layout_line_plot(series, opt);
  const int trow = static_cast<int>(std::floor(T.py(1.99)));
  std::size_t above = 0, below = 0;
  for (int y = T.top; y < T.bottom; ++y)
    for (int x = T.right - 4 - text_width("top"); x < T.right - 4; ++x)
      (y < trow ? above : below) += y != trow && top.at(x, y) == grey;
  CHECK(above == 0);
  CHECK(below > 10);

  CHORD_CHECK_ERROR(render_line_plot(series, {.reference_lines = {{.y = kNaN, .label = "base"}}}),
                    "reference line 0 ('base') has y = ");
  CHORD_CHECK_ERROR(render_line_plot(series, {.reference_lines = {{.y = kInf}}}), "not finite");
  CHORD_CHECK_ERROR(render_line_plot(series, {.log_y = true, .reference_lines = {{.y = 1}, {.y = 0, .label = "zero"}}}),
                    "log_y: reference line 1 ('zero') has y = 0 <= 0");
}

TEST_CASE("plot: without bands or reference lines the pixels are what they were") {
  const std::vector<Series> series = {
      {.label = "CHORD", .x = {0, 1, 2, 3, 4, 5, 6, 7}, .y = {0.1, 0.4, 0.35, 0.6, kNaN, 0.7, 0.72, 0.8}},
      {.label = "SFT+RL", .x = {0, 2, 4, 6}, .y = {0.2, 0.3, 0.5, 0.45}}};
  PlotOptions opt{.title = "pass@1", .x_label = "step", .y_label = "accuracy", .width = 320, .height = 240,
                  .smoothing = 0.5};
  const Image img = render_line_plot(series, opt);
  // The hash of this plot as drawn by plot.hpp before bands and reference lines
  // existed. A deliberate change of the style changes it: then update it here.
  CHECK(pixel_hash(img) == 0xe01e13d960c9b61eull);

  // Bands with no finite point and reference lines outside a fixed y range
  // paint nothing: the same pixels as without them.
  opt.y_min = 0;
  opt.y_max = 1;
  std::vector<Series> empty_bands = series;
  for (Series& s : empty_bands) {
    s.lower.assign(s.x.size(), kNaN);
    s.upper.assign(s.x.size(), 1);
  }
  PlotOptions far = opt;
  far.reference_lines = {{.y = 1.05, .label = "above"}, {.y = -0.05, .label = "below"}};  // just outside
  const Image fixed = render_line_plot(series, opt);
  CHECK(render_line_plot(empty_bands, opt).pixels == fixed.pixels);
  CHECK(render_line_plot(series, far).pixels == fixed.pixels);
}

// ---- metrics -----------------------------------------------------------------------

TEST_CASE("MetricsLogger writes JSONL and CSV with NaN, infinities and columns that appear late") {
  const std::string path = plot_temp_path("run/metrics.jsonl");
  std::filesystem::remove_all(std::filesystem::path(path).parent_path());
  {
    MetricsLogger log(path);  // creates the directory
    CHECK(log.csv_path() == plot_temp_path("run/metrics.csv"));
    log.log(0, {{"reward/mean", 0.25}, {"loss/policy", kNaN}});
    log.log(1, {{"reward/mean", 0.5}});
    // The JSONL holds each row as soon as log() returns.
    CHECK(slurp(path) == "{\"step\":0,\"reward/mean\":0.25,\"loss/policy\":null}\n{\"step\":1,\"reward/mean\":0.5}\n");
    log.log(2, {{"reward/mean", 0.75}, {"grad_norm", kInf}});
    log.log(2, {{"eval/add/pass@1", 0.125}});  // same step, new names: joins row 2
    log.log(3, {{"reward/mean", -kInf}, {"grad_norm", 1.0 / 3.0}});
    CHECK(log.rows() == 4);
    CHECK(log.columns() == std::vector<std::string>{"reward/mean", "loss/policy", "grad_norm", "eval/add/pass@1"});
  }  // the destructor closes and writes the CSV
  CHECK(slurp(path) ==
        "{\"step\":0,\"reward/mean\":0.25,\"loss/policy\":null}\n"
        "{\"step\":1,\"reward/mean\":0.5}\n"
        "{\"step\":2,\"reward/mean\":0.75,\"grad_norm\":\"inf\"}\n"
        "{\"step\":2,\"eval/add/pass@1\":0.125}\n"
        "{\"step\":3,\"reward/mean\":\"-inf\",\"grad_norm\":0.33333333333333331}\n");
  CHECK(slurp(plot_temp_path("run/metrics.csv")) ==
        "step,reward/mean,loss/policy,grad_norm,eval/add/pass@1\n"
        "0,0.25,,,\n"
        "1,0.5,,,\n"
        "2,0.75,,inf,0.125\n"
        "3,-inf,,0.3333333333333333,\n");

  const MetricsTable t = read_metrics(path);
  CHECK(t.steps == std::vector<std::int64_t>{0, 1, 2, 3});
  CHECK(t.names == std::vector<std::string>{"reward/mean", "loss/policy", "grad_norm", "eval/add/pass@1"});
  CHECK(t.column("reward/mean")[2] == 0.75);
  CHECK(t.column("reward/mean")[3] == -kInf);
  CHECK(t.column("grad_norm")[3] == 1.0 / 3.0);  // exact round trip
  CHECK(t.column("grad_norm")[2] == kInf);
  for (double v : t.column("loss/policy")) CHECK(std::isnan(v));
  CHECK(std::isnan(t.column("eval/add/pass@1")[1]));
  CHECK(t.column("eval/add/pass@1")[2] == 0.125);
  const auto [x, y] = t.xy("eval/add/pass@1");  // rows without the metric are left out
  CHECK(x == std::vector<double>{2});
  CHECK(y == std::vector<double>{0.125});
  CHORD_CHECK_ERROR(t.column("nope"), "no column 'nope' (columns: reward/mean, loss/policy");
  std::filesystem::remove_all(std::filesystem::path(path).parent_path());
}

TEST_CASE("MetricsLogger joins a row only for the same step and new names; values round-trip exactly") {
  const std::string path = plot_temp_path("join.jsonl");
  MetricsLogger log(path, {.write_csv = false});
  CHECK(log.csv_path().empty());
  log.log(5, {{"a", 0.1}});
  log.log(5, {{"a", 0.2}});  // "a" already set: a new row with the same step
  log.log(5, {{"b", 1e-300}});
  log.log(6, {{"b", 2}});
  log.close();
  log.close();  // twice is fine
  const MetricsTable t = read_metrics(path);
  CHECK(t.steps == std::vector<std::int64_t>{5, 5, 6});
  CHECK(t.column("a")[0] == 0.1);
  CHECK(t.column("a")[1] == 0.2);
  CHECK(t.column("b")[1] == 1e-300);
  CHECK(std::isnan(t.column("b")[0]));
  CHECK(log.table().steps == t.steps);  // the logger's memory matches the file
  CHECK(!std::filesystem::exists(plot_temp_path("join.csv")));
  std::remove(path.c_str());
}

TEST_CASE("MetricsLogger rewrites the CSV every csv_every rows, on flush and on close") {
  const std::string path = plot_temp_path("every.jsonl");
  const std::string csv = plot_temp_path("every.csv");
  MetricsLogger log(path, {.csv_path = csv, .csv_every = 2});
  CHECK(slurp(csv) == "step\n");
  log.log(0, {{"a", 1}});
  CHECK(slurp(csv) == "step\n");  // lags by up to csv_every - 1 rows
  log.log(1, {{"a", 2}});
  CHECK(slurp(csv) == "step,a\n0,1\n1,2\n");
  log.log(2, {{"b", 3}});  // a new column: header grows at the next rewrite
  CHECK(slurp(csv) == "step,a\n0,1\n1,2\n");
  log.flush();
  CHECK(slurp(csv) == "step,a,b\n0,1,\n1,2,\n2,,3\n");
  MetricsLogger moved = std::move(log);  // the logger moves with its file
  moved.log(3, {{"a, \"quoted\"", 4}});
  moved.close();
  CHECK(slurp(csv) == "step,a,b,\"a, \"\"quoted\"\"\"\n0,1,,\n1,2,,\n2,,3,\n3,,,4\n");
  CHECK(read_metrics(path).size() == 4);
  std::remove(path.c_str());
  std::remove(csv.c_str());
}

TEST_CASE("MetricsLogger resumes: keeps rows up to the resume step, drops a torn last line, appends") {
  const std::string path = plot_temp_path("resume.jsonl");
  const std::string csv = plot_temp_path("resume.csv");
  {
    MetricsLogger log(path);
    for (int s = 0; s < 10; ++s) log.log(s, {{"loss", 10.0 - s}});
  }
  // A crash in the middle of writing row 10 leaves half a line.
  spit(path, slurp(path) + "{\"step\":10,\"lo");
  MetricsTable t = read_metrics(path);  // readers skip the torn line
  CHECK(t.size() == 10);
  {
    MetricsLogger log(path, {.resume_step = 5});
    CHECK(log.rows() == 6);
    CHECK(log.table().column("loss")[5] == 5.0);
    CHECK(slurp(csv) == "step,loss\n0,10\n1,9\n2,8\n3,7\n4,6\n5,5\n");
    log.log(6, {{"loss", 4.5}, {"reward", 1}});
  }
  t = read_metrics(path);
  CHECK(t.steps == std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6});
  CHECK(t.column("loss")[6] == 4.5);
  CHECK(t.column("reward")[6] == 1);
  // Resuming a log that does not exist starts an empty one.
  std::remove(path.c_str());
  {
    MetricsLogger log(path, {.resume_step = 3});
    CHECK(log.rows() == 0);
  }
  // Without resume_step an existing log is replaced.
  {
    MetricsLogger log(path);
    log.log(0, {{"x", 1}});
  }
  {
    MetricsLogger log(path);
  }
  CHECK(slurp(path).empty());
  std::remove(path.c_str());
  std::remove(csv.c_str());
}

TEST_CASE("metrics errors: bad names, steps, files and lines") {
  const std::string path = plot_temp_path("errors.jsonl");
  CHORD_CHECK_ERROR(MetricsLogger(""), "empty path");
  CHORD_CHECK_ERROR(MetricsLogger(path, {.csv_every = -1}), "csv_every must be >= 0");
  CHORD_CHECK_ERROR(MetricsLogger(path, {.csv_path = path}), "must differ");
  CHORD_CHECK_ERROR(MetricsLogger(path, {.resume_step = -2}), "resume_step must be >= 0");
  {
    MetricsLogger log(path, {.write_csv = false});
    CHORD_CHECK_ERROR(log.log(-1, {{"a", 1}}), "step must be >= 0, got -1");
    CHORD_CHECK_ERROR(log.log(0, {{"", 1}}), "empty metric name");
    CHORD_CHECK_ERROR(log.log(0, {{"step", 1}}), "'step' is the row's own column");
    CHORD_CHECK_ERROR(log.log(0, {{"a", 1}, {"a", 2}}), "metric 'a' appears twice at step 0");
    log.close();
    CHORD_CHECK_ERROR(log.log(1, {{"a", 1}}), "is closed");
    CHORD_CHECK_ERROR(log.flush(), "is closed");
  }
  CHECK(slurp(path).empty());  // rejected rows wrote nothing
  CHORD_CHECK_ERROR(read_metrics(plot_temp_path("missing.jsonl")), "cannot open");
  CHORD_CHECK_ERROR(read_metrics(""), "empty path");
  spit(path, "{\"step\":0,\"a\":1}\n{\"step\":1,\"a\":\"high\"}\n");
  CHORD_CHECK_ERROR(read_metrics(path), "line 2: value of 'a' is not a number");
  spit(path, "{\"a\":1}\n");
  CHORD_CHECK_ERROR(read_metrics(path), "line 1: no numeric \"step\"");
  spit(path, "{\"step\":1.5}\n");
  CHORD_CHECK_ERROR(read_metrics(path), "step must be a non-negative integer");
  spit(path, "[1,2]\n");
  CHORD_CHECK_ERROR(read_metrics(path), "expected a JSON object");
  spit(path, "{\"step\":0,\"a\":1,\"a\":2}\n");
  CHORD_CHECK_ERROR(read_metrics(path), "appears twice");
  // A broken line that is not the last one is an error, not a torn write.
  spit(path, "{\"step\":0,\"a\":1}\n{\"step\":1,\n{\"step\":2,\"a\":1}\n");
  CHORD_CHECK_ERROR(read_metrics(path), "line 2");
  CHORD_CHECK_ERROR(MetricsLogger(path, {.resume_step = 5}), "line 2");
  std::remove(path.c_str());
}

// ---- Markdown tables ---------------------------------------------------------------

TEST_CASE("MarkdownTable pads, aligns numbers right and text left, with fixed decimals") {
  MarkdownTable t({"method", "pass@1", "steps"});
  t.add_row({"SFT+RL", 0.41234, 1000}).add_row({"CHORD-phi", 0.5, 1000});
  CHECK(t.str() ==
        "| method    | pass@1 | steps |\n"
        "| :-------- | -----: | ----: |\n"
        "| SFT+RL    |  0.412 |  1000 |\n"
        "| CHORD-phi |  0.500 |  1000 |\n");
  CHECK(t.rows() == 2);
  CHECK(t.columns() == 3);
}

TEST_CASE("MarkdownTable: explicit alignment, precision per table, column and cell, special values") {
  MarkdownTable t({"a", "b", "long header"}, {Align::center, Align::left, Align::right});
  t.precision(1).precision(2, 4);
  t.add_row({"x|y", 2.26, 1.0 / 3});
  t.add_row({"\xC3\xA9t\xC3\xA9", fixed(-0.0001, 2), kNaN});  // "été": 3 code points
  t.add_row({"line\nbreak", kInf, std::size_t{7}});
  CHECK(t.str() ==
        "|     a      | b    | long header |\n"
        "| :--------: | :--- | ----------: |\n"
        "|    x\\|y    | 2.3  |      0.3333 |\n"
        "|    \xC3\xA9t\xC3\xA9     | 0.00 |         n/a |\n"
        "| line break | inf  |           7 |\n");
  // An empty table still prints its header; no rows means text alignment.
  CHECK(MarkdownTable({"only"}).str() == "| only |\n| :--- |\n");
}

TEST_CASE("MarkdownTable errors") {
  CHORD_CHECK_ERROR(MarkdownTable({}), "at least one column");
  CHORD_CHECK_ERROR(MarkdownTable({"a", "b"}, {Align::left}), "got 1 alignments for 2 columns");
  MarkdownTable t({"a", "b"});
  CHORD_CHECK_ERROR(t.add_row({"x"}), "row 0 has 1 cells for 2 columns");
  CHORD_CHECK_ERROR(t.precision(-1), "decimals must be in [0, 17]");
  CHORD_CHECK_ERROR(t.precision(5, 2), "column 5 out of range");
  CHORD_CHECK_ERROR(fixed(1.0, 18), "decimals must be in [0, 17]");
}

// ---- progress line -----------------------------------------------------------------

TEST_CASE("Progress formats step, values, speed, elapsed time and ETA from its clock") {
  double now = 1000;  // seconds on the fake clock
  const Progress p(1000, [&] { return now; });
  now += 42;
  // 215,040 tokens in 42 s = 5,120 tok/s; 120 steps in 42 s, 880 left: 308 s.
  CHECK(p.line(120, {{"loss", 2.31412}}, 215040) ==
        "step  120/1000 | loss 2.314 | 5,120 tok/s | 00:42 elapsed | ETA 05:08");
  CHECK(p.line(120) == "step  120/1000 | 00:42 elapsed | ETA 05:08");
  CHECK(p.line(0, {{"reward", 0.5}, {"lr", 1.2e-5}, {"kl", kNaN}}) ==
        "step    0/1000 | reward 0.5 | lr 1.2e-5 | kl nan | 00:42 elapsed | ETA --:--");
  now = 1000 + 3723;  // 1 h 2 min 3 s
  CHECK(p.line(1000, {}, 1234567890) == "step 1000/1000 | 331,606 tok/s | 1:02:03 elapsed | ETA 00:00");
  CHECK(p.line(500) == "step  500/1000 | 1:02:03 elapsed | ETA 1:02:03");
  CHECK(p.elapsed() == 3723);

  // A resumed run: the ETA uses the steps done since the start step.
  double t2 = 0;
  const Progress resumed(1000, [&] { return t2; }, 500);
  CHECK(resumed.line(500, {}, 0) == "step  500/1000 | -- tok/s | 00:00 elapsed | ETA --:--");
  t2 = 10;
  CHECK(resumed.line(600) == "step  600/1000 | 00:10 elapsed | ETA 00:40");

  // print() writes the line and a newline.
  std::FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  resumed.print(600, {{"loss", 1}}, -1, f);
  std::rewind(f);
  char buf[128] = {};
  CHECK(std::fread(buf, 1, sizeof buf - 1, f) > 0);
  std::fclose(f);
  CHECK(std::string(buf) == "step  600/1000 | loss 1 | 00:10 elapsed | ETA 00:40\n");

  // The real clock: monotonic, elapsed starts near zero.
  const Progress real(10);
  CHECK(real.elapsed() >= 0);
  CHECK(real.elapsed() < 60);
}

TEST_CASE("Progress errors") {
  CHORD_CHECK_ERROR(Progress(0), "total_steps must be > 0, got 0");
  CHORD_CHECK_ERROR(Progress(10, {}, 11), "start_step 11 is outside [0, 10]");
  CHORD_CHECK_ERROR(Progress(10, {}, 0, 0), "digits must be in [1, 17]");
  const Progress p(10);
  CHORD_CHECK_ERROR(p.line(11), "step 11 is outside [0, 10]");
  CHORD_CHECK_ERROR(p.line(-1), "step -1 is outside [0, 10]");
}
