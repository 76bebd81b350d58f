import Foundation
import PostgresClient

/// What the read and write benchmarks share: the server named by the standard PG* variables,
/// and where the plugin under test lives.
enum BenchEnvironment {
    private static var env: [String: String] { ProcessInfo.processInfo.environment }

    /// The benchmark's own connection.
    static var connection: ConnectionConfig {
        ConnectionConfig(connectionString: nil, host: env["PGHOST"] ?? "127.0.0.1", port: Int(env["PGPORT"] ?? "5432"),
                         database: env["PGDATABASE"] ?? "postgres", user: env["PGUSER"] ?? "postgres",
                         password: env["PGPASSWORD"], options: [:])
    }

    /// The plugin configuration for the same server, plus `extra` settings, as JSON text.
    static func pluginConfigJSON(_ extra: [String: Any]) throws -> String {
        var settings: [String: Any] = [
            "host": env["PGHOST"] ?? "127.0.0.1", "port": Int(env["PGPORT"] ?? "5432") ?? 5432,
            "user": env["PGUSER"] ?? "postgres", "password": env["PGPASSWORD"] ?? "", "database": env["PGDATABASE"] ?? "postgres",
        ]
        settings.merge(extra) { $1 }
        return String(decoding: try JSONSerialization.data(withJSONObject: settings), as: UTF8.self)
    }

    /// `path`, or `postgres-plugin` next to this benchmark's executable.
    static func pluginExecutable(_ path: String?) -> URL {
        path.map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("postgres-plugin")
    }
}
