package org.sparsetrain;

/** Optimiser settings: SGD, Adam or AdamW, with a schedule and gradient clipping. */
public final class Optimizer {
  enum Kind { SGD, ADAM, ADAMW }

  /** Learning-rate schedules. */
  public enum Schedule { CONSTANT, STEP, COSINE }

  final Kind kind;
  final double learningRate;
  double momentum = 0.9;
  boolean nesterov;
  double weightDecay;
  double clipNorm;
  Schedule schedule = Schedule.CONSTANT;
  long warmupSteps;
  long totalSteps;

  private Optimizer(Kind kind, double learningRate) {
    this.kind = kind;
    this.learningRate = learningRate;
  }

  public static Optimizer sgd(double learningRate, double momentum) {
    Optimizer o = new Optimizer(Kind.SGD, learningRate);
    o.momentum = momentum;
    return o;
  }

  public static Optimizer adam(double learningRate) {
    return new Optimizer(Kind.ADAM, learningRate);
  }

  public static Optimizer adamW(double learningRate, double weightDecay) {
    Optimizer o = new Optimizer(Kind.ADAMW, learningRate);
    o.weightDecay = weightDecay;
    return o;
  }

  public Optimizer nesterov(boolean on) {
    nesterov = on;
    return this;
  }

  public Optimizer weightDecay(double decay) {
    weightDecay = decay;
    return this;
  }

  public Optimizer clipNorm(double norm) {
    clipNorm = norm;
    return this;
  }

  /** Cosine decay to zero over totalSteps, after a linear warm-up of warmupSteps. */
  public Optimizer cosine(long warmupSteps, long totalSteps) {
    this.schedule = Schedule.COSINE;
    this.warmupSteps = warmupSteps;
    this.totalSteps = totalSteps;
    return this;
  }
}
