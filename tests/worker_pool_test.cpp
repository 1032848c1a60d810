// The pool's order of events around a finished segment, with a stand-in worker (a script that answers
// each segment at once): the slot takes its next segment before the job checks and records the one just
// written, and what that segment spent is known before the next one is handed out.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "segment_descriptor.hpp"
#include "test_support.hpp"
#include "worker_pool.hpp"

namespace pvt {
namespace {

// Answers every "ATTEMPT PATH" line with done, as `pvt worker --serve` does once its segment is written,
// and notes its pid beside the descriptor (served-by).
std::string fake_worker(const test::TempDir& dir) {
  const std::string path = dir / "fake-worker.sh";
  std::ofstream(path) << "#!/bin/sh\nwhile read attempt descriptor; do\n"
                         "  echo $$ >> \"$(dirname \"$descriptor\")/served-by\"\n"
                         "  echo '{\"done\":0}'\ndone\n";
  chmod(path.c_str(), 0755);
  return path;
}

std::vector<SegmentTask> written_tasks(const test::TempDir& dir, int count) {
  std::vector<SegmentTask> tasks;
  for (int i = 0; i < count; ++i) {
    SegmentTask t;
    t.segment = i;
    t.cost = 100 - i;  // dispatched in index order
    t.expected_frames = 10;
    t.descriptor_path = dir / ("seg_" + std::to_string(i) + ".task.json");
    t.stats_path = dir / ("seg_" + std::to_string(i) + ".json");
    t.log_path = dir / ("seg_" + std::to_string(i) + ".log");
    WorkerStats stats;
    stats.segment = i;
    stats.frames = 10;
    stats.bytes = 1000 * (i + 1);
    std::ofstream(t.stats_path) << nlohmann::json(stats).dump();
    tasks.push_back(t);
  }
  return tasks;
}

std::ptrdiff_t position(const std::vector<std::string>& events, const std::string& event) {
  const auto at = std::find(events.begin(), events.end(), event);
  EXPECT_NE(at, events.end()) << event << " never happened";
  return at - events.begin();
}

TEST(WorkerPool, AFreedSlotTakesItsNextSegmentBeforeTheFinishedOneIsChecked) {
  test::TempDir dir;
  std::vector<std::string> events;
  PoolCallbacks cb;
  cb.before_start = [&](const SegmentTask& t, const std::string&, const std::string&) {
    events.push_back("start " + std::to_string(t.segment));
  };
  cb.on_written = [&](const SegmentTask& t, const SegmentResult& r) {
    EXPECT_EQ(r.stats.bytes, 1000 * (t.segment + 1));
    events.push_back("written " + std::to_string(t.segment));
  };
  cb.check_output = [&](const SegmentTask& t) {
    events.push_back("check " + std::to_string(t.segment));
    return std::string();
  };
  cb.on_done = [&](const SegmentTask& t, const SegmentResult&) {
    events.push_back("done " + std::to_string(t.segment));
  };
  EncoderSlots slots;
  slots.cpu = 1;
  const auto results = run_worker_pool(written_tasks(dir, 3), slots, {}, fake_worker(dir), cb);
  ASSERT_EQ(results.size(), 3u);
  for (const auto& r : results) EXPECT_EQ(r.stats.frames, 10);
  for (int i = 0; i < 3; ++i) {
    const std::string n = std::to_string(i);
    EXPECT_LT(position(events, "start " + n), position(events, "written " + n));
    EXPECT_LT(position(events, "written " + n), position(events, "check " + n));
    EXPECT_LT(position(events, "check " + n), position(events, "done " + n));
  }
  for (int i = 0; i < 2; ++i) {
    const std::string n = std::to_string(i), next = std::to_string(i + 1);
    // The next budget is handed out knowing what this segment spent...
    EXPECT_LT(position(events, "written " + n), position(events, "start " + next));
    // ...and the worker does not wait for this segment's check and record.
    EXPECT_LT(position(events, "start " + next), position(events, "check " + n));
  }
}

TEST(WorkerPool, ASegmentWhoseCheckFailsAfterTheSlotMovedOnIsRetried) {
  test::TempDir dir;
  int checks_of_1 = 0;
  std::vector<int> failed;
  PoolCallbacks cb;
  cb.check_output = [&](const SegmentTask& t) {
    return t.segment == 1 && ++checks_of_1 == 1 ? std::string("segment file is unreadable") : std::string();
  };
  cb.on_failed = [&](const SegmentTask& t, const std::string& reason, bool retrying) {
    EXPECT_EQ(reason, "segment file is unreadable");
    EXPECT_TRUE(retrying);
    failed.push_back(t.segment);
  };
  EncoderSlots slots;
  slots.cpu = 1;
  const auto results = run_worker_pool(written_tasks(dir, 3), slots, {}, fake_worker(dir), cb);
  EXPECT_EQ(failed, std::vector<int>{1});
  EXPECT_EQ(checks_of_1, 2);
  EXPECT_EQ(results.at(1).attempts, 2);
  EXPECT_EQ(results.at(0).attempts, 1);
  EXPECT_EQ(results.at(2).attempts, 1);
}

TEST(WorkerPool, WorkersStartedAheadTakeTheSegmentsAndTheSpareOnesAreStopped) {
  test::TempDir dir;
  const std::string worker = fake_worker(dir);
  auto warm = start_warm_workers(3, worker, dir.path().string());
  ASSERT_EQ(warm.size(), 3u);
  std::set<int> warm_pids;
  for (const auto& w : warm) warm_pids.insert(w->pid());
  EncoderSlots slots;
  slots.cpu = 2;
  const auto results = run_worker_pool(written_tasks(dir, 5), slots, {}, worker, {}, std::move(warm));
  for (const auto& r : results) EXPECT_EQ(r.stats.frames, 10);
  std::ifstream in(dir / "served-by");
  std::set<int> served;
  for (int pid; in >> pid;) served.insert(pid);
  EXPECT_EQ(served.size(), 2u) << "one worker per slot";
  for (int pid : served) EXPECT_TRUE(warm_pids.count(pid)) << pid << " was started by the pool, not ahead";
  // All three are reaped: none is left running (kill(pid, 0) fails for a process that is gone).
  for (int pid : warm_pids) EXPECT_NE(::kill(pid, 0), 0) << pid << " still runs";
}

TEST(WorkerPool, IdleWorkersOverTheMemoryBudgetStillTakeTheNextSegmentOneAtATime) {
  test::TempDir dir;
  const std::string worker = fake_worker(dir);
  EncoderSlots slots;
  slots.cpu = 2;
  PoolLimits limits;
  limits.worker_memory = 1;  // both may start at the estimate...
  limits.memory_budget = 2;  // ...but any measured peak (megabytes) allows one only
  const auto results = run_worker_pool(written_tasks(dir, 6), slots, limits, worker, {},
                                       start_warm_workers(2, worker, dir.path().string()));
  ASSERT_EQ(results.size(), 6u);
  for (const auto& r : results) EXPECT_EQ(r.stats.frames, 10);
}

}  // namespace
}  // namespace pvt
