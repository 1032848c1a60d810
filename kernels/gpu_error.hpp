// What a GPU backend throws when the device, the driver or a launch fails. Callers catch it to fall back
// to the CPU kernel; its message names the API call and the driver's own text.
#pragma once

#include <stdexcept>
#include <string>

namespace pvt::kernels {

class GpuError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace pvt::kernels
