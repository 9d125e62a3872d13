// trm-server: serves TRM checkpoints over gRPC (trm.v1.Solver) and HTTP/JSON. Flags are read here
// into ServerOptions; everything else lives in the server library.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
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
#include "server/guards/open_file_limit.h"
#include "server/log.h"
#include "server/server.h"

ABSL_FLAG(std::string, listen, "0.0.0.0:50051", "gRPC address HOST:PORT (port 0: any free port)");
ABSL_FLAG(std::string, metrics_listen, "0.0.0.0:9464",
          "Prometheus /metrics address HOST:PORT; empty disables it");
ABSL_FLAG(std::string, http_listen, "0.0.0.0:8080",
          "HTTP/JSON API and web page address HOST:PORT (port 0: any free port); empty disables "
          "it");
ABSL_FLAG(int, http_threads, 64,
          "HTTP connections served at once (one worker thread each); more wait for a worker");
ABSL_FLAG(int, http_max_connections, 0,
          "HTTP API connections open at once; at the limit the port stops accepting and closes "
          "idle connections early. 0: a quarter of the open-file limit, at most 4096");
ABSL_FLAG(int, http_max_body_bytes, 1 << 20, "Largest HTTP request body; larger ones get 413");
ABSL_FLAG(int, http_max_arc_run_bytes, 16 << 20,
          "Largest POST /v1/arc:run body (a whole ARC Prize challenges file, with its solutions); "
          "larger ones get 413");
ABSL_FLAG(int, http_max_connections_per_address, 0,
          "Connections one client address may have served at once on the HTTP and metrics "
          "ports; more get 429 and are closed. 0: no limit (behind a proxy every client has the "
          "proxy's address; the edge proxy profile caps per address itself)");
ABSL_FLAG(int, http_max_header_bytes, 64 << 10,
          "Largest HTTP request line and headers together, on the HTTP and metrics ports; larger "
          "ones get 431 and their connection closes");
ABSL_FLAG(std::vector<std::string>, checkpoints, {},
          "Checkpoints DIR[,DIR...]: a model folder, an official .pt, NAME=PATH, or a folder of "
          "model folders; default: every model under the repository's checkpoints/");
ABSL_FLAG(std::vector<std::string>, checkpoint_roots, {},
          "Folders DIR[,DIR...] Admin ReloadModel may load checkpoints from (symlinks and `..` "
          "resolved first); others get PERMISSION_DENIED. Default: each --checkpoints model's "
          "parent folder and each folder of models");
ABSL_FLAG(std::string, device, "auto", "auto (CUDA if present, else CPU), cpu, cuda or cuda:N");
ABSL_FLAG(int, threads, 0, "Torch intra-op threads; 0: torch's default");
ABSL_FLAG(std::string, cpu_kernels, "auto",
          "The ACT step on the CPU: auto (the fastest fused kernels this CPU has: AVX-512, else "
          "AVX2 + FMA, else the reference), avx512 or avx2 (forced; refused at start on a CPU "
          "without them), or reference (one libtorch op per official op, to check answers "
          "against). The startup log and ListModels say which runs");
ABSL_FLAG(int, batch_size, 64, "Batch slots per model (requests run together per ACT step)");
ABSL_FLAG(int, queue_size, 256, "Requests waiting per model; more get RESOURCE_EXHAUSTED");
ABSL_FLAG(double, max_client_share, 0.75,
          "The most of a model's batch slots one client connection's long requests (more steps "
          "than the checkpoint's halt_max_steps: ignore_halting, a larger max_steps) hold while "
          "they run, so other clients are never shut out by them; requests of normal length are "
          "not held back. 1: no share");
ABSL_FLAG(int, arc_fit_cache_tasks, 16,
          "ARC tasks a model has no puzzle id for, sent with their train pairs, get a puzzle "
          "embedding fitted on those pairs (network frozen); this many fitted tasks are kept, "
          "least recently used evicted. 0: no fitting (such tasks are NOT_FOUND)");
ABSL_FLAG(int, arc_fit_threads, 1, "ARC fits that run at once (beside the step loops)");
ABSL_FLAG(int, arc_fit_variants, 1,
          "Embeddings fitted per ARC task: the task as given, then random augmentations of it; "
          "each is a batch row of every request for the task");
ABSL_FLAG(int, arc_fit_updates, 32, "Optimizer updates of each fitted ARC embedding");
ABSL_FLAG(int, arc_fit_batch_size, 8, "Pairs per batch of an ARC fit (drawn with replacement)");
ABSL_FLAG(double, arc_fit_lr, 1e-2,
          "Sign-SGD step of an ARC fit (the official puzzle_emb_lr): each update moves every "
          "embedding value by this much");
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
ABSL_FLAG(int, grpc_max_connections, 0,
          "gRPC connections open at once; past it new ones are closed as they come and the "
          "oldest idle ones make room. 0: half the open-file limit");
ABSL_FLAG(int, max_stream_resets_per_s, 500,
          "Close a gRPC connection whose streams are reset faster than this (HTTP/2 rapid "
          "reset); 0: no limit");
ABSL_FLAG(double, max_connection_age_s, 300,
          "gRPC connections are closed (GOAWAY) this long after they open, clients reconnect; "
          "bounds calls whose request message never arrives. 0: no limit");
ABSL_FLAG(double, max_connection_age_grace_s, 300,
          "Calls still open on a connection past its age get this long to finish");
ABSL_FLAG(double, drain_timeout_s, 30, "On SIGTERM/SIGINT, how long in-flight requests may finish");
ABSL_FLAG(int, max_metadata_bytes, 16 << 10,
          "Largest request metadata (all headers of a call); more: RESOURCE_EXHAUSTED");
ABSL_FLAG(int, stream_queue_steps, 8,
          "SolveSteps: step messages that may wait for a slow reader; past that a new step "
          "replaces the newest waiting one (the reader gets the latest steps)");
ABSL_FLAG(double, stream_stall_timeout_s, 30,
          "SolveSteps: cancel a stream whose client takes no message for this long; 0: never");
ABSL_FLAG(double, watchdog_interval_s, 5,
          "Probe the gRPC port on a new connection this often; after --watchdog_failures "
          "failures in a row, drain and exit with status 3. 0: no watchdog");
ABSL_FLAG(double, malloc_trim_interval_s, 10,
          "Give freed heap memory back to the system this often (glibc malloc_trim); 0: never");
ABSL_FLAG(int, watchdog_failures, 3, "Failed watchdog probes in a row before the server exits");

namespace {

absl::StatusOr<trm::server::ServerOptions> OptionsFromFlags() {
  trm::server::ServerOptions o;
  o.listen = absl::GetFlag(FLAGS_listen);
  o.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  o.http_listen = absl::GetFlag(FLAGS_http_listen);
  o.http_threads = absl::GetFlag(FLAGS_http_threads);
  o.http_max_connections = absl::GetFlag(FLAGS_http_max_connections);
  const int http_max_body = absl::GetFlag(FLAGS_http_max_body_bytes);
  o.http_max_body_bytes = http_max_body > 0 ? static_cast<size_t>(http_max_body) : 0;
  const int http_max_arc_run = absl::GetFlag(FLAGS_http_max_arc_run_bytes);
  o.http_max_arc_run_bytes = http_max_arc_run > 0 ? static_cast<size_t>(http_max_arc_run) : 0;
  o.http_max_connections_per_address = absl::GetFlag(FLAGS_http_max_connections_per_address);
  const int http_max_header = absl::GetFlag(FLAGS_http_max_header_bytes);
  o.http_max_header_bytes = http_max_header > 0 ? static_cast<size_t>(http_max_header) : 0;
  o.checkpoints = absl::GetFlag(FLAGS_checkpoints);
  if (o.checkpoints.empty()) {
    std::string dir = trm::server::FindDefaultCheckpointsDir();
    if (!dir.empty()) o.checkpoints.push_back(dir);
  }
  o.checkpoint_roots = absl::GetFlag(FLAGS_checkpoint_roots);
  o.engine.device = absl::GetFlag(FLAGS_device);
  o.engine.num_threads = absl::GetFlag(FLAGS_threads);
  o.engine.cpu_kernels = absl::GetFlag(FLAGS_cpu_kernels);
  o.engine.scheduler.max_batch_size = absl::GetFlag(FLAGS_batch_size);
  o.engine.scheduler.max_queue_size = absl::GetFlag(FLAGS_queue_size);
  o.engine.scheduler.max_client_share = absl::GetFlag(FLAGS_max_client_share);
  o.engine.scheduler.default_halt_threshold =
      static_cast<float>(absl::GetFlag(FLAGS_halt_threshold));
  o.engine.arc_fit.cache_tasks = absl::GetFlag(FLAGS_arc_fit_cache_tasks);
  o.engine.arc_fit.threads = absl::GetFlag(FLAGS_arc_fit_threads);
  o.engine.arc_fit.variants = absl::GetFlag(FLAGS_arc_fit_variants);
  o.engine.arc_fit.updates = absl::GetFlag(FLAGS_arc_fit_updates);
  o.engine.arc_fit.batch_size = absl::GetFlag(FLAGS_arc_fit_batch_size);
  o.engine.arc_fit.lr = absl::GetFlag(FLAGS_arc_fit_lr);
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
  o.max_connection_age = absl::Seconds(absl::GetFlag(FLAGS_max_connection_age_s));
  o.grpc_max_connections = absl::GetFlag(FLAGS_grpc_max_connections);
  o.max_stream_resets_per_s = absl::GetFlag(FLAGS_max_stream_resets_per_s);
  o.max_connection_age_grace = absl::Seconds(absl::GetFlag(FLAGS_max_connection_age_grace_s));
  o.max_metadata_bytes = absl::GetFlag(FLAGS_max_metadata_bytes);
  o.stream_queue_steps = static_cast<size_t>(std::max(absl::GetFlag(FLAGS_stream_queue_steps), 0));
  o.stream_stall_timeout = absl::Seconds(absl::GetFlag(FLAGS_stream_stall_timeout_s));
  o.watchdog_interval = absl::Seconds(absl::GetFlag(FLAGS_watchdog_interval_s));
  o.watchdog_failures = absl::GetFlag(FLAGS_watchdog_failures);
  o.malloc_trim_interval = absl::Seconds(absl::GetFlag(FLAGS_malloc_trim_interval_s));
  if (o.engine.scheduler.max_batch_size < 1)
    return absl::InvalidArgumentError("--batch_size must be >= 1");
  if (o.engine.scheduler.max_queue_size < 1)
    return absl::InvalidArgumentError("--queue_size must be >= 1");
  if (!(o.engine.scheduler.max_client_share > 0 && o.engine.scheduler.max_client_share <= 1))
    return absl::InvalidArgumentError("--max_client_share must be in (0, 1]");
  if (o.engine.arc_fit.cache_tasks < 0 || o.engine.arc_fit.cache_tasks > 100000)
    return absl::InvalidArgumentError("--arc_fit_cache_tasks must be in 0..100000");
  if (o.engine.arc_fit.threads < 1 || o.engine.arc_fit.threads > 64)
    return absl::InvalidArgumentError("--arc_fit_threads must be in 1..64");
  if (o.engine.arc_fit.variants < 1 || o.engine.arc_fit.variants > 64)
    return absl::InvalidArgumentError("--arc_fit_variants must be in 1..64");
  if (o.engine.arc_fit.updates < 1 || o.engine.arc_fit.updates > 100000)
    return absl::InvalidArgumentError("--arc_fit_updates must be in 1..100000");
  if (o.engine.arc_fit.batch_size < 1 || o.engine.arc_fit.batch_size > 1024)
    return absl::InvalidArgumentError("--arc_fit_batch_size must be in 1..1024");
  if (!(o.engine.arc_fit.lr > 0 && o.engine.arc_fit.lr <= 10))
    return absl::InvalidArgumentError("--arc_fit_lr must be in (0, 10]");
  if (o.max_message_bytes < 1024)
    return absl::InvalidArgumentError("--max_message_bytes must be >= 1024");
  if (o.max_concurrent_streams < 1)
    return absl::InvalidArgumentError("--max_concurrent_streams must be >= 1");
  if (o.max_metadata_bytes < 1024)
    return absl::InvalidArgumentError("--max_metadata_bytes must be >= 1024");
  if (absl::GetFlag(FLAGS_stream_queue_steps) < 1)
    return absl::InvalidArgumentError("--stream_queue_steps must be >= 1");
  if (o.stream_stall_timeout < absl::ZeroDuration())
    return absl::InvalidArgumentError("--stream_stall_timeout_s must be >= 0");
  if (o.grpc_max_connections < 0)
    return absl::InvalidArgumentError(
        "--grpc_max_connections must be >= 0 (0: from the open-file limit)");
  if (o.max_stream_resets_per_s < 0)
    return absl::InvalidArgumentError("--max_stream_resets_per_s must be >= 0 (0: no limit)");
  if (o.max_connection_age < absl::ZeroDuration() || o.max_connection_age > absl::Hours(24 * 20))
    return absl::InvalidArgumentError("--max_connection_age_s must be in [0, 20 days]");
  if (o.max_connection_age_grace < absl::ZeroDuration() ||
      o.max_connection_age_grace > absl::Hours(24 * 20))
    return absl::InvalidArgumentError("--max_connection_age_grace_s must be in [0, 20 days]");
  if (o.drain_timeout < absl::ZeroDuration())
    return absl::InvalidArgumentError("--drain_timeout_s must be >= 0");
  if (o.watchdog_interval < absl::ZeroDuration())
    return absl::InvalidArgumentError("--watchdog_interval_s must be >= 0");
  if (o.malloc_trim_interval < absl::ZeroDuration())
    return absl::InvalidArgumentError("--malloc_trim_interval_s must be >= 0");
  if (o.watchdog_failures < 1)
    return absl::InvalidArgumentError("--watchdog_failures must be >= 1");
  if (o.http_threads < 1) return absl::InvalidArgumentError("--http_threads must be >= 1");
  if (o.http_max_connections < 0)
    return absl::InvalidArgumentError(
        "--http_max_connections must be >= 0 (0: from the open-file limit)");
  if (http_max_body < 1024)
    return absl::InvalidArgumentError("--http_max_body_bytes must be >= 1024");
  if (http_max_arc_run < 1024)
    return absl::InvalidArgumentError("--http_max_arc_run_bytes must be >= 1024");
  if (o.http_max_connections_per_address < 0)
    return absl::InvalidArgumentError(
        "--http_max_connections_per_address must be >= 0 (0: no limit)");
  if (http_max_header < 4096)
    return absl::InvalidArgumentError("--http_max_header_bytes must be >= 4096");
  return o;
}

// Logs the open-file limits, raising the soft one to the hard one
// (server/guards/open_file_limit.h).
void LogOpenFileLimit() {
  using trm::server::Log;
  using trm::server::LogLevel;
  auto limit = trm::server::RaiseOpenFileLimit();
  if (!limit.ok()) {
    Log(LogLevel::kWarning, absl::StrCat("open files: ", limit.status().message()));
  } else if (limit->soft != limit->soft_before) {
    Log(LogLevel::kInfo, absl::StrCat("open files: soft limit raised from ", limit->soft_before,
                                      " to the hard limit ", limit->hard));
  } else {
    Log(LogLevel::kInfo, absl::StrCat("open files: soft limit ", limit->soft, ", hard limit ",
                                      limit->hard, " (already equal)"));
  }
}

}  // namespace

int main(int argc, char** argv) {
  trm::ParseProgramFlags(
      argc, argv,
      "Serves Tiny Recursive Models over gRPC (trm.v1.Solver) and HTTP/JSON with a web page.");
  // Block the stop signals in every thread (threads inherit the mask) and take them here.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  auto options = OptionsFromFlags();
  if (!options.ok())
    return trm::server::Log(trm::server::LogLevel::kError, options.status().ToString()), 2;
  LogOpenFileLimit();
  // The watchdog stops the process the way SIGTERM does (a drain), with exit status 3.
  static std::atomic<bool> watchdog_failed{false};
  options->on_watchdog_failure = [](const absl::Status&) {
    watchdog_failed.store(true);
    kill(getpid(), SIGTERM);
  };
  auto server = trm::server::Server::Start(*options);
  if (!server.ok())
    return trm::server::Log(trm::server::LogLevel::kError, server.status().ToString()), 1;
  int signal = 0;
  sigwait(&stop, &signal);
  if (!watchdog_failed.load()) {
    trm::server::Log(trm::server::LogLevel::kInfo, absl::StrCat("got ", strsignal(signal)));
  }
  const int code = watchdog_failed.load() ? 3 : 0;
  if (!(*server)->Drain()) std::_Exit(code);  // gRPC is stuck: skip destructors that wait on it.
  return code;
}
