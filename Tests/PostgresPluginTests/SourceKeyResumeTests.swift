import Foundation
import PostgresClient
import SluiceSDK
import SluiceWire
import Testing

/// Full refreshes of tables with a primary key: read in key order, checkpointed by key,
/// resumed after a kill with rows changed in between; parallel key ranges; cancellation.
@Suite("postgres-plugin source key checkpoints")
struct SourceKeyResumeTests {
    /// (id, v) of rows whose columns are `id int, v text`.
    static func pairs(_ rows: [[Value]]) -> [(Int64, String)] {
        rows.map { row in
            let id: Int64 = if case .int32(let v) = row[0] { Int64(v) } else { -1 }
            let v: String = if case .string(let s) = row[1] { s } else { "?" }
            return (id, v)
        }
    }

    @Test("a killed read of a table with a primary key resumes after its last key; updates after it are read with new values, every row once")
    func killedKeyReadResumes() async throws {
        try await SourceHarness.withSchema { schema, db in
            let s = SQL.quoteIdentifier(schema)
            // Physical order unrelated to key order, so a read by ctid would not be in key order.
            _ = try await db.executeScript("""
                CREATE TABLE \(s).t (id int PRIMARY KEY, v text);
                INSERT INTO \(s).t SELECT g, 'old' FROM generate_series(1, 3000) g ORDER BY md5(g::text);
                """)
            let stream = SourceHarness.stream(schema, "t", columns: ["id", "v"])
            let overrides: [String: Any] = ["batch_size": 50]
            let (sentRows, checkpoint) = try await SourceHarness.readUntilKilled(stream, overrides: overrides, minimumRows: 500)
            let sent = Self.pairs(sentRows)
            let state = SourceHarness.json(checkpoint)
            #expect(state["key_columns"] as? [String] == ["id"])
            #expect(sent.map(\.0) == Array(1 ... Int64(sent.count)), "sent in key order")
            let last = try #require(sent.last?.0)

            // Between the runs: every tenth row updated (before and after the checkpoint; the
            // update moves it to another place in the heap), rows inserted after the last key.
            _ = try await db.executeScript("""
                UPDATE \(s).t SET v = 'new' WHERE id % 10 = 0;
                INSERT INTO \(s).t SELECT g, 'inserted' FROM generate_series(3001, 3100) g;
                """)
            let resumed = try await SourceHarness.read([stream], states: [checkpoint], overrides: overrides)
            let rest = Self.pairs(try resumed.rows("t"))
            #expect(rest.allSatisfy { $0.0 > last })
            #expect((sent + rest).map(\.0).sorted() == Array(1 ... 3100), "every row exactly once")
            for (id, v) in rest {
                let expected = id > 3000 ? "inserted" : id % 10 == 0 ? "new" : "old"
                #expect(v == expected, "row \(id)")
            }
            #expect(resumed.lastStateJSON["complete"] as? Bool == true)
        }
    }

    @Test("a full refresh cut by a limit and resumed from a mid-way state sends only what the limit leaves: by key and by ctid")
    func resumedLimitCountsRowsSentBefore() async throws {
        try await SourceHarness.withSchema { schema, db in
            let s = SQL.quoteIdentifier(schema)
            _ = try await db.executeScript("""
                CREATE TABLE \(s).keyed (id int PRIMARY KEY, v text);
                INSERT INTO \(s).keyed SELECT g, 'v' FROM generate_series(1, 100) g;
                CREATE TABLE \(s).heap (id int, v text);
                INSERT INTO \(s).heap SELECT g, 'v' FROM generate_series(1, 100) g;
                """)
            for table in ["keyed", "heap"] {
                let stream = SourceHarness.stream(schema, table, columns: ["id", "v"], limit: 25)
                let overrides: [String: Any] = ["batch_size": 10, "checkpoint_interval": 0]
                let full = try await SourceHarness.read([stream], overrides: overrides)
                #expect(try full.rows(table).count == 25, "\(table)")
                // The state after the first 20 rows says so; the final one is complete.
                let index = try #require(full.states.indices.first { full.batches.prefix(full.batchesBeforeState[$0]).reduce(0) { $0 + $1.rowCount } == 20 })
                let middle = full.states[index]
                #expect(SourceHarness.json(middle)["sent"] as? Int == 20, "\(table): \(SourceHarness.json(middle))")
                #expect(full.lastStateJSON["complete"] as? Bool == true && full.lastStateJSON["sent"] == nil, "\(table)")
                let resumed = try await SourceHarness.read([stream], states: [middle], overrides: overrides)
                let rest = Self.pairs(try resumed.rows(table)).map(\.0)
                #expect(rest == Array(21 ... 25), "\(table): the limit of 25 less the 20 sent before")
                #expect(resumed.lastStateJSON["complete"] as? Bool == true, "\(table)")
                // Resumed from a state that had sent the whole limit: nothing more.
                let last = try #require(full.states.dropLast().last)
                let done = try await SourceHarness.read([stream], states: [last], overrides: overrides)
                #expect(try done.rows(table).count == 0, "\(table)")
            }
        }
    }

    @Test("split_tables with max_connections 2 reads a table with a primary key in two key ranges of one snapshot; a mid-way state resumes every range, without split_tables too")
    func parallelKeyRanges() async throws {
        try await SourceHarness.withSchema { schema, db in
            let s = SQL.quoteIdentifier(schema)
            _ = try await db.executeScript("""
                CREATE TABLE \(s).t (id int PRIMARY KEY, v text);
                INSERT INTO \(s).t SELECT g, repeat('p', 60) FROM generate_series(1, 100000) g;
                """)
            let stream = SourceHarness.stream(schema, "t", columns: ["id", "v"])
            // Without split_tables, max_connections 2 reads the one table in one range, in key order.
            let unsplit = try await SourceHarness.read([stream], overrides: ["max_connections": 2, "batch_size": 5000])
            #expect(Self.pairs(try unsplit.rows("t")).map(\.0) == Array(1 ... 100000))
            let unsplitCounts = unsplit.states.compactMap { SourceHarness.json($0)["key_ranges"] as? [Any] }.map(\.count)
            #expect(!unsplitCounts.isEmpty && unsplitCounts.allSatisfy { $0 == 1 }, "\(unsplitCounts)")

            let overrides: [String: Any] = ["max_connections": 2, "batch_size": 5000, "split_tables": true]
            let full = try await SourceHarness.read([stream], overrides: overrides)
            let ids = Self.pairs(try full.rows("t")).map(\.0)
            #expect(ids.sorted() == Array(1 ... 100000))
            let rangeCounts = full.states.dropLast().compactMap { SourceHarness.json($0)["key_ranges"] as? [Any] }.map(\.count)
            #expect(rangeCounts.contains(2), "\(rangeCounts)")

            let middle = full.states.count / 2
            let before = full.batches.prefix(full.batchesBeforeState[middle]).reduce(0) { $0 + $1.rowCount }
            let resumed = try await SourceHarness.read([stream], states: [full.states[middle]], overrides: ["max_connections": 1, "batch_size": 5000])
            let rest = Self.pairs(try resumed.rows("t")).map(\.0)
            #expect(before > 0 && !rest.isEmpty)
            #expect((Array(ids.prefix(before)) + rest).sorted() == Array(1 ... 100000))
        }
    }

    @Test("a composite text and integer key that is not selected checkpoints and resumes in key order")
    func compositeKeyNotSelected() async throws {
        try await SourceHarness.withSchema { schema, db in
            let s = SQL.quoteIdentifier(schema)
            _ = try await db.executeScript("""
                CREATE TABLE \(s).t (a text, b int, v text, PRIMARY KEY (a, b));
                INSERT INTO \(s).t SELECT 'k' || (g % 5), g, 'v' || g FROM generate_series(1, 200) g ORDER BY random();
                """)
            let stream = SourceHarness.stream(schema, "t", columns: ["v"])
            let overrides: [String: Any] = ["batch_size": 7]
            let full = try await SourceHarness.read([stream], overrides: overrides)
            let values = try full.rows("t").map { row -> String in if case .string(let v) = row[0] { v } else { "?" } }
            let expected = try await db.execute("SELECT v FROM \(s).t ORDER BY a, b").rows.map { $0[0] ?? "" }
            #expect(values == expected, "sent in key order")
            let state = SourceHarness.json(full.states[10])
            #expect(state["key_columns"] as? [String] == ["a", "b"])
            let after = ((state["key_ranges"] as? [[String: Any]])?.first?["after"] as? [String]) ?? []
            let seventySeventh = try await db.execute("SELECT a, b::text AS bt FROM \(s).t ORDER BY a, b OFFSET 76 LIMIT 1").rows[0].map { $0 ?? "" }
            #expect(after == seventySeventh)
            let resumed = try await SourceHarness.read([stream], states: [full.states[10]], overrides: overrides)
            let rest = try resumed.rows("t").map { row -> String in if case .string(let v) = row[0] { v } else { "?" } }
            #expect(Array(values.prefix(77)) + rest == expected)
        }
    }

    @Test("an unfinished ctid state of an older version resumes by ctid for a table with a primary key")
    func olderCtidState() async throws {
        try await SourceHarness.withSchema { schema, db in
            let s = SQL.quoteIdentifier(schema)
            _ = try await db.executeScript("""
                CREATE TABLE \(s).t (id int PRIMARY KEY, v text);
                INSERT INTO \(s).t SELECT g, repeat('x', 200) FROM generate_series(1, 500) g;
                """)
            let expected = try await db.execute("SELECT id FROM \(s).t WHERE ctid > '(3,5)' ORDER BY id").rows.map { Int64($0[0] ?? "") ?? -1 }
            let old = #"{"v":1,"mode":"full_refresh","key_columns":["ctid"],"key":[],"complete":false,"ranges":[{"lo":0,"after":"(3,5)"}]}"#
            let stream = SourceHarness.stream(schema, "t", columns: ["id", "v"])
            let result = try await SourceHarness.read([stream], states: [State(id: 1, stream: StreamID(namespace: schema, name: "t"), data: Array(old.utf8))])
            #expect(!expected.isEmpty && expected.count < 500)
            #expect(Self.pairs(try result.rows("t")).map(\.0).sorted() == expected)
            #expect(result.lastStateJSON["complete"] as? Bool == true)
            let next = try await SourceHarness.read([stream], states: [try #require(result.states.last)], overrides: ["batch_size": 100])
            #expect(Self.pairs(try next.rows("t")).map(\.0) == Array(1 ... 500))
            #expect(SourceHarness.json(next.states[0])["key_columns"] as? [String] == ["id"])
        }
    }

    @Test("a cancelled Read reports the stream incomplete with a readable message")
    func cancelledRead() async throws {
        try await SourceHarness.withSchema { schema, db in
            let s = SQL.quoteIdentifier(schema)
            _ = try await db.executeScript("""
                CREATE TABLE \(s).big (id int PRIMARY KEY, pad text);
                INSERT INTO \(s).big SELECT g, repeat('y', 100) FROM generate_series(1, 300000) g;
                """)
            let client = try await SourceHarness.launch()
            defer { Task { await client.close() } }
            try await client.startRead(ReadRequest(configJSON: SourceHarness.config(["batch_size": 1000]),
                                                   catalog: ConfiguredCatalog(streams: [SourceHarness.stream(schema, "big")])))
            var cancelled = false
            var statuses: [StreamStatus] = []
            var failure: PluginError?
            do {
                while let message = try await client.nextCallMessage() {
                    switch message {
                    case .records where !cancelled:
                        cancelled = true
                        try await client.cancel()
                    case .streamStatus(let status): statuses.append(status)
                    case .summary: Issue.record("the read finished despite the cancel")
                    default: break
                    }
                    if case .summary = message { break }
                }
            } catch let HostError.plugin(error) {
                failure = error
            }
            #expect(failure?.category == .cancelled, "\(String(describing: failure))")
            let incomplete = try #require(statuses.last { $0.status == .incomplete })
            #expect(!incomplete.message.contains("CancellationError"), "\(incomplete.message)")
            #expect(incomplete.message.lowercased().contains("cancel"), "\(incomplete.message)")
        }
    }
}
