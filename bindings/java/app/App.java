import org.sparsetrain.Context;
import org.sparsetrain.Model;
import org.sparsetrain.SparseTrain;

/** A user's app in one file: one training step of a tiny model, then the library's version. */
public class App {
  public static void main(String[] args) {
    try (Context ctx = new Context(1);
         Model m = Model.builder(ctx, 1, 8, 8).conv2d(4, 3).relu().flatten().linear(null, 2).build(1)) {
      Model.StepResult r = m.trainStep(new float[2 * 64], new int[] {0, 1});
      System.out.println(SparseTrain.version() + " " + r.examples);
    }
  }
}
