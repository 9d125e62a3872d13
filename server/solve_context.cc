#include "server/solve_context.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace trm::server {

SolveContext::SolveContext(engine::Engine* engine, Metrics* metrics, HaltDefaults halt)
    : engine_(engine), metrics_(metrics), halt_(halt) {}

void SolveContext::SetAccepting(bool accepting, std::string reason) {
  {
    MutexLock lock(&reason_mu_);
    not_accepting_reason_ = std::move(reason);
  }
  accepting_.store(accepting);
}

absl::Status SolveContext::CheckAccepting() const {
  if (accepting_.load()) return absl::OkStatus();
  last_refusal_unix_ns_.store(absl::ToUnixNanos(absl::Now()));
  MutexLock lock(&reason_mu_);
  return absl::UnavailableError(not_accepting_reason_);
}

absl::Time SolveContext::LastRefusal() const {
  const int64_t ns = last_refusal_unix_ns_.load();
  return ns == 0 ? absl::InfinitePast() : absl::FromUnixNanos(ns);
}

std::string SolveContext::NextRequestId() {
  return absl::StrCat("trm-", next_request_id_.fetch_add(1));
}

}  // namespace trm::server
