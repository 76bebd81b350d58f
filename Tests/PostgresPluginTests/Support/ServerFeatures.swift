import Foundation
import PostgresClient
import SluiceTestSupport
import Testing

/// What the PG* server offers, for tests that need more than every supported version has.
enum ServerFeatures {
    /// Whether the PG* server can install the extension `name`; true when the server cannot be
    /// asked, so that the test runs and fails loudly rather than being skipped.
    static func hasExtension(_ name: String) async -> Bool {
        guard let connection = try? await TestDatabase.connect() else { return true }
        defer { connection.close() }
        let rows = try? await connection.execute("SELECT 1 FROM pg_available_extensions WHERE name = $1", [.text(name)]).rows
        return rows.map { !$0.isEmpty } ?? true
    }

    /// The PG* server's version number (`server_version_num`, e.g. 150018); `Int.max` when the
    /// server cannot be reached, so that the test runs and fails loudly rather than being skipped.
    static func versionNumber() async -> Int {
        guard let connection = try? await TestDatabase.connect() else { return .max }
        defer { connection.close() }
        return connection.serverVersionNumber
    }
}

extension Trait where Self == ConditionTrait {
    /// Skips, saying why, when the PG* server has no pgvector (Debian's PostgreSQL 15 of the
    /// version matrix, `scripts/pg15-server.sh`, has none; the embedded PostgreSQL 18 has it).
    static var needsPGVector: Self {
        .enabled("needs pgvector (extension vector) on the PG* server; this server has none") {
            await ServerFeatures.hasExtension("vector")
        }
    }

    /// Skips, saying why, when the PG* server is older than PostgreSQL `major` (the version
    /// matrix also runs the suites against PostgreSQL 15).
    static func needsServerVersion(_ major: Int) -> Self {
        .enabled("needs PostgreSQL \(major) or later on the PG* server") {
            await ServerFeatures.versionNumber() >= major * 10000
        }
    }
}
