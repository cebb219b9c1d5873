# CMake toolchain file for bare-metal RV32 with Debian's RISC-V toolchain (gcc-riscv64-unknown-elf,
# picolibc-riscv64-unknown-elf: the rv64 compiler builds rv32 with -march/-mabi, and its multilibs
# include rv32im/ilp32). The core's flags come from the device profile (TFC_CPU_FLAGS).
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR riscv32)
set(CMAKE_C_COMPILER riscv64-unknown-elf-gcc)
set(CMAKE_ASM_COMPILER riscv64-unknown-elf-gcc)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
