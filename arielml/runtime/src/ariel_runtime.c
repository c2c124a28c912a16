/* ariel_runtime.c - scheduler (static tile lists or a shared tile counter) and barrier, built only
 * on the port's lock (see ariel_port.h). All shared state lives in model->shared and is read and
 * written under ARIEL_LOCK_SCHEDULER; the unlock publishes it, and the barrier's lock/unlock pair
 * is what makes one op's outputs visible to the cores running the next op. */
#include "ariel_runtime.h"

void ariel_init(const ariel_model *model)
{
    ariel_port_lock(ARIEL_LOCK_SCHEDULER);
    model->shared->arrived = 0u;
    model->shared->sense = 0u;
    model->shared->next_tile = 0u;
    ariel_port_unlock(ARIEL_LOCK_SCHEDULER);
}

/* Sense-reversing barrier. The global sense is constant while cores arrive (only the last arriver
 * flips it), so a core reads it on arrival and waits for it to flip. The last arriver also resets
 * the dynamic tile counter for the next op, before anyone can pull from it, and stamps
 * op_end[stamp] (the moment every core has finished: see docs/runtime.md, per-op times).
 * Waiting cores re-read the sense under the lock, once per ariel_port_wait: it keeps every shared
 * access locked (correct without coherent caches, clean under ThreadSanitizer), and a port whose
 * wait sleeps until ariel_port_wake (WFE/SEV, a condition variable) makes that one read per
 * release. */
static void barrier(const ariel_model *model, uint32_t op, uint32_t stamp)
{
    ariel_shared *s = model->shared;
    uint32_t release;
    uint32_t done;

    ariel_port_trace(ARIEL_TRACE_BARRIER_BEGIN, op, 0u);
    ariel_port_lock(ARIEL_LOCK_SCHEDULER);
    release = s->sense ^ 1u;
    s->arrived = s->arrived + 1u;
    if (s->arrived == model->ncores) {
        model->op_end[stamp] = ariel_port_cycles();
        s->arrived = 0u;
        s->next_tile = 0u;
        s->sense = release;
        ariel_port_unlock(ARIEL_LOCK_SCHEDULER);
        if (model->ncores > 1u) {
            ariel_port_wake();
        }
    } else {
        ariel_port_unlock(ARIEL_LOCK_SCHEDULER);
        for (;;) {
            ariel_port_lock(ARIEL_LOCK_SCHEDULER);
            done = (s->sense == release);
            ariel_port_unlock(ARIEL_LOCK_SCHEDULER);
            if (done) {
                break;
            }
            ariel_port_wait();
        }
    }
    ariel_port_trace(ARIEL_TRACE_BARRIER_END, op, 0u);
}

static void run_tile(const ariel_model *model, const ariel_op *op, uint32_t index, uint32_t tile, unsigned core)
{
    void *buffers[ARIEL_MAX_BUFFERS];
    void *const *args = op->buffers;
    uint32_t i;

    if (op->scratch_bytes != 0u) {
        /* the op's pointers, then this core's slice of the scratch block */
        for (i = 0; i < op->nbuffers; i++) {
            buffers[i] = op->buffers[i];
        }
        buffers[op->nbuffers] = model->arena + op->scratch_offset + (uint32_t)core * op->scratch_bytes;
        args = buffers;
    }
    ariel_port_trace(ARIEL_TRACE_TILE_BEGIN, index, tile);
    op->kernel(op->params, args, op->tile_start[tile], op->tile_start[tile + 1u]);
    ariel_port_trace(ARIEL_TRACE_TILE_END, index, tile);
}

/* dynamic scheduler: one lock per grab */
static uint32_t pull_tile(const ariel_model *model)
{
    uint32_t tile;
    ariel_port_lock(ARIEL_LOCK_SCHEDULER);
    tile = model->shared->next_tile;
    model->shared->next_tile = tile + 1u;
    ariel_port_unlock(ARIEL_LOCK_SCHEDULER);
    return tile;
}

int ariel_run_on_core(const ariel_model *model, unsigned core)
{
    uint32_t i;
    uint32_t next;
    uint32_t t;

    if (core >= (unsigned)model->ncores) {
        return ARIEL_ERROR_CORE;
    }
    ariel_port_trace(ARIEL_TRACE_RUN_BEGIN, core, 0u);
    /* start barrier: inputs written by core 0 (or the host) are visible to every core */
    barrier(model, 0xFFFFFFFFu, 0u);
    for (i = 0; i < model->nops; i = next) {
        const ariel_op *op = &model->ops[i];
        uint32_t last = (uint32_t)op->ntiles - 1u;
        next = i + 1u;
        ariel_port_trace(ARIEL_TRACE_OP_BEGIN, i, 0u);
        if (op->kind != ARIEL_OP_KERNEL) {
            /* a jump: every core waits for the condition's writer, then takes the same way */
            barrier(model, i, i + 1u);
            if (op->kind == ARIEL_OP_JUMP || *(const uint8_t *)op->buffers[0] == 0u) {
                next = op->target;
            }
        } else if (model->scheduler == ARIEL_SCHED_STATIC) {
            /* no shared state: each core walks the op's table for its own tiles */
            for (t = 0; t < op->ntiles; t++) {
                if (op->tile_core[t] == core) {
                    run_tile(model, op, i, t, core);
                }
            }
        } else {
            /* whoever takes the last tile knows the counter is exhausted: no grab after it */
            for (t = pull_tile(model); t < op->ntiles; t = t < last ? pull_tile(model) : op->ntiles) {
                run_tile(model, op, i, t, core);
            }
        }
        ariel_port_trace(ARIEL_TRACE_OP_END, i, 0u);
        if (op->barrier_after) {
            barrier(model, i, i + 1u);
        } else if (op->tile_core != 0 && op->tile_core[0] == core) {
            /* an op on one core without a barrier (static): that core stamps its end */
            model->op_end[i + 1u] = ariel_port_cycles();
        }
    }
    ariel_port_trace(ARIEL_TRACE_RUN_END, core, 0u);
    return ARIEL_OK;
}
