import Foundation
import PostgresClient
import SluiceSDK
import SluiceWire
import Testing

/// `transaction_scope`: with `state` (the default) a failed Write leaves nothing committed after
/// the last acknowledged state, on any lane; with `flush` each flush commits on its own.
@Suite struct DestinationTransactionTests {
    let items = DestinationHarness.items

    /// `items` without a key: a row written twice shows.
    var events: StreamSchema { DestinationHarness.schema("events", items.columns) }

    /// 100-row batches of `stream` (an int64 and a string column) for `ids`.
    func batches(_ stream: StreamSchema, _ ids: ClosedRange<Int64>) throws -> [HostMessage] {
        try DestinationHarness.batches(stream, ids, size: 100)
    }

    /// Reads replies to the end and returns the call's error (nil when it succeeded).
    func failure(_ client: PluginClient) async throws -> PluginError? {
        do {
            while let message = try await client.nextCallMessage() {
                if case .summary = message { return nil }
            }
        } catch HostError.plugin(let error) {
            return error
        }
        return nil
    }

    /// Creates `schema.name` as the destination would, with `CHECK (id <= limit)`, so the
    /// server rejects the rows above `limit`.
    func createTable(_ connection: PostgresConnection, _ schema: String, _ name: String, limit: Int) async throws {
        _ = try await connection.execute("CREATE SCHEMA \(schema)")
        _ = try await connection.execute("CREATE TABLE \(schema).\(name) (id bigint PRIMARY KEY, name text, CHECK (id <= \(limit)))")
    }

    /// Acknowledges 1,000 rows, then flushes 1,500 more in three flushes (batch_size 500) before a
    /// fourth flush hits a rejected value. `state`: the table ends at the acknowledged state;
    /// `flush`: the three flushes before the bad one stay committed.
    @Test(arguments: [("state", 1_000), ("flush", 2_500)])
    func rejectedValueAfterUnacknowledgedFlushes(scope: String, expectedRows: Int) async throws {
        try await DestinationHarness.withSchema { schema, connection in
            try await createTable(connection, schema, "items", limit: 2_500)
            let config = DestinationHarness.config(schema: schema, ["batch_size": 500, "transaction_scope": scope])
            let client = try await DestinationHarness.launch()
            try await client.startWrite(WriteRequest(configJSON: config, catalog: ConfiguredCatalog(streams: [ConfiguredStream(schema: items, writeMode: .append)])))
            try await client.send(.schema(items))
            for message in try batches(items, 1...1_000) { try await client.send(message) }
            try await client.send(.state(State(id: 1, stream: nil, data: [])))
            #expect(try await DestinationHarness.nextAck(client)?.id == 1)
            for message in try batches(items, 1_001...3_000) { try await client.send(message) }
            try await client.send(.writeEnd)
            let error = try await failure(client)
            await client.close()
            #expect(error?.code == "VALUE_REJECTED", "\(String(describing: error))")
            #expect(error?.message.contains("rows 2501–3000 of the stream") == true, "\(String(describing: error))")
            if scope == "state" {
                #expect(error?.message.contains("nothing written since the last acknowledged state was committed") == true, "\(String(describing: error))")
            }
            #expect(try await DestinationHarness.rows(connection, "SELECT count(*), max(id) FROM \(schema).items") == [["\(expectedRows)", "\(expectedRows)"]])
        }
    }

    /// Two streams on two connections: a rejected value in one rolls back what the other wrote
    /// since the last acknowledged state.
    @Test func failureOnOneLaneRollsBackTheOthers() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            try await createTable(connection, schema, "b", limit: 250)
            let streams = ["a", "b"].map { DestinationHarness.schema($0, items.columns, primaryKey: ["id"]) }
            let config = DestinationHarness.config(schema: schema, ["batch_size": 100, "max_connections": 2])
            let client = try await DestinationHarness.launch()
            try await client.startWrite(WriteRequest(configJSON: config, catalog: ConfiguredCatalog(streams: streams.map { ConfiguredStream(schema: $0, writeMode: .append) })))
            for stream in streams {
                try await client.send(.schema(stream))
                for message in try batches(stream, 1...100) { try await client.send(message) }
            }
            try await client.send(.state(State(id: 1, stream: nil, data: [])))
            #expect(try await DestinationHarness.nextAck(client)?.id == 1)
            for message in try batches(streams[0], 101...400) { try await client.send(message) }
            for message in try batches(streams[1], 101...300) { try await client.send(message) }
            try await client.send(.writeEnd)
            let error = try await failure(client)
            await client.close()
            #expect(error?.code == "VALUE_REJECTED", "\(String(describing: error))")
            #expect(error?.stream?.name == "b", "\(String(describing: error))")
            #expect(try await DestinationHarness.rows(connection, "SELECT (SELECT count(*) FROM \(schema).a), (SELECT count(*) FROM \(schema).b)") == [["100", "100"]])
        }
    }

    /// The connection dies while its open transaction holds two flushes written since the last
    /// acknowledged state: they cannot be written again from memory, so the call fails as
    /// retryable with nothing after the state committed, and an append re-run from that state
    /// writes every row exactly once.
    @Test func connectionLostWithUnacknowledgedFlushesFailsRetryableAndAReRunIsExact() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let application = "sluice_txn_" + schema
            let config = DestinationHarness.config(schema: schema, ["connection_string": "application_name=\(application)", "batch_size": 100])
            let client = try await DestinationHarness.launch()
            try await client.startWrite(WriteRequest(configJSON: config, catalog: ConfiguredCatalog(streams: [ConfiguredStream(schema: events, writeMode: .append)])))
            try await client.send(.schema(events))
            for message in try batches(events, 1...100) { try await client.send(message) }
            try await client.send(.state(State(id: 100, stream: nil, data: [])))
            #expect(try await DestinationHarness.nextAck(client)?.id == 100)
            for message in try batches(events, 101...300) { try await client.send(message) }
            var idleInTransaction = false
            for _ in 0..<1200 where !idleInTransaction {
                try await Task.sleep(for: .milliseconds(25))
                let rows = try await connection.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND state = 'idle in transaction'", [.text(application)]).rows
                idleInTransaction = rows == [["1"]]
            }
            #expect(idleInTransaction, "the flushes never left their transaction open")
            _ = try await connection.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", [.text(application)])
            for message in try batches(events, 301...400) { try await client.send(message) }
            try await client.send(.writeEnd)
            let error = try await failure(client)
            await client.close()
            #expect(error?.code == "WRITE_FAILED", "\(String(describing: error))")
            #expect(error?.retryable == true, "\(String(describing: error))")
            #expect(error?.message.contains("re-run from the last acknowledged state") == true, "\(String(describing: error))")
            #expect(try await DestinationHarness.rows(connection, "SELECT count(*), max(id) FROM \(schema).events") == [["100", "100"]])

            let rerun = try await DestinationHarness.write(config, streams: [ConfiguredStream(schema: events, writeMode: .append)],
                                                           [.schema(events)] + batches(events, 101...400) + [.state(State(id: 400, stream: nil, data: []))])
            #expect(rerun.acks.map(\.id) == [400])
            #expect(try await DestinationHarness.rows(connection, "SELECT count(*), count(DISTINCT id), max(id) FROM \(schema).events") == [["400", "400", "400"]])
        }
    }

    /// The connection is killed while COMMIT runs (a deferred trigger makes it take two seconds):
    /// the transaction's status (`pg_xact_status`) shows it rolled back, so even append writes
    /// the flush again, and every row lands exactly once.
    @Test(arguments: ["state", "flush"])
    func connectionLostDuringCommitIsSettledByTheTransactionStatus(scope: String) async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let application = "sluice_commit_" + schema
            _ = try await connection.executeScript("""
                CREATE SCHEMA \(schema);
                CREATE TABLE \(schema).events (id bigint, name text);
                CREATE FUNCTION \(schema).slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF current_setting('sluice_test.slept', true) IS DISTINCT FROM 'yes' THEN
                        PERFORM set_config('sluice_test.slept', 'yes', true);
                        PERFORM pg_sleep(2);
                    END IF;
                    RETURN NULL;
                END $$;
                CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON \(schema).events
                    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION \(schema).slow_commit();
                """)
            let config = DestinationHarness.config(schema: schema, ["connection_string": "application_name=\(application)", "transaction_scope": scope])
            let killer = Task {
                let deadline = ContinuousClock.now + .seconds(600)  // only a hang: a busy machine may take long to reach COMMIT
                while ContinuousClock.now < deadline {
                    let killed = try await connection.execute(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1 AND state = 'active' AND query = 'COMMIT'",
                        [.text(application)])
                    if killed.rows == [["1"]] { return true }
                    try await Task.sleep(for: .milliseconds(10))
                }
                return false
            }
            let outcome: WriteOutcome
            do {
                outcome = try await DestinationHarness.write(config, streams: [ConfiguredStream(schema: events, writeMode: .append)],
                                                             [.schema(events)] + batches(events, 1...100) + [.state(State(id: 1, stream: nil, data: []))])
            } catch {
                killer.cancel()
                throw error
            }
            killer.cancel()
            #expect((try? await killer.value) == true, "COMMIT was never seen running")
            #expect(outcome.acks.map(\.id) == [1])
            #expect(outcome.stream("events")?.inserted == 100)
            #expect(try await DestinationHarness.rows(connection, "SELECT count(*), count(DISTINCT id) FROM \(schema).events") == [["100", "100"]])
        }
    }

    /// A session default that ends idle transactions (as managed servers often set) would cut
    /// the transaction held open between flushes; the destination turns it off for itself.
    @Test func idleTransactionTimeoutsDoNotCutTheOpenTransaction() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let config = DestinationHarness.config(schema: schema, [
                "batch_size": 100, "batch_timeout": "100ms",
                "connection_string": "options='-c idle_in_transaction_session_timeout=300 -c statement_timeout=0'",
            ])
            let client = try await DestinationHarness.launch()
            try await client.startWrite(WriteRequest(configJSON: config, catalog: ConfiguredCatalog(streams: [ConfiguredStream(schema: items, writeMode: .append)])))
            try await client.send(.schema(items))
            for message in try batches(items, 1...100) { try await client.send(message) }
            // The flushed rows wait in the open transaction well past the 300 ms default.
            try await Task.sleep(for: .seconds(1))
            for message in try batches(items, 101...200) { try await client.send(message) }
            try await client.send(.state(State(id: 1, stream: nil, data: [])))
            #expect(try await DestinationHarness.nextAck(client)?.id == 1)
            try await client.send(.writeEnd)
            #expect(try await failure(client) == nil)
            await client.close()
            #expect(try await DestinationHarness.rows(connection, "SELECT count(*) FROM \(schema).items") == [["200"]])
        }
    }
}
