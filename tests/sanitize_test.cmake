# Configures, builds and runs the torch-free parts under AddressSanitizer + UndefinedBehaviorSanitizer
# in their own build dir: the puzzle library and its tests, the server's core (request codec,
# Admin token and checkpoint roots, metrics and their HTTP endpoint, the Solver service's code)
# with its unit tests, and the client's. Run by ctest as sanitize_asan_ubsan; the build is
# incremental (and ccache'd) after the first time. Any report fails: UBSan does not recover and
# both halt on the first error. -O1 -g1 (line tables for the reports) compiles faster than -O2 -g.
# The puzzle fuzzers are left out: the normal build runs them under clang's ASan+UBSan already.
#   cmake -DSOURCE_DIR=... -DBINARY_DIR=... -DGENERATOR=... -DSHARED_DIR=... -P sanitize_test.cmake
string(TIMESTAMP start "%s")
execute_process(
  COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${BINARY_DIR} -G ${GENERATOR}
          -DCMAKE_BUILD_TYPE=None "-DCMAKE_CXX_FLAGS=-O1 -g1 -fno-sanitize-recover=undefined"
          -DTRM_WITH_TORCH=OFF -DTRM_SANITIZE=address,undefined
          -DTRM_SANITIZE_TEST=OFF -DTRM_SHARED_DIR=${SHARED_DIR}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "sanitize: configure failed (${rc})")
endif()
# Two jobs: the machine is shared.
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BINARY_DIR} --parallel 2 RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "sanitize: build failed (${rc})")
endif()
string(TIMESTAMP built "%s")
math(EXPR build_s "${built} - ${start}")
message(STATUS "sanitize: configure + build ${build_s} s")
set(ENV{ASAN_OPTIONS} "halt_on_error=1:abort_on_error=0:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1")
set(ENV{UBSAN_OPTIONS} "halt_on_error=1:print_stacktrace=1")
execute_process(COMMAND ${CMAKE_CTEST_COMMAND} --test-dir ${BINARY_DIR} --output-on-failure
                        --parallel 2 --timeout 300 --exclude-regex "^deploy[.]|^puzzle_fuzz"
                RESULT_VARIABLE rc)
string(TIMESTAMP done "%s")
math(EXPR run_s "${done} - ${built}")
message(STATUS "sanitize: tests ${run_s} s")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "sanitize: a test failed or a sanitizer reported under ASan+UBSan (${rc})")
endif()
