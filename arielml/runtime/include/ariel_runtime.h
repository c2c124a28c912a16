/* ariel_runtime.h - the portable multi-core runtime that executes a compiled Plan.
 *
 * Execution model (SPMD): every core calls ariel_run_on_core(model, core_id); it returns on every
 * core when the inference is done. Core 0 alone calls ariel_init(model) once, before the other
 * cores start (never while an inference runs: it resets the barrier). A model is a table of ops; each op is a kernel, its params, its buffer pointers and
 * its tiles ([begin, end) ranges of work items). Under the static scheduler each tile names the
 * core that runs it; under the dynamic scheduler cores pull the next tile from a shared counter.
 * A barrier follows every op that needs one (its outputs are read by other cores). */
#ifndef ARIEL_RUNTIME_H
#define ARIEL_RUNTIME_H

#include <stdint.h>

#include "ariel_port.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The kernel ABI: a pure function over its params, its buffers (inputs, outputs, then per-core
 * scratch, in the op's order) and a [begin, end) range of its work items. */
typedef void (*ariel_kernel_fn)(const void *params, void *const *buffers, int32_t begin, int32_t end);

#define ARIEL_MAX_BUFFERS 10  /* buffers per op, scratch included (POSENET_DECODER with masks: 4 + 5 + 1) */
#define ARIEL_LOCK_SCHEDULER 0u /* the one port lock the runtime uses */

enum { ARIEL_SCHED_STATIC = 0, ARIEL_SCHED_DYNAMIC = 1 };

/* return codes (a generated model.h repeats them as <NAME>_OK, <NAME>_ERROR_CORE) */
#define ARIEL_OK 0
#define ARIEL_ERROR_CORE (-1) /* core >= model->ncores */

/* op kinds: a kernel, or one of the jumps a WHILE decided at run time compiles to (its trips walk
 * a stretch of the op table again). Every core evaluates a jump identically, between two barriers:
 * the one before makes the condition (the first byte of buffers[0], a bool) visible to all, the one
 * after (the jump's barrier_after) keeps everyone from overwriting it before all have read it. */
enum { ARIEL_OP_KERNEL = 0, ARIEL_OP_BRANCH_IF_FALSE = 1, ARIEL_OP_JUMP = 2 };

typedef struct {
    ariel_kernel_fn kernel;    /* never NULL for a kernel op (views are resolved at compile time); NULL for jumps */
    const void *params;        /* the kernel's params struct */
    void *const *buffers;      /* nbuffers pointers: inputs, then outputs (NULL = absent input) */
    const int32_t *tile_start; /* ntiles + 1 work-item boundaries: tile t = [start[t], start[t+1]) */
    const uint8_t *tile_core;  /* static: core of each tile; NULL under the dynamic scheduler */
    uint16_t ntiles;
    uint8_t nbuffers;
    uint8_t barrier_after;     /* 0 only when the next op runs on the same single core */
    uint32_t scratch_offset;   /* per-core scratch: arena + scratch_offset + core * scratch_bytes */
    uint32_t scratch_bytes;    /* 0: no scratch */
    uint8_t kind;              /* ARIEL_OP_KERNEL (0, what a row that stops before it means), or a jump */
    uint16_t target;           /* a jump's destination op */
} ariel_op;

/* Shared run-time state: touched only under ARIEL_LOCK_SCHEDULER. */
typedef struct {
    volatile uint32_t arrived;   /* cores that reached the current barrier */
    volatile uint32_t sense;     /* flips each time a barrier releases */
    volatile uint32_t next_tile; /* dynamic scheduler: next tile of the current op */
} ariel_shared;

typedef struct {
    const ariel_op *ops;
    uint16_t nops;
    uint8_t ncores;
    uint8_t scheduler;      /* ARIEL_SCHED_STATIC or ARIEL_SCHED_DYNAMIC */
    uint8_t *arena;         /* base of the activation arena (for scratch) */
    ariel_shared *shared;
    uint32_t *op_end;       /* nops + 1 timestamps (ariel_port_cycles): [0] run start, [i + 1] op i done */
} ariel_model;

/* Core 0, once, before any core runs (and never while one runs). */
void ariel_init(const ariel_model *model);
/* Every core 0..ncores-1; returns ARIEL_OK on every core when the outputs are complete, or
 * ARIEL_ERROR_CORE at once, touching nothing, when core >= ncores (such a core would wait at a
 * barrier no other core counts it in). */
int ariel_run_on_core(const ariel_model *model, unsigned core);

#ifdef __cplusplus
}
#endif

#endif /* ARIEL_RUNTIME_H */
