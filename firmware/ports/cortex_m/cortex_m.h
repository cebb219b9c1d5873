/* Registers and helpers the Cortex-M port shares between its files (no CMSIS needed). */
#ifndef TFC_CORTEX_M_H
#define TFC_CORTEX_M_H

#include <stdint.h>

#include "bare_metal.h"

#define TFC_REG(address) (*(volatile uint32_t *)(address))

#define TFC_SCB_CPACR 0xE000ED88u
#define TFC_SYST_CSR 0xE000E010u
#define TFC_SYST_RVR 0xE000E014u
#define TFC_SYST_CVR 0xE000E018u
#define TFC_DEMCR 0xE000EDFCu
#define TFC_DWT_CTRL 0xE0001000u
#define TFC_DWT_CYCCNT 0xE0001004u
#define TFC_DWT_LAR 0xE0001FB0u

/* Sends "$ERR 0 code=<what>" and stops: the host sees it instead of a silent board. */
void tfc_cortex_m_fault(const char *what) __attribute__((noreturn));

#endif /* TFC_CORTEX_M_H */
