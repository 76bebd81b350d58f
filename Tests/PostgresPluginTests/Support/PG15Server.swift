import Foundation
import PostgresClient
import Testing

/// The PostgreSQL 15 server with TLS of `scripts/pg15-server.sh`, found through the
/// `SLUICE_PG15_*` variables that `scripts/pg15-server.sh env` prints. Tests that need it are
/// skipped, with this reason, when the variables are not set.
enum PG15Server {
    static let environment = ProcessInfo.processInfo.environment

    /// Whether the server's variables are set.
    static var isConfigured: Bool {
        ["SLUICE_PG15_PORT", "SLUICE_PG15_TLS", "SLUICE_PG15_PASSWORD"].allSatisfy { environment[$0]?.isEmpty == false }
    }

    /// Why a test that needs the server is skipped.
    static let skipReason: Comment = "needs PostgreSQL 15 with TLS: eval \"$(scripts/pg15-server.sh start)\" sets SLUICE_PG15_* (scripts/test.sh does)"

    static var host: String { environment["SLUICE_PG15_HOST"] ?? "127.0.0.1" }
    static var port: Int { Int(environment["SLUICE_PG15_PORT"] ?? "") ?? 0 }

    /// A file of the server's TLS folder: `ca.crt`, `wrong-ca.crt`, `client.crt`, `client.key`.
    static func tlsFile(_ name: String) -> String {
        URL(fileURLWithPath: environment["SLUICE_PG15_TLS"] ?? "", isDirectory: true).appendingPathComponent(name).path
    }

    /// The roles the script creates and the variables holding their passwords.
    enum User: String, CaseIterable {
        case superuser = "postgres"
        case scram = "sluice_scram"
        case md5 = "sluice_md5"
        case tlsOnly = "sluice_tls_only"
        case certificate = "sluice_cert"

        /// The variable holding the password (none for the certificate user).
        var passwordVariable: String? {
            switch self {
            case .superuser: "SLUICE_PG15_PASSWORD"
            case .scram: "SLUICE_PG15_SCRAM_PASSWORD"
            case .md5: "SLUICE_PG15_MD5_PASSWORD"
            case .tlsOnly: "SLUICE_PG15_TLS_ONLY_PASSWORD"
            case .certificate: nil
            }
        }

        var password: String? { passwordVariable.flatMap { PG15Server.environment[$0] } }
    }

    /// A postgres-plugin configuration object for `user`, with `overrides` applied last.
    static func pluginConfig(_ user: User, _ overrides: [String: Any] = [:]) -> [String: Any] {
        var object: [String: Any] = ["host": host, "port": port, "user": user.rawValue, "database": "postgres"]
        if let password = user.password { object["password"] = password }
        object.merge(overrides) { $1 }
        return object
    }

    /// `object` as JSON text.
    static func json(_ object: [String: Any]) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    /// A superuser connection (verify-full against the right CA).
    static func connect() async throws -> PostgresConnection {
        try await PostgresConnection.connect(ConnectionConfig(
            connectionString: nil, host: "localhost", port: port, database: "postgres", user: User.superuser.rawValue,
            password: User.superuser.password, options: ["sslmode": "verify-full", "sslrootcert": tlsFile("ca.crt")]))
    }
}
