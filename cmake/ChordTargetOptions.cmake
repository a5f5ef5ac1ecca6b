# Compile options shared by chord's own programs (tests, examples, benchmarks).
# None of this reaches users of chord::chord.
include_guard(GLOBAL)

# -Wall -Wextra for the C++ sources of <target>.
function(chord_enable_warnings target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE "$<$<COMPILE_LANGUAGE:CXX>:-Wall;-Wextra>")
  endif()
endfunction()

# AddressSanitizer + UndefinedBehaviorSanitizer when CHORD_SANITIZE is ON.
function(chord_enable_sanitizers target)
  if(NOT CHORD_SANITIZE)
    return()
  endif()
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    message(FATAL_ERROR "CHORD_SANITIZE needs g++ or clang++, not ${CMAKE_CXX_COMPILER_ID}")
  endif()
  set(flags -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_compile_options(${target} PRIVATE "$<$<COMPILE_LANGUAGE:CXX>:${flags}>")
  target_link_options(${target} PRIVATE ${flags})
endfunction()

# The optimisation level of tests and examples: -O2. Under the sanitizers the
# build type decides instead (configure with CMAKE_BUILD_TYPE=Debug): ASan+UBSan
# compile chord's template-heavy tests about 5 times slower at -O1 than at -O0.
# The sanitizer build is -O0 on purpose: silence chord's compile-time note about it
# (core/optimization_note.hpp).
function(chord_test_optimization target)
  if(NOT CHORD_SANITIZE)
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-O2>)
  else()
    target_compile_definitions(${target} PRIVATE CHORD_NO_OPTIMIZATION_NOTE)
  endif()
endfunction()

# CMake before 3.26 does not know that nvcc 12+ accepts -std=c++20, and rejects
# CUDA_STANDARD 20 / cuda_std_20. Tell it, when the compiler is new enough.
# A macro: the variables must land in the caller's (top-level) directory scope.
macro(chord_teach_cmake_cuda20)
  if(CMAKE_CUDA_COMPILER_ID STREQUAL "NVIDIA"
     AND CMAKE_CUDA_COMPILER_VERSION VERSION_GREATER_EQUAL 12.0
     AND NOT CMAKE_CUDA20_STANDARD_COMPILE_OPTION)
    set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
    set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
    if(NOT "cuda_std_20" IN_LIST CMAKE_CUDA_COMPILE_FEATURES)
      list(APPEND CMAKE_CUDA_COMPILE_FEATURES cuda_std_20)
      set(CMAKE_CUDA20_COMPILE_FEATURES cuda_std_20)
    endif()
  endif()
endmacro()
