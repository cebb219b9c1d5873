# The RISC-V port (RV32, M-mode, bare metal): startup (crt0 and the trap handler), the NS16550
# UART, the minstret counter and the linker script generated from the device profile's memory
# map. The C library is picolibc, its release build (the harness needs memcpy, memset, memcmp and
# strlen: the default build's are byte loops, the release build's copy words, which takes GATHER
# from 8,088 to 2,068 instructions on SNIPS); its crt0 is not used. Included by firmware/CMakeLists.txt.
set(TFC_CPU_FLAGS "" CACHE STRING "Core flags (device profile's cpu_flags), a CMake list")
set(TFC_UART_DRIVER "ns16550" CACHE STRING "firmware/ports/riscv/uart_<driver>.c")
set(TFC_COUNTER "minstret" CACHE STRING "minstret (instructions retired)")
foreach(var TFC_FLASH_ORIGIN TFC_FLASH_BYTES TFC_RAM_ORIGIN TFC_RAM_BYTES TFC_STACK_BYTES)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "${var} is not set: pass the device profile's memory map (tfcompress build does)")
  endif()
endforeach()
set(port_dir ${CMAKE_CURRENT_LIST_DIR})
set(picolibc --specs=picolibc.specs --picolibc-buildtype=release)
if(NOT EXISTS ${port_dir}/uart_${TFC_UART_DRIVER}.c)
  message(FATAL_ERROR "no UART driver ${port_dir}/uart_${TFC_UART_DRIVER}.c")
endif()
configure_file(${port_dir}/linker.ld.in ${CMAKE_BINARY_DIR}/firmware.ld @ONLY)

target_sources(firmware PRIVATE ${port_dir}/startup.c ${port_dir}/port.c ${port_dir}/main.c
               ${port_dir}/uart_${TFC_UART_DRIVER}.c)
target_sources(firmware PRIVATE ${port_dir}/../bare_metal/bare_metal.c)
target_include_directories(firmware PRIVATE ${port_dir} ${port_dir}/../bare_metal)
string(TOUPPER ${TFC_COUNTER} counter)
target_compile_definitions(firmware PRIVATE TFC_COUNTER_${counter})
target_compile_options(firmware PRIVATE ${TFC_CPU_FLAGS} ${picolibc} -ffunction-sections -fdata-sections)
target_link_options(firmware PRIVATE ${TFC_CPU_FLAGS} ${picolibc} -nostartfiles
                    -T${CMAKE_BINARY_DIR}/firmware.ld -Wl,--gc-sections -Wl,-Map=${CMAKE_BINARY_DIR}/firmware.map)
set_target_properties(firmware PROPERTIES SUFFIX ".elf" LINK_DEPENDS ${CMAKE_BINARY_DIR}/firmware.ld)
