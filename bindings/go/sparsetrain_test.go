package sparsetrain

import (
	"compress/gzip"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const data = "/usr/share/datasets/fashion-mnist"
const batch = 64

func readIdx(t *testing.T, name string, header, count int) []byte {
	f, err := os.Open(filepath.Join(data, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	bytes := make([]byte, header+count)
	if _, err := io.ReadFull(gz, bytes); err != nil {
		t.Fatal(err)
	}
	return bytes[header:]
}

func slice(t *testing.T) ([]float32, []int32) {
	pixels := readIdx(t, "train-images-idx3-ubyte.gz", 16, batch*784)
	images := make([]float32, len(pixels))
	for i, p := range pixels {
		images[i] = float32(p) / 255.0
	}
	labels := make([]int32, batch)
	for i, l := range readIdx(t, "train-labels-idx1-ubyte.gz", 8, batch) {
		labels[i] = int32(l)
	}
	return images, labels
}

// referenceLosses are the C API's losses of bindings/reference/reference_losses.c, in order.
func referenceLosses(t *testing.T) []string {
	text, err := os.ReadFile(os.Getenv("SPARSETRAIN_REFERENCE"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(text))
}

// referenceProtocol sets the reference's dense kernels and Adam at 1e-3.
func referenceProtocol(t *testing.T, m *Model) {
	if err := m.SetKernel(KernelDense); err != nil {
		t.Fatal(err)
	}
	if err := m.SetOptimizer(Adam(1e-3)); err != nil {
		t.Fatal(err)
	}
}

// mnist is the reference networks' input: one channel of 28 x 28 pixels.
var mnist = Shape{C: 1, H: 28, W: 28}

// same3x3 is a 3x3 convolution with bias keeping the map's size.
func same3x3(outChannels int64) ConvOptions {
	return ConvOptions{OutChannels: outChannels, Kernel: 3, Pad: SamePad, Bias: true}
}

// smallCnn is the model of bindings/reference/reference_losses.c.
func smallCnn(t *testing.T, ctx *Context) *Model {
	m, err := NewBuilder(ctx, mnist).Conv2d("", same3x3(8)).Relu().MaxPool(2, 2, 0).Flatten().
		Linear("", 10).Build(7)
	if err != nil {
		t.Fatal(err)
	}
	referenceProtocol(t, m)
	return m
}

// branchingNet is the second network of bindings/reference/reference_losses.c: a branch, an
// addition, the other activations, a channel gate, a concatenation, the other poolings.
func branchingNet(t *testing.T, ctx *Context) *Model {
	m, err := NewBuilder(ctx, mnist).Conv2d("", same3x3(8)).Relu6("").
		Conv2d("", same3x3(8)).HardSwish("").From("relu6_1").DepthwiseConv2d("", ConvOptions{Kernel: 3, Pad: SamePad, Bias: true}).
		Conv2d("", ConvOptions{OutChannels: 8, Kernel: 1, Bias: true}).
		Silu("").Add("join", "hardswish1", "silu1").HardSigmoid("", 1.0/6.0, 0.5).Clip("", 0, 0.9).
		Sigmoid("").AdaptiveAvgPool("gap", 1).Multiply("gated", "sigmoid1", "gap").
		Concat("cat", "gated", "relu6_1").Conv2d("", ConvOptions{OutChannels: 16, Kernel: 3, Pad: SamePad, Bias: true, Groups: 4}).
		AvgPool("", PoolOptions{Window: 3, Stride: 2, Pad: 1, CountExcludesPad: true, CeilMode: true}).MaxPoolCeil(2, 2, 0).
		Flatten().Linear("", 10).Build(7)
	if err != nil {
		t.Fatal(err)
	}
	referenceProtocol(t, m)
	return m
}

func TestBranchingNetEqualsTheCAPI(t *testing.T) {
	reference := referenceLosses(t)
	images, labels := slice(t)
	ctx, err := NewContext(2)
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Close()
	m := branchingNet(t, ctx)
	defer m.Close()
	for step := 0; step < 5; step++ {
		r, err := m.TrainStep(images, labels)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := strconv.ParseFloat(reference[5+step], 64)
		if r.Loss != want {
			t.Errorf("step %d: loss %.17g, the C API gave %.17g", step, r.Loss, want)
		}
	}
	var e *Error
	if _, err := NewBuilder(ctx, Shape{C: 1, H: 8, W: 8}).Relu().From("nope").Build(1); !errors.As(err, &e) ||
		e.Status != InvalidArgument || !strings.Contains(e.Message, "'nope'") {
		t.Errorf("unknown tensor: %v", err)
	}
}

func TestOtherLossesEqualTheCAPI(t *testing.T) {
	reference := referenceLosses(t)
	images, labels := slice(t)
	weights := make([]float32, 10)
	for i := range weights {
		weights[i] = 0.5 + 0.1*float32(i)
	}
	batch := len(labels)
	pixels := len(images) / batch
	targets := make([]float32, 2*batch)
	for i := 0; i < batch; i++ {
		sum := 0.0
		for p := 0; p < pixels; p++ {
			sum += float64(images[i*pixels+p])
		}
		targets[2*i] = float32(sum / float64(pixels))
		targets[2*i+1] = float32(labels[i]) / 9.0
	}
	ctx, err := NewContext(2)
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Close()
	for network := 0; network < 2; network++ {
		outputs := int64(10)
		if network == 1 {
			outputs = 2
		}
		m, err := NewBuilder(ctx, mnist).Conv2d("", same3x3(8)).Relu().MaxPool(2, 2, 0).
			Flatten().Linear("", outputs).Build(7)
		if err != nil {
			t.Fatal(err)
		}
		referenceProtocol(t, m)
		if network == 0 {
			err = m.SetLoss(LossSoftmaxCrossEntropy, 0.1, weights)
		} else {
			err = m.SetLoss(LossMSE, 0, nil)
			var e *Error
			if _, terr := m.TrainStep(images, labels); !errors.As(terr, &e) ||
				!strings.Contains(e.Message, "takes float targets") {
				t.Errorf("labels under MSE: %v", terr)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		for step := 0; step < 5; step++ {
			var r StepResult
			if network == 0 {
				r, err = m.TrainStep(images, labels)
			} else {
				r, err = m.TrainStepTargets(images, targets)
			}
			if err != nil {
				t.Fatal(err)
			}
			want, _ := strconv.ParseFloat(reference[10+5*network+step], 64)
			if r.Loss != want {
				t.Errorf("network %d step %d: loss %.17g, the C API gave %.17g", network, step, r.Loss, want)
			}
		}
		m.Close()
	}
}

func TestVersionAndIsa(t *testing.T) {
	if Version() != "1.4.0" {
		t.Errorf("version %q", Version())
	}
	if CurrentIsa() == IsaAuto || !IsaSupported(IsaAuto) {
		t.Errorf("isa %v", CurrentIsa())
	}
	// every build lacks another architecture's ISAs: asking for one is refused, changing nothing
	before := CurrentIsa()
	for isa := IsaAuto; isa <= IsaSVE2; isa++ {
		if IsaSupported(isa) {
			continue
		}
		var e *Error
		if err := SetIsa(isa); !errors.As(err, &e) || e.Status != Unsupported {
			t.Errorf("SetIsa(%v) = %v, want Unsupported", isa, err)
		}
		if CurrentIsa() != before {
			t.Errorf("SetIsa(%v) changed the ISA to %v", isa, CurrentIsa())
		}
	}
}

func TestLossDecreasesAndEqualsTheCAPI(t *testing.T) {
	reference := referenceLosses(t)
	images, labels := slice(t)
	ctx, err := NewContext(2)
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Close()
	if threads, err := ctx.Threads(); threads != 2 || err != nil {
		t.Errorf("threads %d, %v", threads, err)
	}
	m := smallCnn(t, ctx)
	defer m.Close()
	var first, last float64
	for step := 0; step < 5; step++ {
		r, err := m.TrainStep(images, labels)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := strconv.ParseFloat(reference[step], 64)
		if r.Loss != want {
			t.Errorf("step %d: loss %.17g, the C API gave %.17g", step, r.Loss, want)
		}
		if step == 0 {
			first = r.Loss
		}
		last = r.Loss
	}
	if !(last < first) {
		t.Errorf("loss did not decrease: %v -> %v", first, last)
	}
	layers, err := m.Layers()
	if err != nil || layers[0].Name != "conv1" || !layers[0].IsConv || layers[0].Kernels[0] != KernelDense {
		t.Errorf("layers %+v, %v", layers, err)
	}
}

func TestBadInputReturnsTheNativeError(t *testing.T) {
	ctx, _ := NewContext(1)
	defer ctx.Close()
	m := smallCnn(t, ctx)
	defer m.Close()
	var e *Error
	_, err := m.TrainStep(make([]float32, 10), make([]int32, batch))
	if !errors.As(err, &e) || e.Status != ShapeMismatch || !strings.Contains(e.Message, "st_model_train_step") {
		t.Errorf("got %v", err)
	}
	images, labels := slice(t)
	labels[3] = 10
	if _, err := m.TrainStep(images, labels); !errors.As(err, &e) || e.Status != InvalidArgument ||
		!strings.Contains(e.Message, "label 10") {
		t.Errorf("got %v", err)
	}
	for _, bad := range []int{-1, 0, len(images) + 1} {
		if logits, err := m.Predict(images, bad); logits != nil || !errors.As(err, &e) ||
			e.Status != InvalidArgument || !strings.Contains(e.Message, "batch") {
			t.Errorf("Predict(images, %d): got %v", bad, err)
		}
	}
	if err := m.Load("/no/such/file.safetensors"); !errors.As(err, &e) || e.Status != IOError {
		t.Errorf("got %v", err)
	}
	if steps, _ := m.Steps(); steps != 0 {
		t.Errorf("steps %d after refused calls", steps)
	}
	if _, err := NewBuilder(ctx, Shape{C: 1, H: 8, W: 8}).Flatten().Conv2d("", same3x3(4)).Build(1); !errors.As(err, &e) ||
		e.Status != ShapeMismatch {
		t.Errorf("got %v", err)
	}
	if _, err := NewContext(-1); !errors.As(err, &e) || e.Status != InvalidArgument {
		t.Errorf("got %v", err)
	}
}

func TestOptionsOutsideTheirCallAreRefused(t *testing.T) {
	ctx, _ := NewContext(1)
	defer ctx.Close()
	var e *Error
	depthwise := ConvOptions{OutChannels: 8, Kernel: 3, Pad: SamePad}
	_, err := NewBuilder(ctx, mnist).DepthwiseConv2d("", depthwise).Build(1)
	if !errors.As(err, &e) || e.Status != InvalidArgument || !strings.Contains(e.Message, "DepthwiseConv2d") {
		t.Errorf("depthwise with OutChannels: got %v", err)
	}
	grouped := ConvOptions{OutChannels: 4, Kernel: 3, Groups: 2}
	if _, err := NewConv(ctx, Shape{1, 4, 8, 8}, grouped); !errors.As(err, &e) || e.Status != Unsupported ||
		!strings.Contains(e.Message, "NewConv") {
		t.Errorf("NewConv with groups: got %v", err)
	}
	// A zero Stride is 1 and SamePad keeps the map: 8 x 8 maps of 4 channels feed the linear layer.
	m, err := NewBuilder(ctx, Shape{C: 1, H: 8, W: 8}).Conv2d("c", ConvOptions{OutChannels: 4, Kernel: 3, Pad: SamePad}).
		Flatten().Linear("fc", 2).Build(1)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if w, err := m.Parameter("fc.weight"); err != nil || len(w) != 2*4*8*8 {
		t.Errorf("fc.weight has %d values (%v), want %d", len(w), err, 2*4*8*8)
	}
}

func TestClosedObjectsCannotBeUsed(t *testing.T) {
	ctx, _ := NewContext(1)
	m := smallCnn(t, ctx)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil { // closing twice is harmless
		t.Fatal(err)
	}
	if _, err := m.Steps(); err != ErrClosed {
		t.Errorf("got %v", err)
	}
	ctx.Close()
	if _, err := NewTensor(ctx, TensorDesc{Shape: Shape{1, 1, 1, 1}}, nil); err != ErrClosed {
		t.Errorf("got %v", err)
	}
}

func TestCheckpointRoundTrip(t *testing.T) {
	images, labels := slice(t)
	ctx, _ := NewContext(2)
	defer ctx.Close()
	m, other := smallCnn(t, ctx), smallCnn(t, ctx)
	defer m.Close()
	defer other.Close()
	if _, err := m.TrainStep(images, labels); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "model.safetensors")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	if err := other.Load(path); err != nil {
		t.Fatal(err)
	}
	a, _ := m.Predict(images, batch)
	b, _ := other.Predict(images, batch)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("logit %d: %v != %v", i, a[i], b[i])
		}
	}
	if err := other.SetFrozen("conv1", true); err != nil {
		t.Fatal(err)
	}
}

func TestConvMatchesAScalarReference(t *testing.T) {
	x := make([]float32, 2*4*5)
	w := make([]float32, 3*2*3*3)
	b := []float32{0.5, -1, 0.25}
	for i := range x {
		if i%3 != 0 {
			x[i] = float32(i%7) - 3
		}
	}
	for i := range w {
		w[i] = float32((i*5)%9-4) / 4
	}
	ctx, _ := NewContext(1)
	defer ctx.Close()
	conv, err := NewConv(ctx, Shape{1, 2, 4, 5}, ConvOptions{OutChannels: 3, Kernel: 3, Pad: 1, Bias: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conv.Close()
	tx, _ := NewTensor(ctx, TensorDesc{Shape{1, 2, 4, 5}, LayoutBlocked}, x)
	ty, _ := NewTensor(ctx, TensorDesc{Shape{1, 3, 4, 5}, LayoutBlocked}, nil)
	defer tx.Close()
	defer ty.Close()
	if err := conv.SetWeights(w, b); err != nil {
		t.Fatal(err)
	}
	for _, k := range []Kernel{KernelDense, KernelSparse} {
		conv.SetKernel(k)
		if err := conv.Forward(tx, ty); err != nil {
			t.Fatal(err)
		}
		if c, _ := conv.LastCall(PassForward); c.Kernel != k || !c.Ran {
			t.Errorf("last call %+v", c)
		}
		y, _ := ty.Values()
		for k2 := 0; k2 < 3; k2++ {
			for p := 0; p < 4; p++ {
				for q := 0; q < 5; q++ {
					sum := float64(b[k2])
					for c := 0; c < 2; c++ {
						for r := 0; r < 3; r++ {
							for s := 0; s < 3; s++ {
								h, ww := p-1+r, q-1+s
								if h >= 0 && h < 4 && ww >= 0 && ww < 5 {
									sum += float64(x[(c*4+h)*5+ww]) * float64(w[((k2*2+c)*3+r)*3+s])
								}
							}
						}
					}
					if math.Abs(float64(y[(k2*4+p)*5+q])-sum) > 1e-4 {
						t.Errorf("y[%d,%d,%d] = %v, want %v", k2, p, q, y[(k2*4+p)*5+q], sum)
					}
				}
			}
		}
	}
	var e *Error
	if err := conv.Forward(ty, tx); !errors.As(err, &e) || e.Status != ShapeMismatch {
		t.Errorf("got %v", err)
	}
}

// squeezeNet is torchvision's SqueezeNet 1.0 in ONNX (tests/onnx/torchvision_golden.py):
// 3x64x64, 10 classes.
func squeezeNet() string {
	return filepath.Join(os.Getenv("SPARSETRAIN_TESTDATA"), "squeezenet1_0.onnx")
}

func noise(count int) []float32 {
	values := make([]float32, count)
	seed := uint32(5)
	for i := range values {
		seed = seed*1103515245 + 12345
		values[i] = float32(seed>>16%1000)/500 - 1
	}
	return values
}

func equal(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestImportTrainExportONNX(t *testing.T) {
	images := noise(2 * 3 * 64 * 64)
	ctx, err := NewContext(2)
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Close()
	file, err := os.ReadFile(squeezeNet())
	if err != nil {
		t.Fatal(err)
	}
	model, err := ImportONNX(ctx, squeezeNet(), "").Build(1)
	if err != nil {
		t.Fatal(err)
	}
	defer model.Close()
	fromBytes, err := ImportONNXBytes(ctx, file, "").Build(2)
	if err != nil {
		t.Fatal(err)
	}
	defer fromBytes.Close()
	fromReader, err := ImportONNXReader(ctx, strings.NewReader(string(file)), "").Build(3)
	if err != nil {
		t.Fatal(err)
	}
	defer fromReader.Close()
	want, _ := model.Predict(images, 2)
	for _, other := range []*Model{fromBytes, fromReader} {
		if got, err := other.Predict(images, 2); err != nil || !equal(got, want) {
			t.Fatalf("imported copies predict differently (%v)", err)
		}
	}

	// Trained, exported and imported again: the same predictions.
	if _, err := model.TrainStep(images, []int32{1, 2}); err != nil {
		t.Fatal(err)
	}
	if err := model.SetKernel(KernelDense); err != nil {
		t.Fatal(err)
	}
	onnx, err := model.ExportONNXBytes()
	if err != nil {
		t.Fatal(err)
	}
	again, err := ImportONNXBytes(ctx, onnx, "").Build(4)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if err := again.SetKernel(KernelDense); err != nil {
		t.Fatal(err)
	}
	want, _ = model.Predict(images, 2)
	if got, err := again.Predict(images, 2); err != nil || !equal(got, want) {
		t.Fatalf("the export predicts differently (%v)", err)
	}

	// Cut at the pooled features with a new head: the imported layers keep PyTorch's names.
	cut, err := ImportONNX(ctx, squeezeNet(), "/classifier/classifier.3/GlobalAveragePool_output_0").Linear("head", 4).Build(5)
	if err != nil {
		t.Fatal(err)
	}
	defer cut.Close()
	if err := cut.SetFrozen("features", true); err != nil {
		t.Fatal(err)
	}
	parameters, err := cut.Parameters()
	if err != nil {
		t.Fatal(err)
	}
	first, last := parameters[0], parameters[len(parameters)-1]
	if first.Name != "features.0.weight" || len(first.Shape) != 4 || first.Shape[0] != 96 || !first.Frozen || last.Name != "head.bias" {
		t.Fatalf("parameters: first %+v, last %+v", first, last)
	}
	bias, err := cut.Parameter("head.bias")
	if err != nil {
		t.Fatal(err)
	}
	bias[0] = 3
	if err := cut.SetParameter("head.bias", bias); err != nil {
		t.Fatal(err)
	}
	checkpoint, err := cut.SaveBytes()
	if err != nil {
		t.Fatal(err)
	}
	all, err := cut.ParametersFlat()
	if err != nil {
		t.Fatal(err)
	}
	if err := cut.SetParameter("head.bias", make([]float32, 4)); err != nil {
		t.Fatal(err)
	}
	if err := cut.LoadReader(strings.NewReader(string(checkpoint))); err != nil {
		t.Fatal(err)
	}
	if got, _ := cut.ParametersFlat(); !equal(got, all) {
		t.Fatal("the checkpoint did not bring the parameters back")
	}
	if err := cut.SetParametersFlat(all[1:]); err == nil {
		t.Fatal("a short flat buffer was taken")
	}

	// Refusals: errors carrying the C API's status and message, never a panic.
	var e *Error
	if _, err := ImportONNXBytes(ctx, []byte{1, 2, 3}, "").Build(1); !errors.As(err, &e) || e.Status != CorruptData {
		t.Fatalf("garbage: %v", err)
	}
	if _, err := ImportONNX(ctx, squeezeNet(), "nothing").Build(1); err == nil || !strings.Contains(err.Error(), "nothing") {
		t.Fatalf("bad cut: %v", err)
	}
	if _, err := ImportONNXBytes(ctx, nil, "").Build(1); !errors.As(err, &e) || e.Status != InvalidArgument {
		t.Fatalf("nil bytes: %v", err)
	}
	if err := cut.SetParameter("head.bias", []float32{float32(math.NaN()), 0, 0, 0}); !errors.As(err, &e) || e.Status != InvalidArgument {
		t.Fatalf("NaN: %v", err)
	}
}

// The logits an evaluation step returns are those its loss and accuracy come from (recomputed
// here from them) and those Predict gives; the same for the outputs of a float-target loss.
func TestEvaluationReturnsItsOutputs(t *testing.T) {
	images, labels := slice(t)
	ctx, _ := NewContext(2)
	defer ctx.Close()
	m := smallCnn(t, ctx)
	defer m.Close()
	if _, err := m.TrainStep(images, labels); err != nil {
		t.Fatal(err)
	}
	classes := int(m.Classes())
	logits := make([]float32, batch*classes)
	r, err := m.EvalStepLogits(images, labels, logits)
	if err != nil {
		t.Fatal(err)
	}
	predicted, _ := m.Predict(images, batch)
	loss, correct := 0.0, int64(0)
	for i := 0; i < batch; i++ {
		row := logits[i*classes : (i+1)*classes]
		best, sum := 0, 0.0
		for c := range row {
			if row[c] > row[best] {
				best = c
			}
			sum += math.Exp(float64(row[c] - row[0]))
		}
		loss += math.Log(sum) - float64(row[labels[i]]-row[0])
		if best == int(labels[i]) {
			correct++
		}
	}
	loss /= batch
	if !equal(logits, predicted) || math.Abs(loss-r.Loss) > 1e-5*math.Abs(loss) || correct != r.Correct {
		t.Errorf("eval loss %v correct %d; from its logits %v %d; logits equal Predict's: %v", r.Loss,
			r.Correct, loss, correct, equal(logits, predicted))
	}
	var e *Error
	if _, err := m.EvalStepLogits(images, labels, logits[1:]); !errors.As(err, &e) || e.Status != ShapeMismatch ||
		!strings.HasPrefix(e.Message, "Model.EvalStepLogits: ") {
		t.Errorf("short logits: %v", err)
	}

	regression, err := NewBuilder(ctx, mnist).Conv2d("", same3x3(4)).Relu().Flatten().Linear("", 2).Build(3)
	if err != nil {
		t.Fatal(err)
	}
	defer regression.Close()
	if err := regression.SetLoss(LossMSE, 0, nil); err != nil {
		t.Fatal(err)
	}
	targets := make([]float32, 2*batch)
	for i := range targets {
		targets[i] = float32(i%5) / 4
	}
	outputs := make([]float32, len(targets))
	r, err = regression.EvalStepTargetsOutputs(images, targets, outputs)
	if err != nil {
		t.Fatal(err)
	}
	mse := 0.0
	for i := range outputs {
		mse += math.Pow(float64(outputs[i]-targets[i]), 2)
	}
	mse /= float64(len(outputs))
	if math.Abs(mse-r.Loss) > 1e-5*mse {
		t.Errorf("MSE %v, from its outputs %v", r.Loss, mse)
	}
}
