#include "server/relay/tls_trust.h"

#include <gio/gio.h>

#include <algorithm>
#include <cctype>

// The system's database first; a chain it does not know the CA of is tried against the admin's file. Both
// verify the whole chain, the dates and the name (GTlsDatabase::verify_chain): nothing is accepted unverified.
struct SredaTrust {
  GTlsDatabase parent;
  GTlsDatabase* system;
  GTlsDatabase* extra;
};
struct SredaTrustClass {
  GTlsDatabaseClass parent_class;
};

G_DEFINE_TYPE(SredaTrust, sreda_trust, G_TYPE_TLS_DATABASE)

namespace {

SredaTrust* self_of(GTlsDatabase* db) {
  return reinterpret_cast<SredaTrust*>(db);
}

GTlsCertificateFlags verify_chain(GTlsDatabase* db, GTlsCertificate* chain, const gchar* purpose,
                                  GSocketConnectable* identity, GTlsInteraction* interaction,
                                  GTlsDatabaseVerifyFlags flags, GCancellable* cancellable, GError** error) {
  SredaTrust* self = self_of(db);
  GError* local = nullptr;
  GTlsCertificateFlags result = g_tls_database_verify_chain(self->system, chain, purpose, identity, interaction,
                                                            flags, cancellable, &local);
  if (local) {
    g_propagate_error(error, local);
    return result;
  }
  if (!(result & G_TLS_CERTIFICATE_UNKNOWN_CA) || !self->extra) return result;
  return g_tls_database_verify_chain(self->extra, chain, purpose, identity, interaction, flags, cancellable,
                                     error);
}

GTlsCertificate* lookup_issuer(GTlsDatabase* db, GTlsCertificate* certificate, GTlsInteraction* interaction,
                               GTlsDatabaseLookupFlags flags, GCancellable* cancellable, GError** error) {
  SredaTrust* self = self_of(db);
  GError* local = nullptr;
  GTlsCertificate* found =
      g_tls_database_lookup_certificate_issuer(self->system, certificate, interaction, flags, cancellable, &local);
  if (found || local || !self->extra) {
    if (local) g_propagate_error(error, local);
    return found;
  }
  return g_tls_database_lookup_certificate_issuer(self->extra, certificate, interaction, flags, cancellable, error);
}

GList* lookup_issued_by(GTlsDatabase* db, GByteArray* issuer, GTlsInteraction* interaction,
                        GTlsDatabaseLookupFlags flags, GCancellable* cancellable, GError** error) {
  SredaTrust* self = self_of(db);
  GList* all =
      g_tls_database_lookup_certificates_issued_by(self->system, issuer, interaction, flags, cancellable, error);
  if (self->extra && !(error && *error))
    all = g_list_concat(all, g_tls_database_lookup_certificates_issued_by(self->extra, issuer, interaction, flags,
                                                                          cancellable, error));
  return all;
}

gchar* create_handle(GTlsDatabase*, GTlsCertificate*) {
  return nullptr;  // no PKCS#11 handles
}

GTlsCertificate* lookup_for_handle(GTlsDatabase*, const gchar*, GTlsInteraction*, GTlsDatabaseLookupFlags,
                                   GCancellable*, GError**) {
  return nullptr;
}

void finalize(GObject* object) {
  SredaTrust* self = reinterpret_cast<SredaTrust*>(object);
  g_clear_object(&self->system);
  g_clear_object(&self->extra);
  G_OBJECT_CLASS(sreda_trust_parent_class)->finalize(object);
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

static void sreda_trust_class_init(SredaTrustClass* klass) {
  G_OBJECT_CLASS(klass)->finalize = finalize;
  GTlsDatabaseClass* db = G_TLS_DATABASE_CLASS(klass);
  db->verify_chain = verify_chain;
  db->lookup_certificate_issuer = lookup_issuer;
  db->lookup_certificates_issued_by = lookup_issued_by;
  db->create_certificate_handle = create_handle;
  db->lookup_certificate_for_handle = lookup_for_handle;
}

static void sreda_trust_init(SredaTrust* self) {
  self->system = nullptr;
  self->extra = nullptr;
}

namespace sreda::relay {

core::Result<void> check_ca_file(const std::string& path) {
  if (path.empty()) return {};
  GError* error = nullptr;
  GList* certificates = g_tls_certificate_list_new_from_file(path.c_str(), &error);
  if (error) {
    std::string why = error->message;
    g_error_free(error);
    return core::Error{"bad_config", "cannot read \"" + path + "\": " + why, "relays.ca_file"};
  }
  const bool any = certificates != nullptr;
  g_list_free_full(certificates, g_object_unref);
  if (!any)
    return core::Error{"bad_config", "\"" + path + "\" holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                       "relays.ca_file"};
  return {};
}

core::Result<void> trust_ca_file(const std::string& path) {
  if (path.empty()) return {};
  if (auto checked = check_ca_file(path); !checked) return checked;
  GTlsBackend* backend = g_tls_backend_get_default();
  if (!g_tls_backend_supports_tls(backend))
    return core::Error{"bad_config", "TLS is not available: apt-get install glib-networking", "relays.ca_file"};
  GError* error = nullptr;
  GTlsDatabase* extra = g_tls_file_database_new(path.c_str(), &error);
  if (!extra) {
    std::string why = error ? error->message : "unknown error";
    if (error) g_error_free(error);
    return core::Error{"bad_config", "cannot read \"" + path + "\": " + why, "relays.ca_file"};
  }
  auto* trust = static_cast<SredaTrust*>(g_object_new(sreda_trust_get_type(), nullptr));
  trust->system = g_tls_backend_get_default_database(backend);
  trust->extra = extra;
  g_tls_backend_set_default_database(backend, G_TLS_DATABASE(trust));
  g_object_unref(trust);
  return {};
}

std::string tls_failure(const std::string& uri, int timeout_s) {
  const bool https = uri.rfind("https://", 0) == 0;
  if (!https && uri.rfind("rtmps://", 0) != 0) return {};
  GSocketClient* client = g_socket_client_new();
  g_socket_client_set_tls(client, TRUE);
  g_socket_client_set_timeout(client, static_cast<guint>(timeout_s));
  GError* error = nullptr;
  // connect_to_uri takes the URI's host and port (443 when none, as for both schemes) and completes the
  // handshake, which verifies the certificate against GIO's default database (trust_ca_file).
  GSocketConnection* connection = g_socket_client_connect_to_uri(client, uri.c_str(), 443, nullptr, &error);
  std::string why;
  if (!connection) why = error ? error->message : "TLS failed";
  if (error) g_error_free(error);
  if (connection) g_object_unref(connection);
  g_object_unref(client);
  return why.empty() ? why : explain_tls_error(why);
}

std::string explain_tls_error(const std::string& text) {
  const std::string l = lower(text);
  if (l.find("certificate") == std::string::npos && l.find("secure connection") == std::string::npos)
    return text;
  return "the partner's TLS certificate was not accepted (" + text +
         "): it must be valid for the address and signed by a CA this server trusts (the system's, or a "
         "partner's own CA added in relays.ca_file)";
}

}  // namespace sreda::relay
