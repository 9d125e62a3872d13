#include "server/http/http_address_share.h"

namespace trm::server {

bool HttpAddressShare::TryAcquire(const std::string& address) {
  if (limit_ <= 0) return true;
  MutexLock lock(&mu_);
  int& held = held_[address];
  if (held >= limit_) {
    ++refused_;
    return false;
  }
  ++held;
  return true;
}

void HttpAddressShare::Release(const std::string& address) {
  if (limit_ <= 0) return;
  MutexLock lock(&mu_);
  auto it = held_.find(address);
  if (it != held_.end() && --it->second <= 0) held_.erase(it);
}

int64_t HttpAddressShare::refused() {
  MutexLock lock(&mu_);
  return refused_;
}

}  // namespace trm::server
