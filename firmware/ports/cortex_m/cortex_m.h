/* Registers and helpers the Cortex-M port shares between its files (no CMSIS needed). */
#ifndef TFC_CORTEX_M_H
#define TFC_CORTEX_M_H

#include <stdint.h>

#define TFC_REG(address) (*(volatile uint32_t *)(address))

#define TFC_SCB_CPACR 0xE000ED88u
#define TFC_SYST_CSR 0xE000E010u
#define TFC_SYST_RVR 0xE000E014u
#define TFC_SYST_CVR 0xE000E018u
#define TFC_DEMCR 0xE000EDFCu
#define TFC_DWT_CTRL 0xE0001000u
#define TFC_DWT_CYCCNT 0xE0001004u
#define TFC_DWT_LAR 0xE0001FB0u

/* The UART driver of the board (uart_*.c, chosen by the device profile). */
void tfc_uart_init(void);
int tfc_uart_read_byte(void);
void tfc_uart_write_byte(uint8_t byte);

/* Fills the unused stack with a pattern, for tfc_port_stack_used. */
void tfc_cortex_m_paint_stack(void);

/* Sends "$ERR 0 code=<what>" and stops: the host sees it instead of a silent board. */
void tfc_cortex_m_fault(const char *what) __attribute__((noreturn));

#endif /* TFC_CORTEX_M_H */
