#include "train/run.h"

#include <chrono>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "train/data_parallel.h"
#include "train/svg_plot.h"

namespace trm::train {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

std::string Duration(double s) {
  if (!(s >= 0) || s > 1e8) return "?";
  const int64_t t = static_cast<int64_t>(s + 0.5);
  if (t >= 3600) return absl::StrFormat("%dh%02dm", t / 3600, (t / 60) % 60);
  if (t >= 60) return absl::StrFormat("%dm%02ds", t / 60, t % 60);
  return absl::StrFormat("%ds", t);
}

nlohmann::json StepJson(const StepMetrics& m) {
  return {{"kind", "train"},
          {"step", m.step},
          {"lr", m.lr},
          {"loss", m.loss},
          {"lm_loss", m.lm_loss},
          {"q_halt_loss", m.q_halt_loss},
          {"q_continue_loss", m.q_continue_loss},
          {"count", m.count},
          {"accuracy", m.accuracy},
          {"exact_accuracy", m.exact_accuracy},
          {"q_halt_accuracy", m.q_halt_accuracy},
          {"steps", m.steps}};
}

// Mean of the interval's steps; accuracies weighted by the rows that halted.
StepMetrics Average(const std::vector<StepMetrics>& v, size_t from) {
  StepMetrics a;
  double n = 0, c = 0;
  for (size_t i = from; i < v.size(); ++i) {
    const auto& m = v[i];
    a.step = m.step;
    a.lr = m.lr;
    a.loss += m.loss;
    a.lm_loss += m.lm_loss;
    a.q_halt_loss += m.q_halt_loss;
    a.q_continue_loss += m.q_continue_loss;
    a.accuracy += m.accuracy * m.count;
    a.exact_accuracy += m.exact_accuracy * m.count;
    a.q_halt_accuracy += m.q_halt_accuracy * m.count;
    a.steps += m.steps * m.count;
    a.comm_seconds += m.comm_seconds;
    a.comm_seconds_min += m.comm_seconds_min;
    c += m.count;
    n += 1;
  }
  if (n > 0) {
    a.loss /= n;
    a.lm_loss /= n;
    a.q_halt_loss /= n;
    a.q_continue_loss /= n;
    a.comm_seconds /= n;
    a.comm_seconds_min /= n;
  }
  a.count = c;
  if (c > 0) {
    a.accuracy /= c;
    a.exact_accuracy /= c;
    a.q_halt_accuracy /= c;
    a.steps /= c;
  }
  return a;
}

absl::Status AppendLine(const std::string& path, const nlohmann::json& j) {
  std::ofstream f(path, std::ios::app);
  f << j.dump() << "\n";
  if (!f) return absl::InternalError("cannot append to " + path);
  return absl::OkStatus();
}

}  // namespace

absl::Status DrawCurves(const std::string& out_dir) {
  Series loss{"train loss", {}, {}}, lm{"train lm loss", {}, {}};
  Series train_exact{"train exact (halted rows)", {}, {}}, train_cell{"train cell", {}, {}};
  Series eval_exact{"eval exact", {}, {}}, eval_cell{"eval cell", {}, {}};
  std::ifstream f(fs::path(out_dir) / "metrics.jsonl");
  std::string line;
  while (std::getline(f, line)) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) continue;
    const double step = j.value("step", 0.0);
    if (j.value("kind", "") == "train") {
      loss.x.push_back(step);
      loss.y.push_back(j.value("loss", 0.0));
      lm.x.push_back(step);
      lm.y.push_back(j.value("lm_loss", 0.0));
      if (j.value("count", 0.0) > 0) {
        train_exact.x.push_back(step);
        train_exact.y.push_back(j.value("exact_accuracy", 0.0));
        train_cell.x.push_back(step);
        train_cell.y.push_back(j.value("accuracy", 0.0));
      }
    } else if (j.value("kind", "") == "eval") {
      eval_exact.x.push_back(step);
      eval_exact.y.push_back(j.value("exact_accuracy", 0.0));
      eval_cell.x.push_back(step);
      eval_cell.y.push_back(j.value("cell_accuracy", 0.0));
    }
  }
  return WriteSvg(
      (fs::path(out_dir) / "curves.svg").string(),
      {{"Training loss (per example)", "step", "loss", {loss, lm}},
       {"Accuracy", "step", "accuracy", {train_cell, train_exact, eval_cell, eval_exact}}});
}

absl::StatusOr<RunSummary> RunTraining(const TrainOptions& options, const RunHooks& hooks) {
  Communicator* comm = hooks.comm;
  const bool root = comm == nullptr || comm->rank() == 0;
  if (comm) {
    if (auto st = CheckSameOptions(*comm, options.ToJson()); !st.ok()) return st;
  }
  auto created = Trainer::Create(options, comm);
  if (!created.ok()) return created.status();
  Trainer& t = **created;
  std::ostream* log = root ? hooks.log : nullptr;
  std::ostream* rank_log = root ? nullptr : hooks.log;  // Other ranks: one short line now and then.
  // Only rank 0 touches out_dir (the others may be on machines that do not share it).
  const std::string out = root ? options.out_dir : "";
  const std::string metrics_path = out.empty() ? "" : (fs::path(out) / "metrics.jsonl").string();
  if (!out.empty()) {
    std::error_code ec;
    fs::create_directories(out, ec);
    if (ec) return absl::InternalError("out_dir: cannot create " + out + ": " + ec.message());
    std::ifstream latest(fs::path(out) / "LATEST");
    std::string name;
    if (options.resume && latest && std::getline(latest, name) && !name.empty()) {
      if (auto st = t.Restore((fs::path(out) / name).string()); !st.ok()) return st;
      if (log)
        *log << "resumed from " << (fs::path(out) / name).string() << " at step " << t.step()
             << "\n";
    }
  }
  if (comm) {
    if (auto st = t.SyncFromRank0(); !st.ok()) return st;
    if (rank_log) {
      *rank_log << "rank " << comm->rank() << " of " << comm->world_size() << ": rows ["
                << comm->rank() * t.local_batch() << ", " << (comm->rank() + 1) * t.local_batch()
                << ") of each batch, from step " << t.step() << "\n";
    }
  }
  if (log) {
    *log << "trm-train: preset " << options.preset << ", " << t.net()->config().ParameterCount()
         << " parameters, device " << t.device().str() << " (" << t.net()->config().forward_dtype
         << "), batch " << options.global_batch_size << ", " << t.total_steps() << " steps\n";
    if (comm) {
      *log << "data-parallel: " << comm->world_size() << " ranks (" << comm->backend() << "), "
           << t.local_batch() << " rows each, gradients in buckets of up to "
           << (comm->options().bucket_bytes >> 20) << " MiB\n";
    }
    *log << "data: " << (options.data_dir.empty() ? "" : options.data_dir + ": ")
         << t.options().ToJson()["data"].dump() << "\n";
  }

  RunSummary summary;
  const auto run_start = Clock::now();
  double train_seconds = 0;
  size_t interval_from = 0;
  auto interval_start = Clock::now();
  int64_t interval_steps = 0;

  auto save = [&](const EvalMetrics* last_eval) -> absl::Status {
    if (options.out_dir.empty()) return absl::OkStatus();
    const std::string name = absl::StrFormat("step_%08d", t.step());
    if (!root) return t.Save("", {});  // Hands this rank's batch rows to rank 0.
    const std::string dir = (fs::path(out) / name).string();
    nlohmann::json extra = {{"command", hooks.command_line}};
    if (last_eval) extra["eval"] = last_eval->ToJson();
    if (auto st = t.Save(dir, extra); !st.ok()) return st;
    // LATEST is replaced only once the checkpoint is complete.
    const auto tmp = fs::path(out) / "LATEST.tmp";
    {
      std::ofstream f(tmp);
      f << name << "\n";
    }
    std::error_code ec;
    fs::rename(tmp, fs::path(out) / "LATEST", ec);
    if (ec) return absl::InternalError("cannot update " + out + "/LATEST: " + ec.message());
    summary.final_checkpoint = dir;
    if (log) *log << "checkpoint " << dir << "\n";
    // Redrawn with every checkpoint, so a run stopped early still has its plot.
    return DrawCurves(out);
  };
  auto verify = [&]() -> absl::Status {
    if (!comm) return absl::OkStatus();
    auto fp = CheckSameWeights(*comm, t.net(), t.step());
    if (!fp.ok()) return fp.status();
    if (hooks.log) {
      *hooks.log << absl::StrFormat("weights after step %d: fingerprint %016x", t.step(), *fp)
                 << (root ? absl::StrCat(" (identical on all ", comm->world_size(), " ranks)") : "")
                 << "\n";
    }
    return absl::OkStatus();
  };
  auto evaluate = [&]() -> absl::StatusOr<EvalMetrics> {
    auto e = t.Evaluate();
    if (!e.ok()) return e.status();
    summary.evals.push_back(*e);
    if (!metrics_path.empty()) {
      auto j = e->ToJson();
      j["kind"] = "eval";
      if (auto st = AppendLine(metrics_path, j); !st.ok()) return st;
    }
    if (log) {
      *log << absl::StrFormat(
          "eval step %d: exact %.4f  cell %.4f  halt-acc %.3f  mean ACT steps %.2f  exact@%d "
          "steps %.4f  (%d examples, %.1fs)\n",
          e->step, e->exact_accuracy, e->cell_accuracy, e->halt_accuracy, e->mean_steps,
          options.arch.halt_max_steps, e->exact_accuracy_max_steps, e->examples, e->seconds);
    }
    return *e;
  };

  std::optional<EvalMetrics> last_eval;
  while (t.step() < t.total_steps()) {
    const auto s0 = Clock::now();
    auto m = t.Step();
    if (!m.ok()) return m.status();
    train_seconds += std::chrono::duration<double>(Clock::now() - s0).count();
    summary.history.push_back(*m);
    ++summary.steps_done;
    ++interval_steps;
    const bool last = t.step() == t.total_steps();
    const bool stopping = hooks.stop_after > 0 && summary.steps_done >= hooks.stop_after;
    if ((options.log_interval > 0 && t.step() % options.log_interval == 0) || last || stopping) {
      const auto a = Average(summary.history, interval_from);
      const double dt = std::chrono::duration<double>(Clock::now() - interval_start).count();
      const double sps = interval_steps / std::max(dt, 1e-9);
      if (!metrics_path.empty()) {
        auto j = StepJson(a);
        j["steps_per_second"] = sps;
        j["examples_per_second"] = sps * options.global_batch_size;
        if (comm) {
          j["ranks"] = comm->world_size();
          j["comm_ms"] = 1e3 * a.comm_seconds;
          j["comm_min_ms"] = 1e3 * a.comm_seconds_min;
        }
        if (auto st = AppendLine(metrics_path, j); !st.ok()) return st;
      }
      if (rank_log) {
        *rank_log << absl::StrFormat("step %d/%d | %.2f steps/s | comm %.1f ms/step\n", t.step(),
                                     t.total_steps(), sps, 1e3 * a.comm_seconds);
        rank_log->flush();
      }
      if (log) {
        const double overall = summary.steps_done / std::max(train_seconds, 1e-9);
        *log << absl::StrFormat(
            "step %d/%d (%.1f%%) | %.2f steps/s %.0f ex/s | loss %.4f (lm %.4f, q_halt %.4f) | "
            "acc %.4f exact %.4f halt-acc %.3f ACT steps %.2f | lr %.2e | ETA %s%s\n",
            t.step(), t.total_steps(), 100.0 * t.step() / t.total_steps(), sps,
            sps * options.global_batch_size, a.loss, a.lm_loss, a.q_halt_loss, a.accuracy,
            a.exact_accuracy, a.q_halt_accuracy, a.steps, a.lr,
            Duration((t.total_steps() - t.step()) / overall),
            comm ? absl::StrFormat(" | comm %.1f ms/step (least over ranks %.1f)",
                                   1e3 * a.comm_seconds, 1e3 * a.comm_seconds_min)
                 : "");
        log->flush();
      }
      interval_from = summary.history.size();
      interval_start = Clock::now();
      interval_steps = 0;
    }
    if (root && ((options.eval_interval > 0 && t.step() % options.eval_interval == 0) || last)) {
      auto e = evaluate();
      if (!e.ok()) return e.status();
      last_eval = *e;
    }
    const bool checkpoint =
        (options.checkpoint_interval > 0 && t.step() % options.checkpoint_interval == 0) || last ||
        stopping;
    if (checkpoint || (hooks.verify_every > 0 && t.step() % hooks.verify_every == 0)) {
      if (auto st = verify(); !st.ok()) return st;
    }
    if (checkpoint) {
      if (auto st = save(last_eval ? &*last_eval : nullptr); !st.ok()) return st;
    }
    if (stopping) break;
  }
  summary.final_step = t.step();
  summary.seconds = std::chrono::duration<double>(Clock::now() - run_start).count();
  summary.steps_per_second = summary.steps_done / std::max(train_seconds, 1e-9);
  if (!out.empty() && t.step() == t.total_steps() && log) {
    *log << "curves: " << (fs::path(out) / "curves.svg").string() << "\n";
  }
  return summary;
}

}  // namespace trm::train
