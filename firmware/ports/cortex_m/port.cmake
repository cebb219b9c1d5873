# The Cortex-M port: startup, UART driver, counter and the linker script generated from the
# device profile's memory map. Included by firmware/CMakeLists.txt.
set(TFC_CPU_FLAGS "" CACHE STRING "Core flags (device profile's cpu_flags), a CMake list")
set(TFC_UART_DRIVER "cmsdk_apb" CACHE STRING "firmware/ports/cortex_m/uart_<driver>.c")
set(TFC_COUNTER "systick" CACHE STRING "dwt (cycles) or systick (where the core has no DWT)")
set(port_dir ${CMAKE_CURRENT_LIST_DIR})
include(${port_dir}/../bare_metal/bare_metal.cmake)
# newlib-nano at link time, without its start files (startup.c) or system calls (nosys)
tfc_bare_metal_port(${port_dir} "" "--specs=nano.specs;--specs=nosys.specs")
if(TFC_UART_DRIVER STREQUAL "rp2040")  # the bootrom checks the CRC-32 of the boot stage (uart_rp2040.c)
  find_package(Python3 REQUIRED COMPONENTS Interpreter)
  add_custom_command(TARGET firmware POST_BUILD
                     COMMAND ${Python3_EXECUTABLE} ${port_dir}/rp2040_boot2_crc.py $<TARGET_FILE:firmware>
                     COMMENT "RP2040: the boot stage's CRC-32")
endif()
