// The shapes of the residents' wishes routes (api_wishes.cpp), merged into the document's components by
// openapi_document (api_schemas.cpp). Strict like the others: a field added to an answer must be added here.
#include "server/web/api_schemas.h"

namespace sreda::web {

const char* wish_components() {
  return R"json({
"parameters": {
  "WishSort": {"name": "sort", "in": "query", "description": "top: most votes first (then newest); new: newest first.",
    "schema": {"enum": ["top", "new"], "default": "top"}}
},
"schemas": {
  "WishBase": {"type": "object", "required": ["id", "text", "category", "votes", "reply", "event_id", "created_at"],
    "properties": {"id": {"$ref": "#/components/schemas/Id"}, "text": {"type": "string", "minLength": 3, "maxLength": 300},
      "category": {"$ref": "#/components/schemas/Category"}, "votes": {"type": "integer", "minimum": 0},
      "reply": {"type": ["string", "null"], "description": "a curator's public answer"},
      "event_id": {"type": ["integer", "null"], "description": "the event that answers the wish"},
      "created_at": {"$ref": "#/components/schemas/Time"}}},
  "PublicWish": {"allOf": [{"$ref": "#/components/schemas/WishBase"}], "unevaluatedProperties": false,
    "required": ["voted"], "properties": {"voted": {"type": "boolean", "description": "this viewer (cookie) voted for it"}}},
  "PublicWishPage": {"type": "object", "required": ["items", "sort", "page", "page_size", "total"],
    "additionalProperties": false,
    "properties": {"items": {"type": "array", "maxItems": 20, "items": {"$ref": "#/components/schemas/PublicWish"}},
      "sort": {"enum": ["top", "new"]}, "page": {"type": "integer", "minimum": 1}, "page_size": {"const": 20},
      "total": {"type": "integer", "minimum": 0}}},
  "WishNew": {"type": "object", "required": ["text", "category"], "additionalProperties": false,
    "properties": {"text": {"type": "string", "minLength": 3, "maxLength": 300},
      "category": {"$ref": "#/components/schemas/Category"}}},
  "WishSubmitted": {"allOf": [{"$ref": "#/components/schemas/WishBase"}], "unevaluatedProperties": false,
    "required": ["status"], "properties": {"status": {"enum": ["visible", "held"],
      "description": "held: a word of the word lists; it waits for a curator"}}},
  "WishVote": {"type": "object", "required": ["id", "votes", "voted", "counted"], "additionalProperties": false,
    "properties": {"id": {"$ref": "#/components/schemas/Id"}, "votes": {"type": "integer", "minimum": 0},
      "voted": {"const": true},
      "counted": {"type": "boolean", "description": "false: beyond ws.max_ratings_per_address of this address"}}},
  "CuratorWish": {"allOf": [{"$ref": "#/components/schemas/WishBase"}], "unevaluatedProperties": false,
    "required": ["status", "viewer_id", "address"],
    "properties": {"status": {"enum": ["visible", "hidden", "held"]}, "viewer_id": {"type": "string"},
      "address": {"type": "string"}}},
  "CuratorWishPage": {"type": "object", "required": ["items", "sort", "page", "page_size", "total"],
    "additionalProperties": false,
    "properties": {"items": {"type": "array", "maxItems": 100, "items": {"$ref": "#/components/schemas/CuratorWish"}},
      "sort": {"enum": ["top", "new"]}, "page": {"type": "integer", "minimum": 1}, "page_size": {"const": 100},
      "total": {"type": "integer", "minimum": 0}}},
  "WishPatch": {"type": "object", "additionalProperties": false, "minProperties": 1,
    "properties": {"reply": {"type": ["string", "null"], "maxLength": 500},
      "event_id": {"type": ["integer", "null"], "minimum": 1}}},
  "EventWish": {"type": "object", "required": ["id", "text", "votes"], "additionalProperties": false,
    "description": "the residents' wish this event answers (\"you asked for this\")",
    "properties": {"id": {"$ref": "#/components/schemas/Id"}, "text": {"type": "string"},
      "votes": {"type": "integer", "minimum": 0}}}
}
})json";
}

}  // namespace sreda::web
