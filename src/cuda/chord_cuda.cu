// chord's CUDA implementation unit: the one translation unit that defines the
// CUDA launchers and kernels that the headers under chord/backend/cuda/ declare
// (the stb pattern of docs/design.md). CMake builds it, with nvcc, into the static
// library chord_cuda when CHORD_CUDA is ON; chord::chord links that library,
// so a program that uses chord never compiles this file itself.
#define CHORD_CUDA_IMPLEMENTATION
#include "chord/backend/cuda/runtime.hpp"
#include "chord/backend/cuda/elementwise.hpp"
#include "chord/backend/cuda/reduce.hpp"
#include "chord/backend/cuda/gemm.hpp"
#include "chord/backend/cuda/softmax.hpp"
#include "chord/backend/cuda/layer_norm.hpp"
#include "chord/backend/cuda/indexing.hpp"
#include "chord/backend/cuda/attention.hpp"
#include "chord/backend/cuda/optim.hpp"
#include "chord/backend/cuda/token_logprobs.hpp"
#include "chord/backend/cuda/gather.hpp"
#include "chord/backend/cuda/triangular.hpp"
#include "chord/backend/cuda/sampling.hpp"
#include "chord/backend/cuda/linear_rows.hpp"
