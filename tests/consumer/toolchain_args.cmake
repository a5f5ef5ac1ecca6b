# Shared by the consumer test scripts (script mode): the configure arguments that make a
# nested CMake run use the outer build's generator and C++ compiler (-DGENERATOR=...,
# -DCXX_COMPILER=... given to the script).
#
#   chord_append_toolchain_args(configure_args)
function(chord_append_toolchain_args list_var)
  set(args ${${list_var}})
  if(GENERATOR)
    list(APPEND args -G "${GENERATOR}")
  endif()
  if(CXX_COMPILER)
    list(APPEND args "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")
  endif()
  set(${list_var} ${args} PARENT_SCOPE)
endfunction()
