/* The bare-metal ports' shared half of tfc_port.h: serial I/O over the board's UART driver, and
   flash, RAM and stack figures from the symbols every port's linker script defines. */
#include "bare_metal.h"

#include "tfc_port.h"

extern uint32_t __flash_start[], __flash_end[], __ram_start[], __static_end[], __stack_limit[], __stack_top[];

#define STACK_PAINT 0xA5A5A5A5u

int tfc_port_read_byte(void)
{
    return tfc_uart_read_byte();
}

void tfc_port_write(const char *data, size_t length)
{
    for (size_t i = 0; i < length; ++i) {
        tfc_uart_write_byte((uint8_t)data[i]);
    }
}

size_t tfc_port_flash_used(void)
{
    return (size_t)((char *)__flash_end - (char *)__flash_start);
}

size_t tfc_port_ram_used(void)
{
    return (size_t)((char *)__static_end - (char *)__ram_start) +
           (size_t)((char *)__stack_top - (char *)__stack_limit);
}

void tfc_bare_metal_paint_stack(const uint32_t *sp)
{
    for (volatile uint32_t *p = __stack_limit; p < sp - 16; ++p) { /* 64 bytes below sp stay live */
        *p = STACK_PAINT;
    }
}

size_t tfc_port_stack_used(void)
{
    const uint32_t *p = __stack_limit;
    while (p < __stack_top && *p == STACK_PAINT) {
        ++p;
    }
    return (size_t)((const char *)__stack_top - (const char *)p);
}

void tfc_bare_metal_send(tfc_frame_writer *frame)
{
    tfc_port_write(frame->text, tfc_frame_finish(frame));
}
