# CMake toolchain file for bare-metal Cortex-M with Arm's GNU toolchain (Debian: gcc-arm-none-eabi,
# libnewlib-arm-none-eabi). The core's flags come from the device profile (TFC_CPU_FLAGS).
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_CXX_COMPILER arm-none-eabi-g++)  # the TFLM backend
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
