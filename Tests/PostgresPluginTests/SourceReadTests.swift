import Foundation
import PostgresClient
import SluiceSDK
import SluiceWire
import Testing

/// Full refresh, incremental, filters and failures, read through the real plugin binary.
@Suite("postgres-plugin source Read")
struct SourceReadTests {
    /// The Int64 values of column `name` in `rows` (schema `columns`).
    static func ids(_ result: SourceReadResult, _ stream: String, column: String = "id") throws -> [Int64] {
        let schema = try #require(result.schemas.last { $0.stream.name == stream })
        let index = try #require(schema.columns.firstIndex { $0.name == column })
        return try result.rows(stream).map { row in
            switch row[index] {
            case .int16(let v): Int64(v)
            case .int32(let v): Int64(v)
            case .int64(let v): v
            default: -1
            }
        }
    }

    @Test("two full refreshes give identical records; statuses, states and summary are sent")
    func fullRefreshTwice() async throws {
        try await SourceHarness.withSchema { schema, db in
            let s = SQL.quoteIdentifier(schema)
            _ = try await db.executeScript("""
                CREATE TABLE \(s).t (id int PRIMARY KEY, name text, amount numeric(10,2), at timestamptz);
                INSERT INTO \(s).t SELECT g, 'n' || g, g / 7.0, '2024-01-01'::timestamptz + g * interval '1 minute'
                FROM generate_series(1, 2500) g;
                """)
            let overrides: [String: Any] = ["batch_size": 1000]
            let first = try await SourceHarness.read([SourceHarness.stream(schema, "t")], overrides: overrides)
            let second = try await SourceHarness.read([SourceHarness.stream(schema, "t")], overrides: overrides)
            #expect(try first.rows("t") == second.rows("t"))
            #expect(try Self.ids(first, "t").sorted() == Array(1 ... 2500))
            #expect(first.batches.count == 3)
            #expect(first.statuses.map(\.status) == [.started, .complete])
            #expect(first.summary?.streams.first?.records == 2500)
            #expect(first.states.count == 4)
            #expect(first.lastStateJSON["complete"] as? Bool == true)
            // Only the last state is marked as the stream's last (PROTOCOL.md §4.4 rule 3).
            #expect(first.states.map(\.streamComplete) == [false, false, false, true])
        }
    }

    @Test("snapshot consistent: a row committed mid-read into a later stream is not seen; per_stream: it is", arguments: ["consistent", "per_stream"])
    func snapshots(mode: String) async throws {
        try await SourceHarness.withSchema { schema, db in
            let s = SQL.quoteIdentifier(schema)
            _ = try await db.executeScript("""
                CREATE TABLE \(s).a (id int PRIMARY KEY, pad text);
                INSERT INTO \(s).a SELECT g, repeat('x', 200) FROM generate_series(1, 200000) g;
                CREATE TABLE \(s).b (id int PRIMARY KEY);
                INSERT INTO \(s).b VALUES (1);
                """)
            let client = try await SourceHarness.launch()
            let config = SourceHarness.config(["batch_size": 1000, "max_connections": 1, "snapshot": mode])
            try await client.startRead(ReadRequest(configJSON: config, catalog: ConfiguredCatalog(streams: [
                SourceHarness.stream(schema, "a"), SourceHarness.stream(schema, "b"),
            ])))
            var inserted = false
            var rowsOfB = 0
            while let message = try await client.nextCallMessage() {
                switch message {
                case .records(let batch) where batch.stream.name == "a" && !inserted:
                    // The plugin is held back by the pipe on stream a (40 MB, far more than the
                    // client reads ahead): b is not read yet.
                    _ = try await db.execute("INSERT INTO \(s).b VALUES (2)")
                    inserted = true
                case .records(let batch) where batch.stream.name == "b":
                    rowsOfB += batch.rowCount
                default:
                    break
                }
                if case .summary = message { break }
            }
            await client.close()
            #expect(inserted)
            #expect(rowsOfB == (mode == "consistent" ? 1 : 2))
        }
    }

    @Test("a session default ending idle transactions does not cut a read whose host is slow", arguments: [1, 2])
    func idleTransactionTimeout(connections: Int) async throws {
        try await SourceHarness.withSchema { schema, db in
            let s = SQL.quoteIdentifier(schema)
            _ = try await db.executeScript("""
                CREATE TABLE \(s).a (id int PRIMARY KEY);
                INSERT INTO \(s).a SELECT g FROM generate_series(1, 200000) g;
                CREATE TABLE \(s).b (id int PRIMARY KEY);
                INSERT INTO \(s).b SELECT g FROM generate_series(1, 1000) g;
                """)
            let client = try await SourceHarness.launch()
            let config = SourceHarness.config(["batch_size": 1000, "max_connections": connections,
                                               "connection_string": "options='-c idle_in_transaction_session_timeout=300'"])
            try await client.startRead(ReadRequest(configJSON: config, catalog: ConfiguredCatalog(streams: [
                SourceHarness.stream(schema, "a"), SourceHarness.stream(schema, "b"),
            ])))
            var rows: [String: Int] = [:]
            var paused = false
            reading: while let message = try await client.nextCallMessage() {
                switch message {
                case .records(let batch):
                    rows[batch.stream.name, default: 0] += batch.rowCount
                    if !paused {
                        // A slow host: the plugin waits on the pipe, its snapshot held open.
                        try await Task.sleep(for: .seconds(1))
                        paused = true
                    }
                case .summary:
                    break reading
                default:
                    continue
                }
            }
            await client.close()
            #expect(rows == ["a": 200000, "b": 1000])
        }
    }

    @Test("a multi-dimensional array fails the read as a data error naming the column, never flattened")
    func multidimensionalArray() async throws {
        try await SourceHarness.withSchema { schema, db in
            let s = SQL.quoteIdentifier(schema)
            _ = try await db.executeScript("""
                CREATE TABLE \(s).m (id int PRIMARY KEY, grid int[]);
                INSERT INTO \(s).m VALUES (1, '{1,2,3}'), (2, '{{1,2},{3,4}}');
                """)
            do {
                _ = try await SourceHarness.read([SourceHarness.stream(schema, "m")])
                Issue.record("a 2-dimensional array was read")
            } catch HostError.plugin(let error) {
                #expect(error.code == "UNREPRESENTABLE_VALUE", "\(error)")
                #expect(error.category == .data)
                #expect(error.message.contains("column \"grid\""), "\(error)")
                #expect(error.message.contains("2-dimensional"), "\(error)")
            }
            // One-dimensional arrays, the common case, still read as lists.
            let flat = try await SourceHarness.read([SourceHarness.stream(schema, "m", filter: "id = 1")])
            #expect(try flat.rows("m").first?[1] == .list([.int32(1), .int32(2), .int32(3)]))
        }
    }

    @Test("selected columns, filter and limit apply in the query")
    func columnsFilterLimit() async throws {
        try await SourceHarness.withSchema { schema, db in
            let s = SQL.quoteIdentifier(schema)
            _ = try await db.executeScript("""
                CREATE TABLE \(s).t (id int PRIMARY KEY, name text, flag boolean);
                INSERT INTO \(s).t SELECT g, 'n' || g, g % 2 = 0 FROM generate_series(1, 100) g;
                """)
            let result = try await SourceHarness.read([SourceHarness.stream(schema, "t", columns: ["name", "id"], filter: "flag AND id > 50")])
            #expect(result.schemas.first?.columns.map(\.name) == ["name", "id"])
            #expect(try Self.ids(result, "t").sorted() == Array(stride(from: 52, through: 100, by: 2)))
            let limited = try await SourceHarness.read([SourceHarness.stream(schema, "t", filter: "flag", limit: 7)])
            #expect(try limited.rows("t").count == 7)
        }
    }

    @Test("a bad filter fails fast as a config error carrying the server's message")
    func badFilter() async throws {
        try await SourceHarness.withSchema { schema, db in
            _ = try await db.execute("CREATE TABLE \(SQL.quoteIdentifier(schema)).t (id int)")
            do {
                _ = try await SourceHarness.read([SourceHarness.stream(schema, "t", filter: "idd > 3")])
                Issue.record("the read succeeded")
            } catch let HostError.plugin(error) {
                #expect(error.category == .config)
                #expect(error.code == "INVALID_FILTER")
                #expect(error.message.contains("column \"idd\" does not exist"), "\(error.message)")
            }
            do {
                _ = try await SourceHarness.read([SourceHarness.stream(schema, "t", filter: "true; DELETE FROM t")])
                Issue.record("the read succeeded")
            } catch let HostError.plugin(error) {
                #expect(error.category == .config)
            }
        }
    }

    @Test("incremental: ties across checkpoints, empty second read, future state, updates picked up, null cursors skipped")
    func incremental() async throws {
        try await SourceHarness.withSchema { schema, db in
            let s = SQL.quoteIdentifier(schema)
            _ = try await db.executeScript("""
                CREATE TABLE \(s).t (id int PRIMARY KEY, updated_at timestamptz);
                INSERT INTO \(s).t SELECT g, '2024-01-01'::timestamptz + (g % 3) * interval '1 day' FROM generate_series(1, 21) g;
                INSERT INTO \(s).t VALUES (100, NULL);
                """)
            let stream = SourceHarness.stream(schema, "t", mode: .incremental, cursor: "updated_at")
            let overrides: [String: Any] = ["batch_size": 2]
            let full = try await SourceHarness.read([stream], overrides: overrides)
            #expect(try Self.ids(full, "t").sorted() == Array(1 ... 21))
            #expect(full.states.count >= 10)

            // Resuming from a checkpoint in the middle of a run of equal cursor values skips nothing.
            for checkpoint in [2, 3, 5, 7] {
                let sentBefore = full.batches.prefix(checkpoint).reduce(0) { $0 + $1.rowCount }
                let resumed = try await SourceHarness.read([stream], states: [full.states[checkpoint - 1]], overrides: overrides)
                let before = Array(try Self.ids(full, "t").prefix(sentBefore))
                #expect((before + (try Self.ids(resumed, "t"))).sorted() == Array(1 ... 21), "checkpoint \(checkpoint)")
            }

            let final = try #require(full.states.last)
            let second = try await SourceHarness.read([stream], states: [final])
            #expect(try second.rows("t").isEmpty)
            #expect(second.lastStateJSON["key"] as? [String] == SourceHarness.json(final)["key"] as? [String])

            let future = #"{"v":1,"mode":"incremental","key_columns":["updated_at","id"],"key":["3000-01-01 00:00:00+00","0"],"complete":false}"#
            let fromFuture = try await SourceHarness.read([stream], states: [State(id: 1, stream: StreamID(namespace: schema, name: "t"), data: Array(future.utf8))])
            #expect(try fromFuture.rows("t").isEmpty)

            _ = try await db.execute("UPDATE \(s).t SET updated_at = '2024-02-01' WHERE id IN (4, 9)")
            let updated = try await SourceHarness.read([stream], states: [final])
            #expect(try Self.ids(updated, "t").sorted() == [4, 9])
        }
    }

    @Test("split_tables with max_connections 2 reads a large table in two ctid ranges of one snapshot, every row once; without it, in one")
    func parallelRanges() async throws {
        try await SourceHarness.withSchema { schema, db in
            let s = SQL.quoteIdentifier(schema)
            _ = try await db.executeScript("""
                CREATE TABLE \(s).t (id int, pad text);
                INSERT INTO \(s).t SELECT g, repeat('p', 60) FROM generate_series(1, 100000) g;
                """)
            func rangeCounts(_ result: SourceReadResult) -> [Int] {
                result.states.dropLast().compactMap { state in
                    ((try? JSONSerialization.jsonObject(with: Data(state.data))) as? [String: Any])?["ranges"] as? [Any]
                }.map(\.count)
            }
            let result = try await SourceHarness.read([SourceHarness.stream(schema, "t", columns: ["id"])],
                                                      overrides: ["max_connections": 2, "batch_size": 5000, "split_tables": true])
            #expect(try Self.ids(result, "t", column: "id").sorted() == Array(1 ... 100000))
            #expect(rangeCounts(result).contains(2))
            let unsplit = try await SourceHarness.read([SourceHarness.stream(schema, "t", columns: ["id"])],
                                                       overrides: ["max_connections": 2, "batch_size": 5000])
            #expect(try Self.ids(unsplit, "t").sorted() == Array(1 ... 100000))
            #expect(!rangeCounts(unsplit).isEmpty && rangeCounts(unsplit).allSatisfy { $0 == 1 })
            let single = try await SourceHarness.read([SourceHarness.stream(schema, "t", columns: ["id"])],
                                                      overrides: ["max_connections": 1, "batch_size": 5000])
            #expect(try Self.ids(single, "t").sorted() == Array(1 ... 100000))
        }
    }

    @Test("a read of a table without a primary key killed in the middle resumes from its ctid checkpoint; the union has every row")
    func killedReadResumes() async throws {
        try await SourceHarness.withSchema { schema, db in
            let s = SQL.quoteIdentifier(schema)
            _ = try await db.executeScript("""
                CREATE TABLE \(s).t (id int, pad text) WITH (fillfactor = 10);
                INSERT INTO \(s).t SELECT g, repeat('x', 200) FROM generate_series(1, 3000) g;
                """)
            let stream = SourceHarness.stream(schema, "t", columns: ["id"])
            let overrides: [String: Any] = ["batch_size": 50]
            let (sentRows, checkpoint) = try await SourceHarness.readUntilKilled(stream, overrides: overrides, minimumRows: 500)
            let sent = sentRows.map { row -> Int64 in if case .int32(let v) = row[0] { Int64(v) } else { -1 } }
            #expect(SourceHarness.json(checkpoint)["key_columns"] as? [String] == ["ctid"])
            let resumed = try await SourceHarness.read([stream], states: [checkpoint], overrides: overrides)
            let rest = try Self.ids(resumed, "t")
            #expect(!sent.isEmpty && rest.count < 3000)
            #expect((sent + rest).sorted() == Array(1 ... 3000))
        }
    }

    @Test("the connection terminated mid-read gives a clear error")
    func terminatedConnection() async throws {
        try await SourceHarness.withSchema { schema, db in
            let s = SQL.quoteIdentifier(schema)
            _ = try await db.executeScript("""
                CREATE TABLE \(s).big (id int, pad text);
                INSERT INTO \(s).big SELECT g, repeat('y', 100) FROM generate_series(1, 400000) g;
                """)
            let client = try await SourceHarness.launch()
            defer { Task { await client.close() } }
            try await client.startRead(ReadRequest(configJSON: SourceHarness.config(["batch_size": 1000]),
                                                   catalog: ConfiguredCatalog(streams: [SourceHarness.stream(schema, "big")])))
            var terminated = false
            do {
                while let message = try await client.nextCallMessage() {
                    if case .records = message, !terminated {
                        terminated = true
                        let rows = try await db.execute(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND query LIKE $1",
                            [.text("%COPY%\(schema)%")]).rows
                        #expect(!rows.isEmpty)
                    }
                    if case .summary = message { break }
                }
                Issue.record("the read finished despite the terminated connection")
            } catch let HostError.plugin(error) {
                #expect(error.category == .transient)
                #expect(error.code == "CONNECTION_LOST" || error.message.contains("terminat"), "\(error)")
                #expect(error.stream?.name == "big")
            }
        }
    }

    @Test("nasty identifiers as schema, table and column names")
    func nastyIdentifiers() async throws {
        try await SourceHarness.withSchema(#" Sché"ma 'x'"#) { schema, db in
            let s = SQL.quoteIdentifier(schema)
            let table = #"Tä"ble select"#
            let t = s + "." + SQL.quoteIdentifier(table)
            _ = try await db.executeScript("""
                CREATE TABLE \(t) ("order" int PRIMARY KEY, "Mixed Case" text, "quo""te" text, "ñandú" date);
                INSERT INTO \(t) SELECT g, 'm' || g, 'q' || g, date '2024-01-01' + g FROM generate_series(1, 30) g;
                """)
            let catalog = try await SourceHarness.discover(["schemas": [schema]])
            let found = try #require(catalog.streams.first)
            #expect(found.schema.stream.name == table)
            #expect(found.schema.columns.map(\.name) == ["order", "Mixed Case", #"quo"te"#, "ñandú"])
            #expect(found.schema.primaryKey == ["order"])
            let full = try await SourceHarness.read([SourceHarness.stream(schema, table, filter: #""order" <= 20"#)])
            #expect(try full.rows(table).count == 20)
            let stream = SourceHarness.stream(schema, table, mode: .incremental, cursor: "ñandú")
            let first = try await SourceHarness.read([stream], overrides: ["batch_size": 7])
            #expect(try first.rows(table).count == 30)
            let again = try await SourceHarness.read([stream], states: [try #require(first.states.last)])
            #expect(try again.rows(table).isEmpty)
        }
    }

    @Test("checkpoint_interval and checkpoint_bytes: a state follows a batch only once either is reached; a mid-way state resumes exactly")
    func checkpointsByBytes() async throws {
        try await SourceHarness.withSchema { schema, db in
            let s = SQL.quoteIdentifier(schema)
            _ = try await db.executeScript("""
                CREATE TABLE \(s).t (id int PRIMARY KEY, v text);
                INSERT INTO \(s).t SELECT g, repeat('x', 100) FROM generate_series(1, 2000) g;
                """)
            let stream = SourceHarness.stream(schema, "t")
            let everyBatch = try await SourceHarness.read([stream], overrides: ["batch_size": 100])
            #expect(everyBatch.batches.count == 20)
            #expect(everyBatch.states.count == 21, "checkpoint_interval 0: a state after every batch, and the final one")
            let bytes = try #require(everyBatch.summary?.streams.first?.bytes)

            let never = try await SourceHarness.read([stream], overrides: ["batch_size": 100, "checkpoint_interval": "1h",
                                                                            "checkpoint_bytes": 1 << 30])
            #expect(never.batches.count == 20)
            #expect(never.states.count == 1, "neither reached: only the stream's final state")
            #expect(never.batchesBeforeState == [20])

            // About a quarter of the stream's bytes: a state every five batches or so.
            let quarter = try await SourceHarness.read([stream], overrides: ["batch_size": 100, "checkpoint_interval": "1h",
                                                                              "checkpoint_bytes": Int(bytes / 4)])
            #expect(quarter.batches.count == 20)
            #expect((3...6).contains(quarter.states.count), "states: \(quarter.batchesBeforeState)")
            #expect(quarter.batchesBeforeState.last == 20)
            let middle = try #require(quarter.states.first)
            let before = quarter.batchesBeforeState[0]
            let sent = try Self.ids(quarter, "t").prefix(before * 100)
            let resumed = try await SourceHarness.read([stream], states: [middle], overrides: ["checkpoint_interval": "1h"])
            #expect(Array(sent) + (try Self.ids(resumed, "t")) == Array(1...2000), "the rows before the state, then exactly the rest")
        }
    }
}
