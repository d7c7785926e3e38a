// Convolution layers on their own: forward, backward by input and by weights on a context's
// tensors, with the same per-call kernel choice as in a model.
#include <cstring>
#include <memory>
#include <string>

#include "capi/conversions.h"
#include "capi/objects.h"
#include "sparsetrain/sparsetrain.h"

namespace st = sparsetrain;
using namespace sparsetrain::capi;

namespace {

// Copies weights and bias into or out of the tensors `tensors(parameter)` picks (values or
// gradients).
template <class Tensors>
st_status ConvParams(const char* call, const st_conv* conv, float* weights, size_t weight_count,
                     float* bias, size_t bias_count, bool in, const Tensors& tensors) {
  return OnObject<ConvObject>(call, conv, [&](ConvObject& c) {
    ST_RETURN_IF_ERROR(NotNull(weights, "weights", call));
    ST_RETURN_IF_ERROR(CheckCount(weight_count, c.shape.weights().count(), "weights", call));
    st::Parameter* b = c.op->bias();
    if (bias != nullptr) {
      if (b == nullptr)
        return Fail(ST_INVALID_ARGUMENT, std::string(call) + ": the convolution has no bias");
      ST_RETURN_IF_ERROR(CheckCount(bias_count, c.shape.k, "bias", call));
    }
    st::Tensor* w = tensors(c.op->weight());
    if (in) {
      ST_RETURN_IF_ERROR(Check(w->CopyFrom(weights, st::Layout::kNCHW), call));
      ++c.op->weight().version;
      if (bias != nullptr) {
        std::memcpy(tensors(*b)->data(), bias, bias_count * sizeof(float));
        ++b->version;
      }
    } else {
      ST_RETURN_IF_ERROR(Check(w->CopyTo(weights, st::Layout::kNCHW), call));
      if (bias != nullptr) std::memcpy(bias, tensors(*b)->data(), bias_count * sizeof(float));
    }
    return ST_OK;
  });
}

st::Tensor* Values(st::Parameter& p) { return &p.value; }
st::Tensor* Gradients(st::Parameter& p) { return &p.grad; }

// Looks up a tensor operand of `conv` and checks its context, layout and shape.
st_status ConvOperand(const ConvObject& conv, const st_tensor* handle, const char* what,
                      const st::Dims& dims, const char* call, TensorObject** out) {
  ST_RETURN_IF_ERROR(Lookup(handle, call, out));
  ST_RETURN_IF_ERROR(SameContext(conv, **out, call));
  const st::Tensor& t = (*out)->tensor;
  if (t.layout() != st::Layout::kNChw16c) {
    return Fail(ST_SHAPE_MISMATCH, std::string(call) + ": " + what +
                                       " must be in ST_LAYOUT_NCHW16C, it is " +
                                       st::LayoutName(t.layout()));
  }
  const st::Dims& d = t.dims();
  if (d != dims) {
    return Fail(ST_SHAPE_MISMATCH, std::string(call) + ": " + what + " is " + d.text() +
                                       ", the convolution needs " + dims.text());
  }
  return ST_OK;
}

// One pass on two checked operands: `run(conv, a, b)`.
template <class Run>
st_status RunPass(const char* call, st_conv* conv, const st_tensor* a, const char* a_name,
                  bool a_is_input, const st_tensor* b, const char* b_name, const Run& run) {
  return OnObject<ConvObject>(call, conv, [&](ConvObject& c) {
    TensorObject *ta = nullptr, *tb = nullptr;
    const st::Dims in = c.shape.input(), out = c.shape.output();
    ST_RETURN_IF_ERROR(ConvOperand(c, a, a_name, a_is_input ? in : out, call, &ta));
    ST_RETURN_IF_ERROR(ConvOperand(c, b, b_name, a_is_input ? out : in, call, &tb));
    return Check(run(c, ta->tensor.data(), tb->tensor.data()), call);
  });
}

}  // namespace

extern "C" {

st_status st_conv_create(st_context* context, const st_conv_desc* desc, st_conv** out) {
  const char* call = __func__;
  return OnObject<ContextObject>(call, context, [&](ContextObject& c) {
    ST_RETURN_IF_ERROR(NotNull(desc, "desc", call));
    ST_RETURN_IF_ERROR(NotNull(out, "out", call));
    st::ConvShape s;
    s.n = desc->batch, s.c = desc->in_channels, s.h = desc->height, s.w = desc->width;
    s.k = desc->out_channels, s.r = desc->kernel_h, s.s = desc->kernel_w;
    s.stride_h = desc->stride_h, s.stride_w = desc->stride_w, s.pad_h = desc->pad_h,
    s.pad_w = desc->pad_w;
    ST_RETURN_IF_ERROR(Check(st::Validate(s), call));
    auto conv = std::make_unique<ConvObject>();
    conv->context = c.context;
    conv->shape = s;
    conv->workspace = st::WorkspaceArena(c.context->allocator);
    ST_RETURN_IF_ERROR(Check(
        st::ConvOp::Create("conv", s, desc->bias != 0, c.context->allocator, &conv->op), call));
    conv->op->set_measure_zeros(true);
    *out = Publish<st_conv>(std::move(conv));
    return ST_OK;
  });
}

st_status st_conv_destroy(st_conv* conv) { return Destroy(__func__, conv, Kind::kConv); }

st_status st_conv_output_dims(const st_conv* conv, int64_t dims[4]) {
  const char* call = __func__;
  return OnObject<ConvObject>(call, conv, [&](ConvObject& c) {
    ST_RETURN_IF_ERROR(NotNull(dims, "dims", call));
    WriteDims(c.shape.output(), dims);
    return ST_OK;
  });
}

st_status st_conv_set_weights(st_conv* conv, const float* weights, size_t weight_count,
                              const float* bias, size_t bias_count) {
  return ConvParams(__func__, conv, const_cast<float*>(weights), weight_count,
                    const_cast<float*>(bias), bias_count, /*in=*/true, Values);
}

st_status st_conv_get_weights(const st_conv* conv, float* weights, size_t weight_count, float* bias,
                              size_t bias_count) {
  return ConvParams(__func__, conv, weights, weight_count, bias, bias_count, /*in=*/false, Values);
}

st_status st_conv_get_gradients(const st_conv* conv, float* weights, size_t weight_count,
                                float* bias, size_t bias_count) {
  return ConvParams(__func__, conv, weights, weight_count, bias, bias_count, /*in=*/false,
                    Gradients);
}

st_status st_conv_set_kernel(st_conv* conv, st_kernel kernel) {
  const char* call = __func__;
  return OnObject<ConvObject>(
      call, conv, [&](ConvObject& c) { return Convert(kernel, "kernel", call, &c.policy); });
}

st_status st_conv_forward(st_conv* conv, const st_tensor* x, st_tensor* y) {
  return RunPass(__func__, conv, x, "x", /*a_is_input=*/true, y, "y",
                 [](ConvObject& c, const float* tx, float* ty) {
                   return c.op->Forward(c.shape, tx, -1, ty, c.policy, &c.workspace,
                                        c.context->pool());
                 });
}

st_status st_conv_backward_data(st_conv* conv, const st_tensor* dy, st_tensor* dx) {
  return RunPass(__func__, conv, dy, "dy", /*a_is_input=*/false, dx, "dx",
                 [](ConvObject& c, const float* tdy, float* tdx) {
                   return c.op->Backward(c.shape, nullptr, -1, tdy, -1, /*weight_grads=*/false, tdx,
                                         c.policy, &c.workspace, c.context->pool());
                 });
}

st_status st_conv_backward_weights(st_conv* conv, const st_tensor* x, const st_tensor* dy) {
  return RunPass(__func__, conv, x, "x", /*a_is_input=*/true, dy, "dy",
                 [](ConvObject& c, const float* tx, const float* tdy) {
                   return c.op->Backward(c.shape, tx, -1, tdy, -1, /*weight_grads=*/true, nullptr,
                                         c.policy, &c.workspace, c.context->pool());
                 });
}

st_status st_conv_last_call(const st_conv* conv, st_pass pass, st_conv_call* out) {
  const char* call = __func__;
  return OnObject<ConvObject>(call, conv, [&](ConvObject& c) {
    ST_RETURN_IF_ERROR(NotNull(out, "call", call));
    st::Pass p;
    ST_RETURN_IF_ERROR(Convert(pass, "pass", call, &p));
    *out = ToC(c.op->telemetry(), p);
    return ST_OK;
  });
}

}  // extern "C"
