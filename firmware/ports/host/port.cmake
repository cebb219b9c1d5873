# The host port: stdin/stdout as the serial line, CLOCK_MONOTONIC as the counter. Build with the
# host compiler (no toolchain file): cmake -S firmware -B build -DTFC_PORT=host -DTFC_GENERATED_DIR=...
# Included by firmware/CMakeLists.txt.
set(port_dir ${CMAKE_CURRENT_LIST_DIR})
target_sources(firmware PRIVATE ${port_dir}/port.c ${port_dir}/main.c)
