// The engine's value types: requests, results, model descriptions, options and monitoring
// figures. Every engine file and every caller needs them; the Engine facade (engine/engine.h)
// and the engine's internals both build on them.
//
// Plain C++ (no torch types) so the gRPC server never sees torch's headers.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "model/eval_tally.h"
#include "puzzle/arc.h"

namespace trm::engine {

// What a model's tokens mean. Decides how the server encodes puzzles for it.
enum class TaskKind { kSudoku, kMaze, kArc, kTokens };
const char* TaskKindName(TaskKind kind);  // "sudoku", "maze", "arc", "tokens"

enum class HaltReason {
  kQHead,       // sigmoid(q_halt) >= threshold after at least min_steps.
  kMaxSteps,    // Reached max_steps without the Q head saying stop.
  kFixedSteps,  // ignore_halting: ran exactly max_steps (the paper's evaluation mode).
};

// More than this many steps per request is refused (a typo must not pin a slot for hours).
inline constexpr int kMaxStepsLimit = 1024;

struct HaltOptions {
  int max_steps = 0;            // 0: the model's halt_max_steps (at most kMaxStepsLimit).
  int min_steps = 0;            // 0: 1.
  bool ignore_halting = false;  // Run exactly max_steps.
  float halt_threshold = 0.0f;  // 0: the engine default (0.5, i.e. q_halt_logit > 0).
};

// Cancels a request: its rows leave their batch slots at the next step boundary and its Result
// has status CANCELLED (unless it had already finished). The caller makes the token and puts it
// in the Request before Submit, so it can be tripped at any time, before or after Submit, from
// any thread, more than once.
class CancelToken {
 public:
  void Cancel() { cancelled_.store(true, std::memory_order_release); }
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }

 private:
  std::atomic<bool> cancelled_{false};
};

// One ACT step's view of a request, delivered on a completion thread (never the scheduler's):
// copy what you need; blocking stalls the other requests of that completion thread.
struct StepEvent {
  int step = 0;                        // 1-based.
  std::vector<int32_t> answer_tokens;  // argmax of the logits, [seq_len].
  float confidence = 0.0f;             // sigmoid(q_halt_logit).
  std::vector<int32_t> changed_cells;  // Indices whose token differs from the previous step.
  bool final = false;                  // The request is answered right after this event.
};

struct Timing {
  double queue_ms = 0;    // Submit to the first row's first ACT step.
  double compute_ms = 0;  // The first row's admission to the answer.
  double total_ms = 0;    // Submit to the answer.
};

// The single answer to a request. `status` is OK, or one of:
// CANCELLED (caller gone), DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED (out of memory in the step),
// UNAVAILABLE (engine shutting down), INTERNAL (the step failed).
struct Result {
  absl::Status status;
  std::vector<int32_t> answer_tokens;  // Final y, [seq_len].
  int steps = 0;
  float confidence = 0.0f;
  HaltReason halt_reason = HaltReason::kMaxSteps;
  std::string model;
  std::string model_version;
  Timing timing;
  // Dihedral views: how many views ran to an answer (the request is answered as soon as the
  // vote is decided, so it can be fewer than were asked for) and how many of them gave the
  // answer returned. 1 and 1 for a one-view request.
  int views = 1;
  int views_agreeing = 1;
  // ARC only: the voted attempts, best first (grids in original orientation and colours).
  struct ArcAttempt {
    int rows = 0, cols = 0;
    std::vector<int32_t> cells;  // Row-major colours 0-9.
    int votes = 0;
    float confidence = 0.0f;
  };
  std::vector<ArcAttempt> arc_attempts;
  // ARC only: whether the task's puzzle embedding was fitted at serving time (a task the
  // checkpoint has no puzzle id for, answered from its demonstration pairs).
  struct ArcFit {
    bool fitted = false;
    bool cache_hit = false;  // Fitted for an earlier request with the same pairs.
    double fit_ms = 0;       // How long the fit took (the earlier one's, on a cache hit).
    int updates = 0;         // Optimizer updates per variant.
    // Mean loss per labelled cell of the pairs (after the fit's ACT steps, averaged over the
    // variants) with the fresh embedding and with the fitted one: how much the fit explains.
    float loss_before = 0;
    float loss_after = 0;
  };
  ArcFit arc_fit;
};

// A request for one puzzle in the model's token layout.
struct Request {
  std::vector<int32_t> tokens;  // [seq_len], the model's vocabulary.
  int32_t puzzle_identifier = 0;
  HaltOptions halt;
  absl::Time deadline = absl::InfiniteFuture();
  std::string request_id;
  // Who sent it (the server: the client's connection), for the per-client share of batch slots
  // (SchedulerOptions::max_client_share). Empty: no share applies.
  std::string client;
  // Optional: trip it to cancel (see CancelToken).
  std::shared_ptr<CancelToken> cancel;
  // Test-time augmentation (sudoku and maze models): run the puzzle in the first N of its 8
  // dihedral orientations (puzzle/dihedral.h) as rows of one batch; the answers, mapped back,
  // vote with their Q head's confidence (engine/dihedral_views.h). 0: the model's default
  // (ModelInfo); 1: as given.
  int dihedral_views = 0;
  // Optional; called after each step on a completion thread (the last one has final=true,
  // before on_done). With several views, the as-given view's steps until it halts; when the vote
  // is decided later, by other views, on_done follows without a final step (the answer is the
  // vote's, not that view's).
  std::function<void(const StepEvent&)> on_step;
  // Called exactly once with the result, on a completion thread, when Submit returned OK.
  std::function<void(Result)> on_done;
};

// ARC: a test input of a task; expanded into augmented rows. For a task the checkpoint has no
// puzzle id for, `train` (the task's demonstration pairs, each with an output) lets the engine
// fit a puzzle embedding for it first (EngineOptions::arc_fit); without it such a task is
// NOT_FOUND.
struct ArcRequest {
  std::string task_id;
  int rows = 0, cols = 0;
  std::vector<int32_t> cells;  // Row-major colours 0-9.
  std::vector<puzzle::ArcExample> train;
  int augmentations = 0;  // 0: every variant the checkpoint has ids for (capped by server).
  int attempts = 0;       // 0: 2 (pass@2).
  HaltOptions halt;
  absl::Time deadline = absl::InfiniteFuture();
  std::string client;  // As for Request.
  std::string request_id;
  std::shared_ptr<CancelToken> cancel;
  std::function<void(Result)> on_done;
};

struct ModelInfo {
  std::string name;
  std::string version;
  TaskKind task = TaskKind::kTokens;
  int seq_len = 0;
  int vocab_size = 0;
  int halt_max_steps = 0;
  int num_puzzle_identifiers = 0;
  std::string device;  // "cpu", "cuda:0"
  // What its steps run on: on the CPU "avx512_bf16", "avx512", "avx2" or "reference"
  // (--cpu_kernels, resolved for this CPU); "" off the CPU.
  std::string cpu_kernels;
  int64_t parameters = 0;
  bool is_default = false;
  std::string path;
  int maze_side = 0;  // Maze models: the grid side they were trained on.
  // Halting threshold for requests that name none: the checkpoint's calibrated one, else the
  // engine's default_halt_threshold.
  float halt_threshold = 0.0f;
  // Dihedral views for requests that name none: the checkpoint's (serving.dihedral_views), else 1.
  int dihedral_views = 1;
};

struct SchedulerOptions {
  int max_batch_size = 64;   // Batch slots (rows) per model; a request takes one per view.
  int max_queue_size = 256;  // Waiting requests; more are rejected with RESOURCE_EXHAUSTED.
  // For models whose checkpoint names no threshold (trm-train evaluates at the same default).
  float default_halt_threshold = model::kDefaultHaltThreshold;
  // The most of the batch's slots one client's long requests (more steps than the checkpoint's
  // halt_max_steps: ignore_halting, a larger max_steps) take while they run (Request::client).
  // Rows are never pre-empted: without the share, a client filling the batch with such requests
  // would keep every other out for as long as they run; with it, a newcomer waits at most for
  // requests of normal length to finish. Normal requests are not held back, and a client with no
  // long rows running always gets one whole long request in. 1: no share.
  double max_client_share = 0.75;
};

// Test-time fitting of puzzle embeddings for ARC tasks a checkpoint never saw (the official
// code's freeze_weights path): the network frozen, a fresh embedding row per variant (the
// identity and variants - 1 augmentations, each fitted on the pairs under it) trained with the
// trainer's sign-SGD, on threads of its own so the step loops never wait.
struct ArcFitOptions {
  int cache_tasks = 16;  // Fitted tasks kept (LRU among those no request uses). 0: off.
  int threads = 1;       // Fits running at once.
  int variants = 1;      // Embedding rows per task (batch rows per request).
  int updates = 32;      // Optimizer updates per variant.
  int batch_size = 8;    // Pairs per batch (drawn with replacement).
  int act_steps = 2;     // ACT steps per batch, one update each (deep supervision).
  double lr = 1e-2;      // The official puzzle_emb_lr.
  double weight_decay = 0.1;
};

struct EngineOptions {
  std::string device = "auto";  // auto | cpu | cuda | cuda:N
  int num_threads = 0;          // 0: torch's default (the machine's cores).
  // How an ACT step computes on the CPU: "auto" (the fastest fused kernels this CPU has:
  // AVX-512, else AVX2 + FMA, else the reference), "avx512" or "avx2" (forced; a CPU without
  // them is an error at start, never an illegal instruction), "reference" (one libtorch op per
  // official op: the numbers the fast paths are tested against). Also "avx512_no_bf16_dot"
  // (tests).
  std::string cpu_kernels = "auto";
  // Threads that turn step results into answers (decode, vote, the caller's callbacks), so the
  // schedulers only run tensors. A request's events all run on one of them, in order.
  int completion_threads = 2;
  SchedulerOptions scheduler;
  ArcFitOptions arc_fit;
};

// Batch occupancy (occupied rows / capacity after admission), one observation per ACT step:
// counts per upper bound of kOccupancyBuckets, cumulative as Prometheus histograms are.
inline constexpr double kOccupancyBuckets[] = {0.0625, 0.125, 0.25,  0.375, 0.5,
                                               0.625,  0.75,  0.875, 1.0};
inline constexpr int kNumOccupancyBuckets = sizeof(kOccupancyBuckets) / sizeof(double);

// Monitoring figures for one model, read without blocking the scheduler. Requests are counted
// as requests (however many rows they take); rows are batch slots.
struct ModelStats {
  int64_t queue_depth = 0;      // Requests none of whose rows has a slot yet.
  int64_t active_requests = 0;  // Requests with rows in slots (or still to be admitted).
  int64_t active_rows = 0;      // Occupied batch slots.
  int64_t max_batch_size = 0;
  int64_t steps_run = 0;  // Batched ACT steps.
  int64_t occupancy_counts[kNumOccupancyBuckets] = {};
  double occupancy_sum = 0;
};

// Per-request figures for metrics: one per model, made when the model is added; OnRequestDone is
// called once per request on a completion thread, never on the scheduler's.
class ModelObserver {
 public:
  virtual ~ModelObserver() = default;
  virtual void OnRequestDone(const Result& result) = 0;
  // An ARC request found its fitted embedding in the cache (cache_hit, on the submitting
  // thread), or a fit ended (on a fit thread; `ok` false when it failed).
  struct ArcFitEvent {
    bool cache_hit = false;
    bool ok = true;
    double seconds = 0;
  };
  virtual void OnArcFit(const ArcFitEvent& /*event*/) {}
};

class EngineObserver {
 public:
  virtual ~EngineObserver() = default;
  // Called once per model name when the model is added; the handle is kept for its lifetime.
  virtual std::shared_ptr<ModelObserver> ForModel(const std::string& model) = 0;
};

}  // namespace trm::engine
