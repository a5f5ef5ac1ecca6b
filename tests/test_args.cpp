// io::ArgParser (the examples' command lines) and io::run_main.

#include <doctest/doctest.h>

#include <chord/io/args.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

using chord::io::ArgParser;

namespace {

struct Parsed {
  int64_t steps = 600;
  uint64_t seed = 1;
  int threads = 2;
  double temperature = 0.8;
  std::string out = "runs/x";
  std::string device = "cpu";
  bool quick = false;
};

ArgParser make_parser(Parsed& p) {
  ArgParser args("prog", "A program.");
  args.option("--steps", p.steps, "optimizer steps", {.min = 1, .max = 1000})
      .option("--seed", p.seed, "seed")
      .option("--threads", p.threads, "threads", {.min = 1, .max = 64})
      .option("--temperature", p.temperature, "temperature", {.min = 0})
      .option("--out", p.out, "output", {.metavar = "DIR"})
      .choice("--device", p.device, {"cpu", "cuda"}, "device")
      .flag("--quick", p.quick, "quick");
  return args;
}

// The message of the chord::Error that parsing `args` raises ("" when it raises none).
std::string parse_error(const std::vector<std::string>& args) {
  Parsed p;
  ArgParser parser = make_parser(p);
  try {
    parser.parse(args);
  } catch (const chord::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("ArgParser: values, flags, choices and --name=value") {
  Parsed p;
  ArgParser args = make_parser(p);
  CHECK(args.parse({"--steps", "20", "--seed=7", "--quick", "--device", "cuda", "--temperature", "0.25", "--out",
                    "a b"}));
  CHECK(p.steps == 20);
  CHECK(p.seed == 7);
  CHECK(p.quick);
  CHECK(p.device == "cuda");
  CHECK(p.temperature == 0.25);
  CHECK(p.out == "a b");
  CHECK(p.threads == 2);  // untouched: keeps its default
}

TEST_CASE("ArgParser: --help and -h stop parsing and return false") {
  Parsed p;
  ArgParser args = make_parser(p);
  CHECK_FALSE(args.parse({"--steps", "5", "--help", "--bogus"}));
  CHECK_FALSE(make_parser(p).parse({"-h"}));
}

TEST_CASE("ArgParser: strict numbers, ranges and choices give a chord::Error naming the option") {
  CHECK(parse_error({"--steps", "2abc"}) == "arguments: --steps expects a whole number, got '2abc'");
  CHECK(parse_error({"--steps", ""}) == "arguments: --steps expects a whole number, got ''");
  CHECK(parse_error({"--steps", "1e3"}) == "arguments: --steps expects a whole number, got '1e3'");
  CHECK(parse_error({"--steps", "0"}) == "arguments: --steps must be 1 to 1000, got '0'");
  CHECK(parse_error({"--steps", "99999999999999999999"}) ==
        "arguments: --steps is out of range: '99999999999999999999' does not fit in 64 bits");
  CHECK(parse_error({"--seed", "-1"}) == "arguments: --seed must not be negative, got '-1'");
  CHECK(parse_error({"--seed", "xyz"}) == "arguments: --seed expects a whole number, got 'xyz'");
  CHECK(parse_error({"--threads", "-3"}) == "arguments: --threads must be 1 to 64, got '-3'");
  CHECK(parse_error({"--threads", "1000"}) == "arguments: --threads must be 1 to 64, got '1000'");
  CHECK(parse_error({"--temperature", "-1"}) == "arguments: --temperature must be at least 0, got '-1'");
  CHECK(parse_error({"--temperature", "nan"}) == "arguments: --temperature must be finite, got 'nan'");
  CHECK(parse_error({"--temperature", "0.5x"}) == "arguments: --temperature expects a number, got '0.5x'");
  CHECK(parse_error({"--device", "tpu"}) == "arguments: --device must be one of 'cpu', 'cuda', got 'tpu'");
  CHECK(parse_error({"--bogus"}) == "arguments: unknown option '--bogus'");
  CHECK(parse_error({"--steps"}) == "arguments: --steps needs a value (N)");
  CHECK(parse_error({"--quick=yes"}) == "arguments: --quick takes no value");
  CHECK(parse_error({"--steps", "1000"}).empty());
}

TEST_CASE("ArgParser: a bad value leaves its variable at the default") {
  Parsed p;
  ArgParser args = make_parser(p);
  CHECK_THROWS_AS(args.parse({"--steps", "abc"}), chord::Error);
  CHECK(p.steps == 600);
}

TEST_CASE("ArgParser: --help lists every option with its default") {
  Parsed p;
  const std::string help = make_parser(p).help();
  CHECK(help.rfind("usage: prog [options]\n\nA program.\n\noptions:\n", 0) == 0);
  CHECK(help.find("--steps N") != std::string::npos);
  CHECK(help.find("optimizer steps, 1 to 1000 (default: 600)") != std::string::npos);
  CHECK(help.find("--out DIR") != std::string::npos);
  CHECK(help.find("(default: 'runs/x')") != std::string::npos);
  CHECK(help.find("--device cpu|cuda") != std::string::npos);
  CHECK(help.find("(default: 'cpu')") == std::string::npos);  // choices show their default unquoted
  CHECK(help.find("device (default: cpu)") != std::string::npos);
  CHECK(help.find("temperature, at least 0 (default: 0.8)") != std::string::npos);
  CHECK(help.find("-h, --help") != std::string::npos);
}

TEST_CASE("ArgParser: declaring an option twice or without -- is a programming error") {
  bool b = false;
  ArgParser args("prog", "");
  args.flag("--x", b, "x");
  CHECK_THROWS_WITH_AS(args.flag("--x", b, "again"), "ArgParser: option --x is declared twice", chord::Error);
  CHECK_THROWS_AS(args.flag("x", b, "no dashes"), chord::Error);
}

TEST_CASE("run_main: an exception becomes exit status 1") {
  CHECK(chord::io::run_main([] { return 0; }) == 0);
  CHECK(chord::io::run_main([] { return 3; }) == 3);
  CHECK(chord::io::run_main([]() -> int { throw chord::Error("op: bad"); }) == 1);
  CHECK(chord::io::run_main([]() -> int { throw std::invalid_argument("stoi"); }) == 1);
  CHECK(chord::io::run_main([]() -> int { throw 42; }) == 1);
}
