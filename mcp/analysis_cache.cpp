#include "analysis_cache.hpp"

#include <chrono>

#include "error.hpp"

namespace pvt::mcp {

using nlohmann::json;

json AnalysisCache::get_or_compute(const Key& key, const Compute& compute, const std::atomic<bool>& cancelled,
                                   const ProgressFn& on_progress) {
  for (;;) {
    std::promise<json> mine;
    Entry entry;
    bool producer = false;
    {
      std::lock_guard lock(mutex_);
      auto it = entries_.find(key);
      if (it != entries_.end()) {
        it->second.last_used = ++clock_;
        entry = it->second;
      } else {
        entry = Entry{mine.get_future().share(), std::make_shared<Shared>(), ++clock_};
        entries_.emplace(key, entry);
        producer = true;
        evict_locked();
      }
    }
    if (producer) {
      const auto shared = entry.shared;
      try {
        json value = compute([shared, &on_progress](const Progress& p) {
          {
            std::lock_guard lock(shared->mutex);
            shared->progress = p;
            ++shared->version;
          }
          if (on_progress) on_progress(p);
        });
        mine.set_value(value);
        return value;
      } catch (...) {
        {
          std::lock_guard lock(shared->mutex);
          shared->cancelled_by_its_caller = cancelled.load();
        }
        {
          std::lock_guard lock(mutex_);
          entries_.erase(key);
        }
        mine.set_exception(std::current_exception());
        throw;
      }
    }

    // Waiting: watch this call's own cancel flag and pass the computation's progress on.
    std::uint64_t seen = 0;
    while (entry.result.wait_for(std::chrono::milliseconds(200)) != std::future_status::ready) {
      if (cancelled) throw Error(ErrorCode::kInterrupted, "analysis cancelled");
      Progress p;
      {
        std::lock_guard lock(entry.shared->mutex);
        if (entry.shared->version == seen) continue;
        seen = entry.shared->version;
        p = entry.shared->progress;
      }
      if (on_progress) on_progress(p);
    }
    try {
      return entry.result.get();
    } catch (...) {
      bool retry;
      {
        std::lock_guard lock(entry.shared->mutex);
        retry = entry.shared->cancelled_by_its_caller;
      }
      if (cancelled || !retry) throw;
      // The computing call was cancelled by its own client; its entry is gone, so the next round
      // computes (or joins a newer computation).
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
