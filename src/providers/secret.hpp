// Secret: a string that must never reach a log, an error message or stdout (tokens, client
// secrets, PKCE verifiers, authorization codes).
//
// It has no stream operator, no fmt formatter and no implicit conversion: the only way to the
// characters is reveal(), used when building a request. describe() gives a safe placeholder.
// Value type; thread-safe like std::string.
#pragma once

#include <string>
#include <utility>

namespace moodtunes::providers {

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string v) : v_(std::move(v)) {}
  const std::string& reveal() const { return v_; }
  bool empty() const { return v_.empty(); }
  std::string describe() const { return v_.empty() ? "<unset>" : "<redacted>"; }
  bool operator==(const Secret& o) const { return v_ == o.v_; }

 private:
  std::string v_;
};

}  // namespace moodtunes::providers
