import Foundation
import PostgresClient
import SluiceSDK
import SluiceWire
import Testing

/// Write modes of the destination, through the real plugin binary.
@Suite struct DestinationModeTests {
    let items = DestinationHarness.items

    func rows(_ values: [(Int64, String?)]) -> [[Value]] {
        values.map { [.int64($0.0), $0.1.map(Value.string) ?? .null] }
    }

    func stream(_ mode: WriteMode, _ schema: StreamSchema? = nil) -> ConfiguredStream {
        ConfiguredStream(schema: schema ?? items, writeMode: mode)
    }

    @Test func appendTwiceWritesTwiceTheRows() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let keyless = DestinationHarness.schema("events", [Column(name: "n", type: LogicalType(.int32)), Column(name: "s", type: LogicalType(.string))])
            let batch = try DestinationHarness.batch(keyless, [[.int32(1), .string("a")], [.int32(2), .null]])
            for _ in 0..<2 {
                let outcome = try await DestinationHarness.write(DestinationHarness.config(schema: schema), streams: [stream(.append, keyless)],
                                                                 [.schema(keyless), batch])
                #expect(outcome.stream("events")?.inserted == 2)
            }
            let count = try await DestinationHarness.rows(connection, "SELECT count(*), count(DISTINCT _sluice_row_id), min(_sluice_source) FROM \(schema).events")
            #expect(count == [["4", "4", "tests"]])
        }
    }

    @Test(arguments: ["copy", "insert"])
    func appendWithEachInsertMethod(method: String) async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let values = (1...2500).map { (Int64($0), Optional("row \($0)")) }
            let outcome = try await DestinationHarness.write(DestinationHarness.config(schema: schema, ["insert_method": method, "batch_size": 1000]),
                                                             streams: [stream(.append)], [.schema(items), try DestinationHarness.batch(items, rows(values))])
            #expect(outcome.stream("items")?.inserted == 2500)
            let check = try await DestinationHarness.rows(connection, "SELECT count(*), sum(id), max(name) FROM \(schema).items")
            #expect(check == [["2500", "3126250", "row 999"]])
        }
    }

    @Test func upsertUpdatesAndLastDuplicateWins() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let config = DestinationHarness.config(schema: schema, ["write_mode": "upsert"])
            _ = try await DestinationHarness.write(config, streams: [stream(.unspecified)],
                                                   [.schema(items), try DestinationHarness.batch(items, rows([(1, "a"), (2, "b")]))])
            let outcome = try await DestinationHarness.write(config, streams: [stream(.unspecified)], [
                .schema(items), try DestinationHarness.batch(items, rows([(2, "first"), (3, "c"), (2, "last")])),
            ])
            #expect(outcome.stream("items")?.inserted == 1)
            #expect(outcome.stream("items")?.updated == 1)
            let check = try await DestinationHarness.rows(connection, "SELECT id, name FROM \(schema).items ORDER BY id")
            #expect(check == [["1", "a"], ["2", "last"], ["3", "c"]])
        }
    }

    @Test func deletesByKey() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let config = DestinationHarness.config(schema: schema, ["write_mode": "upsert"])
            _ = try await DestinationHarness.write(config, streams: [stream(.unspecified)],
                                                   [.schema(items), try DestinationHarness.batch(items, rows([(1, "a"), (2, "b"), (3, "c")]))])
            let outcome = try await DestinationHarness.write(config, streams: [stream(.unspecified)], [
                .schema(items), try DestinationHarness.batch(items, rows([(1, nil), (3, "c2"), (3, nil)]), operations: [.delete, .upsert, .delete]),
            ])
            #expect(outcome.stream("items")?.deleted == 2)
            let check = try await DestinationHarness.rows(connection, "SELECT id, name FROM \(schema).items ORDER BY id")
            #expect(check == [["2", "b"]])
        }
    }

    @Test func updateOnlyCountsUnmatched() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let config = DestinationHarness.config(schema: schema)
            _ = try await DestinationHarness.write(config, streams: [stream(.upsert)],
                                                   [.schema(items), try DestinationHarness.batch(items, rows([(1, "a"), (2, "b")]))])
            let outcome = try await DestinationHarness.write(config, streams: [stream(.updateOnly)],
                                                             [.schema(items), try DestinationHarness.batch(items, rows([(2, "B"), (7, "x"), (8, "y")]))])
            #expect(outcome.stream("items")?.updated == 1)
            #expect(outcome.stream("items")?.unmatched == 2)
            let check = try await DestinationHarness.rows(connection, "SELECT id, name FROM \(schema).items ORDER BY id")
            #expect(check == [["1", "a"], ["2", "B"]])
        }
    }

    @Test func mirrorDeletesStaleRowsOnlyAfterSuccess() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let config = DestinationHarness.config(schema: schema, ["write_mode": "overwrite-delete-stale"])
            _ = try await DestinationHarness.write(config, streams: [stream(.unspecified)],
                                                   [.schema(items), try DestinationHarness.batch(items, rows([(1, "a"), (2, "b"), (3, "c")]))])
            // A failed sync (cancelled before its end) deletes nothing.
            let client = try await DestinationHarness.launch()
            try await client.startWrite(WriteRequest(configJSON: config, catalog: ConfiguredCatalog(streams: [stream(.unspecified)])))
            try await client.send(.schema(items))
            try await client.send(try DestinationHarness.batch(items, rows([(2, "b2")])))
            try await client.send(.state(State(id: 1, stream: nil, data: [])))
            _ = try await client.nextCallMessage()
            try await client.cancel()
            await #expect(throws: (any Error).self) { while try await client.nextCallMessage() != nil {} }
            await client.close()
            #expect(try await DestinationHarness.rows(connection, "SELECT count(*) FROM \(schema).items") == [["3"]])

            let outcome = try await DestinationHarness.write(config, streams: [stream(.unspecified)],
                                                             [.schema(items), try DestinationHarness.batch(items, rows([(2, "b3"), (3, "c")]))])
            #expect(outcome.stream("items")?.deleted == 1)
            let check = try await DestinationHarness.rows(connection, "SELECT id, name FROM \(schema).items ORDER BY id")
            #expect(check == [["2", "b3"], ["3", "c"]])
        }
    }

    @Test func replaceSwapsAndFailedReplaceKeepsOldData() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let config = DestinationHarness.config(schema: schema, ["write_mode": "replace"])
            _ = try await DestinationHarness.write(config, streams: [stream(.unspecified)],
                                                   [.schema(items), try DestinationHarness.batch(items, rows([(1, "a"), (2, "b")]))])
            let outcome = try await DestinationHarness.write(config, streams: [stream(.unspecified)], [
                .schema(items), try DestinationHarness.batch(items, rows([(5, "new")])), .state(State(id: 9, stream: nil, data: [1])),
            ])
            #expect(outcome.acks.map(\.id) == [9])
            #expect(try await DestinationHarness.rows(connection, "SELECT id, name FROM \(schema).items") == [["5", "new"]])

            let client = try await DestinationHarness.launch()
            try await client.startWrite(WriteRequest(configJSON: config, catalog: ConfiguredCatalog(streams: [stream(.unspecified)])))
            try await client.send(.schema(items))
            try await client.send(try DestinationHarness.batch(items, rows([(6, "half")])))
            try await client.cancel()
            await #expect(throws: (any Error).self) { while try await client.nextCallMessage() != nil {} }
            await client.close()
            #expect(try await DestinationHarness.rows(connection, "SELECT id, name FROM \(schema).items") == [["5", "new"]])
        }
    }

    @Test func missingKeyIsAConfigErrorBeforeAnyData() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let keyless = DestinationHarness.schema("nokey", [Column(name: "n", type: LogicalType(.int32))])
            do {
                _ = try await DestinationHarness.write(DestinationHarness.config(schema: schema), streams: [stream(.upsert, keyless)],
                                                       [.schema(keyless), try DestinationHarness.batch(keyless, [[.int32(1)]])])
                Issue.record("the write succeeded without a key")
            } catch HostError.plugin(let error) {
                #expect(error.category == .config)
                #expect(error.code == "MISSING_KEY")
            }
            #expect(try await DestinationHarness.rows(connection, "SELECT to_regclass('\(schema).nokey') IS NULL") == [["t"]])
            // key_columns from the configuration make it work.
            let outcome = try await DestinationHarness.write(DestinationHarness.config(schema: schema, ["key_columns": ["nokey": ["n"]]]),
                                                             streams: [stream(.upsert, keyless)],
                                                             [.schema(keyless), try DestinationHarness.batch(keyless, [[.int32(1)], [.int32(1)]])])
            #expect(outcome.stream("nokey")?.inserted == 1)
        }
    }
}

/// StreamStatus and Progress during a Write.
@Suite struct DestinationReportTests {
    @Test func reportsStartedProgressAndCompletePerStream() async throws {
        try await DestinationHarness.withSchema { schema, _ in
            let a = DestinationHarness.schema("a", [Column(name: "n", type: LogicalType(.int64))])
            let b = DestinationHarness.schema("b", [Column(name: "n", type: LogicalType(.int64))])
            let outcome = try await DestinationHarness.write(DestinationHarness.config(schema: schema, ["batch_size": 100]),
                                                             streams: [ConfiguredStream(schema: a), ConfiguredStream(schema: b)], [
                .schema(a), try DestinationHarness.batch(a, (1...250).map { [.int64($0)] }),
                .schema(b), try DestinationHarness.batch(b, [[.int64(1)]]), .state(State(id: 1, stream: nil, data: [])),
            ])
            var events: [String] = []
            for message in outcome.messages {
                switch message {
                case .streamStatus(let status): events.append("\(status.stream.name) \(status.status)")
                case .progress(let progress): events.append("\(progress.stream.name) progress \(progress.records)")
                case .stateAck(let ack): events.append("ack \(ack.id)")
                default: break
                }
            }
            // Progress during the call depends on timing (at most one a second); the end is fixed.
            #expect(Array(events.prefix(2)) == ["a started", "b started"])
            #expect(Array(events.suffix(5)) == ["ack 1", "a progress 250", "a complete", "b progress 1", "b complete"])
            #expect(events.dropFirst(2).dropLast(5).allSatisfy { $0.contains(" progress ") }, "\(events)")
        }
    }
}
