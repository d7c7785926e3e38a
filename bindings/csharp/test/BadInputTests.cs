using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using NUnit.Framework;
using SparseTrain;

namespace SparseTrain.Tests {

  // The bad-input sweep: every public constructor, method and property setter of the binding,
  // called with each argument in turn replaced by a bad value (null, empty, negative, huge, NaN,
  // an undefined enum value, a disposed object) while the others are good, and on disposed
  // receivers, must throw SparseTrainException, an ArgumentException or ObjectDisposedException,
  // and nothing else; the messages of the first two name the member called.
  [TestFixture]
  public class BadInputTests {
    sealed class Objects : IDisposable {
      public readonly Context Context = new Context(1), DisposedContext = new Context(1);
      public readonly Tensor Tensor, DisposedTensor;
      public readonly Conv Conv, DisposedConv;
      public readonly Model Model, DisposedModel;
      public Objects() {
        DisposedContext.Dispose();
        Tensor = new Tensor(Context, 1, 2, 4, 4, Layout.Blocked);
        DisposedTensor = new Tensor(Context, 1, 2, 4, 4, Layout.Nchw);
        DisposedTensor.Dispose();
        Conv = new Conv(Context, 1, 2, 4, 4, 2, 3, 1, 1, true);
        DisposedConv = new Conv(Context, 1, 2, 4, 4, 2, 3, 1, 1, true);
        DisposedConv.Dispose();
        Model = NewModel();
        DisposedModel = NewModel();
        DisposedModel.Dispose();
      }
      Model NewModel() => new Model.Builder(Context, 1, 4, 4).Conv2d(2, 3).Relu().Flatten().Linear(2).Build(1);
      public void Dispose() {
        Model.Dispose();
        Conv.Dispose();
        Tensor.Dispose();
        Context.Dispose();
      }

      public object Good(Type t) {
        if (t == typeof(Context)) return Context;
        if (t == typeof(Tensor)) return Tensor;
        if (t == typeof(Conv)) return Conv;
        if (t == typeof(Model)) return Model;
        if (t == typeof(Optimizer)) return Optimizer.Sgd(0.01, 0.9);
        if (t == typeof(Stream)) return new MemoryStream(new byte[] {1, 2, 3});
        if (t == typeof(string)) return "conv";
        if (t == typeof(string[])) return new[] {"conv"};
        if (t.IsArray) return Array.CreateInstance(t.GetElementType(), 16);  // one 4x4 image
        if (t.IsEnum) return Enum.GetValues(t).GetValue(0);
        if (t == typeof(bool)) return true;
        if (t == typeof(float) || t == typeof(double)) return Convert.ChangeType(0.01, t);
        if (t.IsPrimitive) return Convert.ChangeType(1, t);
        return null;
      }

      public IEnumerable<object> Bad(Type t) {
        if (t == typeof(Context)) return new object[] {null, DisposedContext};
        if (t == typeof(Tensor)) return new object[] {null, DisposedTensor};
        if (t == typeof(Conv)) return new object[] {null, DisposedConv};
        if (t == typeof(Model)) return new object[] {null, DisposedModel};
        if (t == typeof(Stream)) return new object[] {null, new MemoryStream()};
        if (t == typeof(string)) return new object[] {null, "", "no/such/dir/x"};
        if (t.IsArray) {
          var e = t.GetElementType();
          return new object[] {null, Array.CreateInstance(e, 0), Array.CreateInstance(e, 1),
                               Array.CreateInstance(e, 17)};
        }
        if (t.IsEnum) return new object[] {Enum.ToObject(t, 42), Enum.ToObject(t, -1)};
        if (t == typeof(int)) return new object[] {0, -1, int.MinValue};  // not 2^31: valid sizes
        if (t == typeof(long)) return new object[] {0L, -1L, long.MinValue, long.MaxValue};
        if (t == typeof(float)) return new object[] {-1f, float.NaN, float.PositiveInfinity};
        if (t == typeof(double)) return new object[] {-1.0, double.NaN, double.PositiveInfinity};
        if (t.IsClass) return new object[] {null};
        return new object[0];
      }

      // The receivers of t's instance members: a live one and, if it can be, a disposed one.
      public IEnumerable<object> Receivers(Type t) {
        if (t == typeof(Model.Builder)) return new object[] {new Model.Builder(Context, 2, 4, 4)};
        if (t == typeof(Optimizer)) return new object[] {Optimizer.Sgd(0.01, 0.9)};
        var live = Good(t);
        var disposed = Bad(t).Where(o => o != null);
        return live == null ? new object[0] : new[] {live}.Concat(disposed);
      }
    }

    static bool Allowed(Exception e) =>
        e is SparseTrainException || e is ArgumentException || e is ObjectDisposedException;

    // The name a message gives the member: a constructor's type, a property's own name.
    static string Called(MethodBase member) =>
        member is ConstructorInfo ? member.DeclaringType.Name
        : member.Name.StartsWith("set_") ? member.Name.Substring(4) : member.Name;
    static bool NamesTheMember(Exception e, MethodBase member) =>
        e is ObjectDisposedException || e.Message.Contains(Called(member) + ": ");

    // The public members a user can call: constructors, methods and property setters.
    static IEnumerable<MethodBase> Members(Type t) {
      const BindingFlags flags = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static |
                                 BindingFlags.DeclaredOnly;
      return t.GetConstructors().Cast<MethodBase>().Concat(
          t.GetMethods(flags).Where(m => !m.IsGenericMethod && !m.Name.StartsWith("get_") &&
                                         m.DeclaringType == t));
    }

    [Test]
    public void EveryPublicMemberRefusesBadArgumentsWithTheLanguagesErrors() {
      var types = typeof(Model).Assembly.GetExportedTypes()
                      .Where(t => t.Namespace == "SparseTrain" && t.IsClass &&
                                  !typeof(Exception).IsAssignableFrom(t) && !t.IsGenericTypeDefinition)
                      .ToList();
      var failures = new List<string>();
      int calls = 0, members = 0;
      string dir = Path.Combine(Path.GetTempPath(), "sweep" + Guid.NewGuid());
      Directory.CreateDirectory(dir);
      string cwd = Directory.GetCurrentDirectory();
      Directory.SetCurrentDirectory(dir);  // paths the sweep writes stay here
      try {
        foreach (var type in types) {
          foreach (var member in Members(type)) {
            var parameters = member.GetParameters();
            if (parameters.Any(p => p.ParameterType.IsByRef)) continue;
            ++members;
            // Argument -1: all arguments good, on each receiver (a disposed one among them).
            for (int bad = parameters.Length == 0 ? -1 : 0; bad < parameters.Length; ++bad) {
              using (var o = new Objects()) {
                var receivers = member.IsStatic || member is ConstructorInfo
                                    ? new object[] {null}
                                    : o.Receivers(type).ToArray();
                var badValues = bad < 0 ? new object[] {null} : o.Bad(parameters[bad].ParameterType).ToArray();
                foreach (var receiver in receivers) {
                  if (bad < 0 && receiver == o.Good(type)) continue;  // nothing bad in this call
                  foreach (var value in badValues) {
                    var args = parameters.Select(p => o.Good(p.ParameterType)).ToArray();
                    if (bad >= 0) args[bad] = value;
                    ++calls;
                    try {
                      if (member is ConstructorInfo c) {
                        (c.Invoke(args) as IDisposable)?.Dispose();
                      } else {
                        member.Invoke(receiver, args);
                      }
                    } catch (TargetInvocationException e) when (!Allowed(e.InnerException)) {
                      failures.Add(type.Name + "." + member.Name + " with argument " + bad + " = " +
                                   (value ?? "null") + ": " + e.InnerException.GetType().Name + ": " +
                                   e.InnerException.Message);
                    } catch (TargetInvocationException e) when (!NamesTheMember(e.InnerException, member)) {
                      failures.Add(type.Name + "." + member.Name + " with argument " + bad + " = " +
                                   (value ?? "null") + ": the message does not name " +
                                   Called(member) + ": " + e.InnerException.Message);
                    } catch (TargetInvocationException) {
                    }
                  }
                }
              }
            }
          }
        }
      } finally {
        Directory.SetCurrentDirectory(cwd);
        Directory.Delete(dir, true);
      }
      Console.WriteLine(calls + " calls with a bad argument or receiver, over " + members +
                        " members of " + types.Count + " types");
      Assert.That(calls, Is.GreaterThan(500));
      Assert.That(failures, Is.Empty, string.Join("\n", failures));
    }
  }
}
