import Foundation
import PostgresClient

/// The test server, named by the standard PG* environment variables (`scripts/test.sh` sets
/// them): shared by every integration test target.
public enum TestDatabase {
    /// A configuration for the test server (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE);
    /// `change` adjusts it.
    public static func config(_ change: (inout ConnectionConfig) -> Void = { _ in }) -> ConnectionConfig {
        let environment = ProcessInfo.processInfo.environment
        var config = ConnectionConfig(connectionString: nil, host: environment["PGHOST"] ?? "127.0.0.1",
                                      port: Int(environment["PGPORT"] ?? "5432"), database: environment["PGDATABASE"] ?? "postgres",
                                      user: environment["PGUSER"] ?? "postgres", password: environment["PGPASSWORD"], options: [:])
        config.applicationName = "sluice-tests"
        change(&config)
        return config
    }

    /// A new superuser connection to the test server.
    public static func connect() async throws -> PostgresConnection {
        try await PostgresConnection.connect(config())
    }
}
