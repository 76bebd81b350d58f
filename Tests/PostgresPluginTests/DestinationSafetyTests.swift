import Foundation
import PostgresClient
import SluiceSDK
import SluiceWire
import Testing

/// Defaults and modes that must neither lose nor duplicate rows, through the real plugin binary:
/// keyed streams default to upsert, mirror deletes only after a complete read, replace keeps
/// the views of its table, and a primary key change is migrated, refused or (forced) recreated.
@Suite struct DestinationSafetyTests {
    let items = DestinationHarness.items

    func rows(_ ids: [Int64], _ name: String) -> [[Value]] {
        ids.map { [.int64($0), .string("\(name)\($0)")] }
    }

    func count(_ connection: PostgresConnection, _ query: String) async throws -> [[String?]] {
        try await DestinationHarness.rows(connection, query)
    }

    // MARK: Defaults

    @Test("a keyed stream with the default write_mode can be written twice: upsert, no error, no duplicates")
    func defaultModeUpsertsKeyedStreams() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let config = DestinationHarness.config(schema: schema)
            let keyless = DestinationHarness.schema("events", [Column(name: "id", type: LogicalType(.int64)), Column(name: "name", type: LogicalType(.string))])
            let keyed = DestinationHarness.config(schema: schema, ["key_columns": ["events": ["id"]]])
            for run in 0..<2 {
                let outcome = try await DestinationHarness.write(config, streams: [ConfiguredStream(schema: items)],
                                                                 [.schema(items), try DestinationHarness.batch(items, rows([1, 2, 3], "r\(run)-"))])
                #expect(outcome.stream("items")?.inserted == (run == 0 ? 3 : 0))
                #expect(outcome.stream("items")?.updated == (run == 0 ? 0 : 3))
                // A stream without a primary key but with key_columns is keyed too.
                _ = try await DestinationHarness.write(keyed, streams: [ConfiguredStream(schema: keyless)],
                                                       [.schema(keyless), try DestinationHarness.batch(keyless, rows([7, 8], "r\(run)-"))])
            }
            #expect(try await count(connection, "SELECT id, name FROM \(schema).items ORDER BY id") == [["1", "r1-1"], ["2", "r1-2"], ["3", "r1-3"]])
            #expect(try await count(connection, "SELECT id, name FROM \(schema).events ORDER BY id") == [["7", "r1-7"], ["8", "r1-8"]])

            // An explicit append still appends, key or not, and a stream without any key defaults to it.
            let logs = DestinationHarness.schema("logs", keyless.columns)
            let appending = DestinationHarness.config(schema: schema, ["write_mode": "append", "key_columns": ["logs": ["id"]]])
            for settings in [appending, config] {
                _ = try await DestinationHarness.write(settings, streams: [ConfiguredStream(schema: logs)],
                                                       [.schema(logs), try DestinationHarness.batch(logs, rows([7], "again"))])
            }
            #expect(try await count(connection, "SELECT count(*) FROM \(schema).logs WHERE id = 7") == [["2"]])
        }
    }

    @Test("a NULL key fails upsert, update-only and mirror, naming stream, column and row, before anything is written; append takes it")
    func nullKeysAreRefused() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let events = DestinationHarness.schema("events", [Column(name: "k", type: LogicalType(.int64)), Column(name: "v", type: LogicalType(.string))])
            let rows: [[Value]] = [[.int64(1), .string("a")], [.null, .string("b")]]
            for mode in ["upsert", "update-only", "mirror"] {
                let config = DestinationHarness.config(schema: schema, ["write_mode": mode, "key_columns": ["events": ["k"]]])
                do {
                    _ = try await DestinationHarness.write(config, streams: [ConfiguredStream(schema: events)],
                                                           [.schema(events), try DestinationHarness.batch(events, rows)])
                    Issue.record("\(mode) took a NULL key")
                } catch HostError.plugin(let error) {
                    #expect(error.category == .data)
                    #expect(error.code == "NULL_KEY")
                    #expect(error.message.hasPrefix("stream events, column \"k\", row 2: the key is NULL, and \(mode) finds rows by their key"),
                            "\(error.message)")
                }
            }
            #expect(try await count(connection, "SELECT count(*) FROM \(schema).events") == [["0"]])
            let appending = DestinationHarness.config(schema: schema, ["write_mode": "append", "key_columns": ["events": ["k"]]])
            _ = try await DestinationHarness.write(appending, streams: [ConfiguredStream(schema: events)],
                                                   [.schema(events), try DestinationHarness.batch(events, rows)])
            #expect(try await count(connection, "SELECT count(*) FILTER (WHERE k IS NULL), count(*) FROM \(schema).events") == [["1", "2"]])
        }
    }

    @Test("a NULL key is refused in a key column whose name PostgreSQL shortens, naming the stream's column")
    func nullKeyInALongColumn() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let long = String(repeating: "k", count: 70)
            let events = DestinationHarness.schema("events", [Column(name: long, type: LogicalType(.int64)), Column(name: "v", type: LogicalType(.string))])
            let config = DestinationHarness.config(schema: schema, ["write_mode": "upsert", "key_columns": ["events": [long]]])
            do {
                _ = try await DestinationHarness.write(config, streams: [ConfiguredStream(schema: events)],
                                                       [.schema(events), try DestinationHarness.batch(events, [[.int64(1), .string("a")], [.null, .string("b")]])])
                Issue.record("upsert took a NULL key")
            } catch HostError.plugin(let error) {
                #expect(error.code == "NULL_KEY")
                #expect(error.message.hasPrefix("stream events, column \"\(long)\", row 2: the key is NULL"), "\(error.message)")
            }
        }
    }

    @Test("GetSpec says what the default write mode is")
    func specDescribesTheDefaultMode() async throws {
        let client = try await DestinationHarness.launch()
        let spec = try await client.spec()
        await client.close()
        let root = try #require(try JSONSerialization.jsonObject(with: Data(spec.configSchemaJSON.utf8)) as? [String: Any])
        let writeMode = try #require((root["properties"] as? [String: Any])?["write_mode"] as? [String: Any])
        #expect(writeMode["default"] == nil)
        #expect((writeMode["description"] as? String)?.contains("Unset: upsert for streams with a key") == true)
    }

    // MARK: Mirror

    @Test("mirror deletes nothing after a read cut by limit or an incremental read; a complete read still deletes")
    func mirrorDeletesOnlyAfterACompleteRead() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let config = DestinationHarness.config(schema: schema, ["write_mode": "mirror"])
            _ = try await DestinationHarness.write(config, streams: [ConfiguredStream(schema: items)],
                                                   [.schema(items), try DestinationHarness.batch(items, rows(Array(1...95), "n"))])
            let partial = [ConfiguredStream(schema: items, limit: 5), ConfiguredStream(schema: items, syncMode: .incremental)]
            for stream in partial {
                let outcome = try await DestinationHarness.write(config, streams: [stream],
                                                                 [.schema(items), try DestinationHarness.batch(items, rows(Array(1...5), "p"))])
                #expect(outcome.stream("items")?.deleted == 0)
                #expect(try await count(connection, "SELECT count(*), count(*) FILTER (WHERE name LIKE 'p%') FROM \(schema).items") == [["95", "5"]])
            }
            let complete = try await DestinationHarness.write(config, streams: [ConfiguredStream(schema: items)],
                                                              [.schema(items), try DestinationHarness.batch(items, rows(Array(1...5), "c"))])
            #expect(complete.stream("items")?.deleted == 90)
            #expect(try await count(connection, "SELECT count(*) FROM \(schema).items") == [["5"]])
        }
    }

    // MARK: Replace

    @Test("replace into a table that views (or functions) depend on replaces its rows in place: the views show the new rows")
    func replaceKeepsDependentViews() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let config = DestinationHarness.config(schema: schema, ["write_mode": "replace"])
            _ = try await DestinationHarness.write(config, streams: [ConfiguredStream(schema: items)],
                                                   [.schema(items), try DestinationHarness.batch(items, rows([1, 2, 3], "old"))])
            _ = try await connection.executeScript("""
                CREATE VIEW \(schema).named AS SELECT id, name FROM \(schema).items WHERE id > 1;
                CREATE MATERIALIZED VIEW \(schema).counted AS SELECT count(*) AS n FROM \(schema).items;
                CREATE FUNCTION \(schema).total() RETURNS bigint LANGUAGE sql BEGIN ATOMIC SELECT sum(id) FROM \(schema).items; END;
                """)
            // The new rows bring a new column too: the live table takes it, the views stay.
            let wider = DestinationHarness.schema("items", items.columns + [Column(name: "extra", type: LogicalType(.int32))], primaryKey: ["id"])
            let outcome = try await DestinationHarness.write(config, streams: [ConfiguredStream(schema: wider)], [
                .schema(wider), try DestinationHarness.batch(wider, [[.int64(10), .string("new10"), .int32(1)], [.int64(11), .string("new11"), .null]]),
                .state(State(id: 4, stream: nil, data: [1])),
            ])
            #expect(outcome.acks.map(\.id) == [4])
            #expect(try await count(connection, "SELECT id, name FROM \(schema).named ORDER BY id") == [["10", "new10"], ["11", "new11"]])
            #expect(try await count(connection, "SELECT id, extra FROM \(schema).items ORDER BY id") == [["10", "1"], ["11", nil]])
            #expect(try await count(connection, "SELECT \(schema).total()") == [["21"]])
            _ = try await connection.execute("REFRESH MATERIALIZED VIEW \(schema).counted")
            #expect(try await count(connection, "SELECT n FROM \(schema).counted") == [["2"]])
            let tables = try await count(connection, "SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = '\(schema)'::regnamespace ORDER BY 1")
            #expect(tables == [["items"]], "\(tables)")
        }
    }

    @Test("replace into a table that foreign keys reference is refused before loading, listing them")
    func replaceRefusesReferencedTables() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let config = DestinationHarness.config(schema: schema, ["write_mode": "replace"])
            _ = try await DestinationHarness.write(config, streams: [ConfiguredStream(schema: items)],
                                                   [.schema(items), try DestinationHarness.batch(items, rows([1, 2], "old"))])
            _ = try await connection.executeScript("""
                CREATE TABLE \(schema).orders (n int PRIMARY KEY, item bigint REFERENCES \(schema).items (id));
                INSERT INTO \(schema).orders VALUES (1, 1);
                CREATE VIEW \(schema).named AS SELECT name FROM \(schema).items;
                """)
            do {
                _ = try await DestinationHarness.write(config, streams: [ConfiguredStream(schema: items)],
                                                       [.schema(items), try DestinationHarness.batch(items, rows([5], "new"))])
                Issue.record("replace emptied a referenced table")
            } catch HostError.plugin(let error) {
                #expect(error.code == "REPLACE_DEPENDENTS")
                #expect(error.message.contains("foreign key \(schema).orders (orders_item_fkey)"), "\(error.message)")
                #expect(error.message.contains("view \(schema).named"), "\(error.message)")
            }
            #expect(try await count(connection, "SELECT id, name FROM \(schema).items ORDER BY id") == [["1", "old1"], ["2", "old2"]])
        }
    }

    @Test("replace on a partial read (incremental, or cut by a limit) is refused before loading: the table keeps its rows")
    func replaceRefusesPartialReads() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let config = DestinationHarness.config(schema: schema, ["write_mode": "replace"])
            _ = try await DestinationHarness.write(config, streams: [ConfiguredStream(schema: items)],
                                                   [.schema(items), try DestinationHarness.batch(items, rows([1, 2], "old"))])
            let partial: [(ConfiguredStream, String)] = [
                (ConfiguredStream(schema: items, syncMode: .incremental, cursorField: "id"), "it is read incrementally"),
                (ConfiguredStream(schema: items, limit: 1), "its read stops after 1 rows (limit)"),
                (ConfiguredStream(schema: items, limit: 1, writeMode: .replace), "its read stops after 1 rows (limit)"),
            ]
            for (stream, reason) in partial {
                do {
                    _ = try await DestinationHarness.write(config, streams: [stream],
                                                           [.schema(items), try DestinationHarness.batch(items, rows([5], "new"))])
                    Issue.record("replace swapped in a partial read: \(reason)")
                } catch HostError.plugin(let error) {
                    #expect(error.category == .config)
                    #expect(error.code == "REPLACE_PARTIAL_READ")
                    #expect(error.message.contains("stream \(items.stream) is written with replace"), "\(error.message)")
                    #expect(error.message.contains(reason), "\(error.message)")
                }
            }
            #expect(try await count(connection, "SELECT id, name FROM \(schema).items ORDER BY id") == [["1", "old1"], ["2", "old2"]])
            // The same stream read in full still replaces.
            _ = try await DestinationHarness.write(config, streams: [ConfiguredStream(schema: items)],
                                                   [.schema(items), try DestinationHarness.batch(items, rows([5], "new"))])
            #expect(try await count(connection, "SELECT id, name FROM \(schema).items ORDER BY id") == [["5", "new5"]])
        }
    }

    // MARK: Primary key changes

    static let keyed = [Column(name: "id", type: LogicalType(.int64), nullable: false), Column(name: "k", type: LogicalType(.string), nullable: false),
                        Column(name: "name", type: LogicalType(.string))]

    func primaryKey(_ schema: String, _ connection: PostgresConnection) async throws -> [[String?]] {
        try await count(connection, "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) "
            + "WHERE i.indrelid = '\(schema).pairs'::regclass AND i.indisprimary ORDER BY a.attnum")
    }

    @Test("safe mode migrates a primary key change (id → (id, k)) when the rows are unique under the new key")
    func safeModeMigratesThePrimaryKey() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let before = DestinationHarness.schema("pairs", Self.keyed, primaryKey: ["id"])
            let after = DestinationHarness.schema("pairs", Self.keyed, primaryKey: ["id", "k"])
            let config = DestinationHarness.config(schema: schema, ["write_mode": "upsert"])
            _ = try await DestinationHarness.write(config, streams: [ConfiguredStream(schema: before)],
                                                   [.schema(before), try DestinationHarness.batch(before, [[.int64(1), .string("a"), .string("first")]])])
            for _ in 0..<2 {
                let outcome = try await DestinationHarness.write(config, streams: [ConfiguredStream(schema: after)], [
                    .schema(after), try DestinationHarness.batch(after, [[.int64(1), .string("a"), .string("one-a")], [.int64(1), .string("b"), .string("one-b")]]),
                ])
                #expect(outcome.stream("pairs").map { $0.inserted + $0.updated } == 2)
            }
            #expect(try await primaryKey(schema, connection) == [["id"], ["k"]])
            #expect(try await count(connection, "SELECT id, k, name FROM \(schema).pairs ORDER BY k") == [["1", "a", "one-a"], ["1", "b", "one-b"]])
        }
    }

    @Test("a primary key change the rows do not allow is refused in safe mode, naming it, and recreated in forced mode")
    func unsafePrimaryKeyChange() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let before = DestinationHarness.schema("pairs", [Self.keyed[0], Self.keyed[2]], primaryKey: ["id"])
            let after = DestinationHarness.schema("pairs", Self.keyed, primaryKey: ["id", "k"])
            let batch = try DestinationHarness.batch(after, [[.int64(1), .string("b"), .string("new")]])
            _ = try await DestinationHarness.write(DestinationHarness.config(schema: schema), streams: [ConfiguredStream(schema: before)],
                                                   [.schema(before), try DestinationHarness.batch(before, [[.int64(1), .string("old")]])])
            do {
                _ = try await DestinationHarness.write(DestinationHarness.config(schema: schema, ["write_mode": "upsert"]),
                                                       streams: [ConfiguredStream(schema: after)], [.schema(after), batch])
                Issue.record("a primary key the rows cannot have was applied")
            } catch HostError.plugin(let error) {
                #expect(error.code == "MIGRATION_REFUSED")
                #expect(error.message.contains("primary key (id) → (id, k): the table's 1 rows have no value for the new key column \"k\""), "\(error.message)")
            }
            #expect(try await primaryKey(schema, connection) == [["id"]])
            #expect(try await count(connection, "SELECT id, name FROM \(schema).pairs") == [["1", "old"]])

            let forced = DestinationHarness.config(schema: schema, ["write_mode": "upsert", "migrate_mode": "forced"])
            _ = try await DestinationHarness.write(forced, streams: [ConfiguredStream(schema: after)], [.schema(after), batch])
            #expect(try await primaryKey(schema, connection) == [["id"], ["k"]])
            #expect(try await count(connection, "SELECT id, k, name FROM \(schema).pairs") == [["1", "b", "new"]])
        }
    }
}
