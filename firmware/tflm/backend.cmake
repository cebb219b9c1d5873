# The TFLM backend (-DTFC_BACKEND=tflm, included by firmware/CMakeLists.txt): backend_tflm.cc,
# the model's generated resolver (tfc_tflm_model.cc) and its .tflite (model_data.c), the TFC_
# ops' glue of this folder over the kernels, linked with a TFLM library the user built with
# TFLM's own Makefile for this core (docs/tflm.md). tfcompress never fetches or builds TFLM.
enable_language(CXX)
set(TFLM_DIR "$ENV{TFLM_DIR}" CACHE PATH "TFLM source tree, its Makefile's downloads/ included")
set(TFLM_LIB "$ENV{TFLM_LIB}" CACHE FILEPATH "libtensorflow-microlite.a built for this core")
set(TFLM_DEFINES "TF_LITE_STATIC_MEMORY;CMSIS_NN" CACHE STRING
    "Defines the library was built with that change its headers (a CMake list)")
option(TFLM_DEBUG_LOG_CALLBACK "The library is TARGET=cortex_m_generic's (RegisterDebugLogCallback)" ON)

set(tflm_downloads ${TFLM_DIR}/tensorflow/lite/micro/tools/make/downloads)
foreach(needed ${TFLM_DIR}/tensorflow/lite/micro/micro_interpreter.h ${tflm_downloads}/flatbuffers/include
        ${tflm_downloads}/gemmlowp ${tflm_downloads}/ruy ${TFLM_LIB})
  if(NOT EXISTS ${needed})
    message(FATAL_ERROR "TFLM backend: ${needed} does not exist. Set TFLM_DIR to a TFLM tree whose "
            "Makefile has run (its downloads/) and TFLM_LIB to the libtensorflow-microlite.a it built "
            "(docs/tflm.md)")
  endif()
endforeach()
foreach(generated tfc_tflm_model.cc model_data.c)
  if(NOT EXISTS ${TFC_GENERATED_DIR}/${generated})
    message(FATAL_ERROR "TFC_GENERATED_DIR has no ${generated}: run tfcompress build --backend tflm")
  endif()
endforeach()

file(GLOB glue_sources ${CMAKE_CURRENT_LIST_DIR}/tfc_*.cc)
list(FILTER glue_sources EXCLUDE REGEX "tfc_python_registerer\\.cc$")  # the Python wheel's, host only
target_sources(firmware PRIVATE ${CMAKE_CURRENT_LIST_DIR}/../harness/src/backend_tflm.cc ${glue_sources}
               ${TFC_GENERATED_DIR}/tfc_tflm_model.cc ${TFC_GENERATED_DIR}/model_data.c)
# TFLM's headers are not -Wextra clean: system headers, so -Werror holds for ours.
target_include_directories(firmware SYSTEM PRIVATE ${TFLM_DIR} ${tflm_downloads}/flatbuffers/include
                           ${tflm_downloads}/gemmlowp ${tflm_downloads}/ruy)
target_include_directories(firmware PRIVATE ${CMAKE_CURRENT_LIST_DIR})
target_compile_definitions(firmware PRIVATE ${TFLM_DEFINES})
if(TFLM_DEBUG_LOG_CALLBACK)
  target_compile_definitions(firmware PRIVATE TFC_TFLM_DEBUG_LOG_CALLBACK)
endif()
set_target_properties(firmware PROPERTIES CXX_STANDARD 17 CXX_STANDARD_REQUIRED ON CXX_EXTENSIONS OFF)
# TFLM's own C++ flags: no exceptions, no RTTI, no guards or atexit for statics.
target_compile_options(firmware PRIVATE
  $<$<COMPILE_LANGUAGE:CXX>:-fno-exceptions -fno-rtti -fno-threadsafe-statics -fno-use-cxa-atexit>)
target_link_libraries(firmware PRIVATE ${TFLM_LIB} m)
