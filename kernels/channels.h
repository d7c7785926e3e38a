// Channel-wise operations on nChw16c activations: the copies of channel concatenation and of
// its gradient, and scaling each channel of each image by a factor (squeeze-and-excitation's
// gate). Work is spread over `pool` (null: the calling thread only). The copies move whole runs
// of channels with memcpy, the same on every target.
#ifndef SPARSETRAIN_KERNELS_CHANNELS_H_
#define SPARSETRAIN_KERNELS_CHANNELS_H_

#include <pthreadpool.h>

#include <cstdint>

#include "kernels/layout.h"

namespace sparsetrain {

// Writes zeros into the channel padding of the nChw16c tensor of `dims`; returns how many of
// those values were not zero before.
int64_t ZeroChannelPadding(const Dims& dims, float* blocked);

// Writes `part` (dims (N, c, H, W)) into channels [offset, offset + c) of `whole`, a tensor of
// the same N, H, W with `channels` channels. Offsets on a block boundary copy whole blocks.
void CopyChannelsInto(const Dims& part_dims, const float* part, int64_t channels, int64_t offset,
                      float* whole, pthreadpool_t pool);

// Reads channels [offset, offset + c) of `whole` (`channels` channels) into `part` (dims
// (N, c, H, W)), whose channel padding is written as zeros.
void CopyChannelsOut(int64_t channels, int64_t offset, const float* whole, const Dims& part_dims,
                     float* part, pthreadpool_t pool);

// y[n][c][h][w] = x[n][c][h][w] * gate[n][c], the gate an nChw16c tensor (N, C, 1, 1) (y may
// equal x).
void ScaleChannels(const Dims& dims, const float* x, const float* gate, float* y,
                   pthreadpool_t pool);

// The gradients of ScaleChannels from dy: dx = dy * gate (when dx is not null) and
// dgate[n][c] = sum over pixels of dy * x (when dgate is not null).
void ScaleChannelsBackward(const Dims& dims, const float* x, const float* gate, const float* dy,
                           float* dx, float* dgate, pthreadpool_t pool);

}  // namespace sparsetrain

#endif  // SPARSETRAIN_KERNELS_CHANNELS_H_
