/* RP2040 (Raspberry Pi Pico) board support: the flash's second boot stage, the clocks and UART0.
 *
 * Boot stage 2 (written for tfcompress from the RP2040 datasheet, section 2.8; no pico-sdk code):
 * the bootrom copies the first 256 bytes of flash to SRAM at 0x20041F00, checks their CRC-32
 * (the last 4 bytes; rp2040_boot2_crc.py writes it after the link) and jumps to them. This stage
 * sets XIP up through the bootrom's own flash functions, looked up in its function table (the
 * halfword at 0x14) with its lookup function (the halfword at 0x18), in the order debuggers use:
 * connect_internal_flash, flash_exit_xip, flash_flush_cache, flash_enter_cmd_xip. The last makes
 * the flash readable at 0x10000000 with the standard 03h serial read, which every flash chip
 * supports and which is slow (a cache miss costs about 32 flash clocks): counts on the Pico include
 * those stalls. Then it points VTOR at the vector table (0x10000100), loads the stack pointer and
 * jumps to Reset_Handler. It uses no address of its own, so it runs wherever it was copied.
 *
 * Clocks: the crystal oscillator (12 MHz on the Pico) started and made clk_ref, so clk_sys (which
 * runs from clk_ref after reset) and clk_peri (the UART's clock, from clk_sys) are 12 MHz:
 * the profile's clock_hz. UART0 (an Arm PL011) on uart.tx_pin/uart.rx_pin (GPIO0/GPIO1),
 * 8N1 with its FIFOs, polled. */
#include "cortex_m.h"
#include "tfc_build_info.h"

#if !defined(TFC_UART_TX_PIN) || !defined(TFC_UART_RX_PIN)
#error "the RP2040 UART driver needs uart.tx_pin and uart.rx_pin"
#endif

__asm__(
    "    .section .boot2, \"ax\", %progbits\n"
    "    .syntax unified\n"
    "    .thumb\n"
    "    .global tfc_rp2040_boot2\n"
    "    .type tfc_rp2040_boot2, %function\n"
    "    .thumb_func\n"
    "tfc_rp2040_boot2:\n"
    "    ldr r0, =0x20041F00\n" /* a stack below this stage's copy: the bootrom's is above it */
    "    mov sp, r0\n"
    "    ldr r0, =0x4649\n" /* 'I','F': connect_internal_flash */
    "    bl 1f\n"
    "    ldr r0, =0x5845\n" /* 'E','X': flash_exit_xip */
    "    bl 1f\n"
    "    ldr r0, =0x4346\n" /* 'F','C': flash_flush_cache */
    "    bl 1f\n"
    "    ldr r0, =0x5843\n" /* 'C','X': flash_enter_cmd_xip */
    "    bl 1f\n"
    "    ldr r0, =0x10000100\n" /* the vector table, right after this stage */
    "    ldr r1, =0xE000ED08\n" /* VTOR */
    "    str r0, [r1]\n"
    "    ldmia r0!, {r1, r2}\n" /* initial stack pointer, Reset_Handler */
    "    msr msp, r1\n"
    "    bx r2\n"
    "1:  push {r4, lr}\n" /* calls the bootrom function whose code is in r0 (no arguments) */
    "    movs r1, r0\n"
    "    movs r2, #0x14\n"
    "    ldrh r0, [r2]\n"     /* the function table */
    "    ldrh r2, [r2, #4]\n" /* rom_table_lookup(table, code) at 0x18 */
    "    blx r2\n"
    "    blx r0\n"
    "    pop {r4, pc}\n"
    "    .ltorg\n"
    "    .size tfc_rp2040_boot2, . - tfc_rp2040_boot2\n"
    "    .balign 256, 0\n" /* 252 bytes of code and zeros, then the CRC-32 (written after the link) */
    "    .text\n");

#define XOSC_CTRL 0x40024000u
#define XOSC_STATUS 0x40024004u
#define XOSC_STARTUP 0x4002400Cu
#define XOSC_FREQ_1_15MHZ 0xAA0u
#define XOSC_ENABLE (0xFABu << 12)
#define XOSC_STABLE (1u << 31)
#define CLK_REF_CTRL 0x40008030u
#define CLK_REF_SELECTED 0x40008038u
#define CLK_REF_SRC_XOSC 2u
#define CLK_PERI_CTRL 0x40008048u
#define CLK_PERI_ENABLE (1u << 11) /* AUXSRC (bits 5-7) 0: clk_sys */
#define RESETS_RESET 0x4000C000u
#define RESETS_RESET_DONE 0x4000C008u
#define RESET_IO_BANK0 (1u << 5)
#define RESET_PADS_BANK0 (1u << 8)
#define RESET_UART0 (1u << 22)
#define IO_BANK0_GPIO_CTRL(pin) (0x40014004u + 8u * (pin))
#define GPIO_FUNC_UART 2u

#define UART_DR (TFC_UART_BASE + 0x000u)
#define UART_FR (TFC_UART_BASE + 0x018u)
#define UART_IBRD (TFC_UART_BASE + 0x024u)
#define UART_FBRD (TFC_UART_BASE + 0x028u)
#define UART_LCR_H (TFC_UART_BASE + 0x02Cu)
#define UART_CR (TFC_UART_BASE + 0x030u)
#define FR_RXFE (1u << 4)
#define FR_TXFF (1u << 5)
#define LCR_H_FEN (1u << 4)
#define LCR_H_WLEN_8 (3u << 5)
#define CR_UARTEN (1u << 0)
#define CR_TXE (1u << 8)
#define CR_RXE (1u << 9)
/* The PL011's divider in 64ths: clock / (16 * baud), rounded (115200 at 12 MHz: 6 + 33/64). */
#define BAUD_DIV64 ((4u * TFC_BOARD_CLOCK_HZ + TFC_UART_BAUD / 2u) / TFC_UART_BAUD)

void tfc_uart_init(void)
{
    TFC_REG(XOSC_CTRL) = XOSC_FREQ_1_15MHZ;
    TFC_REG(XOSC_STARTUP) = (TFC_BOARD_CLOCK_HZ / 1000u + 128u) / 256u; /* about 1 ms, in 256-cycle units */
    TFC_REG(XOSC_CTRL) = XOSC_FREQ_1_15MHZ | XOSC_ENABLE;
    while ((TFC_REG(XOSC_STATUS) & XOSC_STABLE) == 0) {
    }
    TFC_REG(CLK_REF_CTRL) = (TFC_REG(CLK_REF_CTRL) & ~3u) | CLK_REF_SRC_XOSC; /* glitchless */
    while (TFC_REG(CLK_REF_SELECTED) != (1u << CLK_REF_SRC_XOSC)) {
    }
    TFC_REG(CLK_PERI_CTRL) = CLK_PERI_ENABLE;

    const uint32_t blocks = RESET_IO_BANK0 | RESET_PADS_BANK0 | RESET_UART0;
    TFC_REG(RESETS_RESET) &= ~blocks;
    while ((TFC_REG(RESETS_RESET_DONE) & blocks) != blocks) {
    }
    TFC_REG(UART_IBRD) = BAUD_DIV64 >> 6;
    TFC_REG(UART_FBRD) = BAUD_DIV64 & 63u;
    TFC_REG(UART_LCR_H) = LCR_H_WLEN_8 | LCR_H_FEN; /* also latches the divider */
    TFC_REG(UART_CR) = CR_UARTEN | CR_TXE | CR_RXE;
    TFC_REG(IO_BANK0_GPIO_CTRL(TFC_UART_TX_PIN)) = GPIO_FUNC_UART;
    TFC_REG(IO_BANK0_GPIO_CTRL(TFC_UART_RX_PIN)) = GPIO_FUNC_UART;
}

int tfc_uart_read_byte(void)
{
    while (TFC_REG(UART_FR) & FR_RXFE) {
    }
    return (int)(TFC_REG(UART_DR) & 0xFFu); /* bits 8-11 are the byte's error flags */
}

void tfc_uart_write_byte(uint8_t byte)
{
    while (TFC_REG(UART_FR) & FR_TXFF) {
    }
    TFC_REG(UART_DR) = byte;
}
