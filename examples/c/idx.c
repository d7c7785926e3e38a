#include "examples/c/idx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

unsigned char* ReadIdx(const char* dir, const char* name, size_t header, size_t* count) {
  char path[1024];
  unsigned char buffer[1 << 16], *data = NULL, *grown;
  size_t size = 0;
  int n;
  gzFile f;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  f = gzopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "cannot open %s\n", path);
    return NULL;
  }
  while ((n = gzread(f, buffer, sizeof buffer)) > 0) {
    grown = realloc(data, size + (size_t)n);
    if (grown == NULL) break;
    data = grown;
    memcpy(data + size, buffer, (size_t)n);
    size += (size_t)n;
  }
  gzclose(f);
  if (n != 0 || size < header) {
    fprintf(stderr, "cannot read %s\n", path);
    free(data);
    return NULL;
  }
  *count = size - header;
  memmove(data, data + header, *count);
  return data;
}

void IdxBatch(const unsigned char* pixels, const unsigned char* labels, size_t first, int64_t n,
              float* images, int32_t* batch_labels) {
  const size_t image = 28 * 28;
  int64_t i;
  size_t p;
  for (i = 0; i < n; ++i) {
    for (p = 0; p < image; ++p)
      images[(size_t)i * image + p] = (float)pixels[(first + (size_t)i) * image + p] / 255.0f;
    batch_labels[i] = labels[first + (size_t)i];
  }
}
