/* The RISC-V port: UART through the board's driver, the counter (minstret: instructions retired;
   on QEMU with -icount it reads the virtual clock, one instruction per ns) and the fault report;
   serial I/O and memory figures are the bare-metal ports' (ports/bare_metal). */
#include "tfc_port.h"

#include "riscv.h"
#include "tfc_build_info.h"
#include "tfc_protocol.h"

#if !defined(TFC_COUNTER_MINSTRET)
#error "define TFC_COUNTER_MINSTRET (the device profile's counter.kind)"
#endif
const uint32_t tfc_port_counter_mask = 0xFFFFFFFFu; /* the low 32 bits of the 64-bit minstret */
const uint32_t tfc_port_counter_numerator = TFC_COUNTER_NUMERATOR;
const uint32_t tfc_port_counter_denominator = TFC_COUNTER_DENOMINATOR;
const char tfc_port_counter_unit[] = TFC_COUNTER_UNIT;

void tfc_port_init(void)
{
    tfc_uart_init(); /* minstret counts from reset (mcountinhibit is 0) */
}

uint32_t tfc_port_counter(void)
{
    return TFC_CSR_READ(minstret);
}

static void put_hex(tfc_frame_writer *w, const char *key, uint32_t value)
{
    char text[11] = "0x";
    for (int i = 0; i < 8; ++i) {
        text[2 + i] = "0123456789abcdef"[(value >> (28 - 4 * i)) & 0xFu];
    }
    text[10] = '\0';
    tfc_frame_put_field(w, key);
    tfc_frame_put(w, text);
}

void tfc_riscv_fault(const char *what, uint32_t cause, uint32_t pc, uint32_t tval)
{
    tfc_frame_writer w;
    tfc_frame_begin(&w, "ERR", 0);
    tfc_frame_put_field(&w, "code");
    tfc_frame_put(&w, what);
    tfc_frame_put_field(&w, "cause"); /* mcause: 2 illegal instruction, 4/6 misaligned, 5/7 access fault */
    tfc_frame_put_u64(&w, cause);
    put_hex(&w, "pc", pc);    /* mepc */
    put_hex(&w, "tval", tval); /* mtval: the faulting address or instruction */
    tfc_bare_metal_send(&w);
    for (;;) {
        __asm__ volatile("wfi");
    }
}
