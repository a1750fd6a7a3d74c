#include "server/web/http.h"

#include "server/web/http_rules.h"

namespace sreda::web {

std::string HttpRequest::bearer_token() const {
  static const std::string kPrefix = "Bearer ";
  if (authorization.size() <= kPrefix.size()) return "";
  for (size_t i = 0; i < kPrefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(authorization[i])) !=
        std::tolower(static_cast<unsigned char>(kPrefix[i])))
      return "";
  return authorization.substr(kPrefix.size());
}

HttpResponse HttpResponse::json(int status, const nlohmann::json& body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json; charset=utf-8";
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  set_caching(r, Caching::none);
  return r;
}

HttpResponse HttpResponse::error(int status, const std::string& code, const std::string& message,
                                 const std::string& field) {
  nlohmann::json e = {{"code", code}, {"message", message}};
  if (!field.empty()) e["field"] = field;
  return json(status, {{"error", e}});
}

HttpResponse HttpResponse::refused(int status, const std::string& code, const std::string& message,
                                   int64_t retry_after_s) {
  auto r = json(status, {{"error", {{"code", code}, {"message", message}, {"retry_after_s", retry_after_s}}}});
  r.headers.emplace_back("retry-after", std::to_string(retry_after_s));
  return r;
}

HttpResponse HttpResponse::text(int status, const std::string& content_type, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = content_type;
  r.body = std::move(body);
  return r;
}

}  // namespace sreda::web
