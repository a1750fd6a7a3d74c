// The API described once: what each route of the Api's table (api.cpp) says beside what the dispatcher
// needs, the shapes it names (JSON Schema 2020-12, as OpenAPI 3.1 uses, in api_schemas.cpp), and the
// OpenAPI 3.1 document GET /api/openapi.json serves, built from that same table. Pure functions; any thread.
#pragma once

#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace sreda::web {

// Who may call a route. The dispatcher checks the bearer token for curator and admin; a view_link route
// (the artist's page) checks its ?t= token itself and otherwise runs as anyone's.
enum class ApiAccess { anyone, view_link, curator, admin };

// A route as the document sees it. Names refer to api_schemas.cpp: `request` and `response` to
// components.schemas (a `response` that names a components.responses entry is used as it is: the MP4
// export), `query` to components.parameters.
struct ApiDoc {
  const char* summary;
  const char* request = nullptr;  // the JSON body's schema; null: the route takes no body
  const char* response = nullptr;
  int status = 200;               // the success status
  std::vector<int> errors = {};   // what else it may answer, beside what its access, body and path imply
  std::vector<const char*> query = {};
};

// One row of the table, as the document builder reads it.
struct ApiDocRoute {
  const char* method;
  const char* pattern;  // an OpenAPI path template: "/api/events/{id}/comments/{comment}/hide"
  ApiAccess access;
  const ApiDoc* doc;
};

// The OpenAPI 3.1 document for `routes`. Throws std::logic_error when a route names a schema, response or
// parameter that api_schemas.cpp does not define (a start-up error: the table and the shapes disagree).
nlohmann::json openapi_document(const std::vector<ApiDocRoute>& routes);

const char* to_string(ApiAccess access);

// The wishes' parameters and schemas (api_schemas_wishes.cpp): a JSON object merged into components.
const char* wish_components();

}  // namespace sreda::web
