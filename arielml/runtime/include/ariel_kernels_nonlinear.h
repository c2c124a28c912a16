/* ariel_kernels_nonlinear.h - params structs and entry points of the softmax, log-softmax, logistic, tanh, hard-swish (tables prepared at compile time) kernels.
 * Included by ariel_kernels.h; same ABI and rules as the kernels declared there. */
#ifndef ARIEL_KERNELS_NONLINEAR_H
#define ARIEL_KERNELS_NONLINEAR_H

#include <stdint.h>

#endif /* ARIEL_KERNELS_NONLINEAR_H */
