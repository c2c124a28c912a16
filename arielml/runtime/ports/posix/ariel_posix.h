/* ariel_posix.h - the posix port's convenience launcher (host builds only). */
#ifndef ARIEL_POSIX_H
#define ARIEL_POSIX_H

#define ARIEL_POSIX_MAX_THREADS 64u

/* Run run_on_core(0..ncores-1) on ncores threads (core 0 on the calling thread) and wait for all.
 * Returns 0, or -1 when ncores is out of range or a thread cannot be started. */
int ariel_posix_run(void (*run_on_core)(unsigned core), unsigned ncores);

#endif /* ARIEL_POSIX_H */
