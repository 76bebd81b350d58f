import Foundation
import PostgresClient
import SluiceSDK
import SluiceWire
import Testing

/// A killed plugin and a connection killed mid-COPY: nothing acknowledged is lost, and with a
/// key nothing is written twice.
@Suite struct DestinationRecoveryTests {
    let items = DestinationHarness.items

    let events = DestinationHarness.schema("events", [
        Column(name: "n", type: LogicalType(.int64)),
        Column(name: "s", type: LogicalType(.string)),
    ])

    /// Sends `ids` in 100-row batches, a state after each 1,000 rows up to `killAfter` (its id the
    /// last row), waits for the acknowledgement of state `killAfter`, then sends the rest without
    /// a state and SIGKILLs the plugin.
    func writeThenKill(_ config: String, stream: StreamSchema, ids: ClosedRange<Int64>, killAfter: Int64) async throws {
        let client = try await DestinationHarness.launch()
        try await client.startWrite(WriteRequest(configJSON: config, catalog: ConfiguredCatalog(streams: [ConfiguredStream(schema: stream)])))
        try await client.send(.schema(stream))
        var acknowledged: UInt64 = 0
        for first in stride(from: ids.lowerBound, through: ids.upperBound, by: 100) {
            let last = min(ids.upperBound, first + 99)
            try await client.send(try DestinationHarness.batch(stream, (first...last).map { [.int64($0), .string("n\($0)")] }))
            if last % 1_000 == 0, last <= killAfter { try await client.send(.state(State(id: UInt64(last), stream: nil, data: Array("\(last)".utf8)))) }
            if last == killAfter {
                while acknowledged < UInt64(killAfter), let ack = try await DestinationHarness.nextAck(client) { acknowledged = ack.id }
            }
        }
        #expect(acknowledged == UInt64(killAfter))
        client.process.send(signal: SIGKILL)
        await client.close()
    }

    /// Resumes from state `from`: sends the rows after it, then ends.
    func resume(_ config: String, stream: StreamSchema, from: Int64, to: Int64) async throws -> WriteOutcome {
        try await DestinationHarness.write(config, streams: [ConfiguredStream(schema: stream)],
                                           [.schema(stream)] + DestinationHarness.batches(stream, (from + 1)...to) + [.state(State(id: UInt64(to), stream: nil, data: []))])
    }

    @Test func killedAfterAnAcknowledgementThenResumedWithAKeyLosesAndDuplicatesNothing() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            // Flushes also happen between states (batch_size 700), so rows after the last
            // acknowledged state may be committed when the plugin dies.
            let config = DestinationHarness.config(schema: schema, ["write_mode": "upsert", "batch_size": 700])
            try await writeThenKill(config, stream: items, ids: 1...8_000, killAfter: 5_000)
            let committed = try await DestinationHarness.rows(connection, "SELECT count(*) FILTER (WHERE id <= 5000), count(*) FROM \(schema).items")
            #expect(committed.first?.first == "5000", "every acknowledged row is committed")
            let outcome = try await resume(config, stream: items, from: 5_000, to: 12_000)
            #expect(outcome.acks.map(\.id) == [12_000])
            let check = try await DestinationHarness.rows(connection,
                "SELECT count(*), count(DISTINCT id), min(id), max(id), count(*) FILTER (WHERE name <> 'n' || id) FROM \(schema).items")
            #expect(check == [["12000", "12000", "1", "12000", "0"]])
        }
    }

    @Test func killedAfterAnAcknowledgementThenResumedWithoutAKeyLosesNothingAcknowledged() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let config = DestinationHarness.config(schema: schema, ["write_mode": "append", "batch_size": 1_000_000])
            try await writeThenKill(config, stream: events, ids: 1...8_000, killAfter: 5_000)
            // Nothing flushed after the acknowledged state (no state, far from batch_size): the
            // table ends exactly at it, and the resumed run completes it with no duplicate.
            #expect(try await DestinationHarness.rows(connection, "SELECT count(*), count(DISTINCT n), max(n) FROM \(schema).events") == [["5000", "5000", "5000"]])
            _ = try await resume(config, stream: events, from: 5_000, to: 9_000)
            #expect(try await DestinationHarness.rows(connection, "SELECT count(*), count(DISTINCT n), min(n), max(n) FROM \(schema).events")
                == [["9000", "9000", "1", "9000"]])
        }
    }

    /// Starts an append Write of `items` into `schema` on connections named `application`
    /// (COPY, `batchSize` rows per flush), and has its first 1,000 rows acknowledged by state 1.
    func appendFirstThousand(schema: String, application: String, batchSize: Int) async throws -> PluginClient {
        let config = DestinationHarness.config(schema: schema, ["connection_string": "application_name=\(application)",
                                                                "write_mode": "append", "insert_method": "copy", "batch_size": batchSize])
        let client = try await DestinationHarness.launch()
        try await client.startWrite(WriteRequest(configJSON: config, catalog: ConfiguredCatalog(streams: [ConfiguredStream(schema: items)])))
        try await client.send(.schema(items))
        for message in try DestinationHarness.batches(items, 1...1_000) { try await client.send(message) }
        try await client.send(.state(State(id: 1, stream: nil, data: [])))
        #expect(try await DestinationHarness.nextAck(client)?.id == 1)
        return client
    }

    /// Flushes between two states go into one COPY left open: a connection lost while it waits
    /// for rows fails only when the COPY ends, at the state. A COPY holding one flush (kept in
    /// memory as its transaction's only one) is then written again on a new connection; one of
    /// two flushes fails the Write, retryable, and nothing after the last acknowledged state is
    /// committed.
    @Test(arguments: [1, 2])
    func connectionKilledWhileACopyIsLeftOpen(flushes: Int) async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let application = "sluice_open_" + schema
            let client = try await appendFirstThousand(schema: schema, application: application, batchSize: 1_000)
            let last = Int64(1_000 + 1_000 * flushes)
            for message in try DestinationHarness.batches(items, 1_001...last, size: 1_000) { try await client.send(message) }
            // The COPY stays open until the state: killed once the server has taken every row of
            // the flushes (so none of them fails on its own).
            var killed = false
            let deadline = Date().addingTimeInterval(120)
            while !killed, Date() < deadline {
                let waiting = try await connection.execute(
                    "SELECT p.pid FROM pg_stat_progress_copy p JOIN pg_stat_activity a USING (pid) WHERE a.application_name = $1 AND p.tuples_processed = $2",
                    [.text(application), .text(String(1_000 * flushes))])
                if let pid = waiting.rows.first?.first ?? nil {
                    // Waits for the backend to be gone (a generous bound on a hang): signalled only,
                    // a busy one could still take the COPY's end, and then fail at COMMIT instead.
                    killed = try await connection.execute("SELECT pg_terminate_backend($1::int, 60000)", [.text(pid)]).rows == [["t"]]
                } else {
                    try await Task.sleep(for: .milliseconds(10))
                }
            }
            #expect(killed, "the COPY was never seen holding every row")
            try await client.send(.state(State(id: 2, stream: nil, data: [])))
            let table = "\(SQL.quoteIdentifier(schema)).items"
            if flushes == 1 {
                #expect(try await DestinationHarness.nextAck(client)?.id == 2)
                try await client.send(.writeEnd)
                while let message = try await client.nextCallMessage() { if case .summary = message { break } }
                #expect(try await DestinationHarness.rows(connection, "SELECT count(*), count(DISTINCT id) FROM \(table)") == [["2000", "2000"]])
            } else {
                do {
                    _ = try await DestinationHarness.nextAck(client)
                    Issue.record("the state was acknowledged though the COPY holding its rows was lost")
                } catch HostError.plugin(let error) {
                    #expect(error.code == "WRITE_FAILED" && error.retryable, "\(error)")
                    #expect(error.message.contains("rows 1001–3000 of the stream") && error.message.contains("re-run from the last acknowledged state"), "\(error)")
                }
                #expect(try await DestinationHarness.rows(connection, "SELECT count(*), max(id) FROM \(table)") == [["1000", "1000"]])
            }
            await client.close()
        }
    }

    @Test func connectionKilledInTheMiddleOfACopyIsRetriedOrFailsCleanly() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let application = "sluice_copy_" + schema
            let client = try await appendFirstThousand(schema: schema, application: application, batchSize: 10_000_000)

            // One large flush (about 60 MB of COPY data) so the COPY is in flight long enough, and
            // a pause every 1,000 rows it inserts, so a poll on a busy machine cannot miss it.
            let table = "\(SQL.quoteIdentifier(schema)).items", pause = "\(SQL.quoteIdentifier(schema)).pause"
            _ = try await connection.executeScript("""
                CREATE FUNCTION \(pause)() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN IF NEW.id % 1000 = 0 THEN PERFORM pg_sleep(0.01); END IF; RETURN NEW; END $$;
                CREATE TRIGGER pause BEFORE INSERT ON \(table) FOR EACH ROW EXECUTE FUNCTION \(pause)();
                """)
            let padding = String(repeating: "x", count: 200)
            for message in try DestinationHarness.batches(items, 1_001...300_000, name: { "n\($0)" + padding }) { try await client.send(message) }
            try await client.send(.state(State(id: 2, stream: nil, data: [])))
            var killedDuringCopy = false
            // Bounds a hang only: in one CI run (debug build, the full suite beside it) a poll of
            // 60 s saw no COPY, and the test took 117 s.
            let deadline = Date().addingTimeInterval(300)
            while !killedDuringCopy, Date() < deadline {
                let killed = try await connection.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1 AND state = 'active' AND query LIKE 'COPY %'",
                    [.text(application)])
                killedDuringCopy = killed.rows == [["1"]]
                if !killedDuringCopy { try await Task.sleep(for: .milliseconds(5)) }
            }
            #expect(killedDuringCopy, "the COPY was never seen in flight")
            do {
                #expect(try await DestinationHarness.nextAck(client)?.id == 2)
                try await client.send(.writeEnd)
                var summary: Summary?
                while let message = try await client.nextCallMessage() { if case .summary(let s) = message { summary = s; break } }
                #expect(summary?.streams.first?.inserted == 300_000)
                #expect(try await DestinationHarness.rows(connection, "SELECT count(*), count(DISTINCT id) FROM \(schema).items") == [["300000", "300000"]])
            } catch HostError.plugin(let error) {
                // Only an ambiguous COMMIT may end the call; then the acknowledged rows are all there.
                #expect(error.code == "WRITE_FAILED", "\(error)")
                #expect(error.message.contains("not retried to avoid writing them twice"), "\(error)")
                let count = try await DestinationHarness.rows(connection, "SELECT count(*) FILTER (WHERE id <= 1000), count(*) = count(DISTINCT id) FROM \(schema).items")
                #expect(count == [["1000", "t"]])
            }
            await client.close()
        }
    }
}
