package org.sparsetrain;

/** The status codes of the C API (st_status). */
public enum Status {
  OK,
  INVALID_ARGUMENT,
  SHAPE_MISMATCH,
  UNSUPPORTED,
  OUT_OF_MEMORY,
  IO_ERROR,
  CORRUPT_DATA,
  BAD_HANDLE,
  INTERNAL;

  static Status of(int code) {
    return code >= 0 && code < values().length ? values()[code] : INTERNAL;
  }
}
