#include "cancellation.hpp"

namespace pvt {

std::atomic<bool> g_stop_requested{false};

}  // namespace pvt
