#include "server/grpc/step_queue.h"

#include <gtest/gtest.h>

#include <vector>

namespace trm::server {
namespace {

trm::v1::SolveStep Step(int n, std::vector<int32_t> changed, bool final = false) {
  trm::v1::SolveStep s;
  s.set_step(n);
  s.mutable_changed_cells()->Assign(changed.begin(), changed.end());
  s.set_final(final);
  return s;
}

std::vector<int32_t> Cells(const trm::v1::SolveStep& s) {
  return {s.changed_cells().begin(), s.changed_cells().end()};
}

TEST(StepQueueTest, KeepsOrderWhileUnderCapacity) {
  StepQueue q(4);
  const absl::Time t0 = absl::UnixEpoch();
  for (int i = 1; i <= 4; ++i) q.Push(Step(i, {i}));
  EXPECT_EQ(q.waiting(), 4u);
  for (int i = 1; i <= 4; ++i) {
    const trm::v1::SolveStep* s = q.StartWrite(t0);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->step(), i);
    EXPECT_EQ(q.StartWrite(t0), nullptr) << "one write in flight at a time";
    q.WriteDone();
  }
  EXPECT_EQ(q.StartWrite(t0), nullptr);
  EXPECT_EQ(q.merged(), 0u);
}

// A reader that takes nothing: memory stays at capacity + 1 messages however many steps come,
// the newest step is always there, and the final one arrives with every change since the last
// message the reader got.
TEST(StepQueueTest, NeverReadStreamStaysBoundedAndEndsWithTheLatestSteps) {
  StepQueue q(3);
  const absl::Time t0 = absl::UnixEpoch();
  q.Push(Step(1, {0}));
  ASSERT_NE(q.StartWrite(t0), nullptr);  // Step 1 is in flight and never completes.
  for (int i = 2; i <= 1000; ++i) q.Push(Step(i, {i % 81}));
  q.Push(Step(1001, {80}, /*final=*/true));
  EXPECT_EQ(q.waiting(), 3u);
  EXPECT_EQ(q.merged(), 1001u - 1 - 3);
  q.WriteDone();
  std::vector<int> got;
  std::vector<int32_t> last_cells;
  bool final = false;
  while (const trm::v1::SolveStep* s = q.StartWrite(t0)) {
    got.push_back(s->step());
    last_cells = Cells(*s);
    final = s->final();
    q.WriteDone();
  }
  EXPECT_EQ(got, (std::vector<int>{2, 3, 1001}));
  EXPECT_TRUE(final);
  // Steps 4..1001 were merged: their cells are (4..1000) % 81 and 80, i.e. every cell 0..80.
  ASSERT_EQ(last_cells.size(), 81u);
  for (int c = 0; c < 81; ++c) EXPECT_EQ(last_cells[c], c);
}

TEST(StepQueueTest, MergedCellsAreTheSortedUnion) {
  StepQueue q(1);
  q.Push(Step(1, {7, 3}));
  q.Push(Step(2, {5, 3, 9}));
  EXPECT_EQ(q.waiting(), 1u);
  const trm::v1::SolveStep* s = q.StartWrite(absl::UnixEpoch());
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->step(), 2);
  EXPECT_EQ(Cells(*s), (std::vector<int32_t>{3, 5, 7, 9}));
}

TEST(StepQueueTest, WriteWaitingMeasuresTheWriteInFlight) {
  StepQueue q(2);
  const absl::Time t0 = absl::UnixEpoch();
  EXPECT_EQ(q.WriteWaiting(t0 + absl::Seconds(5)), absl::ZeroDuration());
  q.Push(Step(1, {}));
  q.Push(Step(2, {}));
  q.StartWrite(t0);
  EXPECT_EQ(q.WriteWaiting(t0 + absl::Seconds(5)), absl::Seconds(5));
  q.WriteDone();
  q.StartWrite(t0 + absl::Seconds(6));
  EXPECT_EQ(q.WriteWaiting(t0 + absl::Seconds(7)), absl::Seconds(1));
  q.WriteDone();
  EXPECT_EQ(q.WriteWaiting(t0 + absl::Seconds(8)), absl::ZeroDuration());
}

TEST(StepQueueTest, DropWaitingKeepsTheWriteInFlight) {
  StepQueue q(4);
  for (int i = 1; i <= 3; ++i) q.Push(Step(i, {}));
  q.StartWrite(absl::UnixEpoch());
  q.DropWaiting();
  EXPECT_TRUE(q.writing());
  EXPECT_EQ(q.waiting(), 0u);
  q.WriteDone();
  EXPECT_EQ(q.StartWrite(absl::UnixEpoch()), nullptr);
}

TEST(StepQueueTest, CapacityZeroActsAsOne) {
  StepQueue q(0);
  q.Push(Step(1, {}));
  q.Push(Step(2, {}));
  EXPECT_EQ(q.waiting(), 1u);
}

}  // namespace
}  // namespace trm::server
