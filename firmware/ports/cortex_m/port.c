/* The Cortex-M port: UART through the board's driver, the counter (DWT cycles on a real core,
   SysTick where there is no DWT, as on QEMU) and the fault report; serial I/O and memory figures
   are the bare-metal ports' (ports/bare_metal). */
#include "tfc_port.h"

#include <errno.h>
#include <stddef.h>

#include "cortex_m.h"
#include "tfc_build_info.h"
#include "tfc_protocol.h"

#if defined(TFC_COUNTER_DWT)
const uint32_t tfc_port_counter_mask = 0xFFFFFFFFu;
#elif defined(TFC_COUNTER_SYSTICK)
const uint32_t tfc_port_counter_mask = 0x00FFFFFFu; /* SysTick is 24 bits wide */
#else
#error "define TFC_COUNTER_DWT or TFC_COUNTER_SYSTICK (the device profile's counter.kind)"
#endif
const uint32_t tfc_port_counter_numerator = TFC_COUNTER_NUMERATOR;
const uint32_t tfc_port_counter_denominator = TFC_COUNTER_DENOMINATOR;
const char tfc_port_counter_unit[] = TFC_COUNTER_UNIT;

void tfc_port_init(void)
{
#if defined(TFC_COUNTER_DWT)
    TFC_REG(TFC_DEMCR) |= 1u << 24;   /* TRCENA: the DWT on */
    TFC_REG(TFC_DWT_LAR) = 0xC5ACCE55u; /* unlocks the DWT where it is locked (Cortex-M7) */
    TFC_REG(TFC_DWT_CYCCNT) = 0;
    TFC_REG(TFC_DWT_CTRL) |= 1u;        /* CYCCNTENA */
#else
    TFC_REG(TFC_SYST_RVR) = 0x00FFFFFFu;
    TFC_REG(TFC_SYST_CVR) = 0;
    TFC_REG(TFC_SYST_CSR) = 5u; /* processor clock, enabled, no interrupt */
#endif
    tfc_uart_init();
}

uint32_t tfc_port_counter(void)
{
#if defined(TFC_COUNTER_DWT)
    return TFC_REG(TFC_DWT_CYCCNT);
#else
    return 0x00FFFFFFu - TFC_REG(TFC_SYST_CVR); /* SysTick counts down */
#endif
}

void tfc_cortex_m_fault(const char *what)
{
    tfc_frame_writer w;
    tfc_frame_begin(&w, "ERR", 0);
    tfc_frame_put_field(&w, "code");
    tfc_frame_put(&w, what);
    tfc_bare_metal_send(&w);
    for (;;) {
    }
}

/* No heap on the device: the C library's malloc (which newlib's printf family and libstdc++
   reference, and nothing of tfcompress's or TFLM's calls) always fails. */
void *_sbrk(ptrdiff_t increment);
void *_sbrk(ptrdiff_t increment)
{
    (void)increment;
    errno = ENOMEM;
    return (void *)-1;
}
