import Foundation
import PostgresClient
import SluiceSDK
import SluiceWire
import Testing

/// Upsert into a table the Write created: rows go straight in by COPY until a key repeats,
/// then by upsert, with the same result and counts as upserting throughout.
@Suite("postgres-plugin destination: fresh tables")
struct DestinationFreshTableTests {
    static let items = DestinationHarness.items

    static func stream() -> ConfiguredStream { ConfiguredStream(schema: items) }

    static func batch(_ ids: ClosedRange<Int64>, _ prefix: String) throws -> HostMessage {
        try DestinationHarness.batch(items, ids.map { [.int64($0), .string("\(prefix)\($0)")] })
    }

    @Test("upsert into a table it creates: flushes COPY straight in; a repeated key is upserted, and so is everything after it")
    func freshUpsert() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let config = DestinationHarness.config(schema: schema, ["batch_size": 1000])
            let outcome = try await DestinationHarness.write(config, streams: [Self.stream()], [
                .schema(Self.items),
                try Self.batch(1...1000, "a"), try Self.batch(1001...2000, "a"), try Self.batch(2001...3000, "a"),
                // Keys 500–1500 were written by the flushes above: this flush falls back to upsert.
                try DestinationHarness.batch(Self.items, (500...1500).map { [.int64($0), .string("u\($0)")] }
                                                + (3001...3100).map { [.int64($0), .string("a\($0)")] }),
                try Self.batch(3101...3200, "a"),
            ])
            #expect(outcome.stream("items")?.inserted == 3200)
            #expect(outcome.stream("items")?.updated == 1001)
            let table = "\(SQL.quoteIdentifier(schema)).items"
            let check = try await DestinationHarness.rows(connection, """
                SELECT count(*), count(*) FILTER (WHERE name = 'u' || id), count(*) FILTER (WHERE name = 'a' || id),
                       count(*) FILTER (WHERE _sluice_synced_at IS NOT NULL) FROM \(table)
                """)
            #expect(check == [["3200", "1001", "2199", "3200"]])
            // The fourth flush built the primary key before its rows (it finds rows by it).
            #expect(try await Self.primaryKeyBuiltLast(connection, table) == [["f"]])
            // It added the metadata columns first: the rows before it hold their values once, in
            // the catalog; its rows and later ones carry them; all the same values.
            #expect(try await Self.metadataStoredOnce(connection, table) == [["t", "t"]])
            #expect(try await Self.metadataValues(connection, table) == [["3200", "1", "1", "tests"]])
            // The first three flushes went straight into the table, through one COPY left open
            // across them (one transaction, one command); staged upserts would be a command each.
            let flushes = try await DestinationHarness.rows(connection, "SELECT count(DISTINCT xmin::text), count(DISTINCT cmin::text) FROM \(table) WHERE id IN (1, 1501, 2001)")
            #expect(flushes == [["1", "1"]])

            // The table exists now: a second Write upserts as usual.
            let again = try await DestinationHarness.write(config, streams: [Self.stream()], [.schema(Self.items), try Self.batch(3150...3250, "b")])
            #expect(again.stream("items")?.inserted == 50)
            #expect(again.stream("items")?.updated == 51)
        }
    }

    /// One row per primary key of `table`: whether its index was made by a later transaction
    /// than every row of the table (built after the rows, not kept up to date row by row).
    static func primaryKeyBuiltLast(_ connection: PostgresConnection, _ table: String) async throws -> [[String?]] {
        try await DestinationHarness.rows(connection, """
            SELECT (SELECT xmin::text::bigint FROM pg_class WHERE oid = c.conindid) > (SELECT max(xmin::text::bigint) FROM \(table))
            FROM pg_constraint c WHERE c.conrelid = '\(table)'::regclass AND c.contype = 'p'
            """)
    }

    /// Whether `_sluice_synced_at` and `_sluice_source` of `table` have values kept in the catalog
    /// for the rows written before the columns were added (``WritePlan/metadataAfterLoad``).
    static func metadataStoredOnce(_ connection: PostgresConnection, _ table: String) async throws -> [[String?]] {
        try await DestinationHarness.rows(connection, """
            SELECT bool_and(atthasmissing) FILTER (WHERE attname = '_sluice_synced_at'), bool_and(atthasmissing) FILTER (WHERE attname = '_sluice_source')
            FROM pg_attribute WHERE attrelid = '\(table)'::regclass AND NOT attisdropped
            """)
    }

    /// The storage parameters of `table` and of its TOAST table (``WritePlan/loadingStorageParameters``).
    static func storageParameters(_ connection: PostgresConnection, _ table: String) async throws -> [[String?]] {
        try await DestinationHarness.rows(connection, """
            SELECT c.reloptions::text, t.reloptions::text FROM pg_class c LEFT JOIN pg_class t ON t.oid = c.reltoastrelid
            WHERE c.oid = '\(table)'::regclass
            """)
    }

    /// `table`'s rows, those with a synced-at time, the distinct times and the distinct sources.
    static func metadataValues(_ connection: PostgresConnection, _ table: String) async throws -> [[String?]] {
        try await DestinationHarness.rows(connection, """
            SELECT count(_sluice_synced_at), count(DISTINCT _sluice_synced_at), count(DISTINCT _sluice_source), min(_sluice_source) FROM \(table)
            """)
    }

    @Test("upsert, mirror, replace and append build a table's primary key after its rows; primary_key_after_load false creates it with the table; append and upsert add the metadata columns with it")
    func primaryKeyAfterLoad() async throws {
        for (mode, afterLoad) in [("upsert", true), ("mirror", true), ("replace", true), ("append", true), ("upsert", false), ("append", false)] {
            try await DestinationHarness.withSchema { schema, connection in
                let config = DestinationHarness.config(schema: schema, ["batch_size": 1000, "write_mode": mode, "primary_key_after_load": afterLoad])
                let outcome = try await DestinationHarness.write(config, streams: [Self.stream()],
                                                                 [.schema(Self.items)] + (try DestinationHarness.batches(Self.items, 1...3000, size: 1000)))
                #expect(outcome.stream("items")?.inserted == 3000, "\(mode)")
                let table = "\(SQL.quoteIdentifier(schema)).items"
                #expect(try await Self.primaryKeyBuiltLast(connection, table) == [[afterLoad ? "t" : "f"]], "\(mode), after load: \(afterLoad)")
                let columns = try await DestinationHarness.rows(connection, "SELECT attnotnull FROM pg_attribute WHERE attrelid = '\(table)'::regclass AND attname = 'id'")
                #expect(columns == [["t"]])
                let added = afterLoad && ["upsert", "append"].contains(mode)
                #expect(try await Self.metadataStoredOnce(connection, table) == [[added ? "t" : "f", added ? "t" : "f"]], "\(mode), after load: \(afterLoad)")
                #expect(try await Self.metadataValues(connection, table) == [["3000", "1", "1", "tests"]], "\(mode), after load: \(afterLoad)")
                #expect(try await DestinationHarness.rows(connection, """
                    SELECT count(*) FROM pg_attrdef WHERE adrelid = '\(table)'::regclass
                    """) == [["0"]], "the metadata columns keep no default")
                // Autovacuum, kept off the table while it loaded, is back to the server's settings.
                #expect(try await Self.storageParameters(connection, table) == [[nil, nil]], "\(mode), after load: \(afterLoad)")
                // The table is keyed as usual: a second Write upserts by the key.
                if mode == "upsert" {
                    let again = try await DestinationHarness.write(config, streams: [Self.stream()], [.schema(Self.items), try Self.batch(2991...3010, "b")])
                    #expect(again.stream("items")?.inserted == 10)
                    #expect(again.stream("items")?.updated == 10)
                }
            }
        }
    }

    @Test("a uuid key: flushes rising past every key written go straight in and the key comes after them; a repeated key builds it first and is upserted")
    func uuidKeys() async throws {
        let things = DestinationHarness.schema("things", [Column(name: "id", type: LogicalType(.uuid), nullable: false),
                                                          Column(name: "name", type: LogicalType(.string))], primaryKey: ["id"])
        // Rising byte by byte: the number in the last four bytes, big-endian.
        let rows = { (ids: ClosedRange<UInt32>, prefix: String) -> [[Value]] in
            ids.map { id in [.uuid([UInt8](repeating: 0, count: 12) + withUnsafeBytes(of: id.bigEndian) { Array($0) }), .string("\(prefix)\(id)")] }
        }
        for repeated in [false, true] {
            try await DestinationHarness.withSchema { schema, connection in
                let config = DestinationHarness.config(schema: schema, ["batch_size": 100])
                let last = repeated ? rows(50...60, "u") + rows(201...210, "a") : rows(201...210, "a")
                let outcome = try await DestinationHarness.write(config, streams: [ConfiguredStream(schema: things)], [
                    .schema(things), try DestinationHarness.batch(things, rows(1...100, "a")),
                    try DestinationHarness.batch(things, rows(101...200, "a")), try DestinationHarness.batch(things, last),
                ])
                #expect(outcome.stream("things")?.inserted == 210, "repeated: \(repeated)")
                #expect(outcome.stream("things")?.updated == (repeated ? 11 : 0), "repeated: \(repeated)")
                let table = "\(SQL.quoteIdentifier(schema)).things"
                #expect(try await DestinationHarness.rows(connection, "SELECT count(*), count(*) FILTER (WHERE name LIKE 'u%') FROM \(table)")
                            == [["210", repeated ? "11" : "0"]])
                #expect(try await Self.primaryKeyBuiltLast(connection, table) == [[repeated ? "f" : "t"]], "repeated: \(repeated)")
                // Straight into the table, through one COPY left open across the flushes (one
                // command), until a repeated key builds the key and the third flush is upserted.
                let flushes = try await DestinationHarness.rows(connection, "SELECT count(DISTINCT cmin::text) FROM \(table) WHERE name LIKE 'a%'")
                #expect(flushes == [[repeated ? "2" : "1"]], "repeated: \(repeated)")
            }
        }
    }

    @Test("replace whose rows repeat a key fails when the key is built, naming it, and keeps the live table")
    func replaceWithRepeatedKey() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let config = DestinationHarness.config(schema: schema, ["write_mode": "replace"])
            _ = try await DestinationHarness.write(config, streams: [Self.stream()], [.schema(Self.items), try Self.batch(1...5, "a")])
            do {
                _ = try await DestinationHarness.write(config, streams: [Self.stream()], [
                    .schema(Self.items), try DestinationHarness.batch(Self.items, [[.int64(1), .string("b")], [.int64(2), .string("b")], [.int64(2), .string("c")]]),
                ])
                Issue.record("replace wrote a repeated key")
            } catch HostError.plugin(let error) {
                #expect(error.category == .data)
                #expect(error.code == "KEY_NOT_UNIQUE")
                #expect(error.message.hasPrefix("stream items: rows written repeat a key, so the primary key (id) cannot be built: "), "\(error.message)")
                #expect(error.message.contains("(id)=(2)"), "\(error.message)")
            }
            let check = try await DestinationHarness.rows(connection, """
                SELECT count(*), count(*) FILTER (WHERE name = 'a' || id), to_regclass('\(SQL.quoteIdentifier(schema)).items_sluice_tmp') IS NULL
                FROM \(SQL.quoteIdentifier(schema)).items
                """)
            #expect(check == [["5", "5", "t"]])
        }
    }

    @Test("a Write that fails before the primary key is built leaves its committed rows and a marked table; the next builds the key (keyed modes first, append last)")
    func failedBeforeTheKey() async throws {
        for mode in ["upsert", "append"] {
            try await DestinationHarness.withSchema { schema, connection in
                let config = DestinationHarness.config(schema: schema, ["batch_size": 10, "write_mode": mode])
                let table = "\(SQL.quoteIdentifier(schema)).items"
                do {
                    // Upsert refuses the NULL key itself; append's COPY meets the column's NOT NULL.
                    _ = try await DestinationHarness.write(config, streams: [Self.stream()], [
                        .schema(Self.items), try Self.batch(1...10, "a"), .state(State(id: 1, stream: nil, data: [])),
                        try DestinationHarness.batch(Self.items, [[.null, .string("x")]]),
                    ])
                    Issue.record("\(mode) took a NULL key")
                } catch HostError.plugin(let error) {
                    #expect(error.category == .data, "\(mode): \(error)")
                }
                let marked = "SELECT count(*), obj_description('\(table)'::regclass, 'pg_class') FROM \(table)"
                #expect(try await DestinationHarness.rows(connection, marked) == [["10", "sluice: the primary key is built when the rows are loaded"]], "\(mode)")
                #expect(try await Self.primaryKeyBuiltLast(connection, table) == [], "\(mode)")
                // Autovacuum stays off it until the key is built (the next Write's).
                let autovacuumOff = "{autovacuum_enabled=false}"
                #expect(try await Self.storageParameters(connection, table) == [[autovacuumOff, autovacuumOff]], "\(mode)")
                // Nor the metadata columns, which come with the key.
                #expect(try await DestinationHarness.rows(connection, """
                    SELECT count(*) FROM pg_attribute WHERE attrelid = '\(table)'::regclass AND attname LIKE '\\_sluice\\_%' AND NOT attisdropped
                    """) == [["0"]], "\(mode)")
                let ids: ClosedRange<Int64> = mode == "upsert" ? 5...15 : 11...20
                let again = try await DestinationHarness.write(config, streams: [Self.stream()], [.schema(Self.items), try Self.batch(ids, "b")])
                #expect(again.stream("items")?.inserted == (mode == "upsert" ? 5 : 10), "\(mode)")
                #expect(again.stream("items")?.updated == (mode == "upsert" ? 6 : 0), "\(mode)")
                #expect(try await DestinationHarness.rows(connection, marked) == [[mode == "upsert" ? "15" : "20", nil]], "\(mode)")
                #expect(try await Self.storageParameters(connection, table) == [[nil, nil]], "\(mode)")
                // Upsert finds rows by the key, so it is built before the Write's rows; append builds it at the end.
                #expect(try await Self.primaryKeyBuiltLast(connection, table) == [[mode == "upsert" ? "f" : "t"]], "\(mode)")
                // The first Write's rows take this Write's metadata values, as its own rows do.
                #expect(try await Self.metadataStoredOnce(connection, table) == [["t", "t"]], "\(mode)")
                #expect(try await Self.metadataValues(connection, table) == [[mode == "upsert" ? "15" : "20", "1", "1", "tests"]], "\(mode)")
            }
        }
    }

    @Test("mirror after an append that failed before its key and metadata columns: the append's rows count as not written by the sync and go")
    func mirrorAfterFailedAppend() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let table = "\(SQL.quoteIdentifier(schema)).items"
            do {
                _ = try await DestinationHarness.write(DestinationHarness.config(schema: schema, ["batch_size": 10, "write_mode": "append"]),
                                                       streams: [Self.stream()], [
                    .schema(Self.items), try Self.batch(1...10, "a"), .state(State(id: 1, stream: nil, data: [])),
                    try DestinationHarness.batch(Self.items, [[.null, .string("x")]]),
                ])
                Issue.record("append took a NULL key")
            } catch HostError.plugin(let error) {
                #expect(error.category == .data, "\(error)")
            }
            let mirror = try await DestinationHarness.write(DestinationHarness.config(schema: schema, ["write_mode": "mirror"]),
                                                            streams: [Self.stream()], [.schema(Self.items), try Self.batch(5...15, "m")])
            #expect(mirror.stream("items")?.deleted == 4)
            #expect(try await DestinationHarness.rows(connection, "SELECT count(*), min(id), max(id), count(*) FILTER (WHERE name = 'm' || id) FROM \(table)")
                    == [["11", "5", "15", "11"]])
        }
    }

    /// The flushes after one that meets a repeated key (encoded while its COPY runs) are written
    /// after its fallback upsert, once each and in order: nothing is queued on the connection
    /// behind a fresh table's COPY, whose fallback takes several calls.
    @Test("flushes started behind a flush that falls back to upsert are written after it, once each")
    func chainedBehindFallback() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let config = DestinationHarness.config(schema: schema, ["batch_size": 1000])
            var messages: [HostMessage] = [.schema(Self.items), try Self.batch(1...1000, "a")]
            // A 50,000-row flush repeating key 1 in its last row: its COPY fails late, long
            // after the small flushes behind it were encoded and queued.
            messages.append(try DestinationHarness.batch(Self.items, (1001...50_999).map { [.int64($0), .string("a\($0)")] } + [[.int64(1), .string("u1")]]))
            // Each small flush after it also repeats the previous one's last key, newer: written in
            // order, the later value wins.
            for start in stride(from: Int64(51_000), to: 56_000, by: 1000) {
                let repeated: [[Value]] = start == 51_000 ? [] : [[.int64(start - 1), .string("u\(start - 1)")]]
                messages.append(try DestinationHarness.batch(Self.items, repeated + (start...(start + 999)).map { [.int64($0), .string("a\($0)")] }))
            }
            let outcome = try await DestinationHarness.write(config, streams: [Self.stream()], messages)
            #expect(outcome.stream("items")?.inserted == 55_999)
            #expect(outcome.stream("items")?.updated == 5)
            let check = try await DestinationHarness.rows(connection, """
                SELECT count(*), count(DISTINCT id), min(id), max(id), count(*) FILTER (WHERE name = 'a' || id),
                       string_agg(id || '=' || name, ',' ORDER BY id) FILTER (WHERE name LIKE 'u%')
                FROM \(SQL.quoteIdentifier(schema)).items
                """)
            #expect(check == [["55999", "55999", "1", "55999", "55994", "1=u1,51999=u51999,52999=u52999,53999=u53999,54999=u54999"]])
        }
    }

    /// Two streams on one connection: the second stream's flushes follow the first stream's
    /// fallback upsert, and the later of two values for a key must win (had a flush been queued
    /// behind the fallback, it would have been refused and written again after the next one).
    @Test("two streams on one connection after a fallback upsert: the later value of a key wins")
    func nothingQueuedBehindARefusedFlush() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let config = DestinationHarness.config(schema: schema, ["batch_size": 1000, "max_connections": 1])
            let other = DestinationHarness.schema("others", Self.items.columns, primaryKey: ["id"])
            let rows: (ClosedRange<Int64>, String) -> [[Value]] = { ids, prefix in ids.map { [.int64($0), .string("\(prefix)\($0)")] } }
            let outcome = try await DestinationHarness.write(config, streams: [Self.stream(), ConfiguredStream(schema: other)], [
                .schema(Self.items), .schema(other),
                try DestinationHarness.batch(Self.items, rows(1...1000, "a")),
                // Fails late on key 1, then falls back to upsert.
                try DestinationHarness.batch(Self.items, rows(1001...50_999, "a") + [[.int64(1), .string("u1")]]),
                try DestinationHarness.batch(other, rows(1...1000, "a")),
                // Repeats key 1000 of the flush before, newer.
                try DestinationHarness.batch(other, [[.int64(1000), .string("u1000")]] + rows(1001...2000, "a")),
            ])
            #expect(outcome.stream("items")?.updated == 1)
            #expect(outcome.stream("others")?.inserted == 2000)
            #expect(outcome.stream("others")?.updated == 1)
            let check = try await DestinationHarness.rows(connection, """
                SELECT count(*), string_agg(id || '=' || name, ',') FILTER (WHERE name LIKE 'u%') FROM \(SQL.quoteIdentifier(schema)).others
                """)
            #expect(check == [["2000", "1000=u1000"]])
        }
    }
}
