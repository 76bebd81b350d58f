import Crypto
import _CryptoExtras
import Foundation

/// A Google Cloud service account key (the JSON file IAM issues: `type`, `client_email`,
/// `private_key`, `token_uri`, …) and the RS256-signed JWT assertions made with it, which the
/// key's `token_uri` exchanges for an OAuth access token (RFC 7523).
struct ServiceAccountKey: Sendable {
    /// Google's token endpoint, for a key without `token_uri`.
    static let defaultTokenURI = "https://oauth2.googleapis.com/token"
    /// The scope Cloud SQL IAM database authentication needs.
    static let scope = "https://www.googleapis.com/auth/sqlservice.login"
    /// The suffix Cloud SQL drops from a service account's email to name its database user.
    static let emailSuffix = ".gserviceaccount.com"
    /// How long an assertion is valid (Google accepts at most an hour).
    static let assertionLifetime: TimeInterval = 3600
    /// The keys of the key file this plugin uses.
    static let usedKeys: Set = ["type", "private_key", "private_key_id", "client_email", "token_uri"]
    /// The keys of the key file that only describe the account; accepted and not needed.
    static let descriptiveKeys: Set = ["project_id", "client_id", "auth_uri", "auth_provider_x509_cert_url",
                                       "client_x509_cert_url", "universe_domain"]

    let clientEmail: String
    let privateKeyID: String?
    let tokenURI: URL
    private let signingKey: _RSA.Signing.PrivateKey

    /// The key in `text`, the key file's JSON given by setting `key` of `parent` (inline, or the
    /// file it names); nil after adding its problems to `parent`, each named by its path under
    /// `key` and never quoting the text, which holds the private key.
    static func parse(_ text: String, setting key: String, in parent: inout ConfigReader) -> ServiceAccountKey? {
        guard case .object(let object)? = try? JSONValue.parse(text) else {
            return parent.problem(key, "not a service account key (expected the key file's JSON object)")
        }
        var reader = parent.child(key, object: object)
        defer { parent.merge(reader) }
        for name in reader.keys.sorted() where !usedKeys.contains(name) && !descriptiveKeys.contains(name) {
            reader.problem(name, "unknown key of a service account key file") as Void?
        }
        if reader.string("type") != "service_account" {
            reader.problem("type", "must be \"service_account\" (a service account key file)") as Void?
        }
        let email = reader.string("client_email") ?? reader.problem("client_email", "required")
        if let email, !email.contains("@") { reader.problem("client_email", "not an email address") as Void? }
        let keyID = reader.string("private_key_id")
        let tokenURI = TokenEndpoint.url(reader.string("token_uri") ?? defaultTokenURI) ??
            reader.problem("token_uri", "must be an https URL (http only to a loopback address)")
        var signingKey: _RSA.Signing.PrivateKey?
        if let pem = reader.string("private_key") ?? reader.problem("private_key", "required") {
            signingKey = try? _RSA.Signing.PrivateKey(pemRepresentation: pem)
            if signingKey == nil {
                reader.problem("private_key", "not an RSA private key of at least 2048 bits in PEM form") as Void?
            }
        }
        guard let email, let tokenURI, let signingKey, reader.problems.isEmpty else { return nil }
        return ServiceAccountKey(clientEmail: email, privateKeyID: keyID, tokenURI: tokenURI, signingKey: signingKey)
    }

    /// The PostgreSQL user of this account in Cloud SQL IAM authentication: its email without
    /// `.gserviceaccount.com`.
    var databaseUser: String {
        clientEmail.hasSuffix(Self.emailSuffix) ? String(clientEmail.dropLast(Self.emailSuffix.count)) : clientEmail
    }

    /// A JWT asserting this account for `scope` at `tokenURI`, issued at `now`: header and
    /// claims as base64url JSON, signed with RSASSA-PKCS1-v1_5 and SHA-256 (RS256).
    func assertion(now: Date) throws -> String {
        let issued = Int(now.timeIntervalSince1970)
        var header: [String: JSONValue] = ["alg": "RS256", "typ": "JWT"]
        if let privateKeyID { header["kid"] = .string(privateKeyID) }
        let claims: JSONValue = [
            "iss": .string(clientEmail), "scope": .string(Self.scope), "aud": .string(tokenURI.absoluteString),
            "iat": .integer(issued), "exp": .integer(issued + Int(Self.assertionLifetime)),
        ]
        let signed = Self.base64URL(Data(JSONValue.object(header).compact.utf8)) + "." + Self.base64URL(Data(claims.compact.utf8))
        let signature = try signingKey.signature(for: SHA256.hash(data: Data(signed.utf8)), padding: .insecurePKCS1v1_5)
        return signed + "." + Self.base64URL(signature.rawRepresentation)
    }

    /// Base64url without padding (RFC 7515).
    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
