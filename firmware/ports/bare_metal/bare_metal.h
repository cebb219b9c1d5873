/* What the bare-metal ports (cortex_m, riscv) share: the UART driver interface every board's
   uart_*.c implements, and the parts of tfc_port.h that only need the linker script's symbols
   and that UART (bare_metal.c). Each port keeps its own startup, counter and fault report. */
#ifndef TFC_BARE_METAL_H
#define TFC_BARE_METAL_H

#include <stdint.h>

#include "tfc_protocol.h"

/* The UART driver of the board (uart_*.c, chosen by the device profile). */
void tfc_uart_init(void);
int tfc_uart_read_byte(void);
void tfc_uart_write_byte(uint8_t byte);

/* Fills the stack below `sp` (all but its live top 64 bytes) with a pattern, for
   tfc_port_stack_used; called by the startup code before main. */
void tfc_bare_metal_paint_stack(const uint32_t *sp);

/* Sends a finished frame (an ERR from a fault handler) straight to the UART. */
void tfc_bare_metal_send(tfc_frame_writer *frame);

#endif /* TFC_BARE_METAL_H */
