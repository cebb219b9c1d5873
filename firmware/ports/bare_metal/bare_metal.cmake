# What the bare-metal ports (cortex_m, riscv) build alike, included by their port.cmake after
# they set TFC_UART_DRIVER and TFC_COUNTER: the profile's memory map checked, the port's linker
# script generated from it, the port's startup, port, main and UART driver with bare_metal.c,
# and the core flags with the port's C library's flags for compiling and for linking.
function(tfc_bare_metal_port port_dir libc_compile_flags libc_link_flags)
  foreach(var TFC_FLASH_ORIGIN TFC_FLASH_BYTES TFC_RAM_ORIGIN TFC_RAM_BYTES TFC_STACK_BYTES)
    if(NOT DEFINED ${var})
      message(FATAL_ERROR "${var} is not set: pass the device profile's memory map (tfcompress build does)")
    endif()
  endforeach()
  if(NOT EXISTS ${port_dir}/uart_${TFC_UART_DRIVER}.c)
    message(FATAL_ERROR "no UART driver ${port_dir}/uart_${TFC_UART_DRIVER}.c")
  endif()
  configure_file(${port_dir}/linker.ld.in ${CMAKE_BINARY_DIR}/firmware.ld @ONLY)
  target_sources(firmware PRIVATE ${port_dir}/startup.c ${port_dir}/port.c ${port_dir}/main.c
                 ${port_dir}/uart_${TFC_UART_DRIVER}.c ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/bare_metal.c)
  target_include_directories(firmware PRIVATE ${port_dir} ${CMAKE_CURRENT_FUNCTION_LIST_DIR})
  string(TOUPPER ${TFC_COUNTER} counter)
  target_compile_definitions(firmware PRIVATE TFC_COUNTER_${counter})
  target_compile_options(firmware PRIVATE ${TFC_CPU_FLAGS} ${libc_compile_flags} -ffunction-sections -fdata-sections)
  target_link_options(firmware PRIVATE ${TFC_CPU_FLAGS} ${libc_link_flags} -nostartfiles
                      -T${CMAKE_BINARY_DIR}/firmware.ld -Wl,--gc-sections -Wl,-Map=${CMAKE_BINARY_DIR}/firmware.map)
  set_target_properties(firmware PROPERTIES SUFFIX ".elf" LINK_DEPENDS ${CMAKE_BINARY_DIR}/firmware.ld)
endfunction()
