# The quick demo's numbers, not only its files (script mode, run by the CTest test
# example_papers_in_miniature_quick after the demo):
#
#   cmake -DRESULTS=<out>/results.json -P check_miniature_results.cmake
#
# Checks what even the quick preset must show on every seed's table: the base policy answers
# above chance (a random string is almost never a sorted word), and RL on the verifier's reward
# lifts at least one of GRPO, LUFFY, CHORD-phi above the base policy on the in-distribution split.
# Every split of every method is a probability; the premises and findings are all there.
cmake_minimum_required(VERSION 3.21)

if(NOT EXISTS "${RESULTS}")
  message(FATAL_ERROR "no results file '${RESULTS}'")
endif()
file(READ "${RESULTS}" json)

function(pass_at_1 json method_index split out)
  string(JSON value GET "${json}" methods ${method_index} splits ${split} "pass@1")
  set(${out} "${value}" PARENT_SCOPE)
endfunction()

string(JSON n LENGTH "${json}" methods)
string(JSON first GET "${json}" methods 0 name)
if(NOT first STREQUAL "base policy")
  message(FATAL_ERROR "the first row is '${first}', not the base policy")
endif()
pass_at_1("${json}" 0 id base_id)
if(NOT base_id GREATER 0.02)
  message(FATAL_ERROR "the base policy's id pass@1 is ${base_id}: not above chance")
endif()

set(best_rl 0)
set(best_rl_name "")
math(EXPR last "${n} - 1")
foreach(i RANGE 0 ${last})
  string(JSON name GET "${json}" methods ${i} name)
  foreach(split IN ITEMS id hard retention)
    pass_at_1("${json}" ${i} ${split} p)
    if(p LESS 0 OR p GREATER 1)
      message(FATAL_ERROR "${name}: ${split} pass@1 = ${p} is not a probability")
    endif()
  endforeach()
  if(name MATCHES "^(GRPO|LUFFY|CHORD-phi)$")
    pass_at_1("${json}" ${i} id p)
    if(p GREATER best_rl)
      set(best_rl ${p})
      set(best_rl_name ${name})
    endif()
  endif()
endforeach()
if(NOT best_rl GREATER base_id)
  message(FATAL_ERROR "no RL method rose above the base policy's id pass@1 ${base_id} (best ${best_rl})")
endif()
string(JSON n_premises LENGTH "${json}" premises)
string(JSON n_findings LENGTH "${json}" findings)
if(NOT n_premises EQUAL 4 OR NOT n_findings EQUAL 7)
  message(FATAL_ERROR "expected 4 premises and 7 findings in the results, got ${n_premises} and ${n_findings}")
endif()
message(STATUS "miniature: base policy id pass@1 ${base_id}; ${best_rl_name} reached ${best_rl}")
