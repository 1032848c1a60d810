#version 450
// Histogram (64 bins of v >> 2), gradient sum, difference sum and strong-change count (|difference| > 48,
// kStrongChange in luma_kernel.hpp) of reduced planes, the integers of
// kernels/cpu. gl_WorkGroupID.z is the frame within the batch; the workgroups of a frame stride over its
// pixels, count into a shared-memory histogram and sum their gradients and differences in shared memory,
// then add their totals to the frame's result with atomics.

layout(local_size_x = 256) in;

layout(std430, set = 0, binding = 1) readonly buffer Planes { uint px[]; } planes;
// Per frame 72 words: histogram[64], gradient (low, high), difference (low, high), strong changes, 3 unused.
// Zeroed before.
layout(std430, set = 0, binding = 2) buffer Results { uint v[]; } results;

layout(push_constant) uniform Params {
  uint width;
  uint height;
  uint first_slot;
  uint ring_slots;
  uint prev_mask;  // bit f: frame f is compared with the plane in the ring slot before its own
} p;

shared uint hist[64];
shared uint grad_sum[256];
shared uint diff_sum[256];
shared uint strong_sum[256];

// 64-bit accumulation from 32-bit atomics (no shaderBufferInt64Atomics needed): every add that wraps the
// low word carries one into the high word, so (high, low) ends as the exact total.
void add64(uint index, uint value) {
  uint old = atomicAdd(results.v[index], value);
  if (old > 0xFFFFFFFFu - value) atomicAdd(results.v[index + 1u], 1u);
}

void main() {
  uint lid = gl_LocalInvocationID.x;
  uint f = gl_WorkGroupID.z;
  if (lid < 64u) hist[lid] = 0u;
  barrier();

  uint w = p.width;
  uint n = p.width * p.height;
  uint cur = ((p.first_slot + f) % p.ring_slots) * n;
  uint prev = ((p.first_slot + f + p.ring_slots - 1u) % p.ring_slots) * n;
  bool has_prev = ((p.prev_mask >> f) & 1u) != 0u;
  // Each invocation covers a few pixels (the host sizes the grid so), so 32-bit partial sums are safe.
  uint grad = 0u;
  uint diff = 0u;
  uint strong = 0u;
  for (uint i = gl_WorkGroupID.x * 256u + lid; i < n; i += gl_NumWorkGroups.x * 256u) {
    int v = int(planes.px[cur + i]);
    atomicAdd(hist[uint(v) >> 2], 1u);
    if (i % w + 1u < w) grad += uint(abs(int(planes.px[cur + i + 1u]) - v));
    if (i + w < n) grad += uint(abs(int(planes.px[cur + i + w]) - v));
    if (has_prev) {
      uint d = uint(abs(v - int(planes.px[prev + i])));
      diff += d;
      if (d > 48u) strong += 1u;
    }
  }
  grad_sum[lid] = grad;
  diff_sum[lid] = diff;
  strong_sum[lid] = strong;
  barrier();
  for (uint s = 128u; s > 0u; s >>= 1u) {
    if (lid < s) {
      grad_sum[lid] += grad_sum[lid + s];
      diff_sum[lid] += diff_sum[lid + s];
      strong_sum[lid] += strong_sum[lid + s];
    }
    barrier();
  }
  uint base = f * 72u;
  if (lid < 64u && hist[lid] != 0u) atomicAdd(results.v[base + lid], hist[lid]);
  if (lid == 0u) {
    if (grad_sum[0] != 0u) add64(base + 64u, grad_sum[0]);
    if (diff_sum[0] != 0u) add64(base + 66u, diff_sum[0]);
    if (strong_sum[0] != 0u) atomicAdd(results.v[base + 68u], strong_sum[0]);
  }
}
