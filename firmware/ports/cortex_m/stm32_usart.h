/* What the STM32 USART drivers (uart_stm32_sr.c, uart_stm32_isr.c) share: the clocks and the pins.
   The device profile names the registers (uart.clock_enable and uart.gpio_enable: the RCC enable
   registers of the USART and of its GPIO port, with their bits), the GPIO port (uart.gpio_base),
   the pins and their alternate function (uart.tx_pin, uart.rx_pin, uart.af), so one driver serves
   every board of a family. The GPIO port's registers are the same on every STM32 since the F2. */
#ifndef TFC_STM32_USART_H
#define TFC_STM32_USART_H

#include "cortex_m.h"
#include "tfc_build_info.h"

#if !defined(TFC_UART_CLOCK_ENABLE) || !defined(TFC_UART_CLOCK_ENABLE_BIT) || !defined(TFC_UART_GPIO_BASE) || \
    !defined(TFC_UART_GPIO_ENABLE) || !defined(TFC_UART_GPIO_ENABLE_BIT) || !defined(TFC_UART_TX_PIN) ||      \
    !defined(TFC_UART_RX_PIN) || !defined(TFC_UART_AF)
#error "the STM32 USART drivers need uart.clock_enable(_bit), gpio_base, gpio_enable(_bit), tx_pin, rx_pin, af"
#endif

/* The USART's kernel clock: the APB clock, which is the core clock after reset (no prescaler)
   unless the profile says otherwise (uart.clock_hz). */
#ifdef TFC_UART_CLOCK_HZ
#define TFC_STM32_USART_CLOCK_HZ TFC_UART_CLOCK_HZ
#else
#define TFC_STM32_USART_CLOCK_HZ TFC_BOARD_CLOCK_HZ
#endif
/* BRR with 16x oversampling: the clock divided by the baud rate, rounded. */
#define TFC_STM32_USART_BRR ((TFC_STM32_USART_CLOCK_HZ + TFC_UART_BAUD / 2u) / TFC_UART_BAUD)

#define GPIO_MODER (TFC_UART_GPIO_BASE + 0x00u)
#define GPIO_OSPEEDR (TFC_UART_GPIO_BASE + 0x08u)
#define GPIO_PUPDR (TFC_UART_GPIO_BASE + 0x0Cu)
#define GPIO_AFR(pin) (TFC_UART_GPIO_BASE + 0x20u + 4u * ((pin) / 8u))

static void tfc_stm32_pin_alternate(uint32_t pin, uint32_t pull_up)
{
    TFC_REG(GPIO_AFR(pin)) = (TFC_REG(GPIO_AFR(pin)) & ~(0xFu << (4u * (pin % 8u)))) |
                             ((uint32_t)TFC_UART_AF << (4u * (pin % 8u)));
    TFC_REG(GPIO_OSPEEDR) |= 2u << (2u * pin); /* high speed */
    TFC_REG(GPIO_PUPDR) = (TFC_REG(GPIO_PUPDR) & ~(3u << (2u * pin))) | (pull_up << (2u * pin));
    TFC_REG(GPIO_MODER) = (TFC_REG(GPIO_MODER) & ~(3u << (2u * pin))) | (2u << (2u * pin)); /* alternate */
}

/* Clocks the GPIO port and the USART and hands the pins to the USART. */
static void tfc_stm32_usart_clock_and_pins(void)
{
    TFC_REG(TFC_UART_GPIO_ENABLE) |= 1u << TFC_UART_GPIO_ENABLE_BIT;
    TFC_REG(TFC_UART_CLOCK_ENABLE) |= 1u << TFC_UART_CLOCK_ENABLE_BIT;
    (void)TFC_REG(TFC_UART_CLOCK_ENABLE); /* the enable takes effect before the registers are touched */
    tfc_stm32_pin_alternate(TFC_UART_TX_PIN, 0u);
    tfc_stm32_pin_alternate(TFC_UART_RX_PIN, 1u); /* pull-up: an idle line when nothing drives it */
}

#endif /* TFC_STM32_USART_H */
