#include "realtime_guard.hpp"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace pvt {
namespace {

// capget/capset are the kernel's own interface (glibc has no wrapper; libcap would be a dependency
// for these two calls). Version 3: two 32-bit words per set.
bool drop_from_process(int cap) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  const unsigned word = static_cast<unsigned>(cap) / 32, bit = 1u << (static_cast<unsigned>(cap) % 32);
  if (!((data[word].effective | data[word].permitted | data[word].inheritable) & bit)) return true;
  data[word].effective &= ~bit;
  data[word].permitted &= ~bit;
  data[word].inheritable &= ~bit;
  return syscall(SYS_capset, &header, data) == 0;
}

}  // namespace

bool refuse_realtime_scheduling() {
  bool ok = true;
  // The bounding set first: dropping from it needs CAP_SETPCAP, which the process still has.
  if (prctl(PR_CAPBSET_READ, CAP_SYS_NICE, 0, 0, 0) == 1)
    ok = prctl(PR_CAPBSET_DROP, CAP_SYS_NICE, 0, 0, 0) == 0 && ok;
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, CAP_SYS_NICE, 0, 0);  // (fails harmlessly when unset)
  return drop_from_process(CAP_SYS_NICE) && ok;
}

}  // namespace pvt
