#pragma once
// A small command-line parser for chord's programs, with --help.
//
//   int steps = 600;
//   std::string out = "runs/char_gpt";
//   chord::io::ArgParser args("train_char_gpt", "Trains a character-level GPT on generated text.");
//   args.option("--steps", steps, "optimizer steps", {.min = 1, .max = 10'000'000});
//   args.option("--out", out, "output directory", {.metavar = "DIR"});
//   args.flag("--quick", quick, "the 2-minute preset");
//   args.choice("--device", device, {"cpu", "cuda"}, "where the model runs");
//   args.parse_or_exit(argc, argv);   // --help: prints the help to stdout and exits 0
//
// Every option is bound to a variable; its value before parsing is the default that --help
// shows. Numbers are strict: "2abc", "", "1e3" for an integer, a negative value for an unsigned
// one, a value outside [min, max], or a non-finite float is an error, never a silent default.
// parse() throws chord::Error naming the option; parse_or_exit() prints that error and a hint
// to stderr and exits 2 (the shell's convention for a bad command line).
//
// run_main(body) is the other half of a well-behaved main(): it runs body and turns any
// exception into one line "error: ..." on stderr and exit status 1, so that a program never
// aborts with "terminate called after throwing ...".

#include <charconv>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "chord/core/error.hpp"
#include "chord/core/non_templates.hpp"

namespace chord::io {

// Limits and the placeholder shown in --help for one option.
struct ArgSpec {
  std::optional<double> min = std::nullopt;  // inclusive bounds for numbers
  std::optional<double> max = std::nullopt;
  std::string metavar = "";                  // "N", "DIR", ...; "" derives one from the type
};

class ArgParser {
 public:
  ArgParser(std::string program, std::string description)
      : program_(std::move(program)), description_(std::move(description)) {}

  // --name (no value): sets `target` to true.
  ArgParser& flag(const std::string& name, bool& target, std::string help);

  // --name VALUE for a string, an integer or a floating-point variable.
  template <class T>
  ArgParser& option(const std::string& name, T& target, std::string help, ArgSpec spec = {}) {
    std::string metavar = spec.metavar.empty() ? default_metavar<T>() : spec.metavar;
    std::string shown = show_default(target);
    if (spec.min || spec.max) help += range_text(spec);
    add(name, std::move(help), std::move(metavar), std::move(shown), /*takes_value=*/true,
        [&target, name, spec](const std::string& text) { target = parse_value<T>(name, text, spec); });
    return *this;
  }

  // --name VALUE where VALUE must be one of `choices`.
  ArgParser& choice(const std::string& name, std::string& target, std::vector<std::string> choices,
                    std::string help);

  // Usage text for extra lines after the options (examples, notes).
  ArgParser& epilog(std::string text) {
    epilog_ = std::move(text);
    return *this;
  }

  // Parses args (without the program name). Returns false when --help was given (the caller
  // prints help()). Throws chord::Error for an unknown option, a missing or bad value.
  bool parse(const std::vector<std::string>& args);

  // For main(): parses argv; prints the help and exits 0 on --help; prints the error and
  // exits 2 on a bad command line.
  void parse_or_exit(int argc, char** argv);

  // The --help text: usage, description, one line per option with its default.
  std::string help() const;

 private:
  struct Option {
    std::string name, help, metavar, shown_default;
    bool takes_value = true;
    std::function<void(const std::string&)> apply;
  };

  void add(const std::string& name, std::string help, std::string metavar, std::string shown_default,
           bool takes_value, std::function<void(const std::string&)> apply);

  const Option* find(const std::string& name) const;

  template <class T>
  static std::string default_metavar() {
    if constexpr (std::is_same_v<T, std::string>) return "TEXT";
    else if constexpr (std::is_integral_v<T>) return "N";
    else return "X";
  }

  template <class T>
  static std::string show_default(const T& value) {
    if constexpr (std::is_same_v<T, std::string>) return value.empty() ? "" : "'" + value + "'";
    else {
      std::ostringstream os;
      os << value;
      return os.str();
    }
  }

  // 10000000 rather than 1e+07.
  static std::string number_text(double x);

  static std::string range_text(const ArgSpec& spec);

  // The strict conversion of one value; the whole text must be the number.
  template <class T>
  static T parse_value(const std::string& name, const std::string& text, const ArgSpec& spec) {
    if constexpr (std::is_same_v<T, std::string>) {
      (void)spec;
      return text;
    } else if constexpr (std::is_integral_v<T>) {
      T value{};
      const char* first = text.data();
      const char* last = text.data() + text.size();
      if (std::is_unsigned_v<T> && !text.empty() && text[0] == '-')
        fail("arguments", name, " must not be negative, got '", text, "'");
      const auto [end, ec] = std::from_chars(first, last, value);
      if (ec == std::errc::result_out_of_range)
        fail("arguments", name, " is out of range: '", text, "' does not fit in ", sizeof(T) * 8, " bits");
      if (text.empty() || ec != std::errc() || end != last)
        fail("arguments", name, " expects a whole number, got '", text, "'");
      check_range(name, static_cast<double>(value), text, spec);
      return value;
    } else {
      static_assert(std::is_floating_point_v<T>, "ArgParser::option: string, integer or floating-point");
      char* end = nullptr;
      const double value = text.empty() ? 0.0 : std::strtod(text.c_str(), &end);
      if (text.empty() || end != text.c_str() + text.size())
        fail("arguments", name, " expects a number, got '", text, "'");
      if (!std::isfinite(value)) fail("arguments", name, " must be finite, got '", text, "'");
      check_range(name, value, text, spec);
      return static_cast<T>(value);
    }
  }

  static void check_range(const std::string& name, double value, const std::string& text, const ArgSpec& spec);

  std::string program_, description_, epilog_;
  std::vector<Option> options_;
};

// Runs body() and returns its exit status; any exception becomes one line on stderr and
// status 1 (chord::Error's message names the operation; others are prefixed by their kind).
int run_main(const std::function<int()>& body);

}  // namespace chord::io

#if CHORD_DEFINES_NON_TEMPLATES
#include <algorithm>
#include <cstdio>
#include <exception>
#include <new>

namespace chord::io {

CHORD_INLINE ArgParser& ArgParser::flag(const std::string& name, bool& target, std::string help) {
  add(name, std::move(help), "", "", /*takes_value=*/false, [&target](const std::string&) { target = true; });
  return *this;
}

CHORD_INLINE ArgParser& ArgParser::choice(const std::string& name, std::string& target,
                                          std::vector<std::string> choices, std::string help) {
  std::string metavar;
  for (const auto& c : choices) metavar += (metavar.empty() ? "" : "|") + c;
  add(name, std::move(help), metavar, target, /*takes_value=*/true,
      [&target, name, choices](const std::string& text) {
        for (const auto& c : choices)
          if (text == c) {
            target = text;
            return;
          }
        std::string list;
        for (const auto& c : choices) list += (list.empty() ? "'" : ", '") + c + "'";
        fail("arguments", name, " must be one of ", list, ", got '", text, "'");
      });
  return *this;
}

CHORD_INLINE bool ArgParser::parse(const std::vector<std::string>& args) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") return false;
    std::string name = arg, value;
    bool inline_value = false;
    if (const auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      name = arg.substr(0, eq);  // --steps=10
      value = arg.substr(eq + 1);
      inline_value = true;
    }
    const Option* opt = find(name);
    if (!opt) fail("arguments", "unknown option '", arg, "'");
    if (!opt->takes_value) {
      check(!inline_value, "arguments", name, " takes no value");
      opt->apply("");
      continue;
    }
    if (!inline_value) {
      check(i + 1 < args.size(), "arguments", name, " needs a value (", opt->metavar, ")");
      value = args[++i];
    }
    opt->apply(value);
  }
  return true;
}

CHORD_INLINE void ArgParser::parse_or_exit(int argc, char** argv) {
  std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  try {
    if (!parse(args)) {
      std::fputs(help().c_str(), stdout);
      std::exit(0);
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "%s: %s\n(try '%s --help')\n", program_.c_str(), e.what(), program_.c_str());
    std::exit(2);
  }
}

CHORD_INLINE std::string ArgParser::help() const {
  std::ostringstream os;
  os << "usage: " << program_ << " [options]\n\n" << description_ << "\n\noptions:\n";
  std::size_t width = 0;
  std::vector<std::string> heads;
  for (const Option& o : options_) {
    heads.push_back("  " + o.name + (o.metavar.empty() ? "" : " " + o.metavar));
    width = std::max(width, heads.back().size());
  }
  heads.push_back("  -h, --help");
  width = std::max(width, heads.back().size());
  for (std::size_t i = 0; i < options_.size(); ++i) {
    const Option& o = options_[i];
    os << heads[i] << std::string(width - heads[i].size() + 2, ' ') << o.help;
    if (o.takes_value && !o.shown_default.empty()) os << " (default: " << o.shown_default << ")";
    os << "\n";
  }
  os << heads.back() << std::string(width - heads.back().size() + 2, ' ') << "print this help and exit\n";
  if (!epilog_.empty()) os << "\n" << epilog_ << (epilog_.back() == '\n' ? "" : "\n");
  return os.str();
}

CHORD_INLINE void ArgParser::add(const std::string& name, std::string help, std::string metavar,
                                 std::string shown_default, bool takes_value,
                                 std::function<void(const std::string&)> apply) {
  check(name.size() > 2 && name.rfind("--", 0) == 0, "ArgParser", "option names start with '--', got '", name,
        "'");
  check(find(name) == nullptr, "ArgParser", "option ", name, " is declared twice");
  options_.push_back({name, std::move(help), std::move(metavar), std::move(shown_default), takes_value,
                      std::move(apply)});
}

CHORD_INLINE const ArgParser::Option* ArgParser::find(const std::string& name) const {
  for (const Option& o : options_)
    if (o.name == name) return &o;
  return nullptr;
}

CHORD_INLINE std::string ArgParser::number_text(double x) {
  std::ostringstream os;
  if (x == std::floor(x) && std::abs(x) < 1e15) os << static_cast<long long>(x);
  else os << x;
  return os.str();
}

CHORD_INLINE std::string ArgParser::range_text(const ArgSpec& spec) {
  if (spec.min && spec.max) return ", " + number_text(*spec.min) + " to " + number_text(*spec.max);
  if (spec.min) return ", at least " + number_text(*spec.min);
  return ", at most " + number_text(*spec.max);
}

CHORD_INLINE void ArgParser::check_range(const std::string& name, double value, const std::string& text,
                                         const ArgSpec& spec) {
  if ((spec.min && value < *spec.min) || (spec.max && value > *spec.max))
    fail("arguments", name, " must be", range_text(spec).substr(1), ", got '", text, "'");
}

CHORD_INLINE int run_main(const std::function<int()>& body) {
  try {
    return body();
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "error: out of memory\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "error: unknown exception\n");
  }
  return 1;
}

}  // namespace chord::io
#endif  // CHORD_DEFINES_NON_TEMPLATES
