import Foundation
import PostgresClient

/// Connections to the test server named by the standard PG* environment variables.
enum TestDatabase {
    /// The server's connection settings from PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE.
    static var config: ConnectionConfig {
        let env = ProcessInfo.processInfo.environment
        return ConnectionConfig(connectionString: nil, host: env["PGHOST"] ?? "127.0.0.1", port: Int(env["PGPORT"] ?? "5432"),
                                database: env["PGDATABASE"] ?? "postgres", user: env["PGUSER"] ?? "postgres",
                                password: env["PGPASSWORD"], options: [:])
    }

    /// A new superuser connection.
    static func connect() async throws -> PostgresConnection {
        try await PostgresConnection.connect(config)
    }
}
