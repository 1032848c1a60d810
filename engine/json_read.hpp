// Strict reads of our JSON contracts (segment descriptors, worker stats, the job state): nlohmann's
// get<int>() casts whatever number it finds — 1e300 into an int is undefined behaviour and true reads as
// 1 — so integers are read only when they are integers that fit, and doubles only when finite.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "error.hpp"

namespace pvt::json_read {

using nlohmann::json;

inline std::string value_text(const json& v) {
  return v.is_number() ? v.dump() : std::string(v.type_name());
}

template <typename T>
T integer_value(const json& v, const char* key, ErrorCode code) {
  constexpr auto lo = std::numeric_limits<T>::min();
  constexpr auto hi = std::numeric_limits<T>::max();
  if (v.is_number_unsigned() && v.get<std::uint64_t>() <= static_cast<std::uint64_t>(hi))
    return static_cast<T>(v.get<std::uint64_t>());
  if (v.is_number_integer() && !v.is_number_unsigned() && v.get<std::int64_t>() >= lo &&
      v.get<std::int64_t>() <= hi)
    return static_cast<T>(v.get<std::int64_t>());
  throw Error(code, std::string(key) + " must be an integer from " + std::to_string(lo) + " to " +
                        std::to_string(hi) + ", not " + value_text(v));
}

template <typename T>
void get_integer(const json& j, const char* key, T& out, ErrorCode code) {
  out = integer_value<T>(j.at(key), key, code);
}

inline void get_integers(const json& j, const char* key, std::vector<int>& out, ErrorCode code) {
  const json& a = j.at(key);
  if (!a.is_array()) throw Error(code, std::string(key) + " must be an array, not " + value_text(a));
  out.clear();
  for (const json& v : a) out.push_back(integer_value<int>(v, key, code));
}

// A non-finite double is written as null, which would not read back: refuse it on the way in.
inline void get_finite(const json& j, const char* key, double& out, ErrorCode code) {
  const json& v = j.at(key);
  if (!v.is_number() || !std::isfinite(v.get<double>()))
    throw Error(code, std::string(key) + " must be a finite number, not " + value_text(v));
  out = v.get<double>();
}

}  // namespace pvt::json_read
