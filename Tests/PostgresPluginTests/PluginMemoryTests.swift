import Foundation
import PostgresClient
import SluiceSDK
import SluiceWire
import Testing

/// Batch buffers are reused across batches instead of being faulted in afresh
/// (``ProcessMemory``): a plugin's minor page faults stay low per row.
@Suite("plugin memory reuse")
struct PluginMemoryTests {
    /// Minor page faults of a running process (field 10 of /proc/PID/stat).
    static func minorFaults(_ pid: Int32) throws -> Int {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        let end = try #require(stat.lastIndex(of: ")"))
        let fields = stat[stat.index(after: end)...].split(separator: " ")
        return try #require(Int(fields[7]))
    }

    @Test("a Read of 500,000 rows in 10,000-row batches takes under 25,000 minor page faults per million rows")
    func readFaults() async throws {
        try await SourceHarness.withSchema { schema, db in
            let s = SQL.quoteIdentifier(schema)
            _ = try await db.executeScript("""
                CREATE TABLE \(s).t (id bigint PRIMARY KEY, name text, amount numeric(12,2), payload jsonb, tags text[]);
                INSERT INTO \(s).t SELECT g, 'name ' || g, g / 100.0, jsonb_build_object('k', g), ARRAY['a' || g % 10]
                FROM generate_series(1, 500000) g;
                """)
            let client = try await SourceHarness.launch()
            defer { Task { await client.close() } }
            let before = try Self.minorFaults(client.process.pid)
            let result = try await SourceHarness.read([SourceHarness.stream(schema, "t")], overrides: ["batch_size": 10_000], client: client)
            let faults = try Self.minorFaults(client.process.pid) - before
            #expect(result.batches.reduce(0) { $0 + $1.rowCount } == 500_000)
            // glibc's defaults give this read about 45,000 per million rows (each batch's buffers
            // faulted in anew); reused, about 10,000.
            #expect(faults * 2 < 25_000, "\(faults) minor page faults for 500,000 rows")
        }
    }
}
