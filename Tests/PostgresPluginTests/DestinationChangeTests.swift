import Foundation
import PostgresClient
import SluiceSDK
import SluiceWire
import Testing

/// CDC streams into the destination (PROTOCOL.md §5.9, §8.2): TRUNCATE rows, unchanged values,
/// soft deletes, and one transaction per state across streams, through the real binary with
/// hand-built batches.
@Suite("Destination: CDC apply", .serialized)
struct DestinationChangeTests {
    static let docs = DestinationHarness.schema("docs", [
        Column(name: "id", type: LogicalType(.int64), nullable: false),
        Column(name: "title", type: LogicalType(.string)),
        Column(name: "body", type: LogicalType(.string)),
    ], primaryKey: ["id"])
    static let notes = DestinationHarness.schema("notes", [
        Column(name: "id", type: LogicalType(.int64), nullable: false),
        Column(name: "text", type: LogicalType(.string)),
    ], primaryKey: ["id"])

    static func cdc(_ schema: StreamSchema) -> ConfiguredStream {
        ConfiguredStream(schema: schema, syncMode: .cdc, writeMode: .upsert)
    }

    /// A batch of `rows` (nil = unchanged) with their operations (empty: all upserts).
    static func changes(_ schema: StreamSchema, _ rows: [[Value?]], _ operations: [RowOperation] = []) throws -> HostMessage {
        var batch = try RecordBatch(schema: schema, rows: rows.map { $0.map { $0 ?? .null } })
        batch.operations = operations.map(\.rawValue)
        for column in schema.columns.indices where rows.contains(where: { $0[column] == nil }) {
            var bits = [UInt8](repeating: 0, count: (rows.count + 7) / 8)
            for (row, values) in rows.enumerated() where values[column] == nil { bits[row >> 3] |= 1 << UInt8(row & 7) }
            batch.columns[column].unchanged = bits
        }
        return .records(batch)
    }

    static let big = String(repeating: "toasted ", count: 4_000)

    @Test("unchanged values keep the table's value, or the one an earlier row of the batch gave; never NULL")
    func unchangedValues() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let config = DestinationHarness.config(schema: schema)
            _ = try await DestinationHarness.write(config, streams: [Self.cdc(Self.docs)], [
                try Self.changes(Self.docs, [[.int64(1), .string("one"), .string(Self.big)], [.int64(2), .string("two"), .string("b2")]]),
            ])
            let outcome = try await DestinationHarness.write(config, streams: [Self.cdc(Self.docs)], [
                // 1: title changes, body unchanged. 3: inserted, then updated leaving body unchanged,
                // then updated again leaving title unchanged. 2: updated, body unchanged, then deleted.
                try Self.changes(Self.docs, [
                    [.int64(1), .string("ONE"), nil],
                    [.int64(3), .string("three"), .string("b3")],
                    [.int64(3), .string("THREE"), nil],
                    [.int64(2), .string("TWO"), nil],
                    [.int64(3), nil, nil],
                    [.int64(2), .null, .null],
                ], [.upsert, .upsert, .upsert, .upsert, .upsert, .delete]),
            ])
            let rows = try await DestinationHarness.rows(connection, "SELECT id, title, length(body), left(body, 8) FROM \(schema).docs ORDER BY id")
            #expect(rows == [["1", "ONE", "32000", "toasted "], ["3", "THREE", "2", "b3"]])
            #expect(outcome.stream("docs")?.deleted == 1)
            #expect(outcome.stream("docs")?.inserted == 1)
            #expect(outcome.stream("docs")?.updated == 1)
        }
    }

    @Test("an unchanged value whose key the table does not have fails the write, naming stream, column and row")
    func unchangedWithoutRow() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let config = DestinationHarness.config(schema: schema)
            let error = await #expect(throws: HostError.self) {
                _ = try await DestinationHarness.write(config, streams: [Self.cdc(Self.docs)], [
                    try Self.changes(Self.docs, [[.int64(1), .string("a"), .string("b")], [.int64(7), .string("x"), nil]]),
                ])
            }
            guard case .plugin(let failure)? = error else { Issue.record("expected the plugin's error, got \(String(describing: error))"); return }
            #expect(failure.category == .data)
            #expect(failure.code == "UNCHANGED_WITHOUT_VALUE")
            #expect(failure.message.contains("stream docs, column \"body\", row 2"), "\(failure.message)")
            let count = try await DestinationHarness.rows(connection, "SELECT count(*) FROM \(schema).docs")
            #expect(count == [["0"]], "nothing of the failed write stays")

            // Deleted earlier in the same batch: nothing to keep either.
            let deleted = await #expect(throws: HostError.self) {
                _ = try await DestinationHarness.write(config, streams: [Self.cdc(Self.docs)], [
                    try Self.changes(Self.docs, [[.int64(1), .string("a"), .string("b")]]),
                    .state(State(id: 1, stream: nil, data: [])),
                    try Self.changes(Self.docs, [[.int64(1), .null, .null], [.int64(1), .string("again"), nil]], [.delete, .upsert]),
                ])
            }
            guard case .plugin(let again)? = deleted else { Issue.record("expected the plugin's error"); return }
            #expect(again.message.contains("stream docs, column \"body\", row 3"), "\(again.message)")
        }
    }

    @Test("a TRUNCATE row removes every row applied before it, in this write or earlier; rows after it stay")
    func truncate() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let config = DestinationHarness.config(schema: schema, ["batch_size": 2])
            _ = try await DestinationHarness.write(config, streams: [Self.cdc(Self.notes)], [
                try Self.changes(Self.notes, [[.int64(1), .string("old")], [.int64(2), .string("old")]]),
            ])
            let outcome = try await DestinationHarness.write(config, streams: [Self.cdc(Self.notes)], [
                try Self.changes(Self.notes, [[.int64(3), .string("a")], [.int64(4), .string("b")], [.int64(5), .string("c")]]),
                try Self.changes(Self.notes, [[.int64(6), .string("d")], [.null, .null], [.int64(7), .string("e")], [.int64(3), .string("f")]],
                                 [.upsert, .truncate, .upsert, .upsert]),
                try Self.changes(Self.notes, [[.int64(8), .string("g")]]),
            ])
            let rows = try await DestinationHarness.rows(connection, "SELECT id, text FROM \(schema).notes ORDER BY id")
            #expect(rows == [["3", "f"], ["7", "e"], ["8", "g"]])
            #expect(outcome.stream("notes")?.records == 8)
            #expect(outcome.stream("notes")?.deleted ?? 0 >= 2, "the two rows of the earlier write at least")
        }
    }

    @Test("the rows after a TRUNCATE row in a batch keep every value: lists, UUIDs, nulls, unchanged values")
    func rowsAfterTruncate() async throws {
        let mixed = DestinationHarness.schema("mixed", [
            Column(name: "id", type: LogicalType(.int64), nullable: false),
            Column(name: "tags", type: .list(of: .string)),
            Column(name: "u", type: LogicalType(.uuid)),
            Column(name: "note", type: LogicalType(.string)),
        ], primaryKey: ["id"])
        try await DestinationHarness.withSchema { schema, connection in
            let config = DestinationHarness.config(schema: schema)
            let one = [UInt8](repeating: 1, count: 16), two = [UInt8](0..<16)
            _ = try await DestinationHarness.write(config, streams: [Self.cdc(mixed)], [
                try Self.changes(mixed, [
                    [.int64(1), .list([.string("a"), .string("b")]), .uuid(one), .string("x")],
                    [.int64(2), .list([.string("zz")]), .uuid(two), .string("y")],
                    [.null, .null, .null, .null],
                    [.int64(2), .list([.string("c"), .null, .string("")]), .uuid(two), .string("n2")],
                    [.int64(3), .null, .null, .string("n3")],
                    [.int64(2), .list([.string("d")]), .null, nil],
                    [.int64(4), .list([]), .uuid(one), .null],
                ], [.upsert, .upsert, .truncate, .upsert, .upsert, .upsert, .upsert]),
            ])
            let rows = try await DestinationHarness.rows(connection, "SELECT id, tags::text, u::text, note FROM \(schema).mixed ORDER BY id")
            #expect(rows == [
                ["2", "{d}", nil, "n2"],
                ["3", nil, nil, "n3"],
                ["4", "{}", "01010101-0101-0101-0101-010101010101", nil],
            ])
        }
    }

    @Test("deletes: soft marks deleted rows (and truncated ones) with _sluice_deleted_at; an insert of the key revives it")
    func softDeletes() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let config = DestinationHarness.config(schema: schema, ["deletes": "soft"])
            _ = try await DestinationHarness.write(config, streams: [Self.cdc(Self.notes)], [
                try Self.changes(Self.notes, [[.int64(1), .string("a")], [.int64(2), .string("b")], [.int64(3), .string("c")]]),
                .state(State(id: 1, stream: nil, data: [])),
                try Self.changes(Self.notes, [[.int64(2), .null], [.int64(3), .null]], [.delete, .delete]),
                .state(State(id: 2, stream: nil, data: [])),
                try Self.changes(Self.notes, [[.int64(3), .string("back")]]),
            ])
            let rows = try await DestinationHarness.rows(connection,
                                                         "SELECT id, text, _sluice_deleted_at IS NOT NULL FROM \(schema).notes ORDER BY id")
            #expect(rows == [["1", "a", "f"], ["2", "b", "t"], ["3", "back", "f"]])
            _ = try await DestinationHarness.write(config, streams: [Self.cdc(Self.notes)], [
                try Self.changes(Self.notes, [[.null, .null]], [.truncate]),
            ])
            let after = try await DestinationHarness.rows(connection, "SELECT count(*), count(_sluice_deleted_at) FROM \(schema).notes")
            #expect(after == [["3", "3"]])
        }
    }

    @Test("a CDC write commits every stream up to a state with the state, in one transaction, whatever transaction_scope and max_connections say")
    func oneTransactionPerState() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let config = DestinationHarness.config(schema: schema, ["transaction_scope": "flush", "max_connections": 4, "batch_size": 1])
            let client = try await DestinationHarness.launch()
            #expect(client.helloReply.capabilities.has(Feature.cdcApply))
            let request = WriteRequest(configJSON: config, catalog: ConfiguredCatalog(streams: [Self.cdc(Self.docs), Self.cdc(Self.notes)]),
                                       sourceName: "tests", pipelineID: "cdc-one-transaction")
            let input = AsyncStream<HostMessage> { continuation in
                for message in [
                    try! Self.changes(Self.docs, [[.int64(1), .string("t"), .string("b")]]),
                    try! Self.changes(Self.notes, [[.int64(1), .string("n")]]),
                    .state(State(id: 5, stream: nil, data: Array("{\"lsn\":\"0/10\"}".utf8))),
                    try! Self.changes(Self.notes, [[.int64(2), .string("n2")]]),
                    try! Self.changes(Self.docs, [[.int64(2), .string("t2"), .string("b2")]]),
                    // Fails: key 9 is not in the table, so its unchanged body has no value.
                    try! Self.changes(Self.docs, [[.int64(9), .string("x"), nil]]),
                    .state(State(id: 6, stream: nil, data: Array("{\"lsn\":\"0/20\"}".utf8))),
                ] as [HostMessage] { continuation.yield(message) }
                continuation.finish()
            }
            let log = ReplyLog()
            await #expect(throws: HostError.self) {
                _ = try await client.write(request, input: input) { log.append($0) }
            }
            await client.close()
            #expect(log.acks.map(\.id) == [5])
            let docs = try await DestinationHarness.rows(connection, "SELECT id FROM \(schema).docs ORDER BY id")
            let notes = try await DestinationHarness.rows(connection, "SELECT id FROM \(schema).notes ORDER BY id")
            #expect(docs == [["1"]], "rows after the last acknowledged state are rolled back, though flushed")
            #expect(notes == [["1"]], "also on the other stream")
            let state = try await DestinationHarness.rows(connection, "SELECT state_id, convert_from(state, 'UTF8') FROM \(schema)._sluice_state WHERE pipeline_id = 'cdc-one-transaction'")
            #expect(state == [["5", "{\"lsn\":\"0/10\"}"]])
        }
    }

    @Test("unchanged values and TRUNCATE rows in a stream not read with cdc are refused, never written as NULL")
    func markersOutsideCDC() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let plain = ConfiguredStream(schema: Self.docs, writeMode: .upsert)
            for batch in [try Self.changes(Self.docs, [[.int64(1), .string("t"), nil]]),
                          try Self.changes(Self.docs, [[.null, .null, .null]], [.truncate])] {
                let error = await #expect(throws: HostError.self) {
                    _ = try await DestinationHarness.write(DestinationHarness.config(schema: schema), streams: [plain], [batch])
                }
                guard case .plugin(let failure)? = error else { Issue.record("expected the plugin's error"); return }
                #expect(failure.category == .protocol)
                #expect(failure.message.contains("not read with cdc"), "\(failure.message)")
            }
            let count = try await DestinationHarness.rows(connection, "SELECT count(*) FROM \(schema).docs")
            #expect(count == [["0"]])
        }
    }

    @Test("a CDC stream needs upsert")
    func needsUpsert() async throws {
        try await DestinationHarness.withSchema { schema, _ in
            var stream = Self.cdc(Self.notes)
            stream.writeMode = .append
            let error = await #expect(throws: HostError.self) {
                _ = try await DestinationHarness.write(DestinationHarness.config(schema: schema), streams: [stream], [])
            }
            guard case .plugin(let failure)? = error else { Issue.record("expected the plugin's error"); return }
            #expect(failure.code == "CDC_WRITE_MODE")
            #expect(failure.category == .config)
        }
    }
}
