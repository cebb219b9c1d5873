/* STM32 USART with ISR/ICR/RDR/TDR registers (STM32F0/F3/F7/G0/G4/L0/L4/H7; the NUCLEO-H743ZI's
   USART3), polled, FIFO off (its reset state). Clocks and pins come from the device profile
   (stm32_usart.h); after reset the H7's USART3 runs from PCLK1, the 64 MHz HSI undivided.
   Register offsets: RM0433 (STM32H743) section 48.7. */
#include "stm32_usart.h"

#define USART_CR1 (TFC_UART_BASE + 0x00u)
#define USART_CR2 (TFC_UART_BASE + 0x04u)
#define USART_CR3 (TFC_UART_BASE + 0x08u)
#define USART_BRR (TFC_UART_BASE + 0x0Cu)
#define USART_ISR (TFC_UART_BASE + 0x1Cu)
#define USART_ICR (TFC_UART_BASE + 0x20u)
#define USART_RDR (TFC_UART_BASE + 0x24u)
#define USART_TDR (TFC_UART_BASE + 0x28u)
#define CR1_UE (1u << 0)
#define CR1_RE (1u << 2)
#define CR1_TE (1u << 3)
#define ISR_ORE (1u << 3)
#define ISR_RXNE (1u << 5)
#define ISR_TXE (1u << 7)
#define ICR_ORECF (1u << 3)

void tfc_uart_init(void)
{
    tfc_stm32_usart_clock_and_pins();
    TFC_REG(USART_CR1) = 0;
    TFC_REG(USART_CR2) = 0; /* 1 stop bit */
    TFC_REG(USART_CR3) = 0; /* no flow control */
    TFC_REG(USART_BRR) = TFC_STM32_USART_BRR;
    TFC_REG(USART_CR1) = CR1_UE | CR1_TE | CR1_RE; /* 8 data bits, no parity, 16x oversampling */
}

int tfc_uart_read_byte(void)
{
    for (;;) {
        const uint32_t isr = TFC_REG(USART_ISR);
        if (isr & ISR_RXNE) {
            return (int)(TFC_REG(USART_RDR) & 0xFFu);
        }
        if (isr & ISR_ORE) {
            TFC_REG(USART_ICR) = ICR_ORECF; /* a lost byte: the frame's CRC tells the host */
        }
    }
}

void tfc_uart_write_byte(uint8_t byte)
{
    while ((TFC_REG(USART_ISR) & ISR_TXE) == 0) {
    }
    TFC_REG(USART_TDR) = byte;
}
