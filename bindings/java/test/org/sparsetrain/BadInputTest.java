package org.sparsetrain;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.lang.reflect.Array;
import java.lang.reflect.Constructor;
import java.lang.reflect.Executable;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The bad-input sweep: every public constructor and method of the binding, called with each
 * argument in turn replaced by a bad value (null, empty, negative, huge, NaN, a closed object)
 * while the others are good, and on closed receivers, must throw SparseTrainException,
 * IllegalArgumentException, IllegalStateException (closed) or a NullPointerException of the
 * binding's own ("Model.trainStep: images is null"), and nothing else; the exceptions that name
 * a call name the one made.
 */
class BadInputTest {
  /** The receivers and object arguments of one call: live ones and closed ones. */
  static final class Objects implements AutoCloseable {
    final Context context = new Context(1);
    final Context closedContext = new Context(1);
    final Tensor tensor;
    final Tensor closedTensor;
    final Conv conv;
    final Conv closedConv;
    final Model model;
    final Model closedModel;

    Objects() {
      closedContext.close();
      tensor = new Tensor(context, 1, 2, 4, 4, Tensor.Layout.BLOCKED, null);
      closedTensor = new Tensor(context, 1, 2, 4, 4, Tensor.Layout.NCHW, null);
      closedTensor.close();
      conv = new Conv(context, 1, 2, 4, 4, 2, 3, 1, 1, true);
      closedConv = new Conv(context, 1, 2, 4, 4, 2, 3, 1, 1, true);
      closedConv.close();
      model = newModel();
      closedModel = newModel();
      closedModel.close();
    }

    Model newModel() {
      return Model.builder(context, 1, 4, 4).conv2d(2, 3).relu().flatten().linear(null, 2).build(1);
    }

    @Override
    public void close() {
      model.close();
      conv.close();
      tensor.close();
      context.close();
    }

    Object good(Class<?> t) {
      if (t == Context.class) return context;
      if (t == Tensor.class) return tensor;
      if (t == Conv.class) return conv;
      if (t == Model.class) return model;
      if (t == Optimizer.class) return Optimizer.sgd(0.01, 0.9);
      if (t == InputStream.class) return new ByteArrayInputStream(new byte[] {1, 2, 3});
      if (t == ByteBuffer.class) return ByteBuffer.allocateDirect(3);
      if (t == String.class) return "conv";
      if (t == String[].class) return new String[] {"conv"};
      if (t.isArray()) return Array.newInstance(t.getComponentType(), 16); // one 4x4 image
      if (t.isEnum()) return t.getEnumConstants()[0];
      if (t == boolean.class) return true;
      if (t == int.class) return 1;
      if (t == long.class) return 1L;
      if (t == float.class) return 0.01f;
      if (t == double.class) return 0.01;
      return null;
    }

    Object[] bad(Class<?> t) {
      if (t == Context.class) return new Object[] {null, closedContext};
      if (t == Tensor.class) return new Object[] {null, closedTensor};
      if (t == Conv.class) return new Object[] {null, closedConv};
      if (t == Model.class) return new Object[] {null, closedModel};
      if (t == InputStream.class) return new Object[] {null, new ByteArrayInputStream(new byte[0])};
      if (t == ByteBuffer.class) return new Object[] {null, ByteBuffer.allocate(0)};
      if (t == String.class) return new Object[] {null, "", "no/such/dir/x"};
      if (t.isArray()) {
        Class<?> e = t.getComponentType();
        return new Object[] {null, Array.newInstance(e, 0), Array.newInstance(e, 1),
            Array.newInstance(e, 17)};
      }
      if (t == int.class) return new Object[] {0, -1, Integer.MIN_VALUE}; // not 2^31: valid sizes
      if (t == long.class) return new Object[] {0L, -1L, Long.MIN_VALUE, Long.MAX_VALUE};
      if (t == float.class) return new Object[] {-1f, Float.NaN, Float.POSITIVE_INFINITY};
      if (t == double.class) return new Object[] {-1.0, Double.NaN, Double.POSITIVE_INFINITY};
      if (t.isPrimitive()) return new Object[0];
      return new Object[] {null};
    }

    /** The receivers of t's instance methods: a live one and, if it can be, a closed one. */
    List<Object> receivers(Class<?> t) {
      List<Object> r = new ArrayList<>();
      if (t == Model.Builder.class) {
        r.add(Model.builder(context, 2, 4, 4));
        return r;
      }
      Object live = good(t);
      if (live == null) return r;
      r.add(live);
      for (Object o : bad(t))
        if (o != null) r.add(o);
      return r;
    }
  }

  /** Whether e is one of the binding's refusals of `called`, naming it where it names a call. */
  static boolean allowed(Throwable e, String called) {
    if (e instanceof NullPointerException)
      return e.getMessage() != null
          && e.getMessage().matches(java.util.regex.Pattern.quote(called) + ": \\w+ is null");
    if (e instanceof SparseTrainException)
      return e.getMessage().startsWith(((SparseTrainException) e).status() + ": " + called + ": ");
    return e instanceof IllegalArgumentException || e instanceof IllegalStateException;
  }

  static List<Executable> members(Class<?> t) {
    List<Executable> members = new ArrayList<>(Arrays.asList(t.getConstructors()));
    for (Method m : t.getDeclaredMethods())
      if (Modifier.isPublic(m.getModifiers()) && !m.isSynthetic()) members.add(m);
    return members;
  }

  @Test
  void everyPublicMemberRefusesBadArgumentsWithTheLanguagesErrors() throws Exception {
    List<Class<?>> types = new ArrayList<>(Arrays.asList(SparseTrain.class, Context.class,
        Tensor.class, Conv.class, Optimizer.class, Model.class, Model.Builder.class));
    List<String> failures = new ArrayList<>();
    int calls = 0;
    int members = 0;
    for (Class<?> type : types) {
      for (Executable member : members(type)) {
        Class<?>[] parameters = member.getParameterTypes();
        boolean isStatic = member instanceof Constructor || Modifier.isStatic(member.getModifiers());
        String typeName = type.getName().substring("org.sparsetrain.".length()).replace('$', '.');
        String called = member instanceof Constructor ? typeName : typeName + "." + member.getName();
        ++members;
        // Argument -1: every argument good, on a closed receiver.
        for (int bad = parameters.length == 0 ? -1 : 0; bad < parameters.length; ++bad) {
          try (Objects o = new Objects()) {
            List<Object> receivers = isStatic ? Arrays.asList((Object) null) : o.receivers(type);
            Object[] badValues = bad < 0 ? new Object[] {null} : o.bad(parameters[bad]);
            for (Object receiver : receivers) {
              if (bad < 0 && (isStatic || receiver == o.good(type))) continue;
              for (Object value : badValues) {
                Object[] args = new Object[parameters.length];
                for (int j = 0; j < args.length; ++j) args[j] = o.good(parameters[j]);
                if (bad >= 0) args[bad] = value;
                ++calls;
                try {
                  if (member instanceof Constructor) {
                    Object made = ((Constructor<?>) member).newInstance(args);
                    if (made instanceof AutoCloseable) ((AutoCloseable) made).close();
                  } else {
                    ((Method) member).invoke(receiver, args);
                  }
                } catch (InvocationTargetException e) {
                  if (!allowed(e.getCause(), called))
                    failures.add(type.getSimpleName() + "." + member.getName() + " with argument "
                        + bad + " = " + value + ": " + e.getCause());
                }
              }
            }
          }
        }
      }
    }
    System.out.println(calls + " calls with a bad argument or receiver, over " + members
        + " members of " + types.size() + " types");
    assertTrue(calls > 500, calls + " calls");
    assertTrue(failures.isEmpty(), String.join("\n", failures));
  }
}
