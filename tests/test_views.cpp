// View operations: reshape, view, flatten, permute, transpose, t, slice,
// narrow, select, unsqueeze, squeeze, expand, contiguous. Storage sharing,
// strides, values, errors, and gradients on contiguous and non-contiguous leaves.

#include <numeric>

#include "test_util.hpp"

using namespace chord;
using chord::testing::check_values;
using chord::testing::Inputs;
using chord::testing::leaf;
using chord::testing::strided_leaf;
using chord::testing::TensorD;
using chord::testing::transposed_leaf;

namespace {
// 0, 1, ..., numel-1 laid out as `shape`.
TensorD iota(const Shape& shape) { return TensorD::arange(static_cast<double>(numel_of(shape))).reshape(shape); }
}  // namespace

// ---- reshape / view ------------------------------------------------------------

TEST_CASE("reshape and view of a contiguous tensor share its storage: writes show through both") {
  auto x = iota({2, 3});
  auto v = x.view({3, 2});
  auto r = x.reshape({6});
  CHECK(v.is_alias_of(x));
  CHECK(r.is_alias_of(x));
  CHECK(v.shape() == Shape{3, 2});
  check_values(v, {0, 1, 2, 3, 4, 5});

  v.select(0, 2).fill_(-1.0);  // v[2, :] is x[1, 1:3]
  check_values(x, {0, 1, 2, 3, -1, -1});
  check_values(r, {0, 1, 2, 3, -1, -1});
  x.select(1, 0).fill_(9.0);
  check_values(v, {9, 1, 2, 9, -1, -1});
  check_values(r, {9, 1, 2, 9, -1, -1});
}

TEST_CASE("view of a transposed tensor is an error; reshape copies instead") {
  auto x = iota({2, 3});
  auto t = x.t();
  CHORD_CHECK_ERROR(t.view({6}), "view");
  CHORD_CHECK_ERROR(t.view({6}), "use reshape()");
  auto r = t.reshape({6});
  CHECK_FALSE(r.is_alias_of(x));
  CHECK(r.is_contiguous());
  check_values(r, {0, 3, 1, 4, 2, 5});
  // the copy is independent of x
  x.fill_(0.0);
  check_values(r, {0, 3, 1, 4, 2, 5});
}

TEST_CASE("view keeps sharing storage where the strides allow it (splitting and merging compatible dims)") {
  auto x = iota({4, 6});
  auto s = x.slice(0, 1, 3);  // rows 1..2: still row-contiguous
  auto v = s.view({12});
  CHECK(v.is_alias_of(x));
  check_values(v, {6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17});
  auto c = x.slice(1, 0, 6, 2);  // every second column: [4,3] strides [6,2]
  auto split = c.view({2, 2, 3});
  CHECK(split.is_alias_of(x));
  CHECK(split.strides() == Strides{12, 6, 2});
  check_values(split, {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22});
  CHECK(c.view({12}).strides() == Strides{2});  // rows 6 apart, columns 2 apart: one even stride
  CHORD_CHECK_ERROR(x.slice(1, 0, 4).view({16}), "view");  // rows of 4 with a gap of 2 between them
  auto t = x.t();                           // [6,4] strides [1,6]
  auto t3 = t.view({2, 3, 4});              // splitting the first dim is fine
  CHECK(t3.is_alias_of(x));
  CHECK(t3.at({1, 2, 3}) == x.at({3, 5}));
}

TEST_CASE("whenever view succeeds on a non-contiguous tensor its values equal reshape's") {
  auto base = iota({4, 6, 2});
  std::vector<TensorD> sources = {
      base.permute({1, 0, 2}), base.permute({2, 1, 0}), base.slice(1, 1, 5), base.slice(2, 0, 2).select(0, 1),
      base.transpose(0, 1).slice(0, 0, 6, 2), base.unsqueeze(1), base.select(2, 1).unsqueeze(-1),
      base.slice(0, 1, 3).permute({0, 2, 1})};
  int viewed = 0;
  for (const auto& src : sources) {
    const int64_t n = src.numel();
    for (int64_t a = 1; a <= n; ++a) {
      if (n % a) continue;
      for (const Shape& shape : {Shape{a, n / a}, Shape{n / a, 1, a}, Shape{n}, Shape{1, a, n / a}}) {
        INFO("source " << src.shape() << " strides " << src.strides() << " -> " << shape);
        const auto expected = src.contiguous().to_vector();
        CHECK(src.reshape(shape).to_vector() == expected);
        bool ok = true;
        TensorD v;
        try {
          v = src.view(shape);
        } catch (const chord::Error&) {
          ok = false;
        }
        if (ok) {
          ++viewed;
          CHECK(v.is_alias_of(src));
          CHECK(v.to_vector() == expected);
        }
      }
    }
  }
  CHECK(viewed > 10);
}

TEST_CASE("a -1 in the shape is inferred; two -1s or an impossible size is an error") {
  auto x = iota({2, 3, 4});
  CHECK(x.reshape({-1}).shape() == Shape{24});
  CHECK(x.reshape({-1, 4}).shape() == Shape{6, 4});
  CHECK(x.reshape({2, -1, 3}).shape() == Shape{2, 4, 3});
  CHECK(x.view({4, -1}).shape() == Shape{4, 6});
  CHECK(Tensor<double>::zeros({0, 3}).reshape({-1, 3}).shape() == Shape{0, 3});
  CHECK(Tensor<double>::scalar(1).reshape({-1}).shape() == Shape{1});
  CHECK(Tensor<double>::ones({1, 1}).reshape({}).dim() == 0);

  CHORD_CHECK_ERROR(x.reshape({-1, -1}), "only one dimension can be -1");
  CHORD_CHECK_ERROR(x.reshape({-1, 5}), "reshape");
  CHORD_CHECK_ERROR(x.reshape({-1, 5}), "[2,3,4]");
  CHORD_CHECK_ERROR(x.reshape({5, 5}), "invalid for input of shape [2,3,4]");
  CHORD_CHECK_ERROR(x.view({-1, 7}), "view");
  CHORD_CHECK_ERROR(x.reshape({-2, 12}), "invalid size -2");
  CHORD_CHECK_ERROR(Tensor<double>::zeros({0, 3}).reshape({0, -1}), "reshape");
}

TEST_CASE("flatten merges the dims from start_dim to end_dim") {
  auto x = iota({2, 3, 4});
  CHECK(x.flatten().shape() == Shape{24});
  CHECK(x.flatten(1).shape() == Shape{2, 12});
  CHECK(x.flatten(0, 1).shape() == Shape{6, 4});
  CHECK(x.flatten(-2, -1).shape() == Shape{2, 12});
  CHECK(x.flatten(1, 1).shape() == Shape{2, 3, 4});
  CHECK(x.flatten().is_alias_of(x));
  CHECK(Tensor<double>::scalar(3).flatten().shape() == Shape{1});
  check_values(x.transpose(0, 2).flatten(1), [&] {
    std::vector<double> v;
    for (int k = 0; k < 4; ++k)
      for (int j = 0; j < 3; ++j)
        for (int i = 0; i < 2; ++i) v.push_back(i * 12 + j * 4 + k);
    return v;
  }());
  CHORD_CHECK_ERROR(x.flatten(2, 1), "flatten");
  CHORD_CHECK_ERROR(x.flatten(0, 3), "flatten");
}

// ---- permute / transpose / t ----------------------------------------------------

TEST_CASE("permute, transpose and t reorder shape and strides without copying") {
  auto x = iota({2, 3, 4});
  auto p = x.permute({2, 0, 1});
  CHECK(p.shape() == Shape{4, 2, 3});
  CHECK(p.strides() == Strides{1, 12, 4});
  CHECK(p.is_alias_of(x));
  CHECK(p.at({3, 1, 2}) == x.at({1, 2, 3}));
  CHECK(x.permute({-1, 0, 1}).shape() == Shape{4, 2, 3});

  auto tr = x.transpose(0, 2);
  CHECK(tr.shape() == Shape{4, 3, 2});
  CHECK(tr.strides() == Strides{1, 4, 12});
  CHECK(tr.at({3, 2, 1}) == x.at({1, 2, 3}));
  CHECK(x.transpose(-1, -2).shape() == Shape{2, 4, 3});
  CHECK(x.transpose(1, 1).strides() == x.strides());

  auto m = iota({2, 3});
  CHECK(m.t().shape() == Shape{3, 2});
  CHECK(m.t().strides() == Strides{1, 3});
  CHECK(m.t().t().is_contiguous());
  auto v = iota({3});
  CHECK(v.t().impl_ptr() == v.impl_ptr());  // t() of a 1-D tensor is itself
  CHORD_CHECK_ERROR(x.t(), "t");
}

// ---- slice / narrow / select ------------------------------------------------------

TEST_CASE("slice takes start, start+step, ... below end; negative bounds count from the end; end is clamped") {
  auto x = TensorD::arange(10.0);
  auto s = x.slice(0, 1, 8, 3);
  check_values(s, {1, 4, 7});
  CHECK(s.strides() == Strides{3});
  CHECK(s.storage_offset() == 1);
  CHECK(s.is_alias_of(x));
  check_values(x.slice(0, -3, 10), {7, 8, 9});
  check_values(x.slice(0, -4, -1), {6, 7, 8});
  check_values(x.slice(0, 7, 100), {7, 8, 9});
  check_values(x.slice(0, 8, 1000, 5), {8});
  CHECK(x.slice(0, 5, 3).numel() == 0);   // end before start: empty
  CHECK(x.slice(0, 10, 12).numel() == 0);  // start at the end: empty
  check_values(x.slice(0, 0, 10, 4), {0, 4, 8});

  auto m = iota({3, 4});
  auto cols = m.slice(1, 1, 4, 2);
  CHECK(cols.shape() == Shape{3, 2});
  check_values(cols, {1, 3, 5, 7, 9, 11});
  check_values(m.slice(-2, 1, 3), {4, 5, 6, 7, 8, 9, 10, 11});
  // a slice of a slice
  check_values(m.slice(1, 1, 4).slice(0, 1, 3).slice(1, 0, 3, 2), {5, 7, 9, 11});
}

TEST_CASE("narrow is slice with a length; select removes the dim and accepts negative indices") {
  auto m = iota({3, 4});
  check_values(m.narrow(1, 1, 2), {1, 2, 5, 6, 9, 10});
  check_values(m.narrow(0, -2, 2), {4, 5, 6, 7, 8, 9, 10, 11});
  CHECK(m.narrow(0, 1, 0).numel() == 0);
  CHECK(m.narrow(1, 0, 4).shape() == Shape{3, 4});

  auto row = m.select(0, -1);
  CHECK(row.shape() == Shape{4});
  check_values(row, {8, 9, 10, 11});
  auto col = m.select(1, -2);
  CHECK(col.shape() == Shape{3});
  CHECK(col.strides() == Strides{4});
  check_values(col, {2, 6, 10});
  CHECK(m.select(-1, 0).is_alias_of(m));
  auto e = TensorD::arange(3.0).select(0, 1);
  CHECK(e.dim() == 0);
  CHECK(e.item() == 1);
}

// ---- unsqueeze / squeeze / expand ---------------------------------------------------

TEST_CASE("unsqueeze inserts a size-1 dim; squeeze removes one or all of them") {
  auto x = iota({2, 3});
  CHECK(x.unsqueeze(0).shape() == Shape{1, 2, 3});
  CHECK(x.unsqueeze(1).shape() == Shape{2, 1, 3});
  CHECK(x.unsqueeze(2).shape() == Shape{2, 3, 1});
  CHECK(x.unsqueeze(-1).shape() == Shape{2, 3, 1});
  CHECK(x.unsqueeze(-3).shape() == Shape{1, 2, 3});
  CHECK(x.unsqueeze(1).is_contiguous());
  CHECK(x.unsqueeze(1).is_alias_of(x));
  CHECK(Tensor<double>::scalar(2).unsqueeze(0).shape() == Shape{1});
  check_values(x.t().unsqueeze(1), {0, 3, 1, 4, 2, 5});

  auto y = iota({1, 2, 1, 3});
  CHECK(y.squeeze().shape() == Shape{2, 3});
  CHECK(y.squeeze(0).shape() == Shape{2, 1, 3});
  CHECK(y.squeeze(2).shape() == Shape{1, 2, 3});
  CHECK(y.squeeze(-2).shape() == Shape{1, 2, 3});
  CHECK(y.squeeze(1).shape() == Shape{1, 2, 1, 3});  // size 2: unchanged
  CHECK(y.squeeze().is_alias_of(y));
  CHECK(Tensor<double>::ones({1, 1}).squeeze().dim() == 0);
  check_values(y.squeeze(), {0, 1, 2, 3, 4, 5});
}

TEST_CASE("expand broadcasts size-1 dims with stride 0; -1 keeps a size") {
  auto x = TensorD::from_vector({1, 2, 3}, {3, 1});
  auto e = x.expand({3, 4});
  CHECK(e.shape() == Shape{3, 4});
  CHECK(e.strides() == Strides{1, 0});
  CHECK(e.is_alias_of(x));
  check_values(e, {1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3});
  auto lead = x.expand({2, 3, 4});
  CHECK(lead.shape() == Shape{2, 3, 4});
  CHECK(lead.strides() == Strides{0, 1, 0});
  CHECK(x.expand({-1, 4}).shape() == Shape{3, 4});
  CHECK(x.expand({2, -1, -1}).shape() == Shape{2, 3, 1});
  CHECK(Tensor<double>::scalar(5).expand({2, 2}).to_vector() == std::vector<double>(4, 5));
  CHECK_FALSE(e.is_contiguous());
  // writing through the base shows in every broadcast copy
  x.select(0, 1).fill_(7.0);
  CHECK(e.at({1, 3}) == 7);

  CHORD_CHECK_ERROR(x.expand({3, 4, 2}), "expand");  // 4 -> [4, 2] is not a broadcast of [3,1]
  CHORD_CHECK_ERROR(x.expand({4}), "expand");
  CHORD_CHECK_ERROR(x.expand({-1, 3, 4}), "expand");  // -1 for a new leading dim
  CHORD_CHECK_ERROR(iota({3, 2}).expand({3, 4}), "cannot expand shape [3,2]");
}

TEST_CASE("contiguous returns the tensor itself when already contiguous, a copy otherwise") {
  auto x = iota({2, 3});
  CHECK(x.contiguous().impl_ptr() == x.impl_ptr());
  CHECK(x.unsqueeze(0).contiguous().is_alias_of(x));
  auto t = x.t();
  auto c = t.contiguous();
  CHECK(c.impl_ptr() != t.impl_ptr());
  CHECK_FALSE(c.is_alias_of(x));
  CHECK(c.is_contiguous());
  CHECK(c.strides() == Strides{2, 1});
  check_values(c, {0, 3, 1, 4, 2, 5});
  auto cl = x.clone();
  CHECK_FALSE(cl.is_alias_of(x));
  check_values(cl, {0, 1, 2, 3, 4, 5});
}

TEST_CASE("views of int64 and bool tensors work and carry no autograd") {
  auto i = Tensor<int64_t>::arange(0, 6).reshape({2, 3});
  CHECK(i.t().contiguous().to_vector() == std::vector<int64_t>{0, 3, 1, 4, 2, 5});
  CHECK(i.select(1, -1).to_vector() == std::vector<int64_t>{2, 5});
  auto b = Tensor<bool>::from_vector({true, false, false, true}, {2, 2});
  CHECK(b.t().reshape({4}).to_vector() == std::vector<bool>{true, false, false, true});
  CHECK(b.unsqueeze(0).expand({3, 2, 2}).numel() == 12);
}

// ---- gradients --------------------------------------------------------------------

TEST_CASE("gradcheck through every view op on contiguous, transposed and strided leaves") {
  const std::vector<std::pair<const char*, std::function<TensorD(const TensorD&)>>> views = {
      {"reshape", [](const TensorD& x) { return x.reshape({4, 3}); }},
      {"reshape -1", [](const TensorD& x) { return x.reshape({-1}); }},
      {"view-or-reshape", [](const TensorD& x) { return x.is_contiguous() ? x.view({2, 6}) : x.reshape({2, 6}); }},
      {"flatten", [](const TensorD& x) { return x.flatten(); }},
      {"permute", [](const TensorD& x) { return x.permute({1, 0}); }},
      {"transpose", [](const TensorD& x) { return x.transpose(0, 1); }},
      {"t", [](const TensorD& x) { return x.t(); }},
      {"slice", [](const TensorD& x) { return x.slice(1, 1, 4, 2); }},
      {"slice neg", [](const TensorD& x) { return x.slice(0, -2, 3); }},
      {"narrow", [](const TensorD& x) { return x.narrow(1, 1, 2); }},
      {"select", [](const TensorD& x) { return x.select(0, -1); }},
      {"select col", [](const TensorD& x) { return x.select(1, 2); }},
      {"unsqueeze", [](const TensorD& x) { return x.unsqueeze(1); }},
      {"squeeze", [](const TensorD& x) { return x.unsqueeze(0).unsqueeze(2).squeeze(); }},
      {"squeeze dim", [](const TensorD& x) { return x.unsqueeze(-1).squeeze(-1); }},
      {"expand", [](const TensorD& x) { return x.unsqueeze(0).expand({2, 3, 4}); }},
      {"expand -1", [](const TensorD& x) { return x.unsqueeze(1).expand({-1, 3, -1}); }},
      {"contiguous", [](const TensorD& x) { return x.contiguous(); }},
      {"clone", [](const TensorD& x) { return x.clone(); }},
  };
  for (const auto& [name, op] : views) {
    for (int layout = 0; layout < 3; ++layout) {
      const TensorD x = layout == 0   ? leaf({3, 4}, 1)
                        : layout == 1 ? transposed_leaf({3, 4}, 2)
                                      : strided_leaf({3, 4}, 3);
      INFO("view " << name << ", layout " << (layout == 0 ? "contiguous" : layout == 1 ? "transposed" : "strided"));
      // times a fixed non-uniform weight so that a permuted gradient shows
      auto f = [&op](const Inputs& in) {
        TensorD y = op(in[0]);
        TensorD w = TensorD::arange(1.0, 1.0 + static_cast<double>(y.numel())).reshape(y.shape());
        return y * w;
      };
      CHORD_CHECK_GRADCHECK(f, {x});
    }
  }
}

TEST_CASE("view backward gives exact gradients (slice/select/expand scatter and sum)") {
  auto x = leaf({3, 4}, 4);
  x.slice(1, 1, 4, 2).sum().backward();
  check_values(x.grad(), {0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1});

  auto y = leaf({3, 4}, 5);
  (y.select(0, 1) * 2.0).sum().backward();
  check_values(y.grad(), {0, 0, 0, 0, 2, 2, 2, 2, 0, 0, 0, 0});

  auto z = leaf({3, 1}, 6);
  z.expand({2, 3, 5}).sum().backward();
  check_values(z.grad(), {10, 10, 10});

  auto p = leaf({2, 3}, 7);
  auto w = TensorD::arange(6.0).reshape({3, 2});
  (p.t() * w).sum().backward();
  check_values(p.grad(), {0, 2, 4, 1, 3, 5});
}

TEST_CASE("a chain of views (transpose -> slice -> reshape -> expand) has the right values and gradient") {
  auto chain = [](const TensorD& x) {  // x: [4, 6]
    return x.t()                       // [6, 4], strides [1, 6]
        .slice(0, 1, 6, 2)             // rows 1, 3, 5 of the transpose: [3, 4]
        .reshape({12})                 // not viewable: copies
        .unsqueeze(0)
        .expand({2, 12});
  };
  auto base = iota({4, 6});
  auto y = chain(base);
  CHECK(y.shape() == Shape{2, 12});
  std::vector<double> row;
  for (int r : {1, 3, 5})
    for (int c = 0; c < 4; ++c) row.push_back(c * 6 + r);
  std::vector<double> expected = row;
  expected.insert(expected.end(), row.begin(), row.end());
  check_values(y, expected);

  // a chain that stays a view the whole way shares storage with the base
  auto v = base.t().slice(1, 1, 3).unsqueeze(0).expand({2, 6, 2});
  CHECK(v.is_alias_of(base));
  CHECK(v.at({1, 5, 1}) == base.at({2, 5}));

  CHORD_CHECK_GRADCHECK([&](const Inputs& in) { return chain(in[0]) * TensorD::arange(24.0).reshape({2, 12}); },
                        {leaf({4, 6}, 8)});
  CHORD_CHECK_GRADCHECK([&](const Inputs& in) { return chain(in[0]); }, {transposed_leaf({4, 6}, 9)});
  CHORD_CHECK_GRADCHECK(
      [&](const Inputs& in) {
        return in[0].permute({1, 0}).select(1, 2).unsqueeze(1).expand({6, 3}).flatten().slice(0, 2, 17, 3);
      },
      {strided_leaf({4, 6}, 10)});
}
