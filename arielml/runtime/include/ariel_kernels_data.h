/* ariel_kernels_data.h - params structs and entry points of the pooling and data movement (pool, concat, split, transpose, strided slice, pad, mean, resize) kernels.
 * Included by ariel_kernels.h; same ABI and rules as the kernels declared there. */
#ifndef ARIEL_KERNELS_DATA_H
#define ARIEL_KERNELS_DATA_H

#include <stdint.h>

#endif /* ARIEL_KERNELS_DATA_H */
