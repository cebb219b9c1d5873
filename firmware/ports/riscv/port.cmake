# The RISC-V port (RV32, M-mode, bare metal): startup (crt0 and the trap handler), the NS16550
# UART, the minstret counter and the linker script generated from the device profile's memory
# map. The C library is picolibc, its release build (the harness needs memcpy, memset, memcmp and
# strlen: the default build's are byte loops, the release build's copy words, which takes GATHER
# from 8,088 to 2,068 instructions on SNIPS); its crt0 is not used. Included by firmware/CMakeLists.txt.
set(TFC_CPU_FLAGS "" CACHE STRING "Core flags (device profile's cpu_flags), a CMake list")
set(TFC_UART_DRIVER "ns16550" CACHE STRING "firmware/ports/riscv/uart_<driver>.c")
set(TFC_COUNTER "minstret" CACHE STRING "minstret (instructions retired)")
set(port_dir ${CMAKE_CURRENT_LIST_DIR})
include(${port_dir}/../bare_metal/bare_metal.cmake)
set(picolibc --specs=picolibc.specs --picolibc-buildtype=release)
tfc_bare_metal_port(${port_dir} "${picolibc}" "${picolibc}")
