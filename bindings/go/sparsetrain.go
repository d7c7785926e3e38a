// Package sparsetrain trains and fine-tunes CNNs on the CPU through the SparseTrain native
// library, skipping the zeros ReLU creates.
//
// Objects (Context, Tensor, Conv, Model) own native handles: call Close when done; a finalizer
// releases forgotten ones. Functions return an *Error carrying the library's status and message
// for bad input; they never panic on it. A closed object returns ErrClosed.
package sparsetrain

import (
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"strings"

	"sparsetrain.org/sparsetrain/internal/native"
)

// Status is the C API's st_status.
type Status int

const (
	OK Status = iota
	InvalidArgument
	ShapeMismatch
	Unsupported
	OutOfMemory
	IOError
	CorruptData
	BadHandle
	Internal
)

var statusNames = [...]string{"OK", "INVALID_ARGUMENT", "SHAPE_MISMATCH", "UNSUPPORTED",
	"OUT_OF_MEMORY", "IO_ERROR", "CORRUPT_DATA", "BAD_HANDLE", "INTERNAL"}

func (s Status) String() string {
	if s >= 0 && int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Error is a call the library refused.
type Error struct {
	Status  Status
	Message string // names the function or method called, then what was wrong
}

func (e *Error) Error() string { return e.Status.String() + ": " + e.Message }

// ErrClosed is returned by methods of closed objects.
var ErrClosed = errors.New("sparsetrain: object is closed")

// call runs f (one native call) and returns its status as an error. The status and message are
// per OS thread, so the goroutine stays on its thread until both are read.
func call(f func() int) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return statusError(f())
}

func statusError(code int) error {
	if code == 0 {
		return nil
	}
	return newError(Status(code), native.Stb_message())
}

// value runs f (a native call returning a value) and returns the value and the call's status.
func value[T any](f func() T) (T, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	v := f()
	return v, statusError(native.Stb_status())
}

// Isa is an instruction set the kernels run on.
type Isa int

const (
	IsaAuto Isa = iota
	IsaAVX512
	IsaAVX2
	IsaSSE4
	IsaScalar
	IsaNEON
	IsaSVE
	IsaSVE2
)

func (i Isa) String() string { return native.Stb_isa_name(int(i)) }

// Kernel selects the convolution kernels: chosen per layer and call, or one kind throughout.
type Kernel int

const (
	KernelAuto Kernel = iota
	KernelDense
	KernelSparse
)

// Loss is a training loss, as PyTorch's: cross-entropy of class labels; mean squared error, L1
// and binary cross-entropy of logits, of float targets.
type Loss int

const (
	LossSoftmaxCrossEntropy Loss = iota
	LossMSE
	LossL1
	LossBCEWithLogits
)

// Layout is a tensor's storage: plain NCHW, or channel-blocked as convolutions take it.
type Layout int

const (
	LayoutNCHW Layout = iota
	LayoutBlocked
)

// Version is the library's version, "1.4.0".
func Version() string { return native.Stb_version_string() }

// IsaSupported tells whether this CPU can run isa.
func IsaSupported(isa Isa) bool { return native.Stb_isa_supported(int(isa)) != 0 }

// SetIsa caps the ISA every kernel uses (process-wide).
func SetIsa(isa Isa) error { return call(func() int { return native.Stb_set_isa(int(isa)) }) }

// CurrentIsa is the ISA kernels run on now (never IsaAuto).
func CurrentIsa() Isa { return Isa(native.Stb_get_isa()) }

// SetVerbose prints one line per convolution pass on stderr when on.
func SetVerbose(on bool) {
	level := 0
	if on {
		level = 1
	}
	native.Stb_set_verbose(level)
}

// handle is a native object's handle with a finalizer safety net.
type handle[H any] struct {
	h       H
	live    bool
	destroy func(H) int
}

func (o *handle[H]) get() (H, error) {
	if !o.live {
		var zero H
		return zero, ErrClosed
	}
	return o.h, nil
}

func (o *handle[H]) close() error {
	if !o.live {
		return nil
	}
	o.live = false
	return call(func() int { return o.destroy(o.h) })
}

// newError is a refusal of the package's function or method the user called ("Model.TrainStep",
// "NewTensor": the outermost exported one before the stack leaves the package), which its
// message starts with.
func newError(status Status, message string) *Error {
	const prefix = "sparsetrain.org/sparsetrain."
	pcs := make([]uintptr, 32)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(2, pcs)])
	called := ""
	for more := true; more; {
		var f runtime.Frame
		f, more = frames.Next()
		if !strings.HasPrefix(f.Function, prefix) || strings.HasSuffix(f.File, "_test.go") {
			break
		}
		if m := exportedName.FindStringSubmatch(strings.TrimPrefix(f.Function, prefix)); m != nil {
			called = m[2]
			if m[1] != "" {
				called = m[1] + "." + m[2]
			}
		}
	}
	if called != "" {
		message = called + ": " + message
	}
	return &Error{Status: status, Message: message}
}

// exportedName matches an exported function ("NewTensor") or method ("(*Model).TrainStep") of
// the package, not a closure or an unexported helper.
var exportedName = regexp.MustCompile(`^(?:\(\*([A-Z]\w*)\)\.)?([A-Z]\w*)$`)

// errNilObject is the error of a method called on a nil object.
func errNilObject() error { return newError(InvalidArgument, "called on a nil object") }

// nilArgument is the error for a nil object or reader passed as argument.
func nilArgument(argument string) error {
	return newError(InvalidArgument, argument+" is nil")
}

// contextOf is ctx's handle, or the error a nil or closed ctx is.
func contextOf(ctx *Context) (native.Struct_SS_st_context, error) {
	if ctx == nil {
		return nil, nilArgument("ctx")
	}
	return ctx.get()
}

func track[H any, O interface{ Close() error }](object O, h H, destroy func(H) int, into *handle[H]) O {
	*into = handle[H]{h: h, live: true, destroy: destroy}
	runtime.SetFinalizer(into, func(o *handle[H]) { _ = o.close() })
	return object
}

// Context holds the threads work runs on; the library starts no others.
type Context struct {
	handle[native.Struct_SS_st_context]
}

// NewContext makes a context running work on threads threads, the caller's included; 0 means
// every CPU the process may use, and larger counts are capped to those.
func NewContext(threads int) (*Context, error) {
	h, err := value(func() native.Struct_SS_st_context { return native.Stb_context_create(threads) })
	if err != nil {
		return nil, err
	}
	c := &Context{}
	return track(c, h, native.Stb_context_destroy, &c.handle), nil
}

// get is the live handle, or an error for a nil or closed context.
func (c *Context) get() (native.Struct_SS_st_context, error) {
	if c == nil {
		return nil, errNilObject()
	}
	return c.handle.get()
}

// Close releases the context (its objects keep it alive until they are closed).
func (c *Context) Close() error {
	if c == nil {
		return errNilObject()
	}
	return c.close()
}

// Threads is the number of threads the context runs work on.
func (c *Context) Threads() (int, error) {
	h, err := c.get()
	if err != nil {
		return 0, err
	}
	return value(func() int { return native.Stb_context_threads(h) })
}

// Tensor is a float tensor of shape (n, c, h, w) in native memory.
type Tensor struct {
	handle[native.Struct_SS_st_tensor]
}

// Shape is a tensor's dimensions: batch, channels, height, width.
type Shape struct{ N, C, H, W int64 }

// TensorDesc describes a tensor: its shape and how it is stored.
type TensorDesc struct {
	Shape  Shape
	Layout Layout
}

// NewTensor makes a tensor, zero or filled from nchw (N*C*H*W values in NCHW order) if not nil.
func NewTensor(ctx *Context, desc TensorDesc, nchw []float32) (*Tensor, error) {
	ch, err := contextOf(ctx)
	if err != nil {
		return nil, err
	}
	th, err := value(func() native.Struct_SS_st_tensor {
		s := desc.Shape
		return native.Stb_tensor_create(ch, s.N, s.C, s.H, s.W, int(desc.Layout), nchw)
	})
	if err != nil {
		return nil, err
	}
	t := &Tensor{}
	return track(t, th, native.Stb_tensor_destroy, &t.handle), nil
}

// get is the live handle, or an error for a nil or closed tensor.
func (t *Tensor) get() (native.Struct_SS_st_tensor, error) {
	if t == nil {
		return nil, errNilObject()
	}
	return t.handle.get()
}

// Close releases the tensor.
func (t *Tensor) Close() error {
	if t == nil {
		return errNilObject()
	}
	return t.close()
}

// Shape is the tensor's shape.
func (t *Tensor) Shape() (Shape, error) {
	var dims [4]int64
	h, err := t.get()
	if err != nil {
		return Shape{}, err
	}
	for i := range dims {
		if dims[i], err = value(func() int64 { return native.Stb_tensor_dim(h, i) }); err != nil {
			return Shape{}, err
		}
	}
	return Shape{dims[0], dims[1], dims[2], dims[3]}, nil
}

// Values returns the tensor's values in NCHW order.
func (t *Tensor) Values() ([]float32, error) {
	s, err := t.Shape()
	if err != nil {
		return nil, err
	}
	out := make([]float32, s.N*s.C*s.H*s.W)
	return out, call(func() int { return native.Stb_tensor_copy_out(t.h, out) })
}

// Conv is a convolution layer on its own (square kernel, equal strides and padding).
type Conv struct {
	handle[native.Struct_SS_st_conv]
	weightCount int64
}

// ConvCall tells what the last call of a pass did.
type ConvCall struct {
	Ran          bool
	Kernel       Kernel
	Zeros        float64
	Milliseconds float64
}

// Pass is one of the three convolution passes.
type Pass int

const (
	PassForward Pass = iota
	PassBackwardData
	PassBackwardWeights
)

// SamePad pads a convolution by Kernel/2 on each side: the map keeps its size at stride 1.
const SamePad = -1

// ConvOptions describe a convolution; a zero field takes the usual default.
type ConvOptions struct {
	OutChannels int64 // output channels (DepthwiseConv2d: 0, as many as its inputs)
	Kernel      int64 // square kernel size
	Stride      int64 // 0: 1
	Pad         int64 // zeros on each side; SamePad: Kernel/2
	Bias        bool
	Groups      int64 // Builder.Conv2d: 0 or 1 an ordinary convolution, more PyTorch's groups
}

func (o ConvOptions) stride() int64 {
	if o.Stride == 0 {
		return 1
	}
	return o.Stride
}

// NewConv makes a convolution of input (o.Groups must be 0: one group).
func NewConv(ctx *Context, input Shape, o ConvOptions) (*Conv, error) {
	ch, err := contextOf(ctx)
	if err != nil {
		return nil, err
	}
	if o.Groups != 0 && o.Groups != 1 {
		return nil, newError(Unsupported, fmt.Sprintf(
			"a convolution on its own has one group, got Groups %d (Builder.Conv2d has more)", o.Groups))
	}
	h, err := value(func() native.Struct_SS_st_conv {
		return native.Stb_conv_create(ch, input.N, input.C, input.H, input.W, o.OutChannels, o.Kernel, o.stride(), o.Pad,
			flag(o.Bias))
	})
	if err != nil {
		return nil, err
	}
	c := &Conv{weightCount: o.OutChannels * input.C * o.Kernel * o.Kernel}
	return track(c, h, native.Stb_conv_destroy, &c.handle), nil
}

// get is the live handle, or an error for a nil or closed conv.
func (c *Conv) get() (native.Struct_SS_st_conv, error) {
	if c == nil {
		return nil, errNilObject()
	}
	return c.handle.get()
}

// Close releases the convolution.
func (c *Conv) Close() error {
	if c == nil {
		return errNilObject()
	}
	return c.close()
}

// SetWeights sets weights (out, in, kh, kw) and bias (nil: unchanged).
func (c *Conv) SetWeights(weights, bias []float32) error {
	h, err := c.get()
	if err != nil {
		return err
	}
	return call(func() int { return native.Stb_conv_set_weights(h, weights, bias) })
}

func (c *Conv) params(gradients int) ([]float32, error) {
	h, err := c.get()
	if err != nil {
		return nil, err
	}
	w := make([]float32, c.weightCount)
	return w, call(func() int { return native.Stb_conv_get(h, gradients, w, nil) })
}

// Weights returns the weights (out, in, kh, kw).
func (c *Conv) Weights() ([]float32, error) { return c.params(0) }

// WeightGradients returns the weight gradients of the last BackwardWeights.
func (c *Conv) WeightGradients() ([]float32, error) { return c.params(1) }

// SetKernel forces dense or sparse kernels, or the automatic choice.
func (c *Conv) SetKernel(k Kernel) error {
	h, err := c.get()
	if err != nil {
		return err
	}
	return call(func() int { return native.Stb_conv_set_kernel(h, int(k)) })
}

func (c *Conv) pass(aName, bName string, a, b *Tensor, f func(native.Struct_SS_st_conv, native.Struct_SS_st_tensor, native.Struct_SS_st_tensor) int) error {
	h, err := c.get()
	if err != nil {
		return err
	}
	if a == nil || b == nil {
		if a == nil {
			return nilArgument(aName)
		}
		return nilArgument(bName)
	}
	ah, err := a.get()
	if err != nil {
		return err
	}
	bh, err := b.get()
	if err != nil {
		return err
	}
	return call(func() int { return f(h, ah, bh) })
}

// Forward computes y from x (both LayoutBlocked).
func (c *Conv) Forward(x, y *Tensor) error {
	return c.pass("x", "y", x, y, native.Stb_conv_forward)
}

// BackwardData computes dx from dy.
func (c *Conv) BackwardData(dy, dx *Tensor) error {
	return c.pass("dy", "dx", dy, dx, native.Stb_conv_backward_data)
}

// BackwardWeights computes the weight gradients from x and dy.
func (c *Conv) BackwardWeights(x, dy *Tensor) error {
	return c.pass("x", "dy", x, dy, native.Stb_conv_backward_weights)
}

// LastCall tells what the last call of pass did.
func (c *Conv) LastCall(p Pass) (ConvCall, error) {
	h, err := c.get()
	if err != nil {
		return ConvCall{}, err
	}
	v := make([]float64, 4)
	if err := call(func() int { return native.Stb_conv_last_call(h, int(p), v) }); err != nil {
		return ConvCall{}, err
	}
	return ConvCall{Ran: v[0] != 0, Kernel: Kernel(v[1]), Zeros: v[2], Milliseconds: v[3]}, nil
}
