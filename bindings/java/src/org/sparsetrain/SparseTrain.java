package org.sparsetrain;


/** Library-wide settings: version, instruction set, verbose mode. */
public final class SparseTrain {
  /** Instruction sets the kernels can run on. */
  public enum Isa { AUTO, AVX512, AVX2, SSE4, SCALAR, NEON, SVE, SVE2 }

  /** Convolution kernels: chosen per layer and call, or one kind throughout. */
  public enum Kernel { AUTO, DENSE, SPARSE }

  /**
   * Training losses, as PyTorch's: cross-entropy of class labels; mean squared error, L1 and
   * binary cross-entropy of logits, of float targets.
   */
  public enum Loss { SOFTMAX_CROSS_ENTROPY, MSE, L1, BCE_WITH_LOGITS }

  static {
    Native.load();
  }

  private SparseTrain() {}

  /** "1.4.0". */
  public static String version() {
    return sparsetrain_native.stb_version_string();
  }

  public static boolean isaSupported(Isa isa) {
    return sparsetrain_native.stb_isa_supported(Native.nonNull(isa, "isa").ordinal()) != 0;
  }

  /** Caps the ISA every kernel uses (process-wide); fails with UNSUPPORTED if the CPU lacks it. */
  public static void setIsa(Isa isa) {
    Native.check(sparsetrain_native.stb_set_isa(Native.nonNull(isa, "isa").ordinal()));
  }

  /** The ISA kernels run on now (never AUTO). */
  public static Isa isa() {
    return Isa.values()[sparsetrain_native.stb_get_isa()];
  }

  /** One line per convolution pass on stderr when on. */
  public static void setVerbose(boolean on) {
    sparsetrain_native.stb_set_verbose(on ? 1 : 0);
  }
}
