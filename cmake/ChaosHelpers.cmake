# SPDX-License-Identifier: MIT
# Small helpers so that per-directory CMake files stay a few lines each.

# chaos_library(NAME SOURCES ... LIBS ...): a static library whose headers are
# found as "dir/header.h" from the top of the tree.
function(chaos_library name)
  cmake_parse_arguments(A "" "" "SOURCES;LIBS" ${ARGN})
  add_library(${name} STATIC ${A_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
  target_link_libraries(${name} PUBLIC ${A_LIBS})
endfunction()

# chaos_program(NAME SOURCES ... LIBS ...)
function(chaos_program name)
  cmake_parse_arguments(A "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${A_SOURCES})
  target_link_libraries(${name} PRIVATE ${A_LIBS})
endfunction()

# chaos_test(NAME LABEL label SOURCES ... LIBS ... [TIMEOUT s]): a test program
# registered with ctest under a label (unit, integration, fuzz, bench).
function(chaos_test name)
  cmake_parse_arguments(A "" "LABEL;TIMEOUT" "SOURCES;LIBS;ARGS" ${ARGN})
  add_executable(${name} ${A_SOURCES})
  target_link_libraries(${name} PRIVATE ${A_LIBS})
  add_test(NAME ${name} COMMAND ${name} ${A_ARGS})
  if(NOT A_TIMEOUT)
    set(A_TIMEOUT 120)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${A_LABEL}" TIMEOUT ${A_TIMEOUT}
                       SKIP_RETURN_CODE 77)
  # In a TSan tree: the suppressions for the uninstrumented system libraries
  # (tests/tsan.supp says why each is there); any report fails the test
  # (exit 66) even when the program itself passed.
  if(CHAOS_SANITIZER STREQUAL "thread")
    set_tests_properties(${name} PROPERTIES ENVIRONMENT
      "TSAN_OPTIONS=suppressions=${PROJECT_SOURCE_DIR}/tests/tsan.supp exitcode=66 second_deadlock_stack=1")
  endif()
endfunction()
