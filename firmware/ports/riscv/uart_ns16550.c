/* NS16550A UART (QEMU's virt machine at 0x10000000, byte-wide registers), polled for TX.
   With the profile's uart.rx_irq and uart.plic (the PLIC's base), the hart sleeps (WFI) until a
   byte arrives instead of spinning: the UART's receive interrupt is enabled in the UART, the PLIC
   (context 0: hart 0 in M-mode) and mie.MEIE, but mstatus.MIE stays 0, so it only wakes the hart
   and never traps. On an emulator this also hands control to QEMU's I/O at once. */
#include "riscv.h"
#include "tfc_build_info.h"

#define UART_RBR (TFC_UART_BASE + 0u) /* receive buffer (read), transmit holding (write) */
#define UART_THR (TFC_UART_BASE + 0u)
#define UART_DLL (TFC_UART_BASE + 0u) /* divisor latch, low and high, while LCR.DLAB */
#define UART_DLM (TFC_UART_BASE + 1u)
#define UART_IER (TFC_UART_BASE + 1u)
#define UART_FCR (TFC_UART_BASE + 2u)
#define UART_LCR (TFC_UART_BASE + 3u)
#define UART_MCR (TFC_UART_BASE + 4u)
#define UART_LSR (TFC_UART_BASE + 5u)
#define LCR_8N1 0x03u
#define LCR_DLAB 0x80u
#define FCR_ENABLE_AND_CLEAR 0x07u
#define MCR_DTR_RTS_OUT2 0x0Bu
#define IER_RX_DATA 0x01u
#define LSR_DATA_READY 0x01u
#define LSR_THR_EMPTY 0x20u

#ifdef TFC_UART_RX_IRQ
#ifndef TFC_UART_PLIC
#error "uart.rx_irq needs uart.plic, the PLIC's base address"
#endif
#define PLIC_PRIORITY(irq) (TFC_UART_PLIC + 4u * (irq))
#define PLIC_ENABLE(irq) (TFC_UART_PLIC + 0x2000u + 4u * ((irq) / 32u)) /* context 0 */
#define PLIC_THRESHOLD (TFC_UART_PLIC + 0x200000u)
#define PLIC_CLAIM (TFC_UART_PLIC + 0x200004u)
#endif

void tfc_uart_init(void)
{
#ifdef TFC_UART_CLOCK_HZ
    const uint32_t divisor = TFC_UART_CLOCK_HZ / (16u * TFC_UART_BAUD);
#else
    const uint32_t divisor = TFC_BOARD_CLOCK_HZ / (16u * TFC_UART_BAUD);
#endif
    TFC_REG8(UART_IER) = 0;
    TFC_REG8(UART_LCR) = LCR_DLAB;
    TFC_REG8(UART_DLL) = (uint8_t)(divisor & 0xFFu);
    TFC_REG8(UART_DLM) = (uint8_t)((divisor >> 8) & 0xFFu);
    TFC_REG8(UART_LCR) = LCR_8N1;
    TFC_REG8(UART_FCR) = FCR_ENABLE_AND_CLEAR;
    TFC_REG8(UART_MCR) = MCR_DTR_RTS_OUT2;
#ifdef TFC_UART_RX_IRQ
    TFC_REG32(PLIC_PRIORITY(TFC_UART_RX_IRQ)) = 1u;
    TFC_REG32(PLIC_ENABLE(TFC_UART_RX_IRQ)) |= 1u << (TFC_UART_RX_IRQ % 32u);
    TFC_REG32(PLIC_THRESHOLD) = 0u;
    TFC_REG8(UART_IER) = IER_RX_DATA;
    TFC_CSR_SET(mie, TFC_MIE_MEIE); /* wakes WFI; mstatus.MIE is 0, so no trap is taken */
#endif
}

int tfc_uart_read_byte(void)
{
    while ((TFC_REG8(UART_LSR) & LSR_DATA_READY) == 0) {
#ifdef TFC_UART_RX_IRQ
        __asm__ volatile("wfi" ::: "memory");
#endif
    }
    const int byte = (int)TFC_REG8(UART_RBR);
#ifdef TFC_UART_RX_IRQ
    /* claim and complete: the PLIC latches the interrupt until then, and WFI would not sleep */
    const uint32_t claimed = TFC_REG32(PLIC_CLAIM);
    if (claimed != 0u) {
        TFC_REG32(PLIC_CLAIM) = claimed;
    }
#endif
    return byte;
}

void tfc_uart_write_byte(uint8_t byte)
{
    while ((TFC_REG8(UART_LSR) & LSR_THR_EMPTY) == 0) {
    }
    TFC_REG8(UART_THR) = byte;
}
