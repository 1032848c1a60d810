#version 450
// Box filter to the analysis resolution, exactly as kernels/cpu does it: the integer mean of a
// factor x factor block (partial blocks at the right and bottom were not uploaded), shifted to 8 bits.
// One invocation per reduced pixel; gl_WorkGroupID.z is the frame within the batch.
//
// Frames are uploaded as raw bytes (8- or 16-bit samples, little endian) and read as 32-bit words, so the
// shader needs no 8/16-bit storage extension: lavapipe and every desktop driver run it as it is.

layout(local_size_x = 16, local_size_y = 16) in;

layout(std430, set = 0, binding = 0) readonly buffer Frames { uint words[]; } frames;
layout(std430, set = 0, binding = 1) writeonly buffer Planes { uint px[]; } planes;

layout(push_constant) uniform Params {
  uint out_width;
  uint out_height;
  uint factor;
  uint bytes_per_sample;  // 1 or 2
  uint shift;             // bit depth - 8
  uint row_stride;        // bytes between rows of an uploaded frame (a multiple of 4)
  uint frame_stride;      // bytes between uploaded frames (a multiple of 4)
  uint first_slot;        // ring slot of the batch's first frame
  uint ring_slots;
} p;

uint sample_at(uint addr) {
  // 16-bit samples start at even addresses, so a sample never straddles two words.
  uint v = frames.words[addr >> 2] >> ((addr & 3u) * 8u);
  return p.bytes_per_sample == 1u ? (v & 0xFFu) : (v & 0xFFFFu);
}

void main() {
  uint ox = gl_GlobalInvocationID.x;
  uint oy = gl_GlobalInvocationID.y;
  uint f = gl_WorkGroupID.z;
  if (ox >= p.out_width || oy >= p.out_height) return;
  uint step = p.bytes_per_sample;
  uint origin = f * p.frame_stride + oy * p.factor * p.row_stride + ox * p.factor * step;
  uint sum = 0u;
  for (uint dy = 0u; dy < p.factor; ++dy) {
    uint row = origin + dy * p.row_stride;
    for (uint dx = 0u; dx < p.factor; ++dx) sum += sample_at(row + dx * step);
  }
  uint v = min((sum / (p.factor * p.factor)) >> p.shift, 255u);
  uint slot = (p.first_slot + f) % p.ring_slots;
  planes.px[slot * p.out_width * p.out_height + oy * p.out_width + ox] = v;
}
