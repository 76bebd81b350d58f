import Foundation
import PostgresClient
import SluiceSDK
import SluiceWire
import Testing

/// A stream's first rows move sooner: a source's first batches are smaller (1,000 rows, then
/// twice the one before, up to `batch_size`), and so are a destination's flushes until its first
/// commit.
@Suite("first batches and flushes")
struct FirstBatchTests {
    @Test("a source's first batches hold 1,000 rows, then twice the one before, up to batch_size")
    func sourceBatchesRampUp() async throws {
        try await SourceHarness.withSchema { schema, db in
            _ = try await db.executeScript("""
                CREATE TABLE \(SQL.quoteIdentifier(schema)).t (id int PRIMARY KEY, pad text);
                INSERT INTO \(SQL.quoteIdentifier(schema)).t SELECT g, 'row ' || g FROM generate_series(1, 25000) g;
                """)
            let stream = SourceHarness.stream(schema, "t")
            let defaults = try await SourceHarness.read([stream], overrides: ["max_connections": 1])
            #expect(defaults.batches.map(\.rowCount) == [1_000, 2_000, 4_000, 8_000, 10_000])
            #expect(try SourceReadTests.ids(defaults, "t") == Array(1 ... 25_000))
            let capped = try await SourceHarness.read([stream], overrides: ["max_connections": 1, "batch_size": 3_000])
            #expect(capped.batches.map(\.rowCount) == [1_000, 2_000] + Array(repeating: 3_000, count: 7) + [1_000])
            let small = try await SourceHarness.read([stream], overrides: ["max_connections": 1, "batch_size": 600])
            #expect(small.batches.count == 42)
            #expect(small.batches.dropLast().allSatisfy { $0.rowCount == 600 })
        }
    }

    @Test("a destination's flushes come at 1,000 rows, then twice the one before, whatever batch_size: the COPY loads before a state or more rows")
    func destinationFlushesFirstRowsSooner() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let application = "sluice_first_" + schema
            let config = DestinationHarness.config(schema: schema, ["connection_string": "application_name=\(application)", "write_mode": "append",
                                                                    "insert_method": "copy", "batch_size": 100_000, "batch_timeout": "3600s"])
            let items = DestinationHarness.items
            let client = try await DestinationHarness.launch()
            try await client.startWrite(WriteRequest(configJSON: config, catalog: ConfiguredCatalog(streams: [ConfiguredStream(schema: items)])))
            try await client.send(.schema(items))
            for message in try DestinationHarness.batches(items, 1...1_000) { try await client.send(message) }
            // With nothing more sent, the rows go to the server: a COPY into the table is seen.
            var copying = false
            let deadline = ContinuousClock.now + .seconds(120)
            while !copying, ContinuousClock.now < deadline {
                copying = try await connection.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'COPY %'", [.text(application)]).rows == [["1"]]
                if !copying { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(copying, "no COPY began with 1,000 rows buffered")
            // Until the first commit, each next flush comes at twice the one before: 2,000 more
            // rows, then 4,000 more, reach the server with nothing else sent.
            for (range, loaded) in [(Int64(1_001)...3_000, "3000"), (3_001...7_000, "7000")] {
                for message in try DestinationHarness.batches(items, range, size: 1_000) { try await client.send(message) }
                var processed: String?
                let deadline = ContinuousClock.now + .seconds(120)
                while processed != loaded, ContinuousClock.now < deadline {
                    processed = try await connection.execute(
                        "SELECT p.tuples_processed::text FROM pg_stat_progress_copy p JOIN pg_stat_activity a USING (pid) WHERE a.application_name = $1",
                        [.text(application)]).rows.first?.first ?? nil
                    if processed != loaded { try await Task.sleep(for: .milliseconds(20)) }
                }
                #expect(processed == loaded, "the COPY holds \(processed ?? "no") rows, not \(loaded)")
            }
            for message in try DestinationHarness.batches(items, 7_001...7_500) { try await client.send(message) }
            try await client.send(.writeEnd)
            var summary: Summary?
            while let message = try await client.nextCallMessage() { if case .summary(let s) = message { summary = s } }
            #expect(summary?.streams.first?.inserted == 7_500)
            #expect(try await DestinationHarness.rows(connection, "SELECT count(*), min(id), max(id) FROM \(SQL.quoteIdentifier(schema)).items") == [["7500", "1", "7500"]])
            await client.close()
        }
    }
}
