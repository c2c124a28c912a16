/* ariel_port.h - the port contract: the only functions the portable runtime needs from a target.
 *
 * Each port (runtime/ports/<port>/port.c) implements exactly these. The runtime builds its tile
 * counter and its sense-reversing barrier on the locks alone (no C11 atomics, no LDREX/STREX:
 * the Cortex-M0+ has none; the RP2040 uses its SIO hardware spinlocks). */
#ifndef ARIEL_PORT_H
#define ARIEL_PORT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ARIEL_PORT_LOCKS 8u /* lock ids 0..7 */

/* trace events passed to ariel_port_trace (for the emulator's profiler) */
#define ARIEL_TRACE_OP_BEGIN 1u      /* a = op index */
#define ARIEL_TRACE_OP_END 2u        /* a = op index */
#define ARIEL_TRACE_TILE_BEGIN 3u    /* a = op index, b = tile index */
#define ARIEL_TRACE_TILE_END 4u      /* a = op index, b = tile index */
#define ARIEL_TRACE_BARRIER_BEGIN 5u /* a = op index */
#define ARIEL_TRACE_BARRIER_END 6u   /* a = op index */
#define ARIEL_TRACE_RUN_BEGIN 7u
#define ARIEL_TRACE_RUN_END 8u

/* Shared SRAM on boards that run two firmware images (rp2350-mixed: Arm + RISC-V; stm32h747: M7 + M4).
 * Each image has its own code, constants, private data and stacks; variables that the cores share
 * (runtime state, the activation arena, input/output tensors) must be marked so that the linker puts
 * them in the board's shared-SRAM region, at the same address in every image (build_firmware checks it).
 * ARIEL_SHARED: initialised data; ARIEL_SHARED_ZERO: zero-initialised (costs no flash).
 * On single-image boards and on the host they are harmless. */
#if defined(__GNUC__) && defined(__ELF__)
#define ARIEL_SHARED __attribute__((section(".data.ariel_shared")))
#define ARIEL_SHARED_ZERO __attribute__((section(".bss.ariel_shared")))
#else
#define ARIEL_SHARED
#define ARIEL_SHARED_ZERO
#endif

unsigned ariel_port_core_id(void);          /* 0..N-1 */
void ariel_port_lock(unsigned lock_id);     /* spin until acquired; lock_id < 8 */
void ariel_port_unlock(unsigned lock_id);   /* includes the memory barrier needed for release */
uint32_t ariel_port_cycles(void);           /* free-running cycle (or tick) counter of this core */
void ariel_port_trace(uint32_t event, uint32_t a, uint32_t b); /* profiling marks, may be empty */
void ariel_port_log(const char *message);   /* console / semihosting / stdout */
void ariel_port_wait(void);                 /* hint while spinning (WFE on Arm; may be empty) */
void ariel_port_wake(void);                 /* wake spinners (SEV on Arm; may be empty) */

#ifdef __cplusplus
}
#endif

#endif /* ARIEL_PORT_H */
