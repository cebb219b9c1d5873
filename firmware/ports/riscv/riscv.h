/* Registers and helpers the RISC-V port shares between its files. */
#ifndef TFC_RISCV_H
#define TFC_RISCV_H

#include <stdint.h>

#include "bare_metal.h"

#define TFC_REG8(address) (*(volatile uint8_t *)(address))
#define TFC_REG32(address) (*(volatile uint32_t *)(address))

/* A CSR by name (csrr/csrs: the Zicsr instructions, part of I in ISA spec 2.2, -misa-spec=2.2). */
#define TFC_CSR_READ(name)                                     \
    __extension__({                                            \
        uint32_t tfc_csr_value_;                               \
        __asm__ volatile("csrr %0, " #name : "=r"(tfc_csr_value_)); \
        tfc_csr_value_;                                        \
    })
#define TFC_CSR_SET(name, bits) __asm__ volatile("csrs " #name ", %0" ::"r"((uint32_t)(bits)) : "memory")

#define TFC_MIE_MEIE (1u << 11) /* machine external interrupt enable (mie) */

/* Sends "$ERR 0 code=<what> cause=<mcause> pc=<mepc> tval=<mtval>" and stops: the host sees it
   instead of a silent board. */
void tfc_riscv_fault(const char *what, uint32_t cause, uint32_t pc, uint32_t tval) __attribute__((noreturn));

#endif /* TFC_RISCV_H */
