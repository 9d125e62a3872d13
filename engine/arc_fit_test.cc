// The engine's test-time fitting end to end on a tiny real ARC model: a task the checkpoint has no
// puzzle id for, sent with its demonstration pairs, is fitted on the fit threads into a spare
// embedding row and answered on it; the same pairs again hit the cache.
#include "engine/arc_fit.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <iostream>
#include <mutex>

#include "engine/engine_internal.h"
#include "engine/serving_model.h"
#include "engine/test_models.h"

namespace trm::engine {
namespace {

using testing::MakeTempDir;
using testing::SaveTinyCheckpoint;
using testing::TinyModelOptions;

// Answers, in arrival order.
class Answers {
 public:
  std::function<void(Result)> Callback() {
    return [this](Result r) {
      std::lock_guard lock(mu_);
      results_.push_back(std::move(r));
      cv_.notify_all();
    };
  }
  // The n-th answer (0-based), waiting for it: no bound of the test's own (a fit's time is the
  // machine's; ctest's TIMEOUT tells a hang).
  Result Get(size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return results_.size() > n; });
    return results_[n];
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Result> results_;
};

// Counts the fit events the engine reports.
class FitEvents : public EngineObserver, public ModelObserver {
 public:
  std::shared_ptr<ModelObserver> ForModel(const std::string&) override {
    return std::shared_ptr<ModelObserver>(this, [](ModelObserver*) {});
  }
  void OnRequestDone(const Result&) override {}
  void OnArcFit(const ArcFitEvent& e) override {
    std::lock_guard lock(mu_);
    (e.cache_hit ? hits_ : e.ok ? fits_ : failures_)++;
  }
  int fits() {
    std::lock_guard lock(mu_);
    return fits_;
  }
  int hits() {
    std::lock_guard lock(mu_);
    return hits_;
  }
  int failures() {
    std::lock_guard lock(mu_);
    return failures_;
  }

 private:
  std::mutex mu_;
  int fits_ = 0, hits_ = 0, failures_ = 0;
};

puzzle::ArcGrid Grid(int rows, int cols, std::vector<uint8_t> cells) {
  return puzzle::ArcGrid{rows, cols, std::move(cells)};
}

// A task: recolour 1 -> 2.
std::vector<puzzle::ArcExample> Pairs() {
  return {{Grid(2, 2, {1, 0, 0, 1}), Grid(2, 2, {2, 0, 0, 2})},
          {Grid(2, 3, {1, 1, 0, 0, 0, 1}), Grid(2, 3, {2, 2, 0, 0, 0, 2})},
          {Grid(3, 1, {0, 1, 1}), Grid(3, 1, {0, 2, 2})}};
}

class ArcFitEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TinyModelOptions o;
    o.kind = "arc";
    o.seq_len = puzzle::kArcSeqLen;
    o.vocab_size = puzzle::kArcVocabSize;
    o.halt_max_steps = 2;
    o.puzzle_identifiers = {"<blank>", "known"};
    auto loaded =
        LoadServingModel("arc", SaveTinyCheckpoint(MakeTempDir("arc_fit_test"), o), torch::kCPU);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    model_ = *loaded;
  }

  std::unique_ptr<EngineInternal> MakeEngine(ArcFitOptions fit) {
    EngineOptions o;
    o.device = "cpu";
    o.arc_fit = fit;
    auto e = CreateEngineInternal(o);
    EXPECT_TRUE(e.ok()) << e.status();
    (*e)->SetObserver(&events_);
    EXPECT_TRUE((*e)->AddModel("arc", model_, true, SchedulerConfig{}).ok());
    return *std::move(e);
  }

  static ArcFitOptions SmallFit() {
    ArcFitOptions f;
    f.cache_tasks = 2;
    f.variants = 2;
    f.updates = 4;
    f.batch_size = 2;
    f.act_steps = 2;
    f.lr = 0.05;
    return f;
  }

  ArcRequest Unseen(Answers& answers, std::vector<puzzle::ArcExample> train = Pairs()) {
    ArcRequest r;
    r.task_id = "never-seen";
    r.rows = 2;
    r.cols = 2;
    r.cells = {0, 1, 1, 0};
    r.train = std::move(train);
    r.on_done = answers.Callback();
    return r;
  }

  // The spare rows (after the trained ids) that differ from zero.
  int FittedRows() const {
    const torch::Tensor spare =
        model_->arc_fit->table.narrow(0, 2, model_->arc_fit->table.size(0) - 2);
    return spare.abs().sum(1).gt(0).sum().item<int>();
  }

  std::shared_ptr<const ServingModel> model_;
  FitEvents events_;
};

TEST_F(ArcFitEngineTest, AnUnseenTaskIsFittedThenServedFromTheCache) {
  auto engine = MakeEngine(SmallFit());
  ASSERT_NE(model_->arc_fit, nullptr);
  EXPECT_EQ(model_->arc_fit->table.size(0), 2 + 2 * 2) << "two tasks of two variants spare";
  EXPECT_EQ(FittedRows(), 0);

  Answers answers;
  ASSERT_TRUE(engine->SubmitArc("arc", Unseen(answers)).ok());
  const Result first = answers.Get(0);
  ASSERT_TRUE(first.status.ok()) << first.status;
  EXPECT_TRUE(first.arc_fit.fitted);
  EXPECT_FALSE(first.arc_fit.cache_hit);
  EXPECT_GT(first.arc_fit.fit_ms, 0);
  EXPECT_EQ(first.arc_fit.updates, 4);
  EXPECT_LT(first.arc_fit.loss_after, first.arc_fit.loss_before) << "the fit explains the pairs";
  std::cout << "fit: " << first.arc_fit.fit_ms << " ms, loss " << first.arc_fit.loss_before
            << " -> " << first.arc_fit.loss_after << "\n";
  EXPECT_FALSE(first.arc_attempts.empty());
  EXPECT_EQ(FittedRows(), 2) << "one row per variant";
  EXPECT_EQ(events_.fits(), 1);

  ASSERT_TRUE(engine->SubmitArc("arc", Unseen(answers)).ok());
  const Result second = answers.Get(1);
  ASSERT_TRUE(second.status.ok()) << second.status;
  EXPECT_TRUE(second.arc_fit.fitted);
  EXPECT_TRUE(second.arc_fit.cache_hit);
  EXPECT_EQ(second.arc_fit.fit_ms, first.arc_fit.fit_ms);
  EXPECT_EQ(events_.fits(), 1) << "no second fit";
  EXPECT_EQ(events_.hits(), 1);
  // Same rows, same network, same input: the same answer.
  ASSERT_EQ(second.arc_attempts.size(), first.arc_attempts.size());
  EXPECT_EQ(second.arc_attempts[0].cells, first.arc_attempts[0].cells);
}

TEST_F(ArcFitEngineTest, RequestsArrivingDuringAFitShareIt) {
  auto engine = MakeEngine(SmallFit());
  Answers answers;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(engine->SubmitArc("arc", Unseen(answers)).ok());
  for (int i = 0; i < 3; ++i) {
    const Result r = answers.Get(i);
    ASSERT_TRUE(r.status.ok()) << r.status;
    EXPECT_TRUE(r.arc_fit.fitted);
  }
  // The first fit's requests all waited for it; at most a late one hit the cache.
  EXPECT_EQ(events_.fits(), 1);
  EXPECT_EQ(FittedRows(), 2);
}

TEST_F(ArcFitEngineTest, BadPairsAndMissingPairsAreRefusedWithTheField) {
  auto engine = MakeEngine(SmallFit());
  Answers answers;
  auto no_pairs = Unseen(answers, {});
  absl::Status s = engine->SubmitArc("arc", std::move(no_pairs));
  EXPECT_TRUE(absl::IsNotFound(s)) << s;
  EXPECT_NE(s.message().find("arc.train"), std::string::npos) << s;

  auto pairs = Pairs();
  pairs[1].output->cells[0] = 11;
  s = engine->SubmitArc("arc", Unseen(answers, pairs));
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_NE(s.message().find("train[1].output"), std::string::npos) << s;

  pairs = Pairs();
  pairs[2].output.reset();
  s = engine->SubmitArc("arc", Unseen(answers, pairs));
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_NE(s.message().find("train[2] has no output"), std::string::npos) << s;
  EXPECT_EQ(events_.fits() + events_.failures(), 0);
}

TEST_F(ArcFitEngineTest, AKnownTaskIgnoresItsPairs) {
  auto engine = MakeEngine(SmallFit());
  Answers answers;
  auto r = Unseen(answers);
  r.task_id = "known";
  ASSERT_TRUE(engine->SubmitArc("arc", std::move(r)).ok());
  const Result known = answers.Get(0);
  ASSERT_TRUE(known.status.ok()) << known.status;
  EXPECT_FALSE(known.arc_fit.fitted);
  EXPECT_EQ(events_.fits(), 0);
}

TEST_F(ArcFitEngineTest, FittingOffKeepsUnseenTasksNotFound) {
  ArcFitOptions off;
  off.cache_tasks = 0;
  auto engine = MakeEngine(off);
  EXPECT_EQ(model_->arc_fit, nullptr);
  Answers answers;
  EXPECT_TRUE(absl::IsNotFound(engine->SubmitArc("arc", Unseen(answers))));
}

TEST_F(ArcFitEngineTest, AnEngineStoppingMidFitAnswersTheWaitersUnavailable) {
  ArcFitOptions slow = SmallFit();
  slow.updates = 1'000'000;  // Far longer than the test: only the stop ends it.
  Answers answers;
  {
    auto engine = MakeEngine(slow);
    ASSERT_TRUE(engine->SubmitArc("arc", Unseen(answers)).ok());
  }  // Destroyed: the fit stops at its next batch.
  const Result r = answers.Get(0);
  EXPECT_TRUE(absl::IsUnavailable(r.status)) << r.status;
  EXPECT_EQ(events_.failures(), 1);
}

}  // namespace
}  // namespace trm::engine
