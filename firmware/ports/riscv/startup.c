/* RISC-V startup (M-mode, one hart): _start, the crt0 at the start of flash, sets the global
   pointer and the stack pointer and points mtvec at the trap entry; reset copies .data, zeroes
   .bss, paints the stack for the high-water mark and calls main. A trap (an illegal instruction,
   a misaligned or faulting access, an unexpected interrupt) tells the host over the serial line
   instead of hanging silently. */
#include <stdint.h>
#include <string.h>

#include "riscv.h"

extern uint32_t __data_load[], __data_start[], __data_end[], __bss_start[], __bss_end[];

int main(void);
void tfc_riscv_reset(void) __attribute__((noreturn, used));
void tfc_riscv_trap(void) __attribute__((noreturn, used));

/* gp is loaded without relaxation (a relaxed `la gp` would address gp from gp). The trap entry
   takes a fresh stack at the top: the trap may come from a stack overflow, and it never returns. */
__asm__(".section .text.start, \"ax\", @progbits\n"
        ".globl _start\n"
        ".type _start, @function\n"
        "_start:\n"
        ".option push\n"
        ".option norelax\n"
        "    la gp, __global_pointer$\n"
        ".option pop\n"
        "    la sp, __stack_top\n"
        "    la t0, tfc_riscv_trap_entry\n"
        "    csrw mtvec, t0\n"
        "    j tfc_riscv_reset\n"
        ".balign 4\n"
        "tfc_riscv_trap_entry:\n"
        ".option push\n"
        ".option norelax\n"
        "    la gp, __global_pointer$\n"
        ".option pop\n"
        "    la sp, __stack_top\n"
        "    j tfc_riscv_trap\n"
        ".text\n");

void tfc_riscv_reset(void)
{
    memcpy(__data_start, __data_load, (size_t)((char *)__data_end - (char *)__data_start));
    memset(__bss_start, 0, (size_t)((char *)__bss_end - (char *)__bss_start));
    uint32_t *sp;
    __asm__ volatile("mv %0, sp" : "=r"(sp));
    tfc_bare_metal_paint_stack(sp);
    main();
    for (;;) {
    }
}

void tfc_riscv_trap(void)
{
    const uint32_t cause = TFC_CSR_READ(mcause);
    /* an interrupt (the top bit) was never enabled: report it apart from a fault */
    tfc_riscv_fault((cause & 0x80000000u) ? "exception" : "fault", cause, TFC_CSR_READ(mepc),
                    TFC_CSR_READ(mtval));
}
