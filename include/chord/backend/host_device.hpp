#pragma once
// CHORD_HOST_DEVICE marks a function that both backends call: the CPU loops
// (compiled by any C++ compiler) and the CUDA kernels (compiled by nvcc).
// Under nvcc it is __host__ __device__; elsewhere it is nothing, so the same
// source compiles with plain g++ and no CUDA toolkit.

#if defined(__CUDACC__)
#define CHORD_HOST_DEVICE __host__ __device__
#else
#define CHORD_HOST_DEVICE
#endif
