// AMF0 codec (the value encoding of RTMP commands and metadata). Pure functions and plain values; any thread.
// Decoding never throws: malformed input, unsupported markers (reference, AMF3 switch, typed object, XML),
// nesting deeper than max_depth and more than max_values values in one call come back as an Error value
// (code "amf0_limit" for the two limits, "amf0" for malformed input). A decoded value takes ~100 bytes
// of memory per wire byte at worst (a strict array of nulls), so max_values is what bounds the memory
// of a decode, whatever the input's size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "server/core/result.h"

namespace sreda::ingest::rtmp {

struct Amf0Property;

struct Amf0Value {
  enum class Type { number, boolean, string, object, null, undefined, ecma_array, strict_array, date };

  Type type = Type::null;
  double number = 0;                     // number, date (ms since epoch)
  bool boolean = false;                  // boolean
  std::string string;                    // string and long string
  std::vector<Amf0Property> properties;  // object, ecma_array (in wire order)
  std::vector<Amf0Value> items;          // strict_array
  int16_t timezone = 0;                  // date

  static Amf0Value make_number(double v);
  static Amf0Value make_boolean(bool v);
  static Amf0Value make_string(std::string v);
  static Amf0Value make_null();
  static Amf0Value make_undefined();
  static Amf0Value make_object(std::vector<Amf0Property> props);
  static Amf0Value make_ecma_array(std::vector<Amf0Property> props);
  static Amf0Value make_strict_array(std::vector<Amf0Value> items);
  static Amf0Value make_date(double ms, int16_t timezone = 0);

  bool is_string() const { return type == Type::string; }
  bool is_number() const { return type == Type::number; }
  bool is_object_like() const { return type == Type::object || type == Type::ecma_array; }
  // The property named `key` of an object or ECMA array, or nullptr.
  const Amf0Value* get(std::string_view key) const;
  // Convenience: the string property `key`, or `fallback` when missing or not a string.
  std::string get_string(std::string_view key, std::string_view fallback = {}) const;

  bool operator==(const Amf0Value& other) const;
};

struct Amf0Property {
  std::string key;
  Amf0Value value;
  bool operator==(const Amf0Property& other) const = default;
};

inline constexpr int kAmf0DefaultMaxDepth = 32;
// Values (each item, property value and the top-level ones) one decode call may produce. A publisher's
// connect command has ~10, onMetaData ~30.
inline constexpr size_t kAmf0DefaultMaxValues = 4096;

// Decodes one value starting at `offset`; on success advances `offset` past it.
core::Result<Amf0Value> amf0_decode(std::span<const uint8_t> data, size_t& offset,
                                    int max_depth = kAmf0DefaultMaxDepth,
                                    size_t max_values = kAmf0DefaultMaxValues);
// Decodes values until the input ends (a command: name, transaction id, command object, arguments...).
// max_values counts across all of them.
core::Result<std::vector<Amf0Value>> amf0_decode_all(std::span<const uint8_t> data,
                                                     int max_depth = kAmf0DefaultMaxDepth,
                                                     size_t max_values = kAmf0DefaultMaxValues);

// Appends the encoding of `value`. Strings longer than 65535 bytes become long strings.
void amf0_encode(const Amf0Value& value, std::vector<uint8_t>& out);
std::vector<uint8_t> amf0_encode_all(const std::vector<Amf0Value>& values);

}  // namespace sreda::ingest::rtmp
