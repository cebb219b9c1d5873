/* The host port: the serial line is stdin/stdout, the counter CLOCK_MONOTONIC in nanoseconds.
   It runs the harness core on a PC, under sanitizers, for tests and for trying the protocol by
   hand (tests/firmware/test_harness.py). There is no flash and no image-sized RAM to report. */
#define _POSIX_C_SOURCE 200809L

#include "tfc_port.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

const uint32_t tfc_port_counter_mask = 0xFFFFFFFFu;
const uint32_t tfc_port_counter_numerator = 1u;
const uint32_t tfc_port_counter_denominator = 1u;
const char tfc_port_counter_unit[] = "ns";

void tfc_port_init(void)
{
}

int tfc_port_read_byte(void)
{
    for (;;) {
        const int c = getchar();
        if (c != EOF) {
            return c;
        }
        if (ferror(stdin) && errno == EINTR) { /* a signal, not the end of the line */
            clearerr(stdin);
            continue;
        }
        return -1;
    }
}

void tfc_port_write(const char *data, size_t length)
{
    (void)fwrite(data, 1, length, stdout);
    (void)fflush(stdout);
}

uint32_t tfc_port_counter(void)
{
    struct timespec now;
    if (clock_gettime(CLOCK_MONOTONIC, &now) != 0) {
        return 0;
    }
    /* Nanoseconds modulo 2^32: elapsed counts are masked differences (about 4.3 s at most). */
    return (uint32_t)((uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec);
}

size_t tfc_port_flash_used(void)
{
    return 0;
}

size_t tfc_port_ram_used(void)
{
    return 0;
}

size_t tfc_port_stack_used(void)
{
    return 0;
}
