#include "bench/onednn_conv.h"

#include <cstring>
#include <oneapi/dnnl/dnnl.hpp>

namespace sparsetrain {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

struct OneDnnConv::State {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  dnnl::convolution_forward::primitive_desc fwd_pd;
  dnnl::convolution_backward_data::primitive_desc bwd_data_pd;
  dnnl::convolution_backward_weights::primitive_desc bwd_weights_pd;
  dnnl::convolution_forward fwd;
  dnnl::convolution_backward_data bwd_data;
  dnnl::convolution_backward_weights bwd_weights;
  memory src, weights, bias, dst, diff_dst, diff_src, bwd_weights_mem, diff_weights, diff_bias;
  // Backward by input reads its own weight layout: in training it converts the forward weights
  // (updated every step) first, as our backward by input transposes them.
  bool bwd_data_reorders = false;
  dnnl::reorder forward_to_bwd_data_weights;
};

namespace {

memory::dims Dims4(Dims d) { return {d.n, d.c, d.h, d.w}; }

memory FilledMemory(const memory::desc& md, const dnnl::engine& engine, const float* data) {
  memory m(md, engine);
  std::memcpy(m.get_data_handle(), data, md.get_size());
  return m;
}

// A copy of `user` (in `user_md`) in the layout `md`.
memory Reordered(const memory& user, const memory::desc& md, dnnl::engine& engine,
                 dnnl::stream& stream) {
  memory m(md, engine);
  dnnl::reorder(user, m).execute(stream, const_cast<memory&>(user), m);
  stream.wait();
  return m;
}

}  // namespace

OneDnnConv::OneDnnConv(const ConvShape& s, int channel_block, const float* x_nchw,
                       const float* weights_kcrs, const float* bias, const float* dy_nchw,
                       int64_t groups)
    : state_(new State) {
  State& st = *state_;
  const tag blocked = channel_block == 8 ? tag::nChw8c : tag::nChw16c;
  // A first layer's few input channels: oneDNN's optimised kernels read them unblocked (a blocked
  // source of 3 channels falls back to its reference code, minutes per pass).
  const memory::desc src_md(Dims4(s.input()), dt::f32,
                            s.c < channel_block && groups == 1 ? tag::nchw : blocked);
  const memory::desc dst_md(Dims4(s.output()), dt::f32, blocked);
  const memory::dims weight_dims =
      groups == 1 ? Dims4(s.weights()) : memory::dims{groups, s.k / groups, s.c / groups, s.r, s.s};
  const memory::desc any_weights_md(weight_dims, dt::f32, tag::any);
  const memory::desc bias_md({s.k}, dt::f32, tag::x);
  const memory::dims strides = {s.stride_h, s.stride_w};
  const memory::dims pad_l = {s.pad_h, s.pad_w};
  // oneDNN wants the right/bottom padding that makes the output size come out exactly.
  const memory::dims pad_r = {(s.p() - 1) * s.stride_h + s.r - s.h - s.pad_h,
                              (s.q() - 1) * s.stride_w + s.s - s.w - s.pad_w};

  st.fwd_pd = dnnl::convolution_forward::primitive_desc(
      dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training,
                                      dnnl::algorithm::convolution_direct, src_md, any_weights_md,
                                      bias_md, dst_md, strides, pad_l, pad_r),
      st.engine);
  st.bwd_data_pd = dnnl::convolution_backward_data::primitive_desc(
      dnnl::convolution_backward_data::desc(dnnl::algorithm::convolution_direct, src_md,
                                            any_weights_md, dst_md, strides, pad_l, pad_r),
      st.engine, st.fwd_pd);
  st.bwd_weights_pd = dnnl::convolution_backward_weights::primitive_desc(
      dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, src_md,
                                               any_weights_md, bias_md, dst_md, strides, pad_l,
                                               pad_r),
      st.engine, st.fwd_pd);
  st.fwd = dnnl::convolution_forward(st.fwd_pd);
  st.bwd_data = dnnl::convolution_backward_data(st.bwd_data_pd);
  st.bwd_weights = dnnl::convolution_backward_weights(st.bwd_weights_pd);

  const memory user_weights =
      FilledMemory(memory::desc(weight_dims, dt::f32, groups == 1 ? tag::oihw : tag::goihw),
                   st.engine, weights_kcrs);
  const memory user_src =
      FilledMemory(memory::desc(Dims4(s.input()), dt::f32, tag::nchw), st.engine, x_nchw);
  const memory user_diff_dst =
      FilledMemory(memory::desc(Dims4(s.output()), dt::f32, tag::nchw), st.engine, dy_nchw);
  st.src = Reordered(user_src, src_md, st.engine, st.stream);
  st.weights = Reordered(user_weights, st.fwd_pd.weights_desc(), st.engine, st.stream);
  st.bwd_weights_mem = memory(st.bwd_data_pd.weights_desc(), st.engine);
  st.bwd_data_reorders = st.bwd_data_pd.weights_desc() != st.fwd_pd.weights_desc();
  if (st.bwd_data_reorders) {
    st.forward_to_bwd_data_weights = dnnl::reorder(st.weights, st.bwd_weights_mem);
  } else {
    st.bwd_weights_mem = st.weights;
  }
  st.bias = FilledMemory(bias_md, st.engine, bias);
  st.dst = memory(dst_md, st.engine);
  st.diff_dst = Reordered(user_diff_dst, dst_md, st.engine, st.stream);
  st.diff_src = memory(src_md, st.engine);
  st.diff_weights = memory(st.bwd_weights_pd.diff_weights_desc(), st.engine);
  st.diff_bias = memory(bias_md, st.engine);
}

OneDnnConv::~OneDnnConv() = default;

void OneDnnConv::Forward() {
  State& st = *state_;
  st.fwd.execute(st.stream, {{DNNL_ARG_SRC, st.src},
                             {DNNL_ARG_WEIGHTS, st.weights},
                             {DNNL_ARG_BIAS, st.bias},
                             {DNNL_ARG_DST, st.dst}});
  st.stream.wait();
}

void OneDnnConv::BackwardData() {
  State& st = *state_;
  if (st.bwd_data_reorders) {
    st.forward_to_bwd_data_weights.execute(st.stream, st.weights, st.bwd_weights_mem);
  }
  st.bwd_data.execute(st.stream, {{DNNL_ARG_DIFF_DST, st.diff_dst},
                                  {DNNL_ARG_WEIGHTS, st.bwd_weights_mem},
                                  {DNNL_ARG_DIFF_SRC, st.diff_src}});
  st.stream.wait();
}

void OneDnnConv::BackwardWeights() {
  State& st = *state_;
  st.bwd_weights.execute(st.stream, {{DNNL_ARG_SRC, st.src},
                                     {DNNL_ARG_DIFF_DST, st.diff_dst},
                                     {DNNL_ARG_DIFF_WEIGHTS, st.diff_weights},
                                     {DNNL_ARG_DIFF_BIAS, st.diff_bias}});
  st.stream.wait();
}

std::string OneDnnConv::Implementations() const {
  return std::string(state_->fwd_pd.impl_info_str()) + " / " + state_->bwd_data_pd.impl_info_str() +
         " / " + state_->bwd_weights_pd.impl_info_str();
}

}  // namespace sparsetrain
