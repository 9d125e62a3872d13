// Expected<T>: a value or an Error, the puzzle library's way to report bad input.
//
// puzzle/ uses the standard library only (so the trainer, the server and small tools can all
// link it), hence this tiny type instead of absl::StatusOr. Callers on the absl side convert with
// `absl::InvalidArgumentError(result.error().message)`. Every message names the thing at fault
// and where, e.g. `sudoku: bad character 'x' at position 17`.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace trm::puzzle {

struct Error {
  std::string message;
};

template <class T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : v_(std::move(value)) {}      // NOLINT: implicit, like StatusOr.
  Expected(Error error) : v_(std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // Precondition: ok(). (std::get throws std::bad_variant_access otherwise.)
  const T& value() const& { return std::get<0>(v_); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

  // Precondition: !ok().
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Success or an Error, for checks that produce no value: `Expected<void> r = Validate(x);`.
template <>
class [[nodiscard]] Expected<void> {
 public:
  Expected() = default;                                            // Success.
  Expected(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }  // Empty message when ok().

 private:
  Error error_;
  bool ok_ = true;
};

inline Expected<void> Ok() { return {}; }

}  // namespace trm::puzzle
