/* ports/posix/port.c - the port contract on POSIX threads, for the native (host) backend.
 * A core is a thread; its id is thread-local, set by ariel_posix_run before it calls the model. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ariel_port.h"
#include "ariel_posix.h"

static pthread_mutex_t locks[ARIEL_PORT_LOCKS] = {
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER};
static __thread unsigned this_core;

unsigned ariel_port_core_id(void) { return this_core; }
void ariel_port_lock(unsigned lock_id) { pthread_mutex_lock(&locks[lock_id]); }
void ariel_port_unlock(unsigned lock_id) { pthread_mutex_unlock(&locks[lock_id]); }

/* nanoseconds of the monotonic clock, wrapping at 2^32 (per-op differences stay correct) */
uint32_t ariel_port_cycles(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint32_t)((uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec);
}

void ariel_port_trace(uint32_t event, uint32_t a, uint32_t b) { (void)event; (void)a; (void)b; }
void ariel_port_log(const char *message) { fputs(message, stdout); }
/* more threads than CPUs is normal on a host: give the CPU away while spinning */
void ariel_port_wait(void) { sched_yield(); }
void ariel_port_wake(void) {}

typedef struct {
    void (*run_on_core)(unsigned core);
    unsigned core;
} worker;

static void *worker_main(void *arg)
{
    const worker *w = (const worker *)arg;
    this_core = w->core;
    w->run_on_core(w->core);
    return NULL;
}

int ariel_posix_run(void (*run_on_core)(unsigned core), unsigned ncores)
{
    pthread_t threads[ARIEL_POSIX_MAX_THREADS];
    worker workers[ARIEL_POSIX_MAX_THREADS];
    unsigned i;
    unsigned started;

    if (ncores < 1u || ncores > ARIEL_POSIX_MAX_THREADS) {
        return -1;
    }
    for (started = 1; started < ncores; started++) {
        workers[started].run_on_core = run_on_core;
        workers[started].core = started;
        if (pthread_create(&threads[started], NULL, worker_main, &workers[started]) != 0) {
            /* the threads already started wait at the first barrier for a core that will never
             * come: there is no way to finish this run */
            fputs("ariel posix port: cannot start a thread\n", stderr);
            abort();
        }
    }
    this_core = 0u; /* the calling thread is core 0 */
    run_on_core(0u);
    for (i = 1; i < ncores; i++) {
        pthread_join(threads[i], NULL);
    }
    return 0;
}
