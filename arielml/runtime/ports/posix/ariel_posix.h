/* ariel_posix.h - the posix port's launcher (host builds only): a persistent pool of threads. */
#ifndef ARIEL_POSIX_H
#define ARIEL_POSIX_H

#define ARIEL_POSIX_MAX_THREADS 64u

/* Run run_on_core(0..ncores-1) on ncores threads (core 0 on the calling thread) and wait until
 * every core has returned. The ncores - 1 worker threads are created by the first call and reused
 * by every later call with the same ncores (another ncores replaces the pool). Calls are
 * serialised. Returns 0, or -1 when ncores is out of range or a thread cannot be started. */
int ariel_posix_run(void (*run_on_core)(unsigned core), unsigned ncores);

/* Join the worker threads (a later ariel_posix_run starts a new pool). Also runs by itself when
 * the library is unloaded or the process exits. */
void ariel_posix_shutdown(void);

/* Worker threads created since the library was loaded (diagnostics: the pool is reused). */
unsigned ariel_posix_threads_created(void);

#endif /* ARIEL_POSIX_H */
