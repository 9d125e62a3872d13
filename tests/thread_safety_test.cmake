# Builds the parts that share state between threads with clang's thread-safety analysis as
# errors, in their own build dir: base/ (the annotated Mutex), the engine's torch-free core
# (completion executor, request state) and the server's core (services, metrics). Every field a lock guards is
# ABSL_GUARDED_BY it, so an access without the lock, or a lock the analysis cannot see, fails
# the build. Run by ctest as thread_safety_analysis; incremental (and ccache'd) after the first
# time. -O0 -g0: only the analysis matters here.
# Torch-free (-DTRM_WITH_TORCH=OFF): clang 14 cannot compile torch 1.13's headers in C++20 with
# libstdc++ 12 (its constexpr std::vector destructor is instantiated while c10::IValue is still
# incomplete), so the torch-side engine files (engine.cc, scheduler.cc) are checked by
# ThreadSanitizer (engine_scheduler_tsan) instead.
#   cmake -DSOURCE_DIR=... -DBINARY_DIR=... -DGENERATOR=... -DSHARED_DIR=... -P thread_safety_test.cmake
execute_process(
  COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${BINARY_DIR} -G ${GENERATOR}
          -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=None
          "-DCMAKE_CXX_FLAGS=-O0 -g0 -Wthread-safety -Werror=thread-safety"
          -DTRM_WITH_TORCH=OFF
          -DTRM_SANITIZE_TEST=OFF -DTRM_ENGINE_TSAN_TEST=OFF -DTRM_THREAD_SAFETY_TEST=OFF
          -DTRM_SHARED_DIR=${SHARED_DIR}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "thread safety: configure failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BINARY_DIR} --parallel 2
                        --target trm_base trm_engine_core trm_server_core
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "thread safety: clang -Wthread-safety found a lock error (${rc})")
endif()
