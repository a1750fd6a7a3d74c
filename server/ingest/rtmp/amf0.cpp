#include "server/ingest/rtmp/amf0.h"

#include <bit>
#include <cstring>
#include <limits>

namespace sreda::ingest::rtmp {
namespace {

enum Marker : uint8_t {
  kNumber = 0x00,
  kBoolean = 0x01,
  kString = 0x02,
  kObject = 0x03,
  kMovieClip = 0x04,
  kNull = 0x05,
  kUndefined = 0x06,
  kReference = 0x07,
  kEcmaArray = 0x08,
  kObjectEnd = 0x09,
  kStrictArray = 0x0A,
  kDate = 0x0B,
  kLongString = 0x0C,
  kUnsupported = 0x0D,
  kRecordSet = 0x0E,
  kXmlDocument = 0x0F,
  kTypedObject = 0x10,
  kAvmPlus = 0x11,
};

// Equal values, or the same bits (so a NaN read from the wire equals itself).
bool same_number(double a, double b) {
  return a == b || std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b);
}

core::Error decode_error(std::string message) {
  return core::Error{"amf0", std::move(message), {}};
}

core::Error limit_error(std::string message) {
  return core::Error{"amf0_limit", std::move(message), {}};
}

class Decoder {
 public:
  Decoder(std::span<const uint8_t> data, size_t offset, size_t max_values)
      : data_(data), pos_(offset), values_left_(max_values) {}
  size_t pos() const { return pos_; }

  core::Result<Amf0Value> value(int depth_left) {
    if (depth_left <= 0) return limit_error("nesting too deep");
    if (values_left_ == 0) return limit_error("too many values");
    --values_left_;
    if (!need(1)) return decode_error("truncated: value marker");
    uint8_t marker = data_[pos_++];
    switch (marker) {
      case kNumber: {
        if (!need(8)) return decode_error("truncated number");
        return Amf0Value::make_number(read_double());
      }
      case kBoolean:
        if (!need(1)) return decode_error("truncated boolean");
        return Amf0Value::make_boolean(data_[pos_++] != 0);
      case kString:
      case kLongString: {
        auto s = marker == kString ? short_string() : long_string();
        if (!s) return s.error();
        return Amf0Value::make_string(std::move(*s));
      }
      case kObject:
      case kEcmaArray: {
        if (marker == kEcmaArray) {
          if (!need(4)) return decode_error("truncated ECMA array count");
          pos_ += 4;  // the count is advisory; encoders get it wrong, the end marker is what counts
        }
        auto props = properties(depth_left - 1);
        if (!props) return props.error();
        return marker == kObject ? Amf0Value::make_object(std::move(*props))
                                 : Amf0Value::make_ecma_array(std::move(*props));
      }
      case kNull:
        return Amf0Value::make_null();
      case kUndefined:
        return Amf0Value::make_undefined();
      case kStrictArray: {
        if (!need(4)) return decode_error("truncated strict array count");
        uint32_t count = read_u32();
        // Each item takes at least one byte, so the count can never exceed what is left.
        if (count > data_.size() - pos_) return decode_error("strict array count exceeds input");
        std::vector<Amf0Value> items;
        for (uint32_t i = 0; i < count; ++i) {
          auto item = value(depth_left - 1);
          if (!item) return item.error();
          items.push_back(std::move(*item));
        }
        return Amf0Value::make_strict_array(std::move(items));
      }
      case kDate: {
        if (!need(10)) return decode_error("truncated date");
        double ms = read_double();
        auto tz = static_cast<int16_t>((data_[pos_] << 8) | data_[pos_ + 1]);
        pos_ += 2;
        return Amf0Value::make_date(ms, tz);
      }
      case kObjectEnd:
        return decode_error("unexpected object end marker");
      default:
        return decode_error("unsupported marker 0x" + hex(marker));
    }
  }

 private:
  bool need(size_t n) const { return data_.size() - pos_ >= n; }

  uint32_t read_u32() {
    uint32_t v = (uint32_t{data_[pos_]} << 24) | (uint32_t{data_[pos_ + 1]} << 16) |
                 (uint32_t{data_[pos_ + 2]} << 8) | uint32_t{data_[pos_ + 3]};
    pos_ += 4;
    return v;
  }

  double read_double() {
    uint64_t bits = 0;
    for (int i = 0; i < 8; ++i) bits = (bits << 8) | data_[pos_ + i];
    pos_ += 8;
    return std::bit_cast<double>(bits);
  }

  core::Result<std::string> short_string() {
    if (!need(2)) return decode_error("truncated string length");
    size_t len = (size_t{data_[pos_]} << 8) | data_[pos_ + 1];
    pos_ += 2;
    return bytes(len);
  }

  core::Result<std::string> long_string() {
    if (!need(4)) return decode_error("truncated long string length");
    return bytes(read_u32());
  }

  core::Result<std::string> bytes(size_t len) {
    if (!need(len)) return decode_error("truncated string");
    std::string s(reinterpret_cast<const char*>(data_.data() + pos_), len);
    pos_ += len;
    return s;
  }

  core::Result<std::vector<Amf0Property>> properties(int depth_left) {
    std::vector<Amf0Property> props;
    while (true) {
      auto key = short_string();
      if (!key) return key.error();
      if (key->empty()) {
        if (!need(1)) return decode_error("truncated object end");
        if (data_[pos_] == kObjectEnd) {
          ++pos_;
          return props;
        }
      }
      auto v = value(depth_left);
      if (!v) return v.error();
      props.push_back(Amf0Property{std::move(*key), std::move(*v)});
    }
  }

  static std::string hex(uint8_t b) {
    const char* digits = "0123456789abcdef";
    return {digits[b >> 4], digits[b & 15]};
  }

  std::span<const uint8_t> data_;
  size_t pos_;
  size_t values_left_;
};

void put_u16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

void put_u32(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

void put_double(std::vector<uint8_t>& out, double d) {
  auto bits = std::bit_cast<uint64_t>(d);
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(bits >> shift));
}

void put_key(std::vector<uint8_t>& out, const std::string& key) {
  size_t len = std::min<size_t>(key.size(), 0xFFFF);  // keys have a 16-bit length: truncate, never corrupt
  put_u16(out, static_cast<uint16_t>(len));
  out.insert(out.end(), key.begin(), key.begin() + static_cast<std::ptrdiff_t>(len));
}

void put_properties(std::vector<uint8_t>& out, const std::vector<Amf0Property>& props) {
  for (const auto& p : props) {
    put_key(out, p.key);
    amf0_encode(p.value, out);
  }
  out.push_back(0);
  out.push_back(0);
  out.push_back(kObjectEnd);
}

}  // namespace

Amf0Value Amf0Value::make_number(double v) {
  Amf0Value a;
  a.type = Type::number;
  a.number = v;
  return a;
}
Amf0Value Amf0Value::make_boolean(bool v) {
  Amf0Value a;
  a.type = Type::boolean;
  a.boolean = v;
  return a;
}
Amf0Value Amf0Value::make_string(std::string v) {
  Amf0Value a;
  a.type = Type::string;
  a.string = std::move(v);
  return a;
}
Amf0Value Amf0Value::make_null() {
  return Amf0Value{};
}
Amf0Value Amf0Value::make_undefined() {
  Amf0Value a;
  a.type = Type::undefined;
  return a;
}
Amf0Value Amf0Value::make_object(std::vector<Amf0Property> props) {
  Amf0Value a;
  a.type = Type::object;
  a.properties = std::move(props);
  return a;
}
Amf0Value Amf0Value::make_ecma_array(std::vector<Amf0Property> props) {
  Amf0Value a;
  a.type = Type::ecma_array;
  a.properties = std::move(props);
  return a;
}
Amf0Value Amf0Value::make_strict_array(std::vector<Amf0Value> items) {
  Amf0Value a;
  a.type = Type::strict_array;
  a.items = std::move(items);
  return a;
}
Amf0Value Amf0Value::make_date(double ms, int16_t timezone) {
  Amf0Value a;
  a.type = Type::date;
  a.number = ms;
  a.timezone = timezone;
  return a;
}

const Amf0Value* Amf0Value::get(std::string_view key) const {
  if (!is_object_like()) return nullptr;
  for (const auto& p : properties) {
    if (p.key == key) return &p.value;
  }
  return nullptr;
}

std::string Amf0Value::get_string(std::string_view key, std::string_view fallback) const {
  const Amf0Value* v = get(key);
  if (v == nullptr || !v->is_string()) return std::string(fallback);
  return v->string;
}

bool Amf0Value::operator==(const Amf0Value& other) const {
  if (type != other.type) return false;
  switch (type) {
    case Type::number:
      return same_number(number, other.number);
    case Type::boolean:
      return boolean == other.boolean;
    case Type::string:
      return string == other.string;
    case Type::object:
    case Type::ecma_array:
      return properties == other.properties;
    case Type::strict_array:
      return items == other.items;
    case Type::date:
      return same_number(number, other.number) && timezone == other.timezone;
    case Type::null:
    case Type::undefined:
      return true;
  }
  return false;
}

core::Result<Amf0Value> amf0_decode(std::span<const uint8_t> data, size_t& offset, int max_depth,
                                    size_t max_values) {
  if (offset > data.size()) return decode_error("offset past end");
  Decoder d(data, offset, max_values);
  auto v = d.value(max_depth);
  if (v) offset = d.pos();
  return v;
}

core::Result<std::vector<Amf0Value>> amf0_decode_all(std::span<const uint8_t> data, int max_depth,
                                                     size_t max_values) {
  std::vector<Amf0Value> values;
  Decoder d(data, 0, max_values);
  while (d.pos() < data.size()) {
    auto v = d.value(max_depth);
    if (!v) return v.error();
    values.push_back(std::move(*v));
  }
  return values;
}

void amf0_encode(const Amf0Value& value, std::vector<uint8_t>& out) {
  using Type = Amf0Value::Type;
  switch (value.type) {
    case Type::number:
      out.push_back(kNumber);
      put_double(out, value.number);
      break;
    case Type::boolean:
      out.push_back(kBoolean);
      out.push_back(value.boolean ? 1 : 0);
      break;
    case Type::string:
      if (value.string.size() <= 0xFFFF) {
        out.push_back(kString);
        put_u16(out, static_cast<uint16_t>(value.string.size()));
      } else {
        out.push_back(kLongString);
        put_u32(out, static_cast<uint32_t>(std::min<size_t>(value.string.size(), UINT32_MAX)));
      }
      out.insert(out.end(), value.string.begin(),
                 value.string.begin() +
                     static_cast<std::ptrdiff_t>(std::min<size_t>(value.string.size(), UINT32_MAX)));
      break;
    case Type::object:
      out.push_back(kObject);
      put_properties(out, value.properties);
      break;
    case Type::null:
      out.push_back(kNull);
      break;
    case Type::undefined:
      out.push_back(kUndefined);
      break;
    case Type::ecma_array:
      out.push_back(kEcmaArray);
      put_u32(out, static_cast<uint32_t>(value.properties.size()));
      put_properties(out, value.properties);
      break;
    case Type::strict_array:
      out.push_back(kStrictArray);
      put_u32(out, static_cast<uint32_t>(value.items.size()));
      for (const auto& item : value.items) amf0_encode(item, out);
      break;
    case Type::date:
      out.push_back(kDate);
      put_double(out, value.number);
      put_u16(out, static_cast<uint16_t>(value.timezone));
      break;
  }
}

std::vector<uint8_t> amf0_encode_all(const std::vector<Amf0Value>& values) {
  std::vector<uint8_t> out;
  for (const auto& v : values) amf0_encode(v, out);
  return out;
}

}  // namespace sreda::ingest::rtmp
