/*
 * Bare-metal kernel driver for QEMU's mps2-an386 (Cortex-M4F), for tests/firmware/test_dsp_kernels.py:
 * kernel_driver.c (the host driver's case stream and answers) on the emulated board, built twice,
 * with TFC_USE_DSP=0 and =1, so that the DSP path is checked against the portable one and the
 * reference on the core it runs on.
 *
 * - stdin is a stream of cases the test loads into the board's PSRAM (QEMU -device loader) at
 *   STREAM_BASE: a little-endian uint32 byte count, then kernel_driver.c's stream.
 * - stdout goes to the CMSDK APB UART at 0x40004000 (QEMU -serial file:...): kernel_driver.c's
 *   answers, then a trailer "TFCI", the case count and, per case, the SysTick ticks (40 instructions
 *   each under QEMU's -icount shift=0) between reading the case and writing its answer.
 * - stderr and the exit status go to the host by semihosting (SYS_WRITEC, SYS_EXIT_EXTENDED; QEMU
 *   -semihosting-config enable=on,target=native); a fault exits with status 3.
 * - With TFC_USE_DSP=1 the driver first compares tfc_dsp_requantize with tfc_requantize on edge and
 *   pseudo-random arguments and exits with status 4 on any difference.
 * - malloc's heap is the upper half of the PSRAM.
 *
 * Memory: code and constants in ZBT SSRAM1 at 0x0, data, bss and stack in SSRAM2/3 at 0x20000000
 * (the linker script the test writes, as firmware/ports/cortex_m/linker.ld.in).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "dsp_common.h"
#include "tfc_kernels.h"

/* kernel_driver.c as it is, its main renamed, its reads and the answers' first word timed. */
static size_t timed_fread(void *ptr, size_t size, size_t count, FILE *stream);
static size_t timed_fwrite(const void *ptr, size_t size, size_t count, FILE *stream);
#define main kernel_driver_main
#define fread timed_fread
#define fwrite timed_fwrite
#include "kernel_driver.c"
#undef main
#undef fread
#undef fwrite

#define REG(address) (*(volatile uint32_t *)(address))
#define UART_DATA 0x40004000u
#define UART_STATE 0x40004004u
#define UART_CTRL 0x40004008u
#define UART_BAUDDIV 0x40004010u
#define SYST_CSR 0xE000E010u
#define SYST_RVR 0xE000E014u
#define SYST_CVR 0xE000E018u
#define SCB_CPACR 0xE000ED88u
#define STREAM_BASE 0x21000000u
#define HEAP_BASE 0x21800000u
#define HEAP_END 0x22000000u
#define MAX_CASES 4096

extern uint32_t __data_load[], __data_start[], __data_end[], __bss_start[], __bss_end[], __stack_top[];

/* ---- semihosting */

static int32_t semihost(int32_t op, const void *arg)
{
    register int32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void _exit(int status)
{
    const uint32_t block[2] = {0x20026u, (uint32_t)status}; /* ADP_Stopped_ApplicationExit, status */
    semihost(0x20, block);                                  /* SYS_EXIT_EXTENDED */
    for (;;) {
    }
}

/* ---- time: SysTick on the core clock, its wraps counted */

static volatile uint32_t systick_wraps;

static uint32_t ticks(void)
{
    uint32_t wraps, value;
    do {
        wraps = systick_wraps;
        value = REG(SYST_CVR);
    } while (wraps != systick_wraps);
    return (wraps << 24) + (0xFFFFFFu - value);
}

static uint32_t case_ticks[MAX_CASES];
static uint32_t case_count, case_start;

static size_t timed_fread(void *ptr, size_t size, size_t count, FILE *stream)
{
    const size_t n = fread(ptr, size, count, stream);
    case_start = ticks();
    return n;
}

static size_t timed_fwrite(const void *ptr, size_t size, size_t count, FILE *stream)
{
    if (size == sizeof(int32_t) && count == 1 && case_count < MAX_CASES) { /* a case's status */
        case_ticks[case_count++] = ticks() - case_start;
    }
    return fwrite(ptr, size, count, stream);
}

/* ---- newlib's system calls */

static const uint8_t *stream_next;
static const uint8_t *stream_end;
static uint8_t *heap_next = (uint8_t *)HEAP_BASE;

static void uart_write(const uint8_t *data, size_t n)
{
    for (size_t i = 0; i < n; ++i) {
        while (REG(UART_STATE) & 1u) {
        }
        REG(UART_DATA) = data[i];
    }
}

int _read(int fd, char *buf, int len)
{
    if (fd != 0 || len < 0) {
        errno = EBADF;
        return -1;
    }
    size_t n = (size_t)(stream_end - stream_next);
    n = n < (size_t)len ? n : (size_t)len;
    memcpy(buf, stream_next, n);
    stream_next += n;
    return (int)n;
}

int _write(int fd, const char *buf, int len)
{
    if (len < 0) {
        errno = EINVAL;
        return -1;
    }
    if (fd == 1) {
        uart_write((const uint8_t *)buf, (size_t)len);
    } else if (fd == 2) {
        for (int i = 0; i < len; ++i) {
            semihost(0x03, buf + i); /* SYS_WRITEC */
        }
    } else {
        errno = EBADF;
        return -1;
    }
    return len;
}

void *_sbrk(ptrdiff_t increment)
{
    if (increment < 0 || (size_t)increment > (size_t)((uint8_t *)HEAP_END - heap_next)) {
        errno = ENOMEM;
        return (void *)-1;
    }
    uint8_t *const previous = heap_next;
    heap_next += increment;
    return previous;
}

int _close(int fd)
{
    (void)fd;
    return 0;
}

int _fstat(int fd, struct stat *st)
{
    (void)fd;
    memset(st, 0, sizeof *st);
    st->st_mode = S_IFCHR;
    return 0;
}

int _isatty(int fd)
{
    (void)fd;
    return 0; /* stdout fully buffered */
}

int _lseek(int fd, int offset, int whence)
{
    (void)fd;
    (void)offset;
    (void)whence;
    return 0;
}

int _kill(int pid, int sig)
{
    (void)pid;
    (void)sig;
    errno = EINVAL;
    return -1;
}

int _getpid(void)
{
    return 1;
}

void _init(void)
{
}

void _fini(void)
{
}

/* ---- the DSP path's requantisation against the portable one */

#if TFC_DSP_PATH
static uint32_t random_state = 0x9E3779B9u;

static uint32_t next_random(void)
{
    random_state ^= random_state << 13; /* xorshift32 */
    random_state ^= random_state >> 17;
    random_state ^= random_state << 5;
    return random_state;
}

static int requantize_same(int32_t x, int32_t multiplier, int32_t shift)
{
    tfc_quant_multiplier m;
    m.multiplier = multiplier;
    m.shift = shift;
    const int32_t portable = tfc_requantize(x, m), dsp = tfc_dsp_requantize(x, m);
    if (portable != dsp) {
        fprintf(stderr, "dsp_driver: tfc_dsp_requantize(%ld, {%ld, %ld}) = %ld, tfc_requantize %ld\n", (long)x,
                (long)multiplier, (long)shift, (long)dsp, (long)portable);
        return 0;
    }
    return 1;
}

/* Every shift in [-31, 31] with edge values of x and of the multiplier, then random arguments:
 * multipliers in [2^30, 2^31) as TFLite makes them and any int32. */
static int check_requantize(void)
{
    static const int32_t edges[] = {INT32_MIN, INT32_MIN + 1, -1073741825, -1073741824, -65536, -32769,
                                    -32768, -257, -256, -129, -128, -3, -2, -1, 0, 1, 2, 3, 127, 128, 255,
                                    256, 32767, 32768, 65535, 1073741823, 1073741824, INT32_MAX - 1, INT32_MAX};
    static const int32_t multipliers[] = {INT32_MIN, -1073741824, -1, 0, 1, 1073741824, 1073741825, 1518500250,
                                          2147483646, INT32_MAX};
    const size_t n_edges = sizeof edges / sizeof edges[0], n_multipliers = sizeof multipliers / sizeof multipliers[0];
    for (int32_t shift = -31; shift <= 31; ++shift) {
        for (size_t i = 0; i < n_edges; ++i) {
            for (size_t j = 0; j < n_multipliers; ++j) {
                if (!requantize_same(edges[i], multipliers[j], shift) ||
                    !requantize_same(edges[i], edges[j * 3 % n_edges], shift)) {
                    return 0;
                }
            }
        }
    }
    for (int32_t k = 0; k < 400000; ++k) {
        const uint32_t r = next_random();
        const int32_t shift = (int32_t)(r % 63u) - 31;
        int32_t x = (int32_t)next_random();
        if ((r >> 8) % 4u == 0u) {
            x >>= (r >> 12) % 32u; /* small sums too, the common case */
        }
        const int32_t multiplier = (r >> 16) % 8u == 0u ? (int32_t)next_random()
                                                         : (int32_t)(0x40000000u | (next_random() >> 2));
        if (!requantize_same(x, multiplier, shift)) {
            return 0;
        }
    }
    return 1;
}
#endif

/* ---- startup */

int main(void);
void Reset_Handler(void);
void Fault_Handler(void);
void SysTick_Handler(void);

typedef void (*vector)(void);

__attribute__((section(".vectors"), used)) const vector dsp_driver_vectors[16] = {
    (vector)(uintptr_t)__stack_top, Reset_Handler, Fault_Handler, Fault_Handler, Fault_Handler, Fault_Handler,
    Fault_Handler, 0, 0, 0, 0, Fault_Handler, Fault_Handler, 0, Fault_Handler, SysTick_Handler,
};

void Fault_Handler(void)
{
    static const char message[] = "dsp_driver: fault\n";
    _write(2, message, (int)sizeof message - 1);
    _exit(3);
}

void SysTick_Handler(void)
{
    ++systick_wraps;
}

void Reset_Handler(void)
{
    memcpy(__data_start, __data_load, (size_t)((char *)__data_end - (char *)__data_start));
    memset(__bss_start, 0, (size_t)((char *)__bss_end - (char *)__bss_start));
    REG(SCB_CPACR) |= 0xFu << 20; /* the FPU: CP10 and CP11 */
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    _exit(main());
}

int main(void)
{
    REG(UART_BAUDDIV) = 16u;
    REG(UART_CTRL) = 1u; /* TX */
    REG(SYST_RVR) = 0xFFFFFFu;
    REG(SYST_CVR) = 0u;
    REG(SYST_CSR) = 7u; /* core clock, interrupt, enabled */
    uint32_t length;
    memcpy(&length, (const void *)STREAM_BASE, sizeof length);
    stream_next = (const uint8_t *)STREAM_BASE + sizeof length;
    stream_end = stream_next + length;
#if TFC_DSP_PATH
    if (!check_requantize()) {
        return 4;
    }
#endif
    const int status = kernel_driver_main();
    if (status == 0) {
        const uint32_t trailer[2] = {0x49434654u, case_count}; /* "TFCI" */
        fwrite(trailer, sizeof trailer[0], 2, stdout);
        fwrite(case_ticks, sizeof case_ticks[0], case_count, stdout);
    }
    fflush(stdout);
    return status;
}
