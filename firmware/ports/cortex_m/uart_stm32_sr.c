/* STM32 USART with SR/DR registers (STM32F1/F2/F4/L1; the NUCLEO-F446RE's USART2), polled.
   Clocks and pins come from the device profile (stm32_usart.h). Register offsets: RM0390
   (STM32F446) section 25.6. */
#include "stm32_usart.h"

#define USART_SR (TFC_UART_BASE + 0x00u)
#define USART_DR (TFC_UART_BASE + 0x04u)
#define USART_BRR (TFC_UART_BASE + 0x08u)
#define USART_CR1 (TFC_UART_BASE + 0x0Cu)
#define USART_CR2 (TFC_UART_BASE + 0x10u)
#define USART_CR3 (TFC_UART_BASE + 0x14u)
#define SR_RXNE (1u << 5)
#define SR_TXE (1u << 7)
#define CR1_RE (1u << 2)
#define CR1_TE (1u << 3)
#define CR1_UE (1u << 13)

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
    while ((TFC_REG(USART_SR) & SR_RXNE) == 0) {
    }
    return (int)(TFC_REG(USART_DR) & 0xFFu); /* reading SR then DR also clears an overrun */
}

void tfc_uart_write_byte(uint8_t byte)
{
    while ((TFC_REG(USART_SR) & SR_TXE) == 0) {
    }
    TFC_REG(USART_DR) = byte;
}
