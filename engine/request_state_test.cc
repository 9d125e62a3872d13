#include "engine/request_state.h"

#include <gtest/gtest.h>

#include <numeric>

#include "engine/dihedral_views.h"

namespace trm::engine {
namespace {

// A HostStep over `rows` (each seq_len tokens), owning its buffer.
HostStep Host(std::vector<std::vector<int32_t>> rows) {
  auto buffer = std::make_shared<std::vector<int32_t>>();
  for (const auto& r : rows) buffer->insert(buffer->end(), r.begin(), r.end());
  HostStep h;
  h.tokens = buffer->data();
  h.seq_len = static_cast<int>(rows[0].size());
  h.owner = buffer;
  return h;
}

struct Seen {
  std::vector<StepEvent> steps;
  std::vector<Result> results;
  std::vector<Result> observed;
};

class Recorder : public ModelObserver {
 public:
  explicit Recorder(Seen* seen) : seen_(seen) {}
  void OnRequestDone(const Result& r) override { seen_->observed.push_back(r); }

 private:
  Seen* seen_;
};

RequestState::Spec BaseSpec(Seen& seen, int rows, bool steps) {
  RequestState::Spec spec;
  spec.model = "m";
  spec.request_id = "r";
  spec.cancel = std::make_shared<CancelToken>();
  spec.rows.resize(rows);
  if (steps) spec.on_step = [&seen](const StepEvent& e) { seen.steps.push_back(e); };
  spec.on_done = [&seen](Result r) { seen.results.push_back(std::move(r)); };
  spec.observer = std::make_shared<Recorder>(&seen);
  return spec;
}

TEST(RequestState, OneRowStreamsItsStepsAndAnswersOnceWhenItHalts) {
  Seen seen;
  RequestState state(BaseSpec(seen, 1, /*steps=*/true), 1, absl::Now());
  state.SetAdmitted(absl::Now(), "v7");
  state.OnSteps(Host({{1, 2, 3}}), std::vector<RowStep>{{.row = 0, .steps = 1, .confidence = .2f}});
  EXPECT_FALSE(state.answered());
  state.OnSteps(
      Host({{9, 9, 9}, {1, 5, 3}}),
      std::vector<RowStep>{
          {.row = 0, .slot = 1, .steps = 2, .confidence = .9f, .halted = HaltReason::kQHead}});
  ASSERT_EQ(seen.steps.size(), 2u);
  EXPECT_EQ(seen.steps[0].changed_cells, (std::vector<int32_t>{0, 1, 2}));  // All new.
  EXPECT_FALSE(seen.steps[0].final);
  EXPECT_EQ(seen.steps[1].answer_tokens, (std::vector<int32_t>{1, 5, 3}));
  EXPECT_EQ(seen.steps[1].changed_cells, (std::vector<int32_t>{1}));
  EXPECT_TRUE(seen.steps[1].final);
  ASSERT_EQ(seen.results.size(), 1u);
  const Result& r = seen.results[0];
  EXPECT_TRUE(r.status.ok());
  EXPECT_EQ(r.answer_tokens, (std::vector<int32_t>{1, 5, 3}));
  EXPECT_EQ(r.steps, 2);
  EXPECT_FLOAT_EQ(r.confidence, .9f);
  EXPECT_EQ(r.halt_reason, HaltReason::kQHead);
  EXPECT_EQ(r.model, "m");
  EXPECT_EQ(r.model_version, "v7");
  EXPECT_EQ(r.views, 1);
  EXPECT_TRUE(state.answered());
  // Anything after the answer is ignored: no second answer.
  state.OnFailure(absl::CancelledError("late"), 3);
  EXPECT_EQ(seen.results.size(), 1u);
  EXPECT_EQ(seen.observed.size(), 1u);
}

TEST(RequestState, AFailureAnswersWithItsStatusAndSteps) {
  Seen seen;
  RequestState state(BaseSpec(seen, 2, /*steps=*/false), 1, absl::Now());
  state.OnFailure(absl::DeadlineExceededError("request r: deadline passed"), 4);
  ASSERT_EQ(seen.results.size(), 1u);
  EXPECT_TRUE(absl::IsDeadlineExceeded(seen.results[0].status));
  EXPECT_EQ(seen.results[0].steps, 4);
  EXPECT_EQ(seen.observed.size(), 1u);
  EXPECT_TRUE(state.answered());
}

// Eight views of a 3x3 grid: once five agree at confidence 0.9 (4.5 votes) the three still
// running cannot overturn them, so the request is answered then, with views = 5.
TEST(RequestState, ViewsAnswerAsSoonAsTheVoteIsDecided) {
  Seen seen;
  RequestState::Spec spec = BaseSpec(seen, 8, /*steps=*/false);
  spec.combine = RequestState::Combine::kViews;
  spec.grid_side = 3;
  RequestState state(std::move(spec), 1, absl::Now());
  std::vector<int32_t> truth(9);
  std::iota(truth.begin(), truth.end(), 1);
  for (int k = 0; k < 5; ++k) {
    EXPECT_TRUE(seen.results.empty()) << "decided after only " << k << " views";
    state.OnSteps(Host({ViewTokens(truth, 3, k)}),
                  std::vector<RowStep>{
                      {.row = k, .steps = 3 + k, .confidence = .9f, .halted = HaltReason::kQHead}});
  }
  ASSERT_EQ(seen.results.size(), 1u);
  const Result& r = seen.results[0];
  EXPECT_EQ(r.answer_tokens, truth);
  EXPECT_EQ(r.views, 5);
  EXPECT_EQ(r.views_agreeing, 5);
  EXPECT_TRUE(state.answered());
}

TEST(RequestState, SplitViewsWaitForTheRest) {
  Seen seen;
  RequestState::Spec spec = BaseSpec(seen, 2, /*steps=*/false);
  spec.combine = RequestState::Combine::kViews;
  spec.grid_side = 2;
  RequestState state(std::move(spec), 1, absl::Now());
  state.OnSteps(Host({{1, 2, 3, 4}}),
                std::vector<RowStep>{
                    {.row = 0, .steps = 2, .confidence = .99f, .halted = HaltReason::kQHead}});
  EXPECT_TRUE(seen.results.empty()) << "one view at 0.99 can be outvoted by the other's 1";
  state.OnSteps(Host({ViewTokens({1, 2, 3, 4}, 2, 1)}),
                std::vector<RowStep>{
                    {.row = 1, .steps = 5, .confidence = .5f, .halted = HaltReason::kMaxSteps}});
  ASSERT_EQ(seen.results.size(), 1u);
  EXPECT_EQ(seen.results[0].answer_tokens, (std::vector<int32_t>{1, 2, 3, 4}));
  EXPECT_EQ(seen.results[0].views, 2);
  EXPECT_EQ(seen.results[0].views_agreeing, 2);
  EXPECT_EQ(seen.results[0].steps, 2);  // The most confident agreeing view's.
}

}  // namespace
}  // namespace trm::engine
