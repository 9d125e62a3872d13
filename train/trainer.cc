#include "train/trainer.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <span>

#include "absl/strings/str_cat.h"
#include "model/device.h"
#include "model/eval_tally.h"
#include "train/data_parallel.h"

namespace trm::train {

namespace fs = std::filesystem;

namespace {

constexpr char kPuzzleEmb[] = "inner.puzzle_emb.weights";

// Copies example rows into the batch tensors.
void PutRow(const Example& e, int64_t row, torch::Tensor& inputs, torch::Tensor& labels,
            torch::Tensor& puzzle_ids) {
  const int64_t s = inputs.size(1);
  auto in = inputs.accessor<int64_t, 2>();
  auto lab = labels.accessor<int64_t, 2>();
  for (int64_t j = 0; j < s; ++j) {
    in[row][j] = e.inputs[j];
    lab[row][j] = e.labels[j];
  }
  puzzle_ids.accessor<int64_t, 1>()[row] = e.puzzle_id;
}

absl::Status CheckExample(const Example& e, const DataShape& shape, int64_t index) {
  if (static_cast<int>(e.inputs.size()) != shape.seq_len ||
      static_cast<int>(e.labels.size()) != shape.seq_len) {
    return absl::InvalidArgumentError(absl::StrCat(
        "data: example ", index, " has ", e.inputs.size(), " tokens, expected ", shape.seq_len));
  }
  if (e.puzzle_id < 0 || e.puzzle_id >= std::max(1, shape.num_puzzle_identifiers)) {
    return absl::InvalidArgumentError(
        absl::StrCat("data: example ", index, " has puzzle id ", e.puzzle_id));
  }
  return absl::OkStatus();
}

}  // namespace

nlohmann::json EvalMetrics::ToJson() const {
  return {{"step", step},
          {"examples", examples},
          {"exact_accuracy", exact_accuracy},
          {"cell_accuracy", cell_accuracy},
          {"halt_threshold", halt_threshold},
          {"halt_accuracy", halt_accuracy},
          {"mean_steps", mean_steps},
          {"exact_accuracy_max_steps", exact_accuracy_max_steps},
          {"seconds", seconds}};
}

absl::StatusOr<std::unique_ptr<Trainer>> Trainer::Create(const TrainOptions& options,
                                                         Communicator* comm) {
  if (auto st = options.Validate(); !st.ok()) return st;
  std::unique_ptr<Trainer> t(new Trainer());
  t->options_ = options;
  t->comm_ = comm;
  const int world = comm ? comm->world_size() : 1, rank = comm ? comm->rank() : 0;
  if (options.global_batch_size % world != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("global_batch_size: ", options.global_batch_size,
                     " rows do not split evenly over WORLD_SIZE=", world, " ranks"));
  }
  t->local_batch_ = options.global_batch_size / world;
  t->row_offset_ = rank * t->local_batch_;
  t->keep_ema_ = options.ema && rank == 0;
  auto device = model::ParseDevice(options.device);
  if (!device.ok()) return device.status();
  t->device_ = *device;
  auto loss = ParseLossType(options.loss);
  if (!loss.ok()) return loss.status();
  t->loss_type_ = *loss;
  auto kind = ParseOptimizerKind(options.optimizer);
  if (!kind.ok()) return kind.status();

  // Data: the training sequence and the held-out set.
  auto& o = t->options_;
  std::unique_ptr<ExampleSource> eval_source;
  if (!o.data_dir.empty()) {
    auto train = MakeDatasetSource(o.data_dir, "train", o.seed);
    if (!train.ok()) return train.status();
    t->train_ = std::move(*train);
    auto test = MakeDatasetSource(o.data_dir, "test", o.seed);
    if (test.ok()) eval_source = std::move(*test);
  } else {
    GeneratorOptions g = o.data;
    g.seed = MixSeed(o.seed, 1);
    auto train = MakeGeneratorSource(g);
    if (!train.ok()) return train.status();
    if (o.train_size > 0) {
      auto pool = Materialize(**train, o.train_size);
      if (!pool.ok()) return pool.status();
      t->train_ = MakePoolSource(std::move(*pool), (*train)->shape(), o.seed,
                                 (*train)->Describe() + ", fixed set");
    } else {
      t->train_ = std::move(*train);
    }
    g.seed = MixSeed(o.seed, 2);  // Held out: another seed, as generated.
    g.dihedral_aug = false;
    auto held_out = MakeGeneratorSource(g);
    if (!held_out.ok()) return held_out.status();
    eval_source = std::move(*held_out);
  }
  const DataShape& shape = t->train_->shape();
  // The data fixes the token layout.
  o.arch.seq_len = shape.seq_len;
  o.arch.vocab_size = shape.vocab_size;
  o.arch.num_puzzle_identifiers = std::max(1, shape.num_puzzle_identifiers);
  if (o.dtype == "auto") {
    o.arch.forward_dtype = t->device_.is_cuda() ? "bfloat16" : "float32";
  } else {
    o.arch.forward_dtype = o.dtype;
  }
  if (auto st = o.arch.Validate(); !st.ok()) return st;
  if (eval_source && o.eval_size > 0 && rank == 0) {
    const int64_t n =
        eval_source->size() > 0 ? std::min(o.eval_size, eval_source->size()) : o.eval_size;
    auto eval_set = Materialize(*eval_source, n);
    if (!eval_set.ok()) return eval_set.status();
    t->eval_set_ = std::move(*eval_set);
  }

  if (o.steps > 0) {
    t->total_steps_ = o.steps;
  } else {
    // Official: epochs * total_groups * mean_puzzle_examples / batch; the examples per epoch.
    const int64_t per_epoch = o.data_dir.empty() ? o.train_size : t->train_->size();
    t->total_steps_ = o.epochs * per_epoch / o.global_batch_size;
  }
  if (t->total_steps_ < 1) return absl::InvalidArgumentError("steps: the run would have 0 steps");

  // Network: the official initialisation from the run seed.
  torch::manual_seed(o.seed);
  t->net_ = model::TrmNet(o.arch);
  t->net_->to(t->device_);
  if (!o.init_from.empty()) {
    if (auto st = t->InitFrom(o.init_from); !st.ok()) return st;
  }
  AdamOptions adam;
  adam.kind = *kind;
  adam.beta1 = o.beta1;
  adam.beta2 = o.beta2;
  adam.weight_decay = o.weight_decay;
  t->adam_ = std::make_unique<Adam>(t->AdamParams(), adam);
  if (t->keep_ema_) {
    t->ema_net_ = model::TrmNet(o.arch);
    t->ema_net_->to(t->device_);
    torch::NoGradGuard no_grad;
    auto live = t->net_->named_parameters();
    auto ema = t->ema_net_->named_parameters();
    for (const auto& item : live) {
      auto& target = ema[item.key()];
      target.set_requires_grad(false);
      target.copy_(item.value());
      if (item.key() == kPuzzleEmb) continue;  // A buffer officially: not averaged.
      t->ema_targets_.push_back(target);
      t->ema_sources_.push_back(item.value());
    }
    for (auto& b : t->ema_net_->named_buffers()) b.value().copy_(t->net_->named_buffers()[b.key()]);
    t->ema_runner_ = model::MakeStepRunner(t->ema_net_);
  }
  t->runner_ = model::MakeStepRunner(t->net_);
  return t;
}

std::vector<std::pair<std::string, torch::Tensor>> Trainer::AdamParams() {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (auto& item : net_->named_parameters()) {
    if (item.key() == kPuzzleEmb) continue;  // Sign-SGD's, never Adam's (official).
    out.emplace_back(item.key(), item.value());
  }
  return out;
}

absl::Status Trainer::InitFrom(const std::string& path) {
  model::LoadOptions lo;
  lo.device = torch::kCPU;
  auto loaded = model::LoadCheckpoint(path, lo);
  if (!loaded.ok()) return loaded.status();
  auto state = model::StateDictOf(loaded->net);
  // Official load_checkpoint: a puzzle-embedding table of another size is replaced by its mean
  // row (new tasks start from the average task).
  auto mine = model::StateDictOf(net_);
  if (auto it = state.find(kPuzzleEmb); it != state.end() && mine.count(kPuzzleEmb) &&
                                        it->second.sizes() != mine[kPuzzleEmb].sizes()) {
    it->second = it->second.mean(0, true).expand(mine[kPuzzleEmb].sizes()).contiguous();
  }
  return model::LoadStateDictInto(net_, state, path);
}

float Trainer::ServingHaltThreshold() const {
  return options_.halt_threshold > 0 ? static_cast<float>(options_.halt_threshold)
                                     : model::kDefaultHaltThreshold;
}

model::StepRunner& Trainer::EvalRunner() {
  EvalNet();
  return keep_ema_ ? *ema_runner_ : *runner_;
}

model::TrmNet& Trainer::EvalNet() {
  if (!keep_ema_) return net_;
  torch::NoGradGuard no_grad;
  auto live = net_->named_parameters();
  if (live.contains(kPuzzleEmb)) ema_net_->named_parameters()[kPuzzleEmb].copy_(live[kPuzzleEmb]);
  for (auto& b : ema_net_->named_buffers()) b.value().copy_(net_->named_buffers()[b.key()]);
  return ema_net_;
}

absl::Status Trainer::PrepareBatch() {
  const int64_t b = local_batch_, s = shape().seq_len;
  if (!started_) {
    carry_ = net_->InitialCarry(b);
    halted_ = torch::ones({b}, torch::kBool);  // Official initial carry: every row halted.
    act_steps_ = torch::zeros({b}, torch::kLong);
    inputs_ = torch::zeros({b, s}, torch::kLong);
    labels_ = torch::full({b, s}, kIgnoreLabel, torch::kLong);
    puzzle_ids_ = torch::zeros({b}, torch::kLong);
    started_ = true;
  }
  // Official: the loader yields a whole batch every step; a halted row takes its row of it
  // (with several ranks, each rank's rows are its slice of the global batch).
  const int64_t base = step_ * options_.global_batch_size + row_offset_;
  auto halted = halted_.accessor<bool, 1>();
  for (int64_t r = 0; r < b; ++r) {
    if (!halted[r]) continue;
    auto e = train_->Get(base + r);
    if (!e.ok()) return e.status();
    if (auto st = CheckExample(*e, shape(), base + r); !st.ok()) return st;
    PutRow(*e, r, inputs_, labels_, puzzle_ids_);
  }
  torch::NoGradGuard no_grad;
  carry_ = net_->ResetCarry(carry_, halted_.to(device_));
  act_steps_.masked_fill_(halted_, 0);
  return absl::OkStatus();
}

absl::StatusOr<StepMetrics> Trainer::Step() {
  if (auto st = PrepareBatch(); !st.ok()) return st;
  ++step_;
  if (comm_) comm_->set_step(step_);
  const int64_t b = local_batch_, global_b = options_.global_batch_size;
  const auto& arch = options_.arch;
  StepMetrics m;
  m.step = step_;
  m.fresh_rows = halted_.sum().item<int64_t>();

  net_->train();
  const auto inputs = inputs_.to(device_);
  const auto labels = labels_.to(device_);
  const auto puzzle_ids = puzzle_ids_.to(device_);
  auto [new_carry, out] = net_->ActStep(carry_, inputs, puzzle_ids);

  // Halting (official ACT wrapper, training mode).
  act_steps_ += 1;
  auto q_halt = out.q_halt.detach().to(torch::kCPU);
  auto q_continue = out.q_continue.detach().to(torch::kCPU);
  auto is_last = act_steps_ >= arch.halt_max_steps;
  auto halted = is_last.clone();
  if (arch.halt_max_steps > 1) {
    halted = halted | (arch.no_ACT_continue ? q_halt > 0 : q_halt > q_continue);
    // Exploration: a row sometimes must run a random minimum of 2..halt_max_steps steps.
    // Drawn from (seed, step) for the whole global batch, so a resumed run, at any world size,
    // draws the same for the same row.
    std::mt19937_64 rng(MixSeed(options_.seed ^ 0x5eed'ac75ull, static_cast<uint64_t>(step_)));
    std::uniform_real_distribution<double> u(0.0, 1.0);
    std::uniform_int_distribution<int64_t> k(2, arch.halt_max_steps);
    auto min_steps = torch::zeros({b}, torch::kLong);
    auto ms = min_steps.accessor<int64_t, 1>();
    for (int64_t r = 0; r < row_offset_ + b; ++r) {
      const bool explore = u(rng) < arch.halt_exploration_prob;
      const int64_t draw = k(rng);
      if (r >= row_offset_) ms[r - row_offset_] = explore ? draw : 0;
    }
    halted = halted & (act_steps_ >= min_steps);
  }
  LossInputs li;
  li.logits = out.logits;
  li.q_halt = out.q_halt;
  li.q_continue = out.q_continue;
  li.labels = labels;
  li.halted = halted.to(device_);
  li.steps = act_steps_.to(device_);
  if (!arch.no_ACT_continue && arch.halt_max_steps > 1) {
    // Bootstrap target: the next step's Q values, from the new carry, without gradient.
    torch::NoGradGuard no_grad;
    auto next = runner_->ActStep(new_carry, inputs, puzzle_ids).second;
    li.target_q_continue = torch::sigmoid(torch::where(
        is_last.to(device_), next.q_halt, torch::maximum(next.q_halt, next.q_continue)));
  }
  auto loss = ActLoss(li, loss_type_);
  // Per row of the global batch: summed over ranks, the gradients are the global batch's mean.
  (loss.total / static_cast<double>(global_b)).backward();

  // Optimisers: same schedule shape for both, each with its own base rate.
  m.lr =
      CosineLr(step_, options_.lr, options_.lr_warmup_steps, total_steps_, options_.lr_min_ratio);
  if (comm_) {
    const double plr = CosineLr(step_, options_.puzzle_emb_lr, options_.lr_warmup_steps,
                                total_steps_, options_.lr_min_ratio);
    auto seconds = CombineAndUpdateEmbeddings(puzzle_ids, plr);
    if (!seconds.ok()) return seconds.status();
    m.comm_seconds = *seconds;
  } else if (arch.puzzle_emb_ndim > 0) {
    auto params = net_->named_parameters();
    auto& weights = params[kPuzzleEmb];
    if (weights.grad().defined()) {
      const double plr = CosineLr(step_, options_.puzzle_emb_lr, options_.lr_warmup_steps,
                                  total_steps_, options_.lr_min_ratio);
      SignSgdRows(weights, weights.grad(), puzzle_ids, plr, options_.puzzle_emb_weight_decay);
      weights.mutable_grad() = torch::Tensor();
    }
  }
  adam_->Step(m.lr);
  adam_->ZeroGrad();
  if (keep_ema_) EmaUpdate(ema_targets_, ema_sources_, options_.ema_rate);

  carry_ = new_carry;
  halted_ = halted;

  // The step's sums (over this rank's rows; with several ranks, over all of them).
  std::vector<double> sums = {loss.total.item<double>(),
                              loss.lm_loss,
                              loss.q_halt_loss,
                              loss.q_continue_loss,
                              loss.count,
                              loss.accuracy,
                              loss.exact_accuracy,
                              loss.q_halt_accuracy,
                              loss.steps,
                              static_cast<double>(m.fresh_rows)};
  if (comm_) {
    // Each rank's collective seconds in its own slot, so the sum carries all of them.
    const size_t n = sums.size();
    sums.resize(n + comm_->world_size(), 0.0);
    sums[n + comm_->rank()] = m.comm_seconds;
    auto t = torch::tensor(sums, torch::kDouble);
    if (auto st = comm_->AllReduceSum({t}, "metrics all-reduce"); !st.ok()) return st;
    sums.assign(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
    m.comm_seconds_min = *std::min_element(sums.begin() + n, sums.end());
    m.fresh_rows = static_cast<int64_t>(sums[9]);
  }
  m.loss = sums[0] / global_b;
  m.lm_loss = sums[1] / global_b;
  m.q_halt_loss = sums[2] / global_b;
  m.q_continue_loss = sums[3] / global_b;
  m.count = sums[4];
  const double c = std::max(1.0, sums[4]);
  m.accuracy = sums[5] / c;
  m.exact_accuracy = sums[6] / c;
  m.q_halt_accuracy = sums[7] / c;
  m.steps = sums[8] / c;
  return m;
}

absl::StatusOr<double> Trainer::CombineAndUpdateEmbeddings(const torch::Tensor& puzzle_ids,
                                                           double plr) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<torch::Tensor> params;
  for (auto& [name, p] : AdamParams()) params.push_back(p);
  if (auto st = AllReduceGradients(*comm_, params); !st.ok()) return st;
  if (options_.arch.puzzle_emb_ndim > 0) {
    auto named = net_->named_parameters();
    auto& weights = named[kPuzzleEmb];
    // Every rank takes part, with or without a gradient here, so the gathers line up.
    auto grad = weights.grad().defined() ? weights.grad() : torch::zeros_like(weights);
    if (auto st = SignSgdRowsDistributed(*comm_, weights, grad, puzzle_ids, plr,
                                         options_.puzzle_emb_weight_decay);
        !st.ok()) {
      return st;
    }
    weights.mutable_grad() = torch::Tensor();
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

absl::StatusOr<double> Trainer::LossOn(const std::vector<Example>& examples) {
  if (examples.empty()) return absl::InvalidArgumentError("LossOn: no examples");
  const int64_t n = static_cast<int64_t>(examples.size()), s = shape().seq_len;
  auto inputs = torch::zeros({n, s}, torch::kLong);
  auto labels = torch::zeros({n, s}, torch::kLong);
  auto pids = torch::zeros({n}, torch::kLong);
  for (int64_t i = 0; i < n; ++i) {
    if (auto st = CheckExample(examples[i], shape(), i); !st.ok()) return st;
    PutRow(examples[i], i, inputs, labels, pids);
  }
  torch::NoGradGuard no_grad;
  auto out = runner_->ActStep(net_->InitialCarry(n), inputs.to(device_), pids.to(device_)).second;
  auto per_cell = loss_type_ == LossType::kStablemax
                      ? StablemaxCrossEntropy(out.logits, labels.to(device_))
                      : SoftmaxCrossEntropy(out.logits, labels.to(device_));
  auto counts = (labels != kIgnoreLabel).sum(-1).clamp_min(1).to(device_);
  return (per_cell.sum(-1) / counts).mean().item<double>();
}

absl::StatusOr<EvalMetrics> Trainer::Evaluate() {
  EvalMetrics m;
  m.step = step_;
  if (eval_set_.empty()) return m;
  const auto start = std::chrono::steady_clock::now();
  auto& net = EvalNet();
  model::StepRunner& runner = EvalRunner();
  net->eval();
  torch::NoGradGuard no_grad;
  const int64_t s = shape().seq_len, max_steps = options_.arch.halt_max_steps;
  // Each puzzle stops where the engine would stop it (sigmoid(q_halt) >= the threshold it will be
  // served at, or max steps) and that step's answer is tallied as trm-eval tallies the server's.
  model::EvalTally tally;
  tally.halt_threshold = ServingHaltThreshold();
  double exact_max = 0;
  for (size_t first = 0; first < eval_set_.size(); first += options_.eval_batch_size) {
    const int64_t n = std::min<int64_t>(options_.eval_batch_size, eval_set_.size() - first);
    auto inputs = torch::zeros({n, s}, torch::kLong);
    auto labels = torch::zeros({n, s}, torch::kLong);
    auto pids = torch::zeros({n}, torch::kLong);
    for (int64_t i = 0; i < n; ++i) PutRow(eval_set_[first + i], i, inputs, labels, pids);
    const auto label_rows = labels.to(torch::kInt32).contiguous();
    auto carry = net->InitialCarry(n);
    std::vector<bool> done(n, false);
    auto dinputs = inputs.to(device_), dpids = pids.to(device_);
    for (int64_t step = 1; step <= max_steps; ++step) {
      auto [next, out] = runner.ActStep(carry, dinputs, dpids);
      carry = next;
      const auto preds = out.logits.argmax(-1).to(torch::kCPU, torch::kInt32).contiguous();
      const auto confidence =
          torch::sigmoid(out.q_halt).to(torch::kCPU, torch::kFloat32).contiguous();
      const float* conf = confidence.data_ptr<float>();
      for (int64_t i = 0; i < n; ++i) {
        const std::span<const int32_t> label(label_rows[i].data_ptr<int32_t>(), s);
        const std::span<const int32_t> answer(preds[i].data_ptr<int32_t>(), s);
        const float c = conf[i];
        if (!done[i] && (c >= tally.halt_threshold || step == max_steps)) {
          tally.Add(label, answer, c, static_cast<int>(step));
          done[i] = true;
        }
        if (step == max_steps)
          exact_max +=
              std::equal(label.begin(), label.end(), answer.begin(),
                         [](int32_t want, int32_t got) { return want < 0 || want == got; });
      }
    }
  }
  const double total = static_cast<double>(eval_set_.size());
  m.examples = tally.examples;
  m.halt_threshold = tally.halt_threshold;
  m.exact_accuracy = tally.exact_accuracy();
  m.cell_accuracy = tally.cell_accuracy();
  m.halt_accuracy = tally.halt_accuracy();
  m.mean_steps = tally.mean_steps();
  m.exact_accuracy_max_steps = exact_max / total;
  m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  net_->train();
  return m;
}

absl::Status Trainer::Save(const std::string& dir, const nlohmann::json& extra_provenance) {
  // The whole global batch: this process's, or every rank's rows gathered on rank 0.
  model::StateDict batch;
  if (started_) {
    batch = {{"carry.z_h", carry_.z_h},        {"carry.z_l", carry_.z_l}, {"batch.halted", halted_},
             {"batch.act_steps", act_steps_},  {"batch.inputs", inputs_}, {"batch.labels", labels_},
             {"batch.puzzle_ids", puzzle_ids_}};
    if (comm_) {
      for (auto& [k, v] : batch) {
        auto all = comm_->GatherToRoot(v, "checkpoint gather of " + k);
        if (!all.ok()) return all.status();
        v = *all;
      }
    }
  }
  if (comm_ && comm_->rank() != 0) return absl::OkStatus();

  model::CheckpointInfo info;
  info.name = options_.preset.empty() ? "trm" : options_.preset;
  info.config = options_.arch;
  info.task = shape().task;
  info.puzzle_identifiers = shape().puzzle_identifiers;
  info.halt_threshold = static_cast<float>(options_.halt_threshold);  // 0: none written.
  info.provenance = {{"trainer", "trm-train"},      {"step", step_},
                     {"total_steps", total_steps_}, {"weights", options_.ema ? "ema" : "live"},
                     {"data", train_->Describe()},  {"options", options_.ToJson()}};
  if (extra_provenance.is_object()) info.provenance.update(extra_provenance);
  if (auto st = model::SaveCheckpoint(EvalNet(), info, dir); !st.ok()) return st;

  // What a resume needs beyond the weights.
  model::StateDict state;
  for (auto& [k, v] : model::StateDictOf(net_)) state["net." + k] = v;
  if (keep_ema_) {
    for (auto& [k, v] : model::StateDictOf(ema_net_)) state["ema." + k] = v;
  }
  for (auto& [k, v] : adam_->State()) state["adam." + k] = v;
  state.insert(batch.begin(), batch.end());
  for (auto& [k, v] : state) v = v.detach().to(torch::kCPU).contiguous();
  if (auto st = model::WriteStateDict(state, (fs::path(dir) / "train_state.pt").string());
      !st.ok()) {
    return st;
  }
  nlohmann::json j = {{"format", "trm-train-state"},
                      {"version", 1},
                      {"step", step_},
                      {"total_steps", total_steps_},
                      {"data_position", step_ * options_.global_batch_size},
                      {"started", started_},
                      {"options", options_.ToJson()}};
  std::ofstream f(fs::path(dir) / "train_state.json");
  f << j.dump(2) << "\n";
  if (!f)
    return absl::InternalError("cannot write " + (fs::path(dir) / "train_state.json").string());
  return absl::OkStatus();
}

absl::Status Trainer::Restore(const std::string& dir) {
  const auto json_path = (fs::path(dir) / "train_state.json").string();
  std::ifstream f(json_path);
  if (!f) return absl::NotFoundError(json_path + ": cannot open");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(f);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(json_path + ": " + e.what());
  }
  if (j.value("format", "") != "trm-train-state") {
    return absl::InvalidArgumentError(json_path + ": not a trm-train state");
  }
  auto state = model::ReadStateDict((fs::path(dir) / "train_state.pt").string());
  if (!state.ok()) return state.status();
  auto take = [&](const std::string& prefix) {
    model::StateDict out;
    for (auto& [k, v] : *state) {
      if (k.rfind(prefix, 0) == 0) out[k.substr(prefix.size())] = v;
    }
    return out;
  };
  if (auto st = model::LoadStateDictInto(net_, take("net."), dir + "/train_state.pt (net)");
      !st.ok()) {
    return st;
  }
  if (keep_ema_) {
    auto ema = take("ema.");
    if (ema.empty()) return absl::InvalidArgumentError(dir + ": no EMA state but --ema is on");
    if (auto st = model::LoadStateDictInto(ema_net_, ema, dir + "/train_state.pt (ema)");
        !st.ok()) {
      return st;
    }
  }
  if (auto st = adam_->LoadState(take("adam.")); !st.ok()) {
    return absl::InvalidArgumentError(dir + "/train_state.pt: " + std::string(st.message()));
  }
  step_ = j.value("step", int64_t{0});
  started_ = j.value("started", false);
  if (started_) {
    auto batch = take("batch.");
    auto carry = take("carry.");
    for (const char* k : {"halted", "act_steps", "inputs", "labels", "puzzle_ids"}) {
      if (!batch.count(k)) return absl::InvalidArgumentError(dir + ": missing batch." + k);
    }
    if (!carry.count("z_h") || !carry.count("z_l")) {
      return absl::InvalidArgumentError(dir + ": missing carry");
    }
    if (batch["inputs"].size(0) != options_.global_batch_size) {
      return absl::InvalidArgumentError(
          absl::StrCat(dir, ": saved batch size ", batch["inputs"].size(0),
                       " but --global_batch_size is ", options_.global_batch_size));
    }
    restored_batch_ = {{"carry.z_h", carry["z_h"]},
                       {"carry.z_l", carry["z_l"]},
                       {"batch.halted", batch["halted"]},
                       {"batch.act_steps", batch["act_steps"]},
                       {"batch.inputs", batch["inputs"]},
                       {"batch.labels", batch["labels"]},
                       {"batch.puzzle_ids", batch["puzzle_ids"]}};
    AdoptBatchRows(restored_batch_);
    // One process needs it no more; rank 0 hands it to the others in SyncFromRank0.
    if (!comm_) restored_batch_.clear();
  }
  return absl::OkStatus();
}

void Trainer::AdoptBatchRows(model::StateDict& full) {
  auto rows = [&](const char* k) { return full[k].narrow(0, row_offset_, local_batch_).clone(); };
  halted_ = rows("batch.halted").to(torch::kBool);
  act_steps_ = rows("batch.act_steps").to(torch::kLong);
  inputs_ = rows("batch.inputs").to(torch::kLong);
  labels_ = rows("batch.labels").to(torch::kLong);
  puzzle_ids_ = rows("batch.puzzle_ids").to(torch::kLong);
  carry_ = {rows("carry.z_h").to(device_, net_->forward_dtype()),
            rows("carry.z_l").to(device_, net_->forward_dtype())};
}

absl::Status Trainer::SyncFromRank0() {
  if (!comm_) return absl::OkStatus();
  torch::NoGradGuard no_grad;
  auto meta = torch::tensor({step_, static_cast<int64_t>(started_)}, torch::kLong);
  if (auto st = comm_->Broadcast({meta}, "start-up broadcast of the step"); !st.ok()) return st;
  step_ = meta[0].item<int64_t>();
  started_ = meta[1].item<int64_t>() != 0;
  comm_->set_step(step_);

  std::vector<torch::Tensor> weights;
  for (auto& p : net_->named_parameters()) weights.push_back(p.value());
  for (auto& b : net_->named_buffers()) weights.push_back(b.value());
  if (auto st = comm_->Broadcast(weights, "start-up broadcast of the weights"); !st.ok()) {
    return st;
  }
  auto adam = adam_->State();
  std::vector<torch::Tensor> moments;
  for (auto& [k, v] : adam) moments.push_back(v);
  if (auto st = comm_->Broadcast(moments, "start-up broadcast of the optimiser"); !st.ok()) {
    return st;
  }
  if (auto st = adam_->LoadState(adam); !st.ok()) return st;

  if (started_) {
    if (comm_->rank() != 0) {
      const int64_t b = options_.global_batch_size, s = shape().seq_len;
      auto carry = net_->InitialCarry(b);
      restored_batch_ = {{"carry.z_h", carry.z_h},
                         {"carry.z_l", carry.z_l},
                         {"batch.halted", torch::zeros({b}, torch::kLong)},
                         {"batch.act_steps", torch::zeros({b}, torch::kLong)},
                         {"batch.inputs", torch::zeros({b, s}, torch::kLong)},
                         {"batch.labels", torch::zeros({b, s}, torch::kLong)},
                         {"batch.puzzle_ids", torch::zeros({b}, torch::kLong)}};
    }
    // One dtype per tensor on every rank, whatever the file held: the buckets must line up.
    std::vector<torch::Tensor> batch;
    for (auto& [k, v] : restored_batch_) {
      v = v.to(torch::kCPU, k.rfind("carry.", 0) == 0 ? torch::kFloat : torch::kLong).contiguous();
      batch.push_back(v);
    }
    if (auto st = comm_->Broadcast(batch, "start-up broadcast of the batch"); !st.ok()) return st;
    AdoptBatchRows(restored_batch_);
  }
  restored_batch_.clear();
  return absl::OkStatus();
}

}  // namespace trm::train
