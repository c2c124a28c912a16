/* ports/posix/port.c - the port contract on POSIX threads, for the native (host) backend.
 *
 * A core is a thread; its id is thread-local. Threads are a persistent pool: created at the first
 * ariel_posix_run, reused by every later inference, joined by ariel_posix_shutdown (also run when
 * the library is unloaded or the process exits), so an inference costs no thread creation.
 *
 * Waiting (between inferences, and ariel_port_wait at the runtime's barriers) spins for a few
 * microseconds, then sleeps on a condition variable. A host may have fewer free CPUs than threads
 * (2 cores, a loaded machine): a waiter that kept spinning, or called sched_yield in a loop, would
 * take the CPU the thread it waits for needs. Only this host port uses GCC/Clang __atomic builtins;
 * the portable runtime never sees them. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ariel_port.h"
#include "ariel_posix.h"

/* How long a waiter spins (pause instructions), then how long it keeps yielding the CPU
 * (sched_yield: returns at once when no other thread wants this CPU, so it is a polite spin), before
 * it sleeps on a condition variable: spinning covers the usual imbalance of a split op; yielding
 * lets another thread, possibly our own partner, run on a shared CPU; sleeping costs a wake-up
 * (tens of microseconds on a loaded host) and is kept for long waits (one core working alone). */
#ifndef ARIEL_POSIX_SPIN_NS
#define ARIEL_POSIX_SPIN_NS 2000u
#endif
#ifndef ARIEL_POSIX_YIELD_NS
#define ARIEL_POSIX_YIELD_NS 1000000u
#endif

static pthread_mutex_t locks[ARIEL_PORT_LOCKS] = {
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER};
static __thread unsigned this_core;

static uint64_t monotonic_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || (defined(__arm__) && defined(__ARM_ARCH) && __ARM_ARCH >= 7)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

/* ---- events: a counter that waiters watch for a change (what WFE/SEV give a microcontroller) ---- */

typedef struct {
    unsigned seq;      /* bumped by every signal (atomic) */
    unsigned sleepers; /* waiters blocked on cond (atomic) */
    pthread_mutex_t mutex;
    pthread_cond_t cond;
} event;

#define EVENT_INITIALIZER {0u, 0u, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER}

/* seq_cst on both sides (seq bump then sleepers read; sleepers bump then seq read): either the
 * signaller sees the sleeper, or the sleeper sees the new seq - no lost wake-up. The broadcast is
 * skipped (no syscall) when nobody sleeps. */
static void event_signal(event *e)
{
    __atomic_add_fetch(&e->seq, 1u, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&e->sleepers, __ATOMIC_SEQ_CST) != 0u) {
        pthread_mutex_lock(&e->mutex);
        pthread_cond_broadcast(&e->cond);
        pthread_mutex_unlock(&e->mutex);
    }
}

static unsigned event_load(event *e) { return __atomic_load_n(&e->seq, __ATOMIC_ACQUIRE); }

/* Returns the event's seq once it differs from `seen`: spin, then yield, then sleep. */
static unsigned event_wait(event *e, unsigned seen)
{
    const uint64_t start = monotonic_ns();
    uint64_t elapsed = 0u;
    unsigned now;
    unsigned i;

    while (elapsed < (uint64_t)ARIEL_POSIX_SPIN_NS + ARIEL_POSIX_YIELD_NS) {
        for (i = 0u; i < 64u; i++) { /* the clock costs more than a look at the event */
            now = event_load(e);
            if (now != seen) {
                return now;
            }
            if (elapsed >= ARIEL_POSIX_SPIN_NS) {
                sched_yield();
                break;
            }
            cpu_relax();
        }
        elapsed = monotonic_ns() - start;
    }
    pthread_mutex_lock(&e->mutex);
    __atomic_add_fetch(&e->sleepers, 1u, __ATOMIC_SEQ_CST);
    while ((now = __atomic_load_n(&e->seq, __ATOMIC_SEQ_CST)) == seen) {
        pthread_cond_wait(&e->cond, &e->mutex);
    }
    __atomic_sub_fetch(&e->sleepers, 1u, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&e->mutex);
    return now;
}

/* ---- the port contract ---- */

unsigned ariel_port_core_id(void) { return this_core; }
/* The runtime holds a lock for a few instructions: try for a moment before pthread_mutex_lock,
 * which would put this thread to sleep and make the holder pay a wake-up on unlock. */
void ariel_port_lock(unsigned lock_id)
{
    unsigned i;
    for (i = 0u; i < 100u; i++) {
        if (pthread_mutex_trylock(&locks[lock_id]) == 0) {
            return;
        }
        cpu_relax();
    }
    pthread_mutex_lock(&locks[lock_id]);
}
void ariel_port_unlock(unsigned lock_id) { pthread_mutex_unlock(&locks[lock_id]); }

/* nanoseconds of the monotonic clock, wrapping at 2^32 (per-op differences stay correct); one
 * clock for all threads, so stamps taken on different cores compare */
uint32_t ariel_port_cycles(void) { return (uint32_t)monotonic_ns(); }

void ariel_port_trace(uint32_t event_id, uint32_t a, uint32_t b) { (void)event_id; (void)a; (void)b; }
void ariel_port_log(const char *message) { fputs(message, stdout); }

/* WFE/SEV semantics: wake() sets every thread's "event pending"; wait() returns at once when an
 * event came since this thread's last wait (the runtime re-checks its condition after every wait,
 * so a spurious return is harmless, and a wake between its check and its wait is never lost). */
static event barrier_event = EVENT_INITIALIZER;
static __thread unsigned barrier_event_seen;

void ariel_port_wait(void) { barrier_event_seen = event_wait(&barrier_event, barrier_event_seen); }
void ariel_port_wake(void) { event_signal(&barrier_event); }

/* ---- the persistent thread pool: core 0 is the calling thread, cores 1..n-1 are workers ---- */

static struct {
    pthread_mutex_t run_mutex;      /* one inference (or shutdown) at a time */
    pthread_t threads[ARIEL_POSIX_MAX_THREADS];
    unsigned ncores;                /* cores of the live pool (workers = ncores - 1); 0: no pool */
    unsigned threads_created;       /* since the library was loaded (tests: the pool is reused) */
    /* the job: written only while every worker is idle, published by the start signal */
    const ariel_posix_job *job;
    int stopping;
    event start;                    /* seq: generation of the current job */
    event done;                     /* seq: one bump per worker that finished the job */
} pool = {PTHREAD_MUTEX_INITIALIZER, {0}, 0u, 0u, NULL, 0, EVENT_INITIALIZER, EVENT_INITIALIZER};

typedef struct {
    unsigned core;
    unsigned generation; /* the start seq when the worker was created: it waits for the next */
} worker_args;

static worker_args worker_setup[ARIEL_POSIX_MAX_THREADS];

static void *worker_main(void *arg)
{
    const worker_args *w = (const worker_args *)arg;
    unsigned generation = w->generation;

    this_core = w->core;
    for (;;) {
        generation = event_wait(&pool.start, generation);
        if (pool.stopping) {
            return NULL;
        }
        (void)pool.job->run_on_core(this_core); /* cores < ncores: cannot fail */
        event_signal(&pool.done);
    }
}

/* Wakes every worker with the current job and waits until each has signalled done. */
static void pool_dispatch(unsigned workers)
{
    unsigned target = event_load(&pool.done) + workers;
    unsigned seen = target - workers;

    event_signal(&pool.start);
    (void)pool.job->run_on_core(0u);
    while (seen != target) {
        seen = event_wait(&pool.done, seen);
    }
}

/* run_mutex held */
static void pool_stop(void)
{
    unsigned i;
    if (pool.ncores == 0u) {
        return;
    }
    pool.stopping = 1;
    event_signal(&pool.start);
    for (i = 1u; i < pool.ncores; i++) {
        pthread_join(pool.threads[i], NULL);
    }
    pool.stopping = 0;
    pool.ncores = 0u;
}

static void event_reset(event *e)
{
    e->sleepers = 0u;
    pthread_mutex_init(&e->mutex, NULL);
    pthread_cond_init(&e->cond, NULL);
}

/* fork() copies only the calling thread: the child has no workers, and a lock held by another
 * thread of the parent would stay held forever. Start the child with no pool and free locks. */
static void pool_after_fork_in_child(void)
{
    unsigned i;
    pthread_mutex_init(&pool.run_mutex, NULL);
    for (i = 0u; i < ARIEL_PORT_LOCKS; i++) {
        pthread_mutex_init(&locks[i], NULL);
    }
    event_reset(&pool.start);
    event_reset(&pool.done);
    event_reset(&barrier_event);
    pool.ncores = 0u;
    pool.stopping = 0;
}

static pthread_once_t fork_handler_once = PTHREAD_ONCE_INIT;
static void register_fork_handler(void) { pthread_atfork(NULL, NULL, pool_after_fork_in_child); }

/* run_mutex held; returns 0, or -1 (no pool left) when a thread cannot be created */
static int pool_start(unsigned ncores)
{
    unsigned generation = event_load(&pool.start);
    unsigned i;

    pthread_once(&fork_handler_once, register_fork_handler);

    for (i = 1u; i < ncores; i++) {
        worker_setup[i].core = i;
        worker_setup[i].generation = generation;
        if (pthread_create(&pool.threads[i], NULL, worker_main, &worker_setup[i]) != 0) {
            pool.ncores = i; /* stop the ones that did start */
            pool_stop();
            return -1;
        }
        pool.threads_created++;
    }
    pool.ncores = ncores;
    return 0;
}

int ariel_posix_run(const ariel_posix_job *job, unsigned ncores)
{
    if (ncores < 1u || ncores > ARIEL_POSIX_MAX_THREADS) {
        return -1;
    }
    pthread_mutex_lock(&pool.run_mutex);
    if (pool.ncores != ncores) {
        pool_stop();
        if (ncores > 1u && pool_start(ncores) != 0) {
            pthread_mutex_unlock(&pool.run_mutex);
            fputs("ariel posix port: cannot start a thread\n", stderr);
            return -1;
        }
        pool.ncores = ncores;
    }
    this_core = 0u; /* the calling thread is core 0 */
    /* before/after run under the lock: a model's init resets the barrier that another caller's
     * cores may be waiting at, so it must never overlap an inference (it used to run before the
     * lock was taken, and two callers could hang for good) */
    if (job->before != NULL) {
        job->before(job->context);
    }
    if (ncores == 1u) {
        (void)job->run_on_core(0u);
    } else {
        pool.job = job;
        pool_dispatch(ncores - 1u);
        pool.job = NULL;
    }
    if (job->after != NULL) {
        job->after(job->context);
    }
    pthread_mutex_unlock(&pool.run_mutex);
    return 0;
}

void ariel_posix_shutdown(void)
{
    pthread_mutex_lock(&pool.run_mutex);
    pool_stop();
    pthread_mutex_unlock(&pool.run_mutex);
}

unsigned ariel_posix_threads_created(void)
{
    unsigned n;
    pthread_mutex_lock(&pool.run_mutex);
    n = pool.threads_created;
    pthread_mutex_unlock(&pool.run_mutex);
    return n;
}

#if defined(__GNUC__)
/* dlclose or process exit: no worker may stay parked in code that is about to be unmapped. An
 * inference still running on another thread (a caller bug) keeps run_mutex: then leave it be
 * rather than hang the exit. */
__attribute__((destructor)) static void pool_unload(void)
{
    if (pthread_mutex_trylock(&pool.run_mutex) == 0) {
        pool_stop();
        pthread_mutex_unlock(&pool.run_mutex);
    }
}
#endif
