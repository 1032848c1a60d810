// analyze_video's results, kept per file version and options. A model often asks about the same file
// more than once (and a busy client may ask many times at once), while one analysis decodes the whole
// file: a repeat is answered from memory, and calls for a file whose analysis is running wait for that
// one instead of decoding it again.
#pragma once

#include <atomic>
#include <compare>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

namespace pvt::mcp {

class AnalysisCache {
 public:
  // A file version (path, size, modification time) and the options that shape the result.
  struct Key {
    std::string path;
    std::uintmax_t size = 0;
    std::int64_t mtime_ns = 0;
    double scene_threshold = 0;
    int min_scene_frames = 0;
    double segment_duration = 0;
    auto operator<=>(const Key&) const = default;
  };

  explicit AnalysisCache(std::size_t capacity = 16) : capacity_(capacity) {}

  // The stored result for `key`, the result of a running computation for it, or compute()'s. Only
  // successes are stored. When the computation this call waited for fails, the call computes itself
  // (unless `cancelled` is set: then it rethrows), so one caller's cancellation is not another's error.
  nlohmann::json get_or_compute(const Key& key, const std::function<nlohmann::json()>& compute,
                                const std::atomic<bool>& cancelled);

  std::size_t size() const;

 private:
  struct Entry {
    std::shared_future<nlohmann::json> result;
    std::uint64_t last_used = 0;
  };
  void evict_locked();

  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::map<Key, Entry> entries_;
  std::uint64_t clock_ = 0;
};

}  // namespace pvt::mcp
