// analyze_video's results, kept per file version and options. A model often asks about the same file
// more than once (and a busy client may ask many times at once), while one analysis decodes the whole
// file: a repeat is answered from memory, and calls for a file whose analysis is running wait for that
// one (seeing its progress) instead of decoding it again.
#pragma once

#include <atomic>
#include <compare>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

namespace pvt::mcp {

class AnalysisCache {
 public:
  // A file version and the options that shape the result. Device, inode and ctime besides size and
  // mtime: a file replaced by one of the same size with its mtime copied (cp -p, touch -r) is another.
  struct Key {
    std::string path;
    std::uint64_t device = 0;
    std::uint64_t inode = 0;
    std::uintmax_t size = 0;
    std::int64_t mtime_ns = 0;
    std::int64_t ctime_ns = 0;
    double scene_threshold = 0;
    int min_scene_frames = 0;
    double segment_duration = 0;
    auto operator<=>(const Key&) const = default;
  };
  struct Progress {
    double done = 0;
    double total = 0;
    std::string message;
  };
  using ProgressFn = std::function<void(const Progress&)>;
  using Compute = std::function<nlohmann::json(const ProgressFn& report)>;

  explicit AnalysisCache(std::size_t capacity = 16) : capacity_(capacity) {}

  // The stored result for `key`, or the result of the computation running for it (its progress passed
  // to on_progress about five times a second), or compute()'s: only successes are stored. A call whose
  // `cancelled` flag is set while it waits returns at once (Error kInterrupted). A failure is shared
  // with the calls that waited for it, unless it was the computing call's own cancellation: then a
  // waiter computes itself.
  nlohmann::json get_or_compute(const Key& key, const Compute& compute, const std::atomic<bool>& cancelled,
                                const ProgressFn& on_progress = {});

  std::size_t size() const;

 private:
  // What the computing call shares with those waiting for it.
  struct Shared {
    std::mutex mutex;
    Progress progress;
    std::uint64_t version = 0;
    bool cancelled_by_its_caller = false;
  };
  struct Entry {
    std::shared_future<nlohmann::json> result;
    std::shared_ptr<Shared> shared;
    std::uint64_t last_used = 0;
  };
  void evict_locked();

  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::map<Key, Entry> entries_;
  std::uint64_t clock_ = 0;
};

}  // namespace pvt::mcp
