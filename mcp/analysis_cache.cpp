#include "analysis_cache.hpp"

#include <chrono>

namespace pvt::mcp {

using nlohmann::json;

json AnalysisCache::get_or_compute(const Key& key, const std::function<json()>& compute,
                                   const std::atomic<bool>& cancelled) {
  for (;;) {
    std::promise<json> mine;
    std::shared_future<json> result;
    bool producer = false;
    {
      std::lock_guard lock(mutex_);
      auto it = entries_.find(key);
      if (it != entries_.end()) {
        it->second.last_used = ++clock_;
        result = it->second.result;
      } else {
        result = mine.get_future().share();
        entries_.emplace(key, Entry{result, ++clock_});
        producer = true;
        evict_locked();
      }
    }
    if (producer) {
      try {
        json value = compute();
        mine.set_value(value);
        return value;
      } catch (...) {
        {
          std::lock_guard lock(mutex_);
          entries_.erase(key);
        }
        mine.set_exception(std::current_exception());
        throw;
      }
    }
    try {
      return result.get();
    } catch (...) {
      if (cancelled) throw;
      // The computation waited for failed or was cancelled by its own caller; its entry is gone, so the
      // next round computes (or joins a newer computation).
    }
  }
}

std::size_t AnalysisCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

void AnalysisCache::evict_locked() {
  // The least recently used finished entries go first; running computations stay (callers wait on them).
  while (entries_.size() > capacity_) {
    auto oldest = entries_.end();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      const bool finished = it->second.result.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
      if (finished && (oldest == entries_.end() || it->second.last_used < oldest->second.last_used))
        oldest = it;
    }
    if (oldest == entries_.end()) return;
    entries_.erase(oldest);
  }
}

}  // namespace pvt::mcp
