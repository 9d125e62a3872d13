// trm-server: serves TRM checkpoints over gRPC (trm.v1.Solver). Flags are read here into
// ServerOptions; everything else lives in the server library.
#include <signal.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/program_flags.h"
#include "server/checkpoint_dirs.h"
#include "server/log.h"
#include "server/server.h"

ABSL_FLAG(std::string, listen, "0.0.0.0:50051", "gRPC address HOST:PORT (port 0: any free port)");
ABSL_FLAG(std::string, metrics_listen, "0.0.0.0:9464",
          "Prometheus /metrics address HOST:PORT; empty disables it");
ABSL_FLAG(std::vector<std::string>, checkpoints, {},
          "Checkpoints DIR[,DIR...]: a model folder, an official .pt, NAME=PATH, or a folder of "
          "model folders; default: every model under the repository's checkpoints/");
ABSL_FLAG(std::vector<std::string>, checkpoint_roots, {},
          "Folders DIR[,DIR...] Admin ReloadModel may load checkpoints from (symlinks and `..` "
          "resolved first); others get PERMISSION_DENIED. Default: each --checkpoints model's "
          "parent folder and each folder of models");
ABSL_FLAG(std::string, device, "auto", "auto (CUDA if present, else CPU), cpu, cuda or cuda:N");
ABSL_FLAG(int, threads, 0, "Torch intra-op threads; 0: torch's default");
ABSL_FLAG(int, batch_size, 64, "Batch slots per model (requests run together per ACT step)");
ABSL_FLAG(int, queue_size, 256, "Requests waiting per model; more get RESOURCE_EXHAUSTED");
ABSL_FLAG(int, max_steps, 0, "Default ACT max steps when a request says 0; 0: the model's");
ABSL_FLAG(int, min_steps, 0, "Default ACT min steps when a request says 0");
ABSL_FLAG(double, halt_threshold, 0.5,
          "Default halting threshold on sigmoid(q_halt), for models whose checkpoint has no "
          "calibrated serving.halt_threshold");
ABSL_FLAG(int, max_message_bytes, 16 << 20, "Largest gRPC message, received or sent");
ABSL_FLAG(int, max_concurrent_streams, 100,
          "Calls one connection may have open at once (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS); "
          "a client's further calls wait for one to end");
ABSL_FLAG(std::string, tls_cert, "", "PEM certificate chain; enables TLS with --tls_key");
ABSL_FLAG(std::string, tls_key, "", "PEM private key for --tls_cert");
ABSL_FLAG(std::string, tls_client_ca, "", "PEM CA for client certificates (mutual TLS)");
ABSL_FLAG(std::string, admin_token, "",
          "Bearer token for the Admin service; empty: Admin not served. Prefer "
          "--admin_token_file or $TRM_ADMIN_TOKEN, which stay out of `ps`");
ABSL_FLAG(std::string, admin_token_file, "", "File holding the admin token");
ABSL_FLAG(double, drain_timeout_s, 30, "On SIGTERM/SIGINT, how long in-flight requests may finish");

namespace {

absl::StatusOr<trm::server::ServerOptions> OptionsFromFlags() {
  trm::server::ServerOptions o;
  o.listen = absl::GetFlag(FLAGS_listen);
  o.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  o.checkpoints = absl::GetFlag(FLAGS_checkpoints);
  if (o.checkpoints.empty()) {
    std::string dir = trm::server::FindDefaultCheckpointsDir();
    if (!dir.empty()) o.checkpoints.push_back(dir);
  }
  o.checkpoint_roots = absl::GetFlag(FLAGS_checkpoint_roots);
  o.engine.device = absl::GetFlag(FLAGS_device);
  o.engine.num_threads = absl::GetFlag(FLAGS_threads);
  o.engine.scheduler.max_batch_size = absl::GetFlag(FLAGS_batch_size);
  o.engine.scheduler.max_queue_size = absl::GetFlag(FLAGS_queue_size);
  o.engine.scheduler.default_halt_threshold =
      static_cast<float>(absl::GetFlag(FLAGS_halt_threshold));
  o.halt.max_steps = absl::GetFlag(FLAGS_max_steps);
  o.halt.min_steps = absl::GetFlag(FLAGS_min_steps);
  o.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  o.max_concurrent_streams = absl::GetFlag(FLAGS_max_concurrent_streams);
  o.tls = {absl::GetFlag(FLAGS_tls_cert), absl::GetFlag(FLAGS_tls_key),
           absl::GetFlag(FLAGS_tls_client_ca)};
  o.admin_token = absl::GetFlag(FLAGS_admin_token);
  if (const std::string file = absl::GetFlag(FLAGS_admin_token_file); !file.empty()) {
    std::ifstream in(file);
    if (!in) return absl::NotFoundError(absl::StrCat("--admin_token_file: cannot read ", file));
    std::getline(in, o.admin_token);
  } else if (const char* env = std::getenv("TRM_ADMIN_TOKEN"); o.admin_token.empty() && env) {
    o.admin_token = env;
  }
  o.drain_timeout = absl::Seconds(absl::GetFlag(FLAGS_drain_timeout_s));
  if (o.engine.scheduler.max_batch_size < 1)
    return absl::InvalidArgumentError("--batch_size must be >= 1");
  if (o.engine.scheduler.max_queue_size < 1)
    return absl::InvalidArgumentError("--queue_size must be >= 1");
  if (o.max_message_bytes < 1024)
    return absl::InvalidArgumentError("--max_message_bytes must be >= 1024");
  if (o.max_concurrent_streams < 1)
    return absl::InvalidArgumentError("--max_concurrent_streams must be >= 1");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  trm::ParseProgramFlags(argc, argv, "Serves Tiny Recursive Models over gRPC (trm.v1.Solver).");
  // Block the stop signals in every thread (threads inherit the mask) and take them here.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  auto options = OptionsFromFlags();
  if (!options.ok())
    return trm::server::Log(trm::server::LogLevel::kError, options.status().ToString()), 2;
  auto server = trm::server::Server::Start(*options);
  if (!server.ok())
    return trm::server::Log(trm::server::LogLevel::kError, server.status().ToString()), 1;
  int signal = 0;
  sigwait(&stop, &signal);
  trm::server::Log(trm::server::LogLevel::kInfo, absl::StrCat("got ", strsignal(signal)));
  (*server)->Drain();
  return 0;
}
