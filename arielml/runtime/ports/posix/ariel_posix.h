/* ariel_posix.h - the posix port's launcher (host builds only): a persistent pool of threads. */
#ifndef ARIEL_POSIX_H
#define ARIEL_POSIX_H

#define ARIEL_POSIX_MAX_THREADS 64u

/* One inference for ariel_posix_run. before and after (either may be NULL) run on the calling
 * thread while it holds the run lock: before, ahead of every core (initialise the model, copy the
 * inputs in); after, once every core has returned (copy the outputs out). Whatever touches the
 * model's shared state belongs there, never before the call: another thread's inference may be
 * running until the lock is taken. */
typedef struct {
    void (*before)(void *context);
    int (*run_on_core)(unsigned core);
    void (*after)(void *context);
    void *context;
} ariel_posix_job;

/* Take the run lock, run job->before, run job->run_on_core(0..ncores-1) on ncores threads (core 0
 * on the calling thread), wait until every core has returned, run job->after, release the lock.
 * The ncores - 1 worker threads are created by the first call and reused by every later call with
 * the same ncores (another ncores replaces the pool). Returns 0, or -1 (nothing run) when ncores is
 * out of range or a thread cannot be started. */
int ariel_posix_run(const ariel_posix_job *job, unsigned ncores);

/* Join the worker threads (a later ariel_posix_run starts a new pool). Also runs by itself when
 * the library is unloaded or the process exits. */
void ariel_posix_shutdown(void);

/* Worker threads created since the library was loaded (diagnostics: the pool is reused). */
unsigned ariel_posix_threads_created(void);

#endif /* ARIEL_POSIX_H */
