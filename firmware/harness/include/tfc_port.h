/*
 * What a port (firmware/ports/NAME) provides to the harness core: serial I/O, a counter and
 * memory figures. Everything else, the protocol, the tokenizer and the model, is shared.
 */
#ifndef TFC_PORT_H
#define TFC_PORT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Clocks, UART, counter, FPU: whatever the board needs before the banner. */
void tfc_port_init(void);

/* The next byte from the serial line, waiting for it; -1 when the line is closed for good
   (only a host port has an end). */
int tfc_port_read_byte(void);

/* Writes all `length` bytes to the serial line. */
void tfc_port_write(const char *data, size_t length);

/* An up-counting counter (cycles on a real core, SysTick ticks on an emulator); elapsed
   counts are differences masked with tfc_port_counter_mask. */
uint32_t tfc_port_counter(void);
extern const uint32_t tfc_port_counter_mask;

/* Counter ticks -> reported counts: count = ticks * numerator / denominator, in the unit
   (TFC_COUNTER_UNIT: "cycles", "instructions" or "ns") the banner announces. */
extern const uint32_t tfc_port_counter_numerator;
extern const uint32_t tfc_port_counter_denominator;
extern const char tfc_port_counter_unit[];

/* Bytes of flash (code + constants + initialised data) and RAM (static data + stack) the
   image takes, and the stack's high-water mark so far (0 where the port cannot tell). */
size_t tfc_port_flash_used(void);
size_t tfc_port_ram_used(void);
size_t tfc_port_stack_used(void);

#ifdef __cplusplus
}
#endif

#endif /* TFC_PORT_H */
