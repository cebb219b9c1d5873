/* Arm CMSDK APB UART (MPS2 and MPS3 boards, and QEMU's models of them), polled for TX.
   With the profile's uart.rx_irq, the core sleeps (WFI) until a byte arrives instead of spinning:
   the RX interrupt is enabled in the NVIC but masked by PRIMASK, so it only wakes the core. On an
   emulator this also hands control to QEMU's I/O at once, which makes a round trip fast. */
#include "cortex_m.h"
#include "tfc_build_info.h"

#define UART_DATA (TFC_UART_BASE + 0x00u)
#define UART_STATE (TFC_UART_BASE + 0x04u)
#define UART_CTRL (TFC_UART_BASE + 0x08u)
#define UART_INTCLEAR (TFC_UART_BASE + 0x0Cu)
#define UART_BAUDDIV (TFC_UART_BASE + 0x10u)
#define STATE_TX_FULL 1u
#define STATE_RX_FULL 2u
#define CTRL_TX_RX_ENABLE 3u
#define CTRL_RX_INTERRUPT 8u
#define NVIC_ISER 0xE000E100u
#define NVIC_ICPR 0xE000E280u

void tfc_uart_init(void)
{
    TFC_REG(UART_BAUDDIV) = TFC_BOARD_CLOCK_HZ / TFC_UART_BAUD; /* at least 16, as the UART requires */
#ifdef TFC_UART_RX_IRQ
    __asm volatile("cpsid i" ::: "memory"); /* interrupts wake the core but never run a handler */
    TFC_REG(UART_CTRL) = CTRL_TX_RX_ENABLE | CTRL_RX_INTERRUPT;
    TFC_REG(NVIC_ISER + 4u * (TFC_UART_RX_IRQ / 32u)) = 1u << (TFC_UART_RX_IRQ % 32u);
#else
    TFC_REG(UART_CTRL) = CTRL_TX_RX_ENABLE;
#endif
}

int tfc_uart_read_byte(void)
{
    while ((TFC_REG(UART_STATE) & STATE_RX_FULL) == 0) {
#ifdef TFC_UART_RX_IRQ
        __asm volatile("wfi" ::: "memory");
#endif
    }
    const int byte = (int)(TFC_REG(UART_DATA) & 0xFFu);
#ifdef TFC_UART_RX_IRQ
    TFC_REG(UART_INTCLEAR) = STATE_RX_FULL;
    TFC_REG(NVIC_ICPR + 4u * (TFC_UART_RX_IRQ / 32u)) = 1u << (TFC_UART_RX_IRQ % 32u);
#endif
    return byte;
}

void tfc_uart_write_byte(uint8_t byte)
{
    while (TFC_REG(UART_STATE) & STATE_TX_FULL) {
    }
    TFC_REG(UART_DATA) = byte;
}
