# The demo's determinism per seed (script mode, run by the CTest test
# example_papers_in_miniature_deterministic):
#
#   cmake -DSAME_A=<a>/results.json -DSAME_B=<b>/results.json -DOTHER=<c>/results.json -P check_miniature_determinism.cmake
#
# SAME_A and SAME_B come from the same seed and preset, run with different thread and job counts:
# every method's scores must be identical, digit for digit (the times may differ). OTHER comes from
# another seed: its base policy must differ (another initialization, corpus, splits and sampling).
cmake_minimum_required(VERSION 3.21)

foreach(file IN ITEMS "${SAME_A}" "${SAME_B}" "${OTHER}")
  if(NOT EXISTS "${file}")
    message(FATAL_ERROR "no results file '${file}'")
  endif()
endforeach()
file(READ "${SAME_A}" a)
file(READ "${SAME_B}" b)
file(READ "${OTHER}" other)

string(JSON n_a LENGTH "${a}" methods)
string(JSON n_b LENGTH "${b}" methods)
if(NOT n_a EQUAL n_b)
  message(FATAL_ERROR "the two runs of one seed have ${n_a} and ${n_b} methods")
endif()
math(EXPR last "${n_a} - 1")
foreach(i RANGE 0 ${last})
  string(JSON name GET "${a}" methods ${i} name)
  string(JSON splits_a GET "${a}" methods ${i} splits)
  string(JSON splits_b GET "${b}" methods ${i} splits)
  if(NOT splits_a STREQUAL splits_b)
    message(FATAL_ERROR "same seed, different scores for ${name}:\n${splits_a}\nvs\n${splits_b}")
  endif()
endforeach()

string(JSON base_a GET "${a}" methods 0 splits)
string(JSON base_other GET "${other}" methods 0 splits)
if(base_a STREQUAL base_other)
  message(FATAL_ERROR "another seed gave the same base policy scores: ${base_a}")
endif()
message(STATUS "miniature: ${n_a} methods identical for one seed at two thread/job counts; another seed differs")
