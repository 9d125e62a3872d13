# Configures, builds and runs the engine's tests (engine_core_test: the completion executor and
# request state; engine_scheduler_test: the schedulers on tiny real models; engine_arc_fit_test:
# the ARC fit threads beside them) with
# -fsanitize=thread in its own build dir.
# Run by ctest (engine_scheduler_tsan); the build is incremental after the first time.
execute_process(
  COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${BINARY_DIR} -G ${GENERATOR}
          -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTRM_SANITIZE=thread -DTRM_WITH_SERVER=OFF
          -DTRM_ENGINE_TSAN_TEST=OFF -DTRM_SHARED_DIR=${SHARED_DIR}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "engine tsan: configure failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BINARY_DIR} --target engine_core_test engine_scheduler_test
                        engine_arc_fit_test
                        --parallel 2
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "engine tsan: build failed (${rc})")
endif()
# halt_on_error: any report fails the test. One intra-op thread: torch's OpenMP pool is not
# instrumented, so its handoffs would be invisible to TSan; our threads are what is under test.
set(ENV{TSAN_OPTIONS} "halt_on_error=1 second_deadlock_stack=1")
set(ENV{OMP_NUM_THREADS} "1")
foreach(t engine_core_test engine_scheduler_test engine_arc_fit_test)
  execute_process(COMMAND ${BINARY_DIR}/engine/${t} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "engine tsan: ${t} failed under ThreadSanitizer (${rc})")
  endif()
endforeach()
