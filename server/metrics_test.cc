#include "server/metrics.h"

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

namespace trm::server {
namespace {

std::string Scrape(const Metrics& metrics) {
  std::vector<prometheus::MetricFamily> families;
  for (const auto& c : metrics.collectables()) {
    auto part = c->Collect();
    families.insert(families.end(), part.begin(), part.end());
  }
  return prometheus::TextSerializer().Serialize(families);
}

TEST(MetricsTest, ExportsTheDocumentedNamesWithLabels) {
  Metrics m;
  m.SetStatsSource([] {
    engine::ModelStats s;
    s.queue_depth = 3;
    s.active_requests = 5;
    s.active_rows = 11;
    s.steps_run = 1;
    s.occupancy_counts[2] = 1;  // One step at occupancy in (0.125, 0.25].
    s.occupancy_sum = 0.25;
    return std::vector<std::pair<std::string, engine::ModelStats>>{{"sudoku", s}};
  });
  m.RecordRequest("Solve", "sudoku", "OK", 0.01);
  m.RecordRequest("Solve", "sudoku", "INVALID_ARGUMENT", 0.001);
  m.RecordAnswer("sudoku", "verified", "model");
  engine::ModelInfo info;
  info.name = "sudoku";
  info.version = "v1";
  info.task = engine::TaskKind::kSudoku;
  info.device = "cpu";
  m.SetModelInfo(info);
  info.version = "v2";  // A reload replaces the series.
  m.SetModelInfo(info);
  m.SetServing(true);
  engine::Result r;
  r.steps = 3;
  r.halt_reason = engine::HaltReason::kQHead;
  r.timing.queue_ms = 1;
  r.timing.compute_ms = 4;
  r.views = 5;
  m.ForModel("sudoku")->OnRequestDone(r);

  const std::string text = Scrape(m);
  for (const char* want : {
           "trm_requests_total{code=\"OK\",method=\"Solve\",model=\"sudoku\"} 1",
           "trm_requests_total{code=\"INVALID_ARGUMENT\",method=\"Solve\",model=\"sudoku\"} 1",
           "trm_request_duration_seconds_bucket{method=\"Solve\",model=\"sudoku\",le=\"0.01\"} 2",
           "trm_queue_wait_seconds_count{model=\"sudoku\"} 1",
           "trm_compute_seconds_sum{model=\"sudoku\"} 0.004",
           "trm_act_steps_bucket{model=\"sudoku\",le=\"3\"} 1",
           "trm_act_steps_bucket{model=\"sudoku\",le=\"2\"} 0",
           "trm_halt_reasons_total{model=\"sudoku\",reason=\"q_head\"} 1",
           "trm_batch_occupancy_ratio_bucket{model=\"sudoku\",le=\"0.125\"} 0",
           "trm_batch_occupancy_ratio_bucket{model=\"sudoku\",le=\"0.25\"} 1",
           "trm_batch_occupancy_ratio_bucket{model=\"sudoku\",le=\"+Inf\"} 1",
           "trm_batch_occupancy_ratio_sum{model=\"sudoku\"} 0.25",
           "trm_views_bucket{model=\"sudoku\",le=\"4\"} 0",
           "trm_views_bucket{model=\"sudoku\",le=\"5\"} 1",
           "trm_halt_reasons_total{model=\"sudoku\",reason=\"max_steps\"} 0",
           "trm_batch_steps_total{model=\"sudoku\"} 1",
           "trm_queue_depth{model=\"sudoku\"} 3",
           "trm_active_requests{model=\"sudoku\"} 5",
           "trm_active_rows{model=\"sudoku\"} 11",
           "trm_answers_total{model=\"sudoku\",source=\"model\",verification=\"verified\"} 1",
           "trm_model_info{device=\"cpu\",model=\"sudoku\",task=\"sudoku\",version=\"v2\"} 1",
           "trm_health_serving 1",
           "process_resident_memory_bytes ",
           "process_cpu_seconds_total ",
           "process_open_fds ",
           "process_start_time_seconds ",
       }) {
    EXPECT_NE(text.find(want), std::string::npos) << "missing: " << want << "\n" << text;
  }
  EXPECT_EQ(text.find("version=\"v1\""), std::string::npos) << text;
}

TEST(MetricsTest, FailedRequestsAreNotObservedAsCompute) {
  Metrics m;
  engine::Result r;
  r.status = absl::CancelledError("gone");
  m.ForModel("maze")->OnRequestDone(r);
  // The model's series exist from the start (made once, with the model), and stay at 0.
  const std::string text = Scrape(m);
  EXPECT_NE(text.find("trm_compute_seconds_count{model=\"maze\"} 0"), std::string::npos) << text;
  EXPECT_NE(text.find("trm_halt_reasons_total{model=\"maze\",reason=\"q_head\"} 0"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace trm::server
