/* Reading gzip'd IDX files (MNIST, Fashion-MNIST) from C, for the C examples and the bindings'
 * reference program. */
#ifndef SPARSETRAIN_EXAMPLES_C_IDX_H_
#define SPARSETRAIN_EXAMPLES_C_IDX_H_

#include <stddef.h>
#include <stdint.h>

/* The bytes of DIR/NAME after its `header` bytes (malloc'd; *count of them), or NULL with a
 * message on stderr. */
unsigned char* ReadIdx(const char* dir, const char* name, size_t header, size_t* count);

/* Images [first, first + n) of 28x28 `pixels` as floats in [0, 1], and their labels. */
void IdxBatch(const unsigned char* pixels, const unsigned char* labels, size_t first, int64_t n,
              float* images, int32_t* batch_labels);

#endif /* SPARSETRAIN_EXAMPLES_C_IDX_H_ */
