// Keeps pvt and every process it starts at normal scheduling, whatever a library tries.
//
// SVT-AV1 1.4 (Debian 12) moves the thread that opens an encoder, and every thread it creates, to
// SCHED_FIFO priority 99 when it runs as root. Opening one to probe the encoders made the MCP server's
// threads, and the workers they started (which inherit the policy), real-time: the workers then held
// both cores and the server did not read its input for 15 s, so cancel_transcode answered that late;
// a real-time encode can also freeze a shared machine. Without CAP_SYS_NICE those calls fail (SVT
// carries on at normal priority, with the warning its SVT_LOG=1 hides).
#pragma once

namespace pvt {

// Drops CAP_SYS_NICE from this process (effective, permitted, inheritable, ambient) and from the
// bounding set, so no later exec regains it. Lowering priority (nice) still works. A policy that the
// user chose before starting pvt (chrt) is left as it is. Returns false when a step was refused (not
// root and no CAP_SETPCAP is the usual reason; then there was nothing to drop either).
bool refuse_realtime_scheduling();

}  // namespace pvt
