# SPDX-License-Identifier: MIT
# One sanitizer tree (tests/CMakeLists.txt): configure SRC into BIN with
# CHAOS_SANITIZE=KIND, build it on every CPU, run its unit tests and fuzz
# replays. In place of `ctest --build-and-test`, whose make runs one
# compiler at a time whatever MAKEFLAGS says (half the tree's build time on
# 2 CPUs). The tests themselves run one at a time: several take timings.
#
# cmake -DSRC=... -DBIN=... -DKIND=address|thread -P sanitizer_tree.cmake
foreach(var SRC BIN KIND)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "sanitizer_tree.cmake: -D${var}=... is required")
  endif()
endforeach()
cmake_host_system_information(RESULT jobs QUERY NUMBER_OF_LOGICAL_CORES)

function(step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rv)
  if(NOT rv EQUAL 0)
    message(FATAL_ERROR "sanitizer tree ${KIND}: ${what} failed (${rv})")
  endif()
endfunction()

step(configure ${CMAKE_COMMAND} -S ${SRC} -B ${BIN} -DCHAOS_SANITIZE=${KIND}
     -DCMAKE_BUILD_TYPE=Debug)
step(build ${CMAKE_COMMAND} --build ${BIN} -j ${jobs})
step(tests ${CMAKE_CTEST_COMMAND} --test-dir ${BIN} -L "^(unit|fuzz)$"
     --output-on-failure)
