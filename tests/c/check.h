/* Checks for the C API's tests in C: each failure is printed with its place and counted in
 * `failures`, and the test goes on. */
#ifndef SPARSETRAIN_TESTS_C_CHECK_H_
#define SPARSETRAIN_TESTS_C_CHECK_H_

#include <stdio.h>
#include <string.h>

#include "sparsetrain/sparsetrain.h"

static int failures = 0;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                              \
    }                                                                          \
  } while (0)

/* The call returns `expected`, and when that is an error its message holds `text` (the
 * function's name, say). */
#define EXPECT_STATUS(expected, call, text)                                                \
  do {                                                                                     \
    const st_status got_ = (call);                                                         \
    if (got_ != (expected)) {                                                              \
      fprintf(stderr, "%s:%d: %s gave %s (%s), expected %s\n", __FILE__, __LINE__, #call,  \
              st_status_name(got_), st_last_error_message(), st_status_name(expected));    \
      ++failures;                                                                          \
    } else if ((expected) != ST_OK && strstr(st_last_error_message(), text) == NULL) {     \
      fprintf(stderr, "%s:%d: message '%s' lacks '%s'\n", __FILE__, __LINE__,              \
              st_last_error_message(), text);                                              \
      ++failures;                                                                          \
    }                                                                                      \
  } while (0)

#define OK(call) EXPECT_STATUS(ST_OK, call, "")

#endif /* SPARSETRAIN_TESTS_C_CHECK_H_ */
