import Foundation

/// A Microsoft Entra ID application (service principal) with a client secret, for Azure
/// Database for PostgreSQL: its tenant's token endpoint issues, for the client credentials, an
/// access token for the `ossrdbms-aad` resource that the server accepts as the password of the
/// application's database role.
struct EntraClientCredentials: Sendable {
    static let defaultAuthorityHost = "https://login.microsoftonline.com"
    /// The scope Azure Database for PostgreSQL tokens are issued for.
    static let scope = "https://ossrdbms-aad.database.windows.net/.default"

    var tenantID: String
    var clientID: String
    var clientSecret: String
    /// `{authority_host}/{tenant_id}/oauth2/v2.0/token`.
    var tokenURL: URL

    /// The token endpoint of `tenantID` at `authorityHost`, or nil when that is not an https
    /// URL (or http to a loopback address).
    static func tokenURL(authorityHost: String, tenantID: String) -> URL? {
        guard let tenant = tenantID.addingPercentEncoding(withAllowedCharacters: TokenEndpoint.unreserved) else { return nil }
        let base = authorityHost.hasSuffix("/") ? String(authorityHost.dropLast()) : authorityHost
        return TokenEndpoint.url("\(base)/\(tenant)/oauth2/v2.0/token")
    }

    /// The client credentials grant's form (RFC 6749 §4.4).
    var form: [(String, String)] {
        [("grant_type", "client_credentials"), ("client_id", clientID), ("client_secret", clientSecret), ("scope", Self.scope)]
    }
}
