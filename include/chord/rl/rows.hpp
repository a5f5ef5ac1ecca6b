#pragma once
// Training rows: a prompt, then a response, packed into the tensors one GPT
// forward needs.
//
//   row tokens   = prompt (BOS first) + response (EOS last when the response finished)
//   inputs [N, S]  = row tokens [:-1], right-padded with pad_id    (S = longest row - 1)
//   targets [N, S] = row tokens [1:],  right-padded with pad_id
//   mask [N, S]    = 1 where the target is a response token (EOS included), 0 elsewhere
//   old_log_probs [N, S] = the sampler's lp of each response target (0 elsewhere)
//
// Response token j of a row is predicted at position prompt.size() - 1 + j: the
// logits there see the prompt and response[0, j), which is exactly the context
// the sampler had when it drew that token, so the trainer's lp and the sampler's
// agree (rho = 1 on fresh rollouts). Positions start at 0 in every row (right
// padding), as they did in the sampler.

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "chord/core/error.hpp"
#include "chord/core/tensor.hpp"
#include "chord/rl/aggregation.hpp"

namespace chord::rl {

struct Row {
  std::vector<int64_t> prompt = {};       // starts with BOS
  std::vector<int64_t> response = {};     // sampled or demonstrated, EOS included when it finished
  std::vector<double> old_log_probs = {};  // [response.size()] the sampler's lp (OnPolicy rows), else empty
  RowKind kind = RowKind::OnPolicy;
  double advantage = 0;  // the same for every token of the row (unused by Expert rows)
  double reward = 0;
};

template <FloatingPoint T>
struct PackedRows {
  Tensor<int64_t> inputs, targets;  // [N, S]
  Tensor<T> mask, old_log_probs;    // [N, S]
  Tensor<T> advantages;             // [N]
  std::vector<RowKind> kinds;       // [N]
};

template <FloatingPoint T>
PackedRows<T> pack_rows(std::span<const Row> rows, int64_t pad_id, int64_t context_length) {
  const char* op = "pack_rows";
  check(!rows.empty(), op, "no rows");
  int64_t longest = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    check(!r.prompt.empty() && !r.response.empty(), op, "row ", i, " needs a non-empty prompt and response");
    check(r.old_log_probs.empty() || r.old_log_probs.size() == r.response.size(), op, "row ", i, " has ",
          r.old_log_probs.size(), " old log-probs for ", r.response.size(), " response tokens");
    check(r.kind != RowKind::OnPolicy || !r.old_log_probs.empty(), op, "on-policy row ", i,
          " has no old log-probs (the sampler's)");
    const int64_t length = static_cast<int64_t>(r.prompt.size() + r.response.size());
    check(length - 1 <= context_length, op, "row ", i, " has ", length, " tokens; the model's context holds ",
          context_length, " inputs");
    longest = std::max(longest, length);
  }
  const int64_t N = static_cast<int64_t>(rows.size()), S = longest - 1;
  PackedRows<T> out;
  out.inputs = Tensor<int64_t>::full({N, S}, pad_id);
  out.targets = Tensor<int64_t>::full({N, S}, pad_id);
  out.mask = Tensor<T>::zeros({N, S});
  out.old_log_probs = Tensor<T>::zeros({N, S});
  out.advantages = Tensor<T>::zeros({N});
  for (int64_t i = 0; i < N; ++i) {
    const Row& r = rows[i];
    std::vector<int64_t> tokens = r.prompt;
    tokens.insert(tokens.end(), r.response.begin(), r.response.end());
    for (std::size_t t = 0; t + 1 < tokens.size(); ++t) {
      out.inputs.data()[i * S + t] = tokens[t];
      out.targets.data()[i * S + t] = tokens[t + 1];
    }
    const int64_t first = static_cast<int64_t>(r.prompt.size()) - 1;  // where response token 0 is predicted
    for (std::size_t j = 0; j < r.response.size(); ++j) {
      out.mask.data()[i * S + first + j] = T(1);
      if (!r.old_log_probs.empty()) out.old_log_probs.data()[i * S + first + j] = static_cast<T>(r.old_log_probs[j]);
    }
    out.advantages.data()[i] = static_cast<T>(r.advantage);
    out.kinds.push_back(r.kind);
  }
  return out;
}

}  // namespace chord::rl
