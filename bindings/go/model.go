package sparsetrain

import (
	"fmt"
	"io"
	"runtime"
	"strings"

	"sparsetrain.org/sparsetrain/internal/native"
)

// Optimizer holds optimiser settings; make one with SGD, Adam or AdamW.
type Optimizer struct {
	kind                                      int
	LearningRate, Momentum, WeightDecay, Clip float64
	Nesterov                                  bool
	cosine                                    bool
	WarmupSteps, TotalSteps                   int64
}

// SGD with momentum.
func SGD(lr, momentum float64) Optimizer {
	return Optimizer{kind: 0, LearningRate: lr, Momentum: momentum}
}

// Adam with PyTorch's defaults for betas and eps.
func Adam(lr float64) Optimizer { return Optimizer{kind: 1, LearningRate: lr, Momentum: 0.9} }

// AdamW: Adam with decoupled weight decay.
func AdamW(lr, weightDecay float64) Optimizer {
	return Optimizer{kind: 2, LearningRate: lr, Momentum: 0.9, WeightDecay: weightDecay}
}

// WithCosine decays the rate to zero over totalSteps after a linear warm-up.
func (o Optimizer) WithCosine(warmupSteps, totalSteps int64) Optimizer {
	o.cosine, o.WarmupSteps, o.TotalSteps = true, warmupSteps, totalSteps
	return o
}

// StepResult holds the figures of one training or evaluation step.
type StepResult struct {
	Loss     float64
	Correct  int64
	Examples int64
	GradNorm float64
}

// LayerInfo is one layer's telemetry from the last step.
type LayerInfo struct {
	Name, Kind            string
	Frozen, IsConv        bool
	InputZeros, GradZeros float64
	Ran                   [3]bool
	Kernels               [3]Kernel
	Milliseconds          [3]float64
}

// Builder adds layers in order; empty names get automatic ones (conv1, relu1, fc1, ...).
// The first error stops the chain and is returned by Build.
type Builder struct {
	h   native.Struct_SS_st_model
	err error
	ok  bool
}

// NewBuilder starts a model for images of input.C channels, input.H x input.W pixels (input.N
// is not used: each step brings its own batch).
func NewBuilder(ctx *Context, input Shape) *Builder {
	ch, err := contextOf(ctx)
	if err != nil {
		return &Builder{err: err}
	}
	return newBuilder(value(func() native.Struct_SS_st_model {
		return native.Stb_model_create(ch, input.C, input.H, input.W)
	}))
}

// newBuilder takes over the unfinished model h (when err is nil).
func newBuilder(h native.Struct_SS_st_model, err error) *Builder {
	b := &Builder{h: h, err: err, ok: err == nil}
	// A builder dropped before Build releases its unfinished model.
	runtime.SetFinalizer(b, func(b *Builder) {
		if b.ok {
			native.Stb_model_destroy(b.h)
		}
	})
	return b
}

func (b *Builder) add(f func(native.Struct_SS_st_model) int) *Builder {
	if b == nil {
		return &Builder{err: errNilObject()}
	}
	if b.err == nil {
		b.err = call(func() int { return f(b.h) })
	}
	return b
}

func flag(on bool) int {
	if on {
		return 1
	}
	return 0
}

// Conv2d adds a convolution of o.OutChannels outputs; o.Groups above 1 makes it a grouped one.
func (b *Builder) Conv2d(name string, o ConvOptions) *Builder {
	return b.add(func(h native.Struct_SS_st_model) int {
		if o.Groups == 0 || o.Groups == 1 {
			return native.Stb_model_add_conv2d(h, name, o.OutChannels, o.Kernel, o.stride(), o.Pad, flag(o.Bias))
		}
		return native.Stb_model_add_grouped_conv2d(h, name, o.OutChannels, o.Kernel, o.stride(), o.Pad,
			flag(o.Bias), o.Groups)
	})
}

// DepthwiseConv2d adds a convolution of each channel with its own filter (groups = channels, as
// many outputs as inputs: leave o.OutChannels and o.Groups 0).
func (b *Builder) DepthwiseConv2d(name string, o ConvOptions) *Builder {
	if b != nil && b.err == nil && (o.OutChannels != 0 || o.Groups != 0) {
		b.err = newError(InvalidArgument, fmt.Sprintf(
			"OutChannels (%d) and Groups (%d) are the input's channels; leave them 0", o.OutChannels, o.Groups))
	}
	return b.add(func(h native.Struct_SS_st_model) int {
		return native.Stb_model_add_depthwise_conv2d(h, name, o.Kernel, o.stride(), o.Pad, flag(o.Bias))
	})
}

// BatchNorm adds 2-D batch normalisation.
func (b *Builder) BatchNorm(name string) *Builder {
	return b.add(func(h native.Struct_SS_st_model) int { return native.Stb_model_add_batchnorm(h, name) })
}

// Relu adds a ReLU.
func (b *Builder) Relu() *Builder {
	return b.add(func(h native.Struct_SS_st_model) int { return native.Stb_model_add_relu(h, "") })
}

// MaxPool adds max pooling.
func (b *Builder) MaxPool(window, stride, pad int64) *Builder {
	return b.add(func(h native.Struct_SS_st_model) int { return native.Stb_model_add_maxpool(h, "", window, stride, pad) })
}

// MaxPoolCeil adds max pooling in ceil mode.
func (b *Builder) MaxPoolCeil(window, stride, pad int64) *Builder {
	return b.add(func(h native.Struct_SS_st_model) int {
		return native.Stb_model_add_maxpool_ceil(h, "", window, stride, pad)
	})
}

// PoolOptions describe a pooling window; a zero field takes PyTorch's default.
type PoolOptions struct {
	Window int64 // square window size
	Stride int64 // 0: Window
	Pad    int64 // zeros (average pooling) on each side
	// Average pooling divides by the input pixels a window covers, not by its size (PyTorch's
	// count_include_pad=False).
	CountExcludesPad bool
	CeilMode         bool // output size rounded up, as PyTorch's ceil_mode
}

// AvgPool adds average pooling as PyTorch's AvgPool2d.
func (b *Builder) AvgPool(name string, o PoolOptions) *Builder {
	stride := o.Stride
	if stride == 0 {
		stride = o.Window
	}
	return b.add(func(h native.Struct_SS_st_model) int {
		return native.Stb_model_add_avgpool(h, name, o.Window, stride, o.Pad, flag(!o.CountExcludesPad), flag(o.CeilMode))
	})
}

// AdaptiveAvgPool adds adaptive average pooling to size x size, 4-D.
func (b *Builder) AdaptiveAvgPool(name string, size int64) *Builder {
	return b.add(func(h native.Struct_SS_st_model) int { return native.Stb_model_add_adaptive_avgpool(h, name, size) })
}

// GlobalAvgPool adds global average pooling.
func (b *Builder) GlobalAvgPool() *Builder {
	return b.add(func(h native.Struct_SS_st_model) int { return native.Stb_model_add_global_avgpool(h, "") })
}

// Flatten adds a flatten layer.
func (b *Builder) Flatten() *Builder {
	return b.add(func(h native.Struct_SS_st_model) int { return native.Stb_model_add_flatten(h, "") })
}

// Dropout adds dropout with the given probability.
func (b *Builder) Dropout(p float32) *Builder {
	return b.add(func(h native.Struct_SS_st_model) int { return native.Stb_model_add_dropout(h, "", p) })
}

// Linear adds a fully connected layer with bias.
func (b *Builder) Linear(name string, outFeatures int64) *Builder {
	return b.add(func(h native.Struct_SS_st_model) int { return native.Stb_model_add_linear(h, name, outFeatures, 1) })
}

// Relu6 adds min(max(x, 0), 6).
func (b *Builder) Relu6(name string) *Builder {
	return b.add(func(h native.Struct_SS_st_model) int { return native.Stb_model_add_relu6(h, name) })
}

// Clip adds min(max(x, lo), hi), whose gradient is 1 strictly between the bounds.
func (b *Builder) Clip(name string, lo, hi float32) *Builder {
	return b.add(func(h native.Struct_SS_st_model) int { return native.Stb_model_add_clip(h, name, lo, hi) })
}

// Sigmoid adds 1 / (1 + exp(-x)).
func (b *Builder) Sigmoid(name string) *Builder {
	return b.add(func(h native.Struct_SS_st_model) int { return native.Stb_model_add_sigmoid(h, name) })
}

// HardSigmoid adds clip(alpha x + beta, 0, 1); PyTorch's is alpha 1/6, beta 1/2.
func (b *Builder) HardSigmoid(name string, alpha, beta float32) *Builder {
	return b.add(func(h native.Struct_SS_st_model) int { return native.Stb_model_add_hardsigmoid(h, name, alpha, beta) })
}

// HardSwish adds x * relu6(x + 3) / 6.
func (b *Builder) HardSwish(name string) *Builder {
	return b.add(func(h native.Struct_SS_st_model) int { return native.Stb_model_add_hardswish(h, name) })
}

// Silu adds x * sigmoid(x).
func (b *Builder) Silu(name string) *Builder {
	return b.add(func(h native.Struct_SS_st_model) int { return native.Stb_model_add_silu(h, name) })
}

// From makes the tensor named tensor (a layer's name, or "input") the one the next layer reads.
func (b *Builder) From(tensor string) *Builder {
	return b.add(func(h native.Struct_SS_st_model) int { return native.Stb_model_from(h, tensor) })
}

// Add adds the sum of the tensors named x and y, of one shape ("": the current tensor).
func (b *Builder) Add(name, x, y string) *Builder {
	return b.add(func(h native.Struct_SS_st_model) int { return native.Stb_model_add_add(h, name, x, y) })
}

// Concat adds the named tensors' channels one after another ("": the current tensor).
func (b *Builder) Concat(name string, inputs ...string) *Builder {
	return b.add(func(h native.Struct_SS_st_model) int {
		return native.Stb_model_add_concat(h, name, strings.Join(inputs, "\n"))
	})
}

// Multiply adds x * y, y of x's shape or one factor per channel ("": the current tensor).
func (b *Builder) Multiply(name, x, y string) *Builder {
	return b.add(func(h native.Struct_SS_st_model) int { return native.Stb_model_add_multiply(h, name, x, y) })
}

// ResidualBegin starts a residual block's body.
func (b *Builder) ResidualBegin(name string) *Builder {
	return b.add(func(h native.Struct_SS_st_model) int { return native.Stb_model_residual_begin(h, name) })
}

// ResidualShortcut starts the block's shortcut (none: identity).
func (b *Builder) ResidualShortcut() *Builder {
	return b.add(native.Stb_model_residual_shortcut)
}

// ResidualEnd adds the body and the shortcut.
func (b *Builder) ResidualEnd() *Builder { return b.add(native.Stb_model_residual_end) }

// Build returns the model with parameters initialised from seed, or the first error.
func (b *Builder) Build(seed int64) (*Model, error) {
	if b == nil {
		return nil, errNilObject()
	}
	if b.err == nil {
		b.err = call(func() int { return native.Stb_model_finish(b.h, seed) })
	}
	if b.err != nil {
		if b.ok {
			_ = call(func() int { return native.Stb_model_destroy(b.h) })
			b.ok = false
		}
		return nil, b.err
	}
	m := &Model{classes: native.Stb_model_classes(b.h)}
	b.ok = false
	b.err = ErrClosed // used up
	return track(m, b.h, native.Stb_model_destroy, &m.handle), nil
}

// Model is a network to train, evaluate and run.
type Model struct {
	handle[native.Struct_SS_st_model]
	classes int64
}

// get is the live handle, or an error for a nil or closed model.
func (m *Model) get() (native.Struct_SS_st_model, error) {
	if m == nil {
		return nil, errNilObject()
	}
	return m.handle.get()
}

// Close releases the model.
func (m *Model) Close() error {
	if m == nil {
		return errNilObject()
	}
	return m.close()
}

// Classes is the number of class scores the model gives per image (0 for a nil model).
func (m *Model) Classes() int64 {
	if m == nil {
		return 0
	}
	return m.classes
}

func (m *Model) do(f func(native.Struct_SS_st_model) int) error {
	h, err := m.get()
	if err != nil {
		return err
	}
	return call(func() int { return f(h) })
}

// SetOptimizer replaces the optimiser (its state starts afresh).
func (m *Model) SetOptimizer(o Optimizer) error {
	schedule := 0
	if o.cosine {
		schedule = 2
	}
	return m.do(func(h native.Struct_SS_st_model) int {
		return native.Stb_model_set_optimizer(h, o.kind, o.LearningRate, o.Momentum, flag(o.Nesterov),
			o.WeightDecay, o.Clip, schedule, o.WarmupSteps, o.TotalSteps)
	})
}

// SetKernel forces dense or sparse convolution kernels, or the per-layer choice.
func (m *Model) SetKernel(k Kernel) error {
	return m.do(func(h native.Struct_SS_st_model) int { return native.Stb_model_set_kernel(h, int(k)) })
}

// SetLoss sets the training loss; labelSmoothing (in [0, 1]) and classWeights (one per class, or
// nil) apply to cross-entropy only.
func (m *Model) SetLoss(loss Loss, labelSmoothing float64, classWeights []float32) error {
	return m.do(func(h native.Struct_SS_st_model) int {
		return native.Stb_model_set_loss(h, int(loss), labelSmoothing, classWeights)
	})
}

// SetCheckInputs refuses images holding NaN or Inf when on.
func (m *Model) SetCheckInputs(on bool) error {
	return m.do(func(h native.Struct_SS_st_model) int { return native.Stb_model_set_check_inputs(h, flag(on)) })
}

// SetFrozen freezes or unfreezes the named layer.
func (m *Model) SetFrozen(layer string, frozen bool) error {
	return m.do(func(h native.Struct_SS_st_model) int { return native.Stb_model_set_frozen(h, layer, flag(frozen)) })
}

func step(v []float64) StepResult {
	return StepResult{Loss: v[0], Correct: int64(v[1]), Examples: int64(v[2]), GradNorm: v[3]}
}

// TrainStep runs forward, loss, backward and an update on len(labels) images (NCHW floats).
func (m *Model) TrainStep(images []float32, labels []int32) (StepResult, error) {
	v := make([]float64, 4)
	err := m.do(func(h native.Struct_SS_st_model) int {
		return native.Stb_model_train_step(h, images, 0, int64(len(images)), labels, 0, int64(len(labels)), v)
	})
	return step(v), err
}

// EvalStep gives loss and accuracy in evaluation mode.
func (m *Model) EvalStep(images []float32, labels []int32) (StepResult, error) {
	return m.EvalStepLogits(images, labels, nil)
}

// EvalStepLogits is EvalStep that also fills logits (batch x classes) with the model's outputs.
func (m *Model) EvalStepLogits(images []float32, labels []int32, logits []float32) (StepResult, error) {
	v := make([]float64, 4)
	err := m.do(func(h native.Struct_SS_st_model) int {
		return native.Stb_model_eval_step(h, images, 0, int64(len(images)), labels, 0, int64(len(labels)), v,
			logits, 0, int64(len(logits)))
	})
	return step(v), err
}

// TrainStepTargets runs one step on float targets (batch x outputs), for the losses that take them.
func (m *Model) TrainStepTargets(images, targets []float32) (StepResult, error) {
	v := make([]float64, 4)
	err := m.do(func(h native.Struct_SS_st_model) int {
		return native.Stb_model_train_step_targets(h, images, 0, int64(len(images)), targets, 0,
			int64(len(targets)), int64(len(targets))/m.classes, v)
	})
	return step(v), err
}

// EvalStepTargets gives the loss of float targets in evaluation mode.
func (m *Model) EvalStepTargets(images, targets []float32) (StepResult, error) {
	return m.EvalStepTargetsOutputs(images, targets, nil)
}

// EvalStepTargetsOutputs is EvalStepTargets that also fills outputs (batch x outputs) with the
// model's outputs.
func (m *Model) EvalStepTargetsOutputs(images, targets, outputs []float32) (StepResult, error) {
	v := make([]float64, 4)
	err := m.do(func(h native.Struct_SS_st_model) int {
		return native.Stb_model_eval_step_targets(h, images, 0, int64(len(images)), targets, 0,
			int64(len(targets)), int64(len(targets))/m.classes, v, outputs, 0, int64(len(outputs)))
	})
	return step(v), err
}

// Predict returns the logits (batch x classes) of batch images.
func (m *Model) Predict(images []float32, batch int) ([]float32, error) {
	// Each image is at least one float, so this also bounds the logits allocated.
	if batch <= 0 || batch > len(images) {
		return nil, newError(InvalidArgument, fmt.Sprintf("batch must be in [1, %d] for %d image floats, got %d",
			len(images), len(images), batch))
	}
	logits := make([]float32, int64(batch)*m.Classes())
	err := m.do(func(h native.Struct_SS_st_model) int {
		return native.Stb_model_predict(h, images, 0, int64(len(images)), int64(batch), logits, 0, int64(len(logits)))
	})
	return logits, err
}

// Steps is the number of optimiser steps taken.
func (m *Model) Steps() (int64, error) {
	h, err := m.get()
	if err != nil {
		return 0, err
	}
	return value(func() int64 { return native.Stb_model_steps(h) })
}

// Save writes a checkpoint (atomically).
func (m *Model) Save(path string) error {
	return m.do(func(h native.Struct_SS_st_model) int { return native.Stb_model_save(h, path) })
}

// Load reads a checkpoint; on error the model is unchanged.
func (m *Model) Load(path string) error {
	return m.do(func(h native.Struct_SS_st_model) int { return native.Stb_model_load(h, path) })
}

// Layers returns every layer's telemetry from the last step.
func (m *Model) Layers() ([]LayerInfo, error) {
	h, err := m.get()
	if err != nil {
		return nil, err
	}
	count, err := value(func() int64 { return native.Stb_model_layer_count(h) })
	if err != nil {
		return nil, err
	}
	layers := make([]LayerInfo, count)
	for i := range layers {
		l := &layers[i]
		if l.Name, err = value(func() string { return native.Stb_model_layer_name(h, int64(i)) }); err != nil {
			return nil, err
		}
		if l.Kind, err = value(func() string { return native.Stb_model_layer_kind(h, int64(i)) }); err != nil {
			return nil, err
		}
		v := make([]float64, 13)
		if err = call(func() int { return native.Stb_model_layer_numbers(h, int64(i), v) }); err != nil {
			return nil, err
		}
		l.Frozen, l.IsConv, l.InputZeros, l.GradZeros = v[0] != 0, v[1] != 0, v[2], v[3]
		for p := 0; p < 3; p++ {
			l.Ran[p], l.Kernels[p], l.Milliseconds[p] = v[4+3*p] != 0, Kernel(v[5+3*p]), v[6+3*p]
		}
	}
	return layers, nil
}

// ImportONNX reads an ONNX model (docs/onnx.md) into a builder holding its layers with their
// trained values, cut at the tensor cutAt (empty: the whole graph). Layers added to it are the
// only ones Build initialises; an error is returned by Build.
func ImportONNX(ctx *Context, path, cutAt string) *Builder {
	ch, err := contextOf(ctx)
	if err != nil {
		return &Builder{err: err}
	}
	return newBuilder(value(func() native.Struct_SS_st_model { return native.Stb_model_import_onnx(ch, path, cutAt) }))
}

// ImportONNXBytes is ImportONNX from the bytes of an ONNX file.
func ImportONNXBytes(ctx *Context, onnx []byte, cutAt string) *Builder {
	ch, err := contextOf(ctx)
	if err != nil {
		return &Builder{err: err}
	}
	return newBuilder(value(func() native.Struct_SS_st_model {
		return native.Stb_model_import_onnx_buffer(ch, onnx, cutAt)
	}))
}

// ImportONNXReader is ImportONNX from a reader, read to its end.
func ImportONNXReader(ctx *Context, r io.Reader, cutAt string) *Builder {
	if r == nil {
		return &Builder{err: nilArgument("r")}
	}
	onnx, err := io.ReadAll(r)
	if err != nil {
		return &Builder{err: err}
	}
	return ImportONNXBytes(ctx, onnx, cutAt)
}

// ExportONNX writes the model to an ONNX file in inference form (docs/onnx.md), atomically.
func (m *Model) ExportONNX(path string) error {
	return m.do(func(h native.Struct_SS_st_model) int { return native.Stb_model_export_onnx(h, path) })
}

// ExportONNXBytes returns the ONNX file's bytes.
func (m *Model) ExportONNXBytes() ([]byte, error) {
	return m.bytes(native.Stb_model_export_onnx_size, native.Stb_model_export_onnx_into)
}

// SaveBytes returns the checkpoint Save would write.
func (m *Model) SaveBytes() ([]byte, error) {
	return m.bytes(native.Stb_model_checkpoint_size, native.Stb_model_save_into)
}

// bytes asks the size of something, then gets it into a slice of that size.
func (m *Model) bytes(size func(native.Struct_SS_st_model) int64, into func(native.Struct_SS_st_model, []byte) int) ([]byte, error) {
	h, err := m.get()
	if err != nil {
		return nil, err
	}
	n, err := value(func() int64 { return size(h) })
	if err != nil {
		return nil, err
	}
	out := make([]byte, n)
	return out, call(func() int { return into(h, out) })
}

// LoadBytes loads a checkpoint from memory, with the checks Load makes.
func (m *Model) LoadBytes(checkpoint []byte) error {
	return m.do(func(h native.Struct_SS_st_model) int { return native.Stb_model_load_buffer(h, checkpoint) })
}

// LoadReader loads a checkpoint from a reader, read to its end.
func (m *Model) LoadReader(r io.Reader) error {
	if r == nil {
		return nilArgument("r")
	}
	checkpoint, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	return m.LoadBytes(checkpoint)
}

// ParameterInfo describes a parameter or buffer, under its name (PyTorch's state_dict key for
// an imported model).
type ParameterInfo struct {
	Name     string
	Shape    []int64
	Count    int64
	IsBuffer bool // batch-norm running statistics: saved and loaded, never trained
	Frozen   bool // its layer is frozen
}

// Parameters lists every parameter and buffer, in the order they are saved and copied in.
func (m *Model) Parameters() ([]ParameterInfo, error) {
	h, err := m.get()
	if err != nil {
		return nil, err
	}
	count, err := value(func() int64 { return native.Stb_model_parameter_count(h) })
	if err != nil {
		return nil, err
	}
	parameters := make([]ParameterInfo, count)
	for i := range parameters {
		p := &parameters[i]
		if p.Name, err = value(func() string { return native.Stb_model_parameter_name(h, int64(i)) }); err != nil {
			return nil, err
		}
		v := make([]float64, 8)
		if err = call(func() int { return native.Stb_model_parameter_numbers(h, int64(i), v) }); err != nil {
			return nil, err
		}
		p.Shape = make([]int64, int(v[0]))
		for d := range p.Shape {
			p.Shape[d] = int64(v[1+d])
		}
		p.Count, p.IsBuffer, p.Frozen = int64(v[5]), v[6] != 0, v[7] != 0
	}
	return parameters, nil
}

// Parameter returns one parameter's values, in PyTorch's element order.
func (m *Model) Parameter(name string) ([]float32, error) {
	parameters, err := m.Parameters()
	if err != nil {
		return nil, err
	}
	for _, p := range parameters {
		if p.Name == name {
			values := make([]float32, p.Count)
			return values, m.do(func(h native.Struct_SS_st_model) int { return native.Stb_model_get_parameter(h, name, values) })
		}
	}
	return nil, newError(InvalidArgument, fmt.Sprintf("no parameter named '%s'", name))
}

// SetParameter sets one parameter (as many values as it has; NaN and Inf refused, nothing
// changed).
func (m *Model) SetParameter(name string, values []float32) error {
	return m.do(func(h native.Struct_SS_st_model) int { return native.Stb_model_set_parameter(h, name, values) })
}

// ParametersFlat returns all parameters and buffers as one slice, in Parameters order.
func (m *Model) ParametersFlat() ([]float32, error) {
	h, err := m.get()
	if err != nil {
		return nil, err
	}
	n, err := value(func() int64 { return native.Stb_model_parameters_size(h) })
	if err != nil {
		return nil, err
	}
	values := make([]float32, n)
	return values, call(func() int { return native.Stb_model_get_parameters(h, values) })
}

// SetParametersFlat sets all parameters and buffers from one slice, in Parameters order.
func (m *Model) SetParametersFlat(values []float32) error {
	return m.do(func(h native.Struct_SS_st_model) int { return native.Stb_model_set_parameters(h, values) })
}
