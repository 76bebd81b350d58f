import Foundation

/// The password each new connection presents when `auth` names a cloud identity: an access
/// token (Google, Entra), kept by a ``TokenCache`` and fetched anew before it runs out, or an
/// RDS token made locally for the moment of the connection. Shared by every copy of the
/// configuration for one call, so parallel connections reuse one token.
final class ConnectionCredentials: Sendable {
    private enum Source: Sendable {
        case cached(TokenCache)
        case rds(RDSAuthToken)
    }

    private let source: Source
    private let now: @Sendable () -> Date

    init(gcp key: ServiceAccountKey, now: @escaping @Sendable () -> Date = Date.init) {
        let endpoint = TokenEndpoint(url: key.tokenURI, identity: "service account \(key.clientEmail)")
        source = .cached(TokenCache(now: now) {
            let assertion = try key.assertion(now: now())
            return try await endpoint.token(form: [("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", assertion)],
                                            secrets: [assertion], now: now)
        })
        self.now = now
    }

    init(entra client: EntraClientCredentials, now: @escaping @Sendable () -> Date = Date.init) {
        let endpoint = TokenEndpoint(url: client.tokenURL, identity: "application \(client.clientID) of tenant \(client.tenantID)")
        source = .cached(TokenCache(now: now) {
            try await endpoint.token(form: client.form, secrets: [client.clientSecret], now: now)
        })
        self.now = now
    }

    init(rds token: RDSAuthToken, now: @escaping @Sendable () -> Date = Date.init) {
        source = .rds(token)
        self.now = now
    }

    /// The password for a connection opened now.
    func password() async throws -> String {
        switch source {
        case .cached(let cache): try await cache.token()
        case .rds(let token): token.token(at: now())
        }
    }
}
