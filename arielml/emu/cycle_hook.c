/* Hot-path hooks of the emulator's cycle model, built with the host gcc at first use (see fasthook.py).
 *
 * Unicorn calls `ariel_block_hook` at the start of every translated block a core executes.  The block's
 * static cost (cycles, instruction count, extra cycles if its final conditional branch is taken, flags)
 * is looked up in a per-core open-addressing table; on a miss the Python classifier (capstone, cached)
 * is called once through a function pointer and the answer is stored.  Whether the previous block's
 * conditional branch was taken is known exactly here: the branch was taken iff this block does not
 * start where the previous one ended.  Data reads from flash are charged (wait states, or the cache) by
 * `ariel_flash_mmio_read`, the read callback of the flash pages that hold no code (default mode), or by
 * `ariel_flash_read_hook`, a memory hook on the whole flash (exact mode).
 *
 * Flash cache (RP2040/RP2350 XIP cache): every block that lies in flash looks up the cache lines it
 * spans, and every data read from flash the lines it spans; a miss costs the board's miss cycles.  Each core has its own copy of the cache's state: the chip's one cache is shared, but which
 * core fills a line first is a race that the time slices would decide, and the counts must not depend
 * on the slices (docs/cycle-model.md says what this leaves out).
 *
 * When a core's cycle count has reached its target for the current quantum, the hook of the next
 * block asks Unicorn to stop; Unicorn then does not execute that block, and the hook does not charge
 * it, so quanta end on block boundaries and no block is ever split or counted twice.  Nothing here depends on host timing: the same ELF gives the same
 * counts on every run.
 *
 * Only the few Unicorn entry points we call are declared here (no Unicorn headers needed). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef int (*uc_emu_stop_fn)(void *uc);
/* Returns a packed block description, see pack_block() in cyclemodel.py. */
typedef uint64_t (*classify_fn)(uint32_t core, uint64_t address, uint32_t size);

enum { FLAG_COND_BRANCH = 1, FLAG_SEV = 2, FLAG_WFE_END = 4, FLAG_WAIT_HINT = 8, FLAG_LAST32 = 16, FLAG_FIRST32 = 32,
       FLAG_BACKWARD = 64 };
enum { PREDICTOR_NONE = 0, PREDICTOR_HAZARD3 = 1, PREDICTOR_M7 = 2 };
#define BRANCH_COUNTERS 256  /* Cortex-M7: 2-bit counters indexed by branch address */
enum { STOP_NONE = 0, STOP_QUANTUM = 1, STOP_CLASSIFY_ERROR = 2, STOP_WAIT = 3, STOP_EXTERNAL = 4 };
#define MAX_CORES 16

typedef struct {
    uint64_t address;  /* 0 = empty slot (no code executes at address 0 with size 0) */
    uint32_t size;
    uint32_t cost;
    uint32_t insns;
    uint32_t taken_extra;
    uint32_t flags;
    uint32_t _pad;
} block_entry;

typedef struct machine_events {
    volatile uint32_t event[MAX_CORES]; /* Arm event register per core (set by SEV, consumed by WFE) */
    uint32_t ncores;
    uint64_t event_time[MAX_CORES];     /* machine time (ticks) when the pending event was sent */
} machine_events;

typedef struct flash_cache {
    uint64_t base, end;      /* cached address range */
    uint32_t line_shift;     /* log2(line bytes) */
    uint32_t set_mask;       /* sets - 1 (power of two) */
    uint32_t miss_cycles;    /* extra cycles of a miss (a hit costs what an SRAM access costs) */
    uint32_t _pad;
    uint64_t hits, misses;
    uint32_t *tags;          /* [set][2]: line number + 1, 0 = empty */
    uint8_t *next_victim;    /* [set]: the least recently used way */
} flash_cache;

typedef struct core_ctx {
    uint64_t cycles;        /* cycles charged so far (includes the whole current block) */
    uint64_t insns;         /* instructions executed */
    uint64_t blocks;        /* block executions */
    uint64_t target;        /* stop when cycles >= target */
    uint64_t flash_reads;   /* data reads that hit flash */
    uint64_t prev_end;      /* address right after the previous block */
    uint64_t last_block;    /* start address of the most recent block */
    uint32_t last_size;
    uint32_t prev_flags;
    uint32_t prev_taken_extra;
    uint32_t flash_wait;    /* extra cycles per flash data read */
    uint32_t stop_reason;
    uint32_t core_index;
    uint64_t ticks_per_cycle;  /* machine time ticks per cycle of this core (cores may differ in clock) */
    void *uc;
    uc_emu_stop_fn emu_stop;
    classify_fn classify;
    machine_events *events;
    block_entry *table;
    uint32_t mask;          /* table size - 1 (power of two) */
    uint32_t used;
    uint32_t predictor;     /* 1: Hazard3's branch predictor (remembers the last taken backward branch) */
    uint32_t _pad;
    uint64_t predicted_pc;  /* address of the branch the predictor will predict taken (0: none) */
    flash_cache *cache;     /* this core's flash cache (0: none) */
    uint64_t cache_misses;  /* this core's flash cache misses */
    uint64_t mispredicts;   /* conditional branches mispredicted (predictor cores) */
    uint32_t misaligned_target;  /* extra cycles of a jump to a 32-bit instruction at an address = 2 mod 4 */
    uint32_t data_touched;  /* 1: a data read looked `cache` up since the last block (its LRU state moved) */
    flash_cache *dcache;    /* a separate cache for data reads from flash (Cortex-M7 D-cache; 0: `cache` serves both) */
    /* Cortex-M7 predictor state: 0 = never seen (static prediction: backward taken), 1-2 predict not
     * taken, 3-4 predict taken; Python's mirror stops before this array */
    uint8_t counters[BRANCH_COUNTERS];
} core_ctx;

/* Look up one line; returns the extra cycles (0 on a hit). 2-way set-associative, LRU. */
static inline uint32_t cache_access(core_ctx *c, flash_cache *f, uint64_t line) {
    uint32_t set = (uint32_t)line & f->set_mask, slot = set * 2;
    uint32_t tag = (uint32_t)line + 1;
    for (uint32_t way = 0; way < 2; way++) {
        if (f->tags[slot + way] == tag) {
            f->next_victim[set] = (uint8_t)(way ^ 1);
            f->hits++;
            return 0;
        }
    }
    uint32_t way = f->next_victim[set];
    f->tags[slot + way] = tag;
    f->next_victim[set] = (uint8_t)(way ^ 1);
    f->misses++; c->cache_misses++;
    return f->miss_cycles;
}

static uint32_t slot_of(uint64_t address, uint32_t mask) {
    uint64_t h = address * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(h >> 40) & mask;
}

static int grow(core_ctx *c) {
    uint32_t old_size = c->mask + 1, new_size = old_size * 2;
    block_entry *old = c->table, *fresh = calloc(new_size, sizeof(block_entry));
    if (!fresh) return -1;
    c->table = fresh;
    c->mask = new_size - 1;
    for (uint32_t i = 0; i < old_size; i++) {
        if (!old[i].address && !old[i].size) continue;
        uint32_t s = slot_of(old[i].address, c->mask);
        while (fresh[s].address || fresh[s].size) s = (s + 1) & c->mask;
        fresh[s] = old[i];
    }
    free(old);
    return 0;
}

static block_entry *lookup_or_classify(core_ctx *c, uint64_t address, uint32_t size) {
    uint32_t s = slot_of(address, c->mask);
    for (;;) {
        block_entry *e = &c->table[s];
        if (e->address == address && e->size == size) return e;
        if (!e->address && !e->size) break;
        s = (s + 1) & c->mask;
    }
    uint64_t packed = c->classify(c->core_index, address, size);
    if (packed == UINT64_MAX) return 0;
    if ((c->used + 1) * 2 > c->mask + 1) {
        if (grow(c)) return 0;
        s = slot_of(address, c->mask);
        while (c->table[s].address || c->table[s].size) s = (s + 1) & c->mask;
    }
    block_entry *e = &c->table[s];
    e->address = address;
    e->size = size;
    e->cost = (uint32_t)(packed & 0xFFFFFF);
    e->insns = (uint32_t)((packed >> 24) & 0xFFFF);
    e->taken_extra = (uint32_t)((packed >> 40) & 0xFF);
    e->flags = (uint32_t)((packed >> 48) & 0xFF);
    c->used++;
    return e;
}

void ariel_block_hook(void *uc, uint64_t address, uint32_t size, void *user) {
    core_ctx *c = (core_ctx *)user;
    (void)uc;
    /* Unicorn does not execute a block whose hook asked to stop (nor one reached after a stop request
     * from an MMIO callback): such a block is not charged, it runs - and is charged - on resumption. */
    if (c->stop_reason != STOP_NONE) return;
    if (c->cycles >= c->target) {
        c->stop_reason = STOP_QUANTUM;
        c->emu_stop(c->uc);
        return;
    }
    block_entry *e = lookup_or_classify(c, address, size);
    if (!e) {
        c->stop_reason = STOP_CLASSIFY_ERROR;
        c->emu_stop(c->uc);
        return;
    }
    if (e->flags & FLAG_WAIT_HINT) {
        /* a wait hint in the block (Hazard3 h3.block): consume a pending event, or sleep until one */
        if (c->events->event[c->core_index]) {
            /* an event sent later in simulated time (first only in host order) ends the wait then */
            uint64_t sent = (c->events->event_time[c->core_index] + c->ticks_per_cycle - 1) / c->ticks_per_cycle;
            if (c->cycles < sent) c->cycles = sent;
            c->events->event[c->core_index] = 0;
        } else {
            c->stop_reason = STOP_WAIT;
            c->emu_stop(c->uc);
            return;
        }
    }
    if (c->prev_flags & FLAG_COND_BRANCH) {
        int taken = address != c->prev_end;
        if (c->predictor == PREDICTOR_M7) {
            uint64_t branch_pc = c->prev_end - ((c->prev_flags & FLAG_LAST32) ? 4u : 2u);
            uint8_t *counter = &c->counters[(branch_pc >> 1) & (BRANCH_COUNTERS - 1)];
            int predicted = *counter ? *counter >= 3 : (c->prev_flags & FLAG_BACKWARD) != 0;
            if (taken != predicted) { c->cycles += c->prev_taken_extra; c->mispredicts++; }
            if (!*counter) *counter = taken ? 3 : 2;
            else if (taken && *counter < 4) (*counter)++;
            else if (!taken && *counter > 1) (*counter)--;
        } else if (c->predictor == PREDICTOR_HAZARD3) {
            /* a taken backward branch is remembered and predicted taken next time; every other branch is
             * predicted not taken; a misprediction costs taken_extra */
            uint64_t branch_pc = c->prev_end - ((c->prev_flags & FLAG_LAST32) ? 4u : 2u);
            int predicted = c->predicted_pc == branch_pc;
            if (taken != predicted) { c->cycles += c->prev_taken_extra; c->mispredicts++; }
            if (taken && address < branch_pc) c->predicted_pc = branch_pc;
            else if (!taken && predicted) c->predicted_pc = 0;
        } else if (taken) {
            c->cycles += c->prev_taken_extra;
        }
    }
    if (c->misaligned_target && address != c->prev_end && (address & 2u) && (e->flags & FLAG_FIRST32))
        c->cycles += c->misaligned_target; /* a jump to a 32-bit instruction that is not 32-bit aligned: two fetches */
    flash_cache *f = c->cache;
    /* a block that runs again at once hits on all its lines and leaves the LRU state as it was, unless
     * data reads looked the cache up in between */
    if (f && address >= f->base && address < f->end && (address != c->last_block || size != c->last_size || c->data_touched)) {
        c->data_touched = 0;
        /* instruction fetch: the lines the block spans (the fetches come before its instructions) */
        uint64_t last = (address + size - 1 - f->base) >> f->line_shift;
        for (uint64_t line = (address - f->base) >> f->line_shift; line <= last; line++)
            c->cycles += cache_access(c, f, line);
    }
    c->cycles += e->cost;
    c->insns += e->insns;
    c->blocks++;
    c->prev_end = address + size;
    c->prev_flags = e->flags;
    c->prev_taken_extra = e->taken_extra;
    c->last_block = address;
    c->last_size = size;
    if (e->flags & FLAG_SEV) {
        uint64_t now = c->cycles * c->ticks_per_cycle;
        for (uint32_t i = 0; i < c->events->ncores; i++) {
            if (!c->events->event[i]) c->events->event_time[i] = now;
            c->events->event[i] = 1;
        }
    }
}

/* One data read from flash of `size` bytes at `address`: the cache lines it spans, or the wait states. */
static inline void charge_flash_read(core_ctx *c, uint64_t address, uint32_t size) {
    flash_cache *f = c->dcache ? c->dcache : c->cache;
    if (f && address >= f->base && address < f->end) {
        uint64_t first = (address - f->base) >> f->line_shift, last = (address + size - 1 - f->base) >> f->line_shift;
        for (uint64_t line = first; line <= last; line++)
            c->cycles += cache_access(c, f, line);
        if (f == c->cache) c->data_touched = 1;
    } else {
        c->cycles += c->flash_wait;
    }
    c->flash_reads++;
}

/* exact mode: a Unicorn memory hook on the whole flash (every load and store then takes Unicorn's slow path) */
void ariel_flash_read_hook(void *uc, int type, uint64_t address, int size, int64_t value, void *user) {
    (void)uc; (void)type; (void)value;
    charge_flash_read((core_ctx *)user, address, (uint32_t)size);
}

/* Default mode: the flash pages that hold no code (.rodata and the load images of initialised data start
 * on a page of their own, see linker.py) are mapped as MMIO with this read callback, so only data reads
 * from flash leave QEMU's fast path; code pages stay RAM-mapped.  The window is one MMIO mapping: its
 * core and the bytes it shows (the machine's flash buffer at the mapping's start). */
typedef struct flash_window {
    core_ctx *core;
    const uint8_t *bytes;
    uint64_t base;        /* guest address of bytes[0] */
    flash_cache *cache;   /* the cache data reads look up (the D-cache if the core has one), or 0 */
    uint32_t shared;      /* 1: `cache` also serves instruction fetch */
    uint32_t line_mask;   /* line bytes - 1 */
} flash_window;

uint64_t ariel_flash_mmio_read(void *uc, uint64_t offset, unsigned size, void *user) {
    flash_window *w = (flash_window *)user;
    core_ctx *c = w->core;
    const uint8_t *p = w->bytes + offset;
    uint64_t value;
    (void)uc;
    /* little-endian host, as the guests */
    switch (size) {
    case 1: value = *p; break;
    case 2: { uint16_t v; memcpy(&v, p, 2); value = v; break; }
    case 4: { uint32_t v; memcpy(&v, p, 4); value = v; break; }
    default: value = 0; memcpy(&value, p, size < 8 ? size : 8); break;
    }
    c->flash_reads++;
    flash_cache *f = w->cache;
    if (!f) {
        c->cycles += c->flash_wait;
        return value;
    }
    uint64_t address = w->base + offset;
    uint64_t line = (address - f->base) >> f->line_shift;
    c->cycles += cache_access(c, f, line);
    if ((address & w->line_mask) + size > w->line_mask + 1)  /* an unaligned read across two lines */
        c->cycles += cache_access(c, f, line + 1);
    c->data_touched |= w->shared;
    return value;
}

flash_window *ariel_window_new(core_ctx *c, const uint8_t *bytes, uint64_t base) {
    flash_window *w = calloc(1, sizeof(flash_window));
    if (!w) return 0;
    w->core = c;
    w->bytes = bytes;
    w->base = base;
    w->cache = c->dcache ? c->dcache : c->cache;  /* set up before the windows (machine.py) */
    if (w->cache && (base < w->cache->base || base >= w->cache->end)) w->cache = 0;
    w->shared = w->cache && w->cache == c->cache;
    w->line_mask = w->cache ? (1u << w->cache->line_shift) - 1 : 0;
    return w;
}

void ariel_window_free(flash_window *w) { free(w); }

core_ctx *ariel_core_new(uint32_t core_index, void *uc, uc_emu_stop_fn emu_stop, classify_fn classify,
                         machine_events *events, uint32_t flash_wait, uint64_t ticks_per_cycle) {
    core_ctx *c = calloc(1, sizeof(core_ctx));
    if (!c) return 0;
    c->core_index = core_index;
    c->uc = uc;
    c->emu_stop = emu_stop;
    c->classify = classify;
    c->events = events;
    c->flash_wait = flash_wait;
    c->ticks_per_cycle = ticks_per_cycle;
    c->mask = 1023;
    c->table = calloc(c->mask + 1, sizeof(block_entry));
    if (!c->table) { free(c); return 0; }
    return c;
}

void ariel_core_free(core_ctx *c) {
    if (!c) return;
    free(c->table);
    free(c);
}

machine_events *ariel_events_new(uint32_t ncores) {
    machine_events *m = calloc(1, sizeof(machine_events));
    if (m) m->ncores = ncores < MAX_CORES ? ncores : MAX_CORES;
    return m;
}

void ariel_events_free(machine_events *m) { free(m); }

/* A 2-way set-associative flash cache of `bytes` with `line_bytes` lines (both powers of two). */
flash_cache *ariel_cache_new(uint64_t base, uint64_t size, uint32_t bytes, uint32_t line_bytes, uint32_t miss_cycles) {
    flash_cache *f = calloc(1, sizeof(flash_cache));
    if (!f) return 0;
    uint32_t sets = bytes / line_bytes / 2;
    f->base = base;
    f->end = base + size;
    while ((1u << f->line_shift) < line_bytes) f->line_shift++;
    f->set_mask = sets - 1;
    f->miss_cycles = miss_cycles;
    f->tags = calloc(sets * 2, sizeof(uint32_t));
    f->next_victim = calloc(sets, 1);
    if (!f->tags || !f->next_victim) {
        free(f->tags); free(f->next_victim); free(f);
        return 0;
    }
    return f;
}

void ariel_cache_free(flash_cache *f) {
    if (!f) return;
    free(f->tags); free(f->next_victim); free(f);
}

/* Forget all cached block costs (used when code in RAM is rewritten). */
void ariel_core_flush(core_ctx *c) {
    memset(c->table, 0, (size_t)(c->mask + 1) * sizeof(block_entry));
    c->used = 0;
}
