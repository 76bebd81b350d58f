import Foundation
import PostgresClient
import SluiceSDK
import SluiceWire
import Testing

/// State acknowledgements and lost connections.
@Suite struct DestinationFaultTests {
    let items = DestinationHarness.items


    @Test func stateIsAcknowledgedOnlyOnceItsRowsAreCommitted() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let client = try await DestinationHarness.launch()
            try await client.startWrite(WriteRequest(configJSON: DestinationHarness.config(schema: schema, ["batch_size": 1_000_000]),
                                                     catalog: ConfiguredCatalog(streams: [ConfiguredStream(schema: items, writeMode: .append)])))
            try await client.send(.schema(items))
            try await client.send(try DestinationHarness.items(1...500))
            try await client.send(.state(State(id: 1, stream: nil, data: [1])))
            #expect(try await DestinationHarness.nextAck(client)?.id == 1)
            #expect(try await DestinationHarness.rows(connection, "SELECT count(*) FROM \(schema).items") == [["500"]])
            try await client.send(try DestinationHarness.items(501...600))
            try await Task.sleep(for: .milliseconds(300))
            // Not yet flushed: no state asked for it, the batch is far from batch_size.
            #expect(try await DestinationHarness.rows(connection, "SELECT count(*) FROM \(schema).items") == [["500"]])
            try await client.send(.state(State(id: 2, stream: nil, data: [2])))
            #expect(try await DestinationHarness.nextAck(client)?.id == 2)
            #expect(try await DestinationHarness.rows(connection, "SELECT count(*) FROM \(schema).items") == [["600"]])
            try await client.send(.writeEnd)
            while let message = try await client.nextCallMessage() { if case .summary = message { break } }
            await client.close()
        }
    }

    @Test func killedConnectionIsRetriedAndNothingAcknowledgedIsLost() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let application = "sluice_dest_" + schema
            let config = DestinationHarness.config(schema: schema, ["connection_string": "application_name=\(application)", "write_mode": "append"])
            let client = try await DestinationHarness.launch()
            try await client.startWrite(WriteRequest(configJSON: config, catalog: ConfiguredCatalog(streams: [ConfiguredStream(schema: items)])))
            try await client.send(.schema(items))
            try await client.send(try DestinationHarness.items(1...100))
            try await client.send(.state(State(id: 1, stream: nil, data: [])))
            #expect(try await DestinationHarness.nextAck(client)?.id == 1)
            let killed = try await connection.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1", [.text(application)])
            #expect(killed.rows == [["1"]])
            try await client.send(try DestinationHarness.items(101...300))
            try await client.send(.state(State(id: 2, stream: nil, data: [])))
            #expect(try await DestinationHarness.nextAck(client)?.id == 2)
            try await client.send(.writeEnd)
            var summary: Summary?
            while let message = try await client.nextCallMessage() { if case .summary(let s) = message { summary = s; break } }
            await client.close()
            #expect(summary?.streams.first?.inserted == 300)
            #expect(try await DestinationHarness.rows(connection, "SELECT count(*), count(DISTINCT id) FROM \(schema).items") == [["300", "300"]])
        }
    }

    /// Rows waiting `batch_timeout` are written: with `transaction_scope: flush` they are then
    /// committed; with `state` they wait in the open transaction (the plugin's session holds the
    /// table's row lock) for the next state.
    @Test(arguments: ["flush", "state"])
    func rowsWaitingLongerThanBatchTimeoutAreFlushed(scope: String) async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let application = "sluice_timeout_" + schema
            let config = DestinationHarness.config(schema: schema, ["batch_timeout": "300ms", "transaction_scope": scope,
                                                                    "connection_string": "application_name=\(application)"])
            let client = try await DestinationHarness.launch()
            try await client.startWrite(WriteRequest(configJSON: config,
                                                     catalog: ConfiguredCatalog(streams: [ConfiguredStream(schema: items, writeMode: .append)])))
            try await client.send(.schema(items))
            try await client.send(try DestinationHarness.items(1...10))
            let probe = scope == "flush" ? "SELECT count(*)::text FROM \(schema).items"
                : "SELECT string_agg(a.state || ':' || l.mode, ',') FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid "
                    + "WHERE a.application_name = '\(application)' AND l.relation = '\(schema).items'::regclass"
            let expected = scope == "flush" ? "10" : "idle in transaction:RowExclusiveLock"
            var seen: [[String?]] = []
            for _ in 0..<300 {
                try await Task.sleep(for: .milliseconds(100))
                seen = (try? await DestinationHarness.rows(connection, probe)) ?? []
                if seen == [[expected]] { break }
            }
            #expect(seen == [[expected]])
            try await client.send(.writeEnd)
            while let message = try await client.nextCallMessage() { if case .summary = message { break } }
            await client.close()
            #expect(try await DestinationHarness.rows(connection, "SELECT count(*) FROM \(schema).items") == [["10"]])
        }
    }
}

/// `max_connections`: streams flushed in parallel on their own connections.
@Suite struct DestinationParallelTests {
    @Test(arguments: [(1, 1), (3, 2)])
    func streamsAreWrittenOnSeparateConnections(maxConnections: Int, expected: Int) async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let application = "sluice_par_" + schema
            let config = DestinationHarness.config(schema: schema, ["connection_string": "application_name=\(application)", "max_connections": maxConnections,
                                                                    "batch_size": 100, "write_mode": "upsert"])
            let streams = ["a", "b"].map { DestinationHarness.schema($0, [Column(name: "id", type: LogicalType(.int64), nullable: false)], primaryKey: ["id"]) }
            let client = try await DestinationHarness.launch()
            try await client.startWrite(WriteRequest(configJSON: config, catalog: ConfiguredCatalog(streams: streams.map { ConfiguredStream(schema: $0) })))
            for round in 0..<5 {
                for stream in streams {
                    if round == 0 { try await client.send(.schema(stream)) }
                    try await client.send(try DestinationHarness.batch(stream, (1...150).map { [.int64(Int64(round * 150 + $0))] }))
                }
            }
            try await client.send(.state(State(id: 1, stream: nil, data: [])))
            var ack: StateAck?
            while ack == nil, let message = try await client.nextCallMessage() { if case .stateAck(let a) = message { ack = a } }
            #expect(ack?.id == 1)
            // Acknowledged only once every stream's rows before it are committed.
            #expect(try await DestinationHarness.rows(connection, "SELECT (SELECT count(*) FROM \(schema).a), (SELECT count(*) FROM \(schema).b)") == [["750", "750"]])
            let sessions = try await connection.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", [.text(application)])
            #expect(sessions.rows == [["\(expected)"]])
            try await client.send(.writeEnd)
            var summary: Summary?
            while let message = try await client.nextCallMessage() { if case .summary(let s) = message { summary = s; break } }
            await client.close()
            #expect(summary?.streams.map(\.inserted) == [750, 750])
        }
    }
}
