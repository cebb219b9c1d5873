/* nRF52 UART0, the legacy (non-DMA) UART at 0x40002000, polled. tfc_uart_init starts the 32 MHz
   crystal oscillator (HFXO: the UART's baud rate is then crystal-accurate), sets the pins
   (uart.tx_pin, uart.rx_pin: 0-31 on P0, 32-47 on P1) and 8N1 without flow control. Register
   offsets: the nRF52840 Product Specification, sections UART, GPIO and CLOCK. */
#include "cortex_m.h"
#include "tfc_build_info.h"

#if !defined(TFC_UART_TX_PIN) || !defined(TFC_UART_RX_PIN)
#error "the nRF52 UART driver needs uart.tx_pin and uart.rx_pin"
#endif

#define CLOCK_TASKS_HFCLKSTART 0x40000000u
#define CLOCK_EVENTS_HFCLKSTARTED 0x40000100u
#define GPIO_BASE(pin) ((pin) < 32u ? 0x50000000u : 0x50000300u)
#define GPIO_OUTSET(pin) (GPIO_BASE(pin) + 0x508u)
#define GPIO_OUTCLR(pin) (GPIO_BASE(pin) + 0x50Cu)
#define GPIO_PIN_CNF(pin) (GPIO_BASE(pin) + 0x700u + 4u * ((pin) % 32u))

#define UART_TASKS_STARTRX (TFC_UART_BASE + 0x000u)
#define UART_TASKS_STARTTX (TFC_UART_BASE + 0x008u)
#define UART_EVENTS_RXDRDY (TFC_UART_BASE + 0x108u)
#define UART_EVENTS_TXDRDY (TFC_UART_BASE + 0x11Cu)
#define UART_EVENTS_ERROR (TFC_UART_BASE + 0x124u)
#define UART_ERRORSRC (TFC_UART_BASE + 0x480u)
#define UART_ENABLE (TFC_UART_BASE + 0x500u)
#define UART_PSEL_RTS (TFC_UART_BASE + 0x508u)
#define UART_PSEL_TXD (TFC_UART_BASE + 0x50Cu)
#define UART_PSEL_CTS (TFC_UART_BASE + 0x510u)
#define UART_PSEL_RXD (TFC_UART_BASE + 0x514u)
#define UART_RXD (TFC_UART_BASE + 0x518u)
#define UART_TXD (TFC_UART_BASE + 0x51Cu)
#define UART_BAUDRATE (TFC_UART_BASE + 0x524u)
#define UART_CONFIG (TFC_UART_BASE + 0x56Cu)
#define ENABLE_UART 4u
#define PSEL_DISCONNECTED 0xFFFFFFFFu
/* BAUDRATE = baud * 2^32 / 16 MHz, rounded to the 4096 steps the register honours (115200 ->
   0x01D7E000, as the Product Specification's table). */
#define BAUDRATE_VALUE ((uint32_t)(((((uint64_t)TFC_UART_BAUD << 32) / 16000000u) + 0x800u) & ~(uint64_t)0xFFFu))

static int tx_started;

void tfc_uart_init(void)
{
    TFC_REG(CLOCK_EVENTS_HFCLKSTARTED) = 0;
    TFC_REG(CLOCK_TASKS_HFCLKSTART) = 1;
    while (TFC_REG(CLOCK_EVENTS_HFCLKSTARTED) == 0) {
    }
    TFC_REG(GPIO_OUTSET(TFC_UART_TX_PIN)) = 1u << (TFC_UART_TX_PIN % 32u); /* TXD idles high */
    TFC_REG(GPIO_PIN_CNF(TFC_UART_TX_PIN)) = 3u;                            /* output (DIR), input buffer off (INPUT) */
    TFC_REG(GPIO_PIN_CNF(TFC_UART_RX_PIN)) = 0u;                            /* input, no pull */
#ifdef TFC_UART_RTS_PIN
    /* uart.rts_pin: held low (ready to receive), for a USB bridge that honours flow control (the
       DK's interface MCU may); the UART itself runs without it */
    TFC_REG(GPIO_OUTCLR(TFC_UART_RTS_PIN)) = 1u << (TFC_UART_RTS_PIN % 32u);
    TFC_REG(GPIO_PIN_CNF(TFC_UART_RTS_PIN)) = 3u; /* output, input buffer off */
#endif
    TFC_REG(UART_ENABLE) = 0;
    TFC_REG(UART_PSEL_TXD) = TFC_UART_TX_PIN; /* pin and port in bits 0-5, CONNECT (bit 31) 0 */
    TFC_REG(UART_PSEL_RXD) = TFC_UART_RX_PIN;
    TFC_REG(UART_PSEL_RTS) = PSEL_DISCONNECTED;
    TFC_REG(UART_PSEL_CTS) = PSEL_DISCONNECTED;
    TFC_REG(UART_BAUDRATE) = BAUDRATE_VALUE;
    TFC_REG(UART_CONFIG) = 0; /* no parity, no flow control, 1 stop bit */
    TFC_REG(UART_ENABLE) = ENABLE_UART;
    TFC_REG(UART_EVENTS_RXDRDY) = 0;
    TFC_REG(UART_EVENTS_TXDRDY) = 0;
    TFC_REG(UART_TASKS_STARTRX) = 1;
    TFC_REG(UART_TASKS_STARTTX) = 1;
    tx_started = 0;
}

int tfc_uart_read_byte(void)
{
    while (TFC_REG(UART_EVENTS_RXDRDY) == 0) {
        if (TFC_REG(UART_EVENTS_ERROR)) { /* overrun, framing: the frame's CRC tells the host */
            TFC_REG(UART_EVENTS_ERROR) = 0;
            TFC_REG(UART_ERRORSRC) = TFC_REG(UART_ERRORSRC); /* write 1 to clear */
        }
    }
    TFC_REG(UART_EVENTS_RXDRDY) = 0; /* cleared before reading RXD, as the UART requires */
    return (int)(TFC_REG(UART_RXD) & 0xFFu);
}

void tfc_uart_write_byte(uint8_t byte)
{
    if (tx_started) {
        while (TFC_REG(UART_EVENTS_TXDRDY) == 0) { /* the previous byte has left */
        }
        TFC_REG(UART_EVENTS_TXDRDY) = 0;
    }
    TFC_REG(UART_TXD) = byte;
    tx_started = 1;
}
