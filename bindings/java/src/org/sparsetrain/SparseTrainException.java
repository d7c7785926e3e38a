package org.sparsetrain;

/**
 * A call the library refused: the status, then the binding's method called and the library's
 * message ("INVALID_ARGUMENT: Model.trainStep: st_model_train_step: ...").
 */
public class SparseTrainException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final Status status;

  SparseTrainException(Status status, String message) {
    super(status + ": " + Native.called() + ": " + message);
    this.status = status;
  }

  public Status status() {
    return status;
  }
}
