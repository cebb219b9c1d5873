# The Cortex-M port: startup, UART driver, counter and the linker script generated from the
# device profile's memory map. Included by firmware/CMakeLists.txt.
set(TFC_CPU_FLAGS "" CACHE STRING "Core flags (device profile's cpu_flags), a CMake list")
set(TFC_UART_DRIVER "cmsdk_apb" CACHE STRING "firmware/ports/cortex_m/uart_<driver>.c")
set(TFC_COUNTER "systick" CACHE STRING "dwt (cycles) or systick (where the core has no DWT)")
foreach(var TFC_FLASH_ORIGIN TFC_FLASH_BYTES TFC_RAM_ORIGIN TFC_RAM_BYTES TFC_STACK_BYTES)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "${var} is not set: pass the device profile's memory map (tfcompress build does)")
  endif()
endforeach()
set(port_dir ${CMAKE_CURRENT_LIST_DIR})
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
target_compile_options(firmware PRIVATE ${TFC_CPU_FLAGS} -ffunction-sections -fdata-sections)
target_link_options(firmware PRIVATE ${TFC_CPU_FLAGS} -nostartfiles --specs=nano.specs --specs=nosys.specs
                    -T${CMAKE_BINARY_DIR}/firmware.ld -Wl,--gc-sections -Wl,-Map=${CMAKE_BINARY_DIR}/firmware.map)
set_target_properties(firmware PROPERTIES SUFFIX ".elf" LINK_DEPENDS ${CMAKE_BINARY_DIR}/firmware.ld)
if(TFC_UART_DRIVER STREQUAL "rp2040")  # the bootrom checks the CRC-32 of the boot stage (uart_rp2040.c)
  find_package(Python3 REQUIRED COMPONENTS Interpreter)
  add_custom_command(TARGET firmware POST_BUILD
                     COMMAND ${Python3_EXECUTABLE} ${port_dir}/rp2040_boot2_crc.py $<TARGET_FILE:firmware>
                     COMMENT "RP2040: the boot stage's CRC-32")
endif()
