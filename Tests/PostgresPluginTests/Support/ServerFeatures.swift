import Foundation
import PostgresClient
import Testing

/// What the PG* server offers, for tests that need more than every supported version has.
enum ServerFeatures {
    /// Whether the PG* server can install the extension `name`.
    static func hasExtension(_ name: String) async -> Bool {
        guard let connection = try? await TestDatabase.connect() else { return false }
        defer { connection.close() }
        let rows = try? await connection.execute("SELECT 1 FROM pg_available_extensions WHERE name = $1", [.text(name)]).rows
        return rows?.isEmpty == false
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
}
