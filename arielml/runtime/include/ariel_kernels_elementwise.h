/* ariel_kernels_elementwise.h - params structs and entry points of the elementwise arithmetic, quantize/dequantize, clamps and leaky relu kernels.
 * Included by ariel_kernels.h; same ABI and rules as the kernels declared there. */
#ifndef ARIEL_KERNELS_ELEMENTWISE_H
#define ARIEL_KERNELS_ELEMENTWISE_H

#include <stdint.h>

#endif /* ARIEL_KERNELS_ELEMENTWISE_H */
