package org.sparsetrain;

/**
 * A call the native library refused: the status and the library's message (which names the call).
 */
public class SparseTrainException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final Status status;

  SparseTrainException(Status status, String message) {
    super(status + ": " + message);
    this.status = status;
  }

  public Status status() {
    return status;
  }
}
