/* crt_main.c - the C half of start-up, shared by Arm and RISC-V images.
 *
 * Every core arrives here on its own stack with its global core id. The first core of each image
 * initialises that image's private .data/.tdata and zeroes its .bss/.tbss. Core 0 (the first core
 * of image 0) also initialises the shared-SRAM region, runs ariel_main_init() (e.g. the model's
 * init) and then releases the other cores through the boot block at the start of shared SRAM; on
 * multi-image boards it first waits until the first core of every other image reports its private
 * data ready. Then every core runs ariel_main(core). In the emulator (ARIEL_EMULATOR defined), core
 * 0's return value is the exit status and other cores halt when they return; on a chip, a core whose
 * ariel_main returns sleeps for good.
 *
 * It assumes every core enters at reset (true in the emulator). On real RP2040/RP2350 chips core 1
 * sleeps in the boot ROM until core 0 launches it, and flash needs the boot stage 2 / image
 * definition the Pico SDK adds: there, use the SDK's start-up and call the model from its main. */
#include <stdint.h>

#include "ariel_port.h"
#if defined(ARIEL_EMULATOR)
#include "ariel_emu.h"
#endif

#define BOOT_MAGIC 0xA51E1B00u
/* The boot flags are read and written under a port lock (the runtime uses lock 0), like all state the
 * cores share: that gives the acquire/release ordering, and the emulator orders lock accesses in
 * simulated time, so a core never sees a flag set "before" another core set it. */
#define BOOT_LOCK 7u

typedef struct {
    volatile uint32_t release;
    volatile uint32_t ready[15];
} boot_block;

extern uint32_t __ariel_data_start[], __ariel_data_end[], __ariel_data_load[];
extern uint32_t __ariel_tdata_start[], __ariel_tdata_end[], __ariel_tdata_load[];
extern uint32_t __ariel_bss_start[], __ariel_bss_end[];
extern uint32_t __ariel_shared_data_start[], __ariel_shared_data_end[], __ariel_shared_data_load[];
extern uint32_t __ariel_shared_bss_start[], __ariel_shared_bss_end[];
extern boot_block __ariel_boot;
extern char __ariel_first_core[], __ariel_image_index[], __ariel_image_count[];

int ariel_main(unsigned core);
void ariel_main_init(void) __attribute__((weak));
void ariel_main_init(void) {}

static void copy_words(uint32_t *to, const uint32_t *end, const uint32_t *from)
{
    while (to < end) {
        *to++ = *from++;
    }
}

static void zero_words(uint32_t *to, const uint32_t *end)
{
    while (to < end) {
        *to++ = 0u;
    }
}

/* The value of an absolute linker symbol. Laundered through an empty asm: the compiler may otherwise
 * assume that the address of an object is never 0 (and drop the `core == first` test for first 0). */
static inline unsigned link_value(const void *symbol)
{
    uintptr_t value;
    __asm__("" : "=r"(value) : "0"(symbol));
    return (unsigned)value;
}

static uint32_t read_flag(const volatile uint32_t *flag)
{
    uint32_t value;
    ariel_port_lock(BOOT_LOCK);
    value = *flag;
    ariel_port_unlock(BOOT_LOCK);
    return value;
}

static void set_flag(volatile uint32_t *flag)
{
    ariel_port_lock(BOOT_LOCK);
    *flag = BOOT_MAGIC;
    ariel_port_unlock(BOOT_LOCK);
}

static inline void memory_barrier(void)
{
#if defined(__arm__)
    __asm volatile("dmb" ::: "memory");
#else
    __asm volatile("fence rw, rw" ::: "memory");
#endif
}

static void enable_cycle_counter(void)
{
#if defined(__ARM_ARCH_7EM__) || defined(__ARM_ARCH_8M_MAIN__)
    /* DEMCR.TRCENA, then DWT_CTRL.CYCCNTENA: the free-running cycle counter the port reads */
    *(volatile uint32_t *)0xE000EDFCu |= 1u << 24;
    *(volatile uint32_t *)0xE0001004u = 0u;
    *(volatile uint32_t *)0xE0001000u |= 1u;
#endif
}

void ariel_crt_main(unsigned core) __attribute__((noreturn, used));
void ariel_crt_main(unsigned core)
{
    const unsigned first = link_value(__ariel_first_core);
    const unsigned image = link_value(__ariel_image_index);
    const unsigned images = link_value(__ariel_image_count);
    unsigned i;
    int status;

    enable_cycle_counter();
    if (core == first) {
        copy_words(__ariel_data_start, __ariel_data_end, __ariel_data_load);
        copy_words(__ariel_tdata_start, __ariel_tdata_end, __ariel_tdata_load);
        zero_words(__ariel_bss_start, __ariel_bss_end);
    }
    if (core == 0u) {
        copy_words(__ariel_shared_data_start, __ariel_shared_data_end, __ariel_shared_data_load);
        zero_words(__ariel_shared_bss_start, __ariel_shared_bss_end);
        ariel_main_init();
        for (i = 1u; i < images; i++) {
            while (read_flag(&__ariel_boot.ready[i]) != BOOT_MAGIC) {
                ariel_port_wait();
            }
        }
        memory_barrier(); /* everything written so far is visible before the release */
        set_flag(&__ariel_boot.release);
        ariel_port_wake();
    } else {
        if (core == first) {
            set_flag(&__ariel_boot.ready[image]);
            ariel_port_wake();
        }
        while (read_flag(&__ariel_boot.release) != BOOT_MAGIC) {
            ariel_port_wait();
        }
        memory_barrier();
    }
    status = ariel_main(core);
#if defined(ARIEL_EMULATOR)
    if (core == 0u) {
        ARIEL_EMU_EXIT = (uint32_t)status;
    } else {
        ARIEL_EMU_HALT = 0u;
    }
#else
    (void)status;
#endif
    for (;;) {
        ariel_port_wait();
    }
}
