package sparsetrain

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
)

// The bad-input sweep: every exported function and method, called with each argument in turn
// replaced by a bad value (nil, empty, negative, huge, NaN, a closed object) while the others
// are good, and on closed and nil receivers, must return normally with an *Error or ErrClosed,
// never panic.

// sweepObjects makes the receivers and object arguments of one call: live ones and closed ones.
type sweepObjects struct {
	ctx, closedCtx *Context
	tensor, closed *Tensor
	conv           *Conv
	model          *Model
}

func newSweepObjects(t *testing.T) *sweepObjects {
	o := &sweepObjects{}
	o.ctx, _ = NewContext(1)
	o.closedCtx, _ = NewContext(1)
	o.closedCtx.Close()
	o.tensor, _ = NewTensor(o.ctx, TensorDesc{Shape: Shape{1, 2, 4, 4}, Layout: LayoutBlocked}, nil)
	o.closed, _ = NewTensor(o.ctx, TensorDesc{Shape: Shape{1, 2, 4, 4}}, nil)
	o.closed.Close()
	var err error
	if o.conv, err = NewConv(o.ctx, Shape{1, 2, 4, 4}, ConvOptions{OutChannels: 2, Kernel: 3, Pad: 1}); err != nil {
		t.Fatal(err)
	}
	o.model, err = NewBuilder(o.ctx, Shape{C: 1, H: 4, W: 4}).Conv2d("conv", ConvOptions{OutChannels: 2, Kernel: 3, Pad: SamePad}).
		Relu().Flatten().Linear("fc", 2).Build(1)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func (o *sweepObjects) close() {
	o.model.Close()
	o.conv.Close()
	o.tensor.Close()
	o.ctx.Close()
}

// goodValue is an argument of type ty that the call would accept, or at least not misuse.
func (o *sweepObjects) goodValue(ty reflect.Type) reflect.Value {
	switch ty {
	case reflect.TypeOf(o.ctx):
		return reflect.ValueOf(o.ctx)
	case reflect.TypeOf(o.tensor):
		return reflect.ValueOf(o.tensor)
	case reflect.TypeOf((*io.Reader)(nil)).Elem():
		return reflect.ValueOf(io.Reader(bytes.NewReader([]byte{1, 2, 3})))
	}
	switch ty.Kind() {
	case reflect.Int, reflect.Int32, reflect.Int64:
		return reflect.ValueOf(int64(1)).Convert(ty)
	case reflect.Float32, reflect.Float64:
		return reflect.ValueOf(0.01).Convert(ty)
	case reflect.String:
		return reflect.ValueOf("conv")
	case reflect.Bool:
		return reflect.ValueOf(true)
	case reflect.Slice:
		return reflect.MakeSlice(ty, 16, 16) // a batch of one 4x4 image, one label
	case reflect.Struct:
		v := reflect.New(ty).Elem()
		for i := 0; i < v.NumField(); i++ {
			if f := v.Field(i); f.CanSet() {
				f.Set(o.goodValue(f.Type()))
			}
		}
		return v
	}
	return reflect.Zero(ty)
}

// badValues are the arguments of type ty a caller might pass by mistake.
func (o *sweepObjects) badValues(ty reflect.Type) []reflect.Value {
	switch ty {
	case reflect.TypeOf(o.ctx):
		return []reflect.Value{reflect.Zero(ty), reflect.ValueOf(o.closedCtx)}
	case reflect.TypeOf(o.tensor):
		return []reflect.Value{reflect.Zero(ty), reflect.ValueOf(o.closed)}
	case reflect.TypeOf((*io.Reader)(nil)).Elem():
		return []reflect.Value{reflect.Zero(ty), reflect.ValueOf(io.Reader(bytes.NewReader(nil)))}
	}
	var values []reflect.Value
	switch ty.Kind() {
	case reflect.Int, reflect.Int32, reflect.Int64:
		for _, v := range []int64{0, -1, math.MinInt32, math.MaxInt64} { // not 2^31: a valid 8 GiB tensor
			if reflect.Zero(ty).OverflowInt(v) {
				continue
			}
			values = append(values, reflect.ValueOf(v).Convert(ty))
		}
	case reflect.Float32, reflect.Float64:
		for _, v := range []float64{-1, math.NaN(), math.Inf(1), 1e30} {
			values = append(values, reflect.ValueOf(v).Convert(ty))
		}
	case reflect.String:
		values = []reflect.Value{reflect.ValueOf(""), reflect.ValueOf("no/such/dir/x"), reflect.ValueOf("a\x00b")}
	case reflect.Slice:
		values = []reflect.Value{reflect.Zero(ty), reflect.MakeSlice(ty, 0, 0), reflect.MakeSlice(ty, 1, 1),
			reflect.MakeSlice(ty, 17, 17)}
	case reflect.Struct:
		// Each field bad in turn, the others good.
		good := o.goodValue(ty)
		for i := 0; i < ty.NumField(); i++ {
			if !good.Field(i).CanSet() {
				continue
			}
			for _, b := range o.badValues(ty.Field(i).Type) {
				v := reflect.New(ty).Elem()
				v.Set(good)
				v.Field(i).Set(b)
				values = append(values, v)
			}
		}
	}
	return values
}

// try calls fn, the function or method called, with args and reports a panic, an error of
// another kind than *Error or ErrClosed, or an *Error whose message does not start with called.
func try(t *testing.T, called, call string, fn reflect.Value, args []reflect.Value) {
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s panicked: %v", call, r)
		}
	}()
	var out []reflect.Value
	if fn.Type().IsVariadic() {
		out = fn.CallSlice(args)
	} else {
		out = fn.Call(args)
	}
	for _, r := range out {
		if err, ok := r.Interface().(error); ok && err != nil {
			var e *Error
			if !errors.As(err, &e) && err != ErrClosed {
				t.Errorf("%s: error of another kind: %T %v", call, err, err)
			} else if e != nil && !strings.HasPrefix(e.Message, called+": ") {
				t.Errorf("%s: the message does not name %s: %v", call, called, err)
			}
		}
	}
}

// sweep calls f once per bad argument (once if it takes none: its receiver may be closed) and
// reports panics and errors of other kinds; it returns the number of calls.
func sweep(t *testing.T, name string, f func(o *sweepObjects) reflect.Value) int {
	called := strings.TrimPrefix(strings.TrimPrefix(name, "closed "), "nil ")
	probe := newSweepObjects(t)
	ft := f(probe).Type()
	probe.close()
	if ft.NumIn() == 0 {
		o := newSweepObjects(t)
		try(t, called, name, f(o), nil)
		o.close()
		return 1
	}
	calls := 0
	for i := 0; i < ft.NumIn(); i++ {
		if ft.IsVariadic() && i == ft.NumIn()-1 {
			continue
		}
		o := newSweepObjects(t)
		for _, bad := range o.badValues(ft.In(i)) {
			args := make([]reflect.Value, ft.NumIn())
			for j := range args {
				args[j] = o.goodValue(ft.In(j))
				if ft.IsVariadic() && j == ft.NumIn()-1 {
					args[j] = reflect.Zero(ft.In(j))
				}
			}
			args[i] = bad
			calls++
			try(t, called, fmt.Sprintf("%s with argument %d = %#v", name, i, bad.Interface()), f(o), args)
		}
		o.close()
	}
	return calls
}

func TestBadInputNeverPanics(t *testing.T) {
	dir := t.TempDir()
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil { // paths the sweep writes stay in the test's directory
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	functions := map[string]interface{}{
		"SGD": SGD, "Adam": Adam, "AdamW": AdamW, "NewBuilder": NewBuilder, "ImportONNX": ImportONNX,
		"ImportONNXBytes": ImportONNXBytes, "ImportONNXReader": ImportONNXReader, "IsaSupported": IsaSupported,
		"NewContext": NewContext, "NewTensor": NewTensor, "NewConv": NewConv,
	}
	calls, swept := 0, 0
	for name, fn := range functions {
		fn := fn
		swept++
		calls += sweep(t, name, func(*sweepObjects) reflect.Value { return reflect.ValueOf(fn) })
	}
	receivers := map[string]func(o *sweepObjects) interface{}{
		"Model":   func(o *sweepObjects) interface{} { return o.model },
		"Builder": func(o *sweepObjects) interface{} { return NewBuilder(o.ctx, Shape{C: 2, H: 4, W: 4}) },
		"Tensor":  func(o *sweepObjects) interface{} { return o.tensor },
		"Conv":    func(o *sweepObjects) interface{} { return o.conv },
		"Context": func(o *sweepObjects) interface{} { return o.ctx },
		"closed Model": func(o *sweepObjects) interface{} {
			o.model.Close()
			return o.model
		},
		"closed Tensor": func(o *sweepObjects) interface{} { return o.closed },
		"nil Model":     func(*sweepObjects) interface{} { return (*Model)(nil) },
		"nil Builder":   func(*sweepObjects) interface{} { return (*Builder)(nil) },
		"nil Tensor":    func(*sweepObjects) interface{} { return (*Tensor)(nil) },
		"nil Conv":      func(*sweepObjects) interface{} { return (*Conv)(nil) },
		"nil Context":   func(*sweepObjects) interface{} { return (*Context)(nil) },
		"closed Conv": func(o *sweepObjects) interface{} {
			o.conv.Close()
			return o.conv
		},
	}
	for kind, receiver := range receivers {
		probe := newSweepObjects(t)
		rt := reflect.TypeOf(receiver(probe))
		probe.close()
		for m := 0; m < rt.NumMethod(); m++ {
			method := rt.Method(m).Name
			receiver := receiver
			swept++
			calls += sweep(t, kind+"."+method, func(o *sweepObjects) reflect.Value {
				return reflect.ValueOf(receiver(o)).MethodByName(method)
			})
		}
	}
	if calls < 500 {
		t.Errorf("only %d calls of %d functions and methods", calls, swept)
	}
	t.Logf("%d calls with a bad argument, over %d functions and methods", calls, swept)
}
