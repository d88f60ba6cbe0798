// Result<T>: a value or an error message (C++20 has no std::expected). Used on the event path
// and by parsers, where nothing throws.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace procwatch {

struct Error {
  std::string message;
  int errnum = 0;  // errno when the error came from a system call, else 0
};

template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}            // NOLINT(google-explicit-constructor)
  Result(Error err) : v_(std::move(err)) {}            // NOLINT(google-explicit-constructor)
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }
  const T& operator*() const& { return std::get<0>(v_); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

inline Error make_error(std::string msg, int errnum = 0) { return Error{std::move(msg), errnum}; }

}  // namespace procwatch
