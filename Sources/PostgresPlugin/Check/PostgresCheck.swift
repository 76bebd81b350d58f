import Logging
import PostgresClient
import SluiceWire

/// The Check call: configuration, reachability, authentication, server version and the
/// privileges each role needs, each as a named result with a stable code and, for a missing
/// privilege, the GRANT statement that fixes it.
struct PostgresCheck {
    /// The oldest server version supported.
    static let minimumServerVersion = 120000

    let configJSON: String
    let role: Role
    let logger: Logger

    func run() async -> CheckResponse {
        var results: [CheckResult] = []
        let config: PluginConfig
        do {
            config = try PluginConfig.parse(configJSON)
            results.append(.init(name: "config", passed: true, code: "OK", message: "the configuration is valid"))
        } catch {
            results.append(.init(name: "config", passed: false, code: error.code, message: error.message))
            return CheckResponse(checks: results + skipped(["reachable", "authenticated", "server_version"] + privilegeCheckNames))
        }
        do {
            // Only the tunnel throws: a tunnel that does not come up fails `reachable`.
            return try await SSHTunnel.around(config, logger: logger) { config in await connect(config, results) }
        } catch {
            let failure = error as? PluginError
            results.append(.init(name: "reachable", passed: false, code: failure?.code ?? "SSH_TUNNEL_FAILED", message: failure?.message ?? "\(error)"))
            return CheckResponse(checks: results + skipped(["authenticated", "server_version"] + privilegeCheckNames))
        }
    }

    /// The checks from `reachable` on, after `results`.
    private func connect(_ config: PluginConfig, _ earlier: [CheckResult]) async -> CheckResponse {
        var results = earlier
        let settings: ConnectionConfig
        do {
            settings = try await config.connection.authenticatedConfig()
        } catch {
            // A cloud identity's token could not be had: the server was not tried.
            let failure = error as? PluginError
            results.append(.init(name: "reachable", passed: false, code: "SKIPPED", message: "skipped: there is no token to connect with"))
            results.append(.init(name: "authenticated", passed: false, code: failure?.code ?? TokenEndpoint.unavailableCode,
                                 message: failure?.message ?? "the \(config.connection.auth.method.rawValue) token could not be had"))
            return CheckResponse(checks: results + skipped(["server_version"] + privilegeCheckNames))
        }
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(settings)
        } catch {
            results += connectionFailure(error, target: config.connection.connectionConfig.redactedDescription,
                                         method: config.connection.auth.method)
            return CheckResponse(checks: results + skipped(["server_version"] + privilegeCheckNames))
        }
        defer { connection.close() }
        results.append(.init(name: "reachable", passed: true, code: "OK", message: "connected to \(config.connection.connectionConfig.redactedDescription)"))
        results.append(.init(name: "authenticated", passed: true, code: "OK", message: "authenticated"))

        let version = connection.serverVersionNumber
        let versionText = "\(version / 10000).\(version % 100)"
        if version >= Self.minimumServerVersion {
            results.append(.init(name: "server_version", passed: true, code: "OK", message: "PostgreSQL \(versionText)"))
        } else {
            results.append(.init(name: "server_version", passed: false, code: "UNSUPPORTED_VERSION",
                                 message: "PostgreSQL \(versionText) is older than the supported minimum, 12"))
        }

        let privileges = PrivilegeAudit(connection: connection, config: config)
        let roles: [Role] = role == .unspecified ? [.source, .destination] : [role]
        for role in roles {
            let name = role == .source ? "source_privileges" : "destination_privileges"
            do {
                let missing = role == .source ? try await privileges.missingForSource() : try await privileges.missingForDestination()
                if missing.isEmpty {
                    results.append(.init(name: name, passed: true, code: "OK", message: "every privilege the \(role == .source ? "source" : "destination") needs is granted"))
                } else {
                    results.append(.init(name: name, passed: false, code: "PERMISSION_DENIED",
                                         message: missing.map { "\($0.what) is missing; fix: \($0.grant)" }.joined(separator: "\n")))
                }
            } catch {
                results.append(.init(name: name, passed: false, code: "CHECK_FAILED", message: "could not read privileges: \(error)"))
            }
        }
        if let embeddings = config.destination.embeddings, roles.contains(.destination) {
            results.append(await embeddingCheck(embeddings, connection: connection))
        }
        return CheckResponse(checks: results)
    }

    /// `embeddings`: pgvector is available and the endpoint embeds a test text with the key and
    /// the dimensions configured.
    private func embeddingCheck(_ settings: EmbeddingSettings, connection: PostgresConnection) async -> CheckResult {
        let available = try? await connection.execute("SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'")
        guard available?.rows.first?.first == "1" else {
            return .init(name: "embeddings", passed: false, code: "PGVECTOR_MISSING",
                         message: "the server has no pgvector extension (vector), which embeddings need: install it on the server")
        }
        do {
            _ = try await EmbeddingClient(settings: settings).embed(["Sluice checks the embeddings endpoint."])
            return .init(name: "embeddings", passed: true, code: "OK",
                         message: "pgvector is available and \(settings.model) returned a vector of \(settings.dimensions) numbers")
        } catch let error as PluginError {
            return .init(name: "embeddings", passed: false, code: error.code, message: error.message)
        } catch {
            return .init(name: "embeddings", passed: false, code: "EMBEDDING_FAILED", message: "\(error)")
        }
    }

    private var privilegeCheckNames: [String] {
        switch role {
        case .source: ["source_privileges"]
        case .destination: ["destination_privileges"]
        default: ["source_privileges", "destination_privileges"]
        }
    }

    private func skipped(_ names: [String]) -> [CheckResult] {
        names.map { CheckResult(name: $0, passed: false, code: "SKIPPED", message: "skipped: an earlier check failed") }
    }

    /// Splits a connect failure into the reachable and authenticated checks.
    private func connectionFailure(_ error: PostgresError, target: String, method: AuthSettings.Method) -> [CheckResult] {
        let reachable: (String, String)?
        let authenticated: (String, String)
        switch error.kind {
        case .dnsFailed:
            reachable = ("DNS_FAILED", "the host name could not be resolved (\(target)): \(error.message)")
            authenticated = ("SKIPPED", "skipped: the server was not reached")
        case .tlsFailed:
            reachable = ("TLS_FAILED", "the TLS handshake failed (\(target)): \(error.message)")
            authenticated = ("SKIPPED", "skipped: the server was not reached")
        case .authenticationFailed:
            reachable = nil
            authenticated = ("AUTH_FAILED", "authentication failed (\(target)): \(method.refusalHint). \(error.message)")
        case .unknownDatabase:
            reachable = nil
            authenticated = ("UNKNOWN_DATABASE", "the database does not exist (\(target)): \(error.message)")
        default:
            reachable = ("CONN_FAILED", "could not connect (\(target)): \(error.message)")
            authenticated = ("SKIPPED", "skipped: the server was not reached")
        }
        var results: [CheckResult] = []
        if let reachable {
            results.append(.init(name: "reachable", passed: false, code: reachable.0, message: reachable.1))
        } else {
            results.append(.init(name: "reachable", passed: true, code: "OK", message: "the server answered (\(target))"))
        }
        results.append(.init(name: "authenticated", passed: false, code: authenticated.0, message: authenticated.1))
        return results
    }
}
