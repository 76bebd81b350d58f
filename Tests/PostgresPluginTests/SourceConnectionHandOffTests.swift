import Foundation
import PostgresClient
import SluiceTestSupport
import SluiceSDK
import SluiceWire
import Testing

/// A Read that follows a Discover of the same configuration in one plugin process runs on the
/// connection Discover left open; through the real plugin binary, against the real server.
@Suite("postgres-plugin source: Discover's connection handed to the Read")
struct SourceConnectionHandOffTests {
    @Test("the Read runs on Discover's connection; a new one when the server ended it or the configuration differs")
    func handOff() async throws {
        try await SourceHarness.withSchema { schema, db in
            // A view that reports the backend running the Read's COPY.
            _ = try await db.execute("CREATE VIEW \(SQL.quoteIdentifier(schema)).who AS SELECT pg_backend_pid() AS pid")
            let application = "sluice_handoff_" + schema
            let overrides: [String: Any] = ["schemas": [schema], "connection_string": "application_name=\(application)"]
            let client = try await SourceHarness.launch()
            defer { Task { await client.close() } }

            func discovered() async throws -> [String] {
                _ = try await client.discover(DiscoverRequest(configJSON: SourceHarness.config(overrides)))
                return try await backends(application, db)
            }
            func readBackend(_ extra: [String: Any] = [:]) async throws -> String? {
                let result = try await SourceHarness.read([SourceHarness.stream(schema, "who")],
                                                          overrides: overrides.merging(extra) { $1 }, client: client)
                guard case .int32(let pid)? = try result.rows("who").first?.first else { return nil }
                return String(pid)
            }

            // Discover leaves one idle connection; the Read's COPY runs on it, and it is closed after.
            let left = try await discovered()
            #expect(left.count == 1)
            #expect(try await readBackend() == left.first)
            #expect(try await gone(application, db))

            // The server ended it while it waited: the Read connects again.
            let ended = try await discovered()
            #expect(ended.count == 1)
            _ = try await db.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", [.text(application)])
            #expect(try await gone(application, db))
            let afterEnd = try #require(try await readBackend())
            #expect(afterEnd != ended.first)

            // A Read of another configuration connects on its own, and the one left is closed.
            let other = try await discovered()
            #expect(other.count == 1)
            let otherBackend = try #require(try await readBackend(["checkpoint_interval": 5]))
            #expect(otherBackend != other.first)
            #expect(try await gone(application, db))
        }
    }

    /// The pids of the server processes serving `application`.
    private func backends(_ application: String, _ db: PostgresConnection) async throws -> [String] {
        try await db.execute("SELECT pid::text FROM pg_stat_activity WHERE application_name = $1", [.text(application)])
            .rows.compactMap { $0.first ?? nil }
    }

    /// Whether every connection of `application` is gone within 30 s (a closed connection's
    /// server process ends a moment after the client leaves).
    private func gone(_ application: String, _ db: PostgresConnection) async throws -> Bool {
        for _ in 0 ..< 300 {
            if try await backends(application, db).isEmpty { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }
}
