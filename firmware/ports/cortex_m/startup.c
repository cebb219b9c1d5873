/* Cortex-M startup: the vector table, reset (copy .data, zero .bss, FPU on, paint the stack, run
   C++ static constructors), and fault handlers that tell the host over the serial line instead
   of hanging silently. */
#include <stdint.h>
#include <string.h>

#include "cortex_m.h"

extern uint32_t __data_load[], __data_start[], __data_end[], __bss_start[], __bss_end[];
extern uint32_t __stack_limit[], __stack_top[];
extern void (*__init_array_start[])(void), (*__init_array_end[])(void);

int main(void);
void Reset_Handler(void);
void Fault_Handler(void);
void Default_Handler(void);

typedef void (*vector)(void);

/* Core exceptions; the board's interrupts are never enabled, so they are not listed. */
__attribute__((section(".vectors"), used)) const vector tfc_vectors[16] = {
    (vector)(uintptr_t)__stack_top, /* initial stack pointer */
    Reset_Handler,
    Default_Handler, /* NMI */
    Fault_Handler,   /* HardFault */
    Fault_Handler,   /* MemManage */
    Fault_Handler,   /* BusFault */
    Fault_Handler,   /* UsageFault */
    Fault_Handler,   /* SecureFault (v8-M) */
    0, 0, 0,
    Default_Handler, /* SVCall */
    Default_Handler, /* DebugMonitor */
    0,
    Default_Handler, /* PendSV */
    Default_Handler, /* SysTick */
};

void Reset_Handler(void)
{
    memcpy(__data_start, __data_load, (size_t)((char *)__data_end - (char *)__data_start));
    memset(__bss_start, 0, (size_t)((char *)__bss_end - (char *)__bss_start));
#if defined(__ARM_FP)
    TFC_REG(TFC_SCB_CPACR) |= 0xFu << 20; /* CP10 and CP11: full access to the FPU */
    __asm volatile("dsb\n\tisb" ::: "memory");
#endif
    uint32_t *sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    tfc_bare_metal_paint_stack(sp);
    for (void (**constructor)(void) = __init_array_start; constructor < __init_array_end; ++constructor) {
        (*constructor)();
    }
    main();
    for (;;) {
    }
}

void Fault_Handler(void)
{
    tfc_cortex_m_fault("fault");
}

void Default_Handler(void)
{
    tfc_cortex_m_fault("exception");
}
