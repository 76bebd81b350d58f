import Foundation
import PostgresClient
import SluiceTestSupport
import SluiceSDK
import SluiceWire
import Testing

/// Incremental reads never skip a row committed after a read's snapshot: ties on the saved
/// cursor with lower keys, rows written by transactions still open during a read (savepoints
/// included), transactions spanning several reads, killed reads and reads cut by `limit`.
@Suite("postgres-plugin source incremental snapshots")
struct SourceIncrementalTests {
    /// The `n` column of every row read from `t`, in order.
    static func numbers(_ result: SourceReadResult, column: String = "n") throws -> [Int64] {
        let schema = try #require(result.schemas.last { $0.stream.name == "t" })
        let index = try #require(schema.columns.firstIndex { $0.name == column })
        return try result.rows("t").map { row in
            switch row[index] {
            case .int32(let v): Int64(v)
            case .int64(let v): v
            default: -1
            }
        }
    }

    static func state(_ schema: String, _ json: [String: Any]) throws -> State {
        State(id: 1, stream: StreamID(namespace: schema, name: "t"), data: Array(try JSONSerialization.data(withJSONObject: json)))
    }

    @Test("a date cursor with uuid keys: two rows added later on the last synced day both arrive, below and above the saved key")
    func tiesBelowSavedKey() async throws {
        try await SourceHarness.withSchema { schema, db in
            let s = SQL.quoteIdentifier(schema)
            _ = try await db.executeScript("""
                CREATE TABLE \(s).t (id uuid PRIMARY KEY, day date NOT NULL, n int);
                INSERT INTO \(s).t VALUES ('40000000-0000-0000-0000-000000000000', '2024-05-01', 1),
                                          ('80000000-0000-0000-0000-000000000000', '2024-05-02', 2),
                                          ('90000000-0000-0000-0000-000000000000', '2024-05-02', 3);
                """)
            let stream = SourceHarness.stream(schema, "t", mode: .incremental, cursor: "day")
            let first = try await SourceHarness.read([stream])
            #expect(try Self.numbers(first).sorted() == [1, 2, 3])
            #expect(first.lastStateJSON["key"] as? [String] == ["2024-05-02", "90000000-0000-0000-0000-000000000000"])

            _ = try await db.execute("""
                INSERT INTO \(s).t VALUES ('10000000-0000-0000-0000-000000000000', '2024-05-02', 4),
                                          ('f0000000-0000-0000-0000-000000000000', '2024-05-02', 5)
                """)
            let second = try await SourceHarness.read([stream], states: [try #require(first.states.last)])
            #expect(try Self.numbers(second).sorted() == [4, 5])

            let third = try await SourceHarness.read([stream], states: [try #require(second.states.last)])
            #expect(try third.rows("t").isEmpty, "a read from a final state with no changes returns no rows")
            #expect(third.lastStateJSON["run"] == nil)

            _ = try await db.execute("UPDATE \(s).t SET n = 10 WHERE n = 1")
            let fourth = try await SourceHarness.read([stream], states: [try #require(third.states.last)])
            #expect(try Self.numbers(fourth) == [10], "an update that leaves the cursor unchanged is a new row version")
        }
    }

    @Test("rows updated with now() by a transaction open during a read (and in a released savepoint) arrive once it commits")
    func openTransactionUpdates() async throws {
        try await SourceHarness.withSchema { schema, db in
            let s = SQL.quoteIdentifier(schema)
            _ = try await db.executeScript("""
                CREATE TABLE \(s).t (n int PRIMARY KEY, updated_at timestamptz NOT NULL);
                INSERT INTO \(s).t SELECT g, '2024-01-01'::timestamptz + g * interval '1 minute' FROM generate_series(1, 10) g;
                """)
            let stream = SourceHarness.stream(schema, "t", mode: .incremental, cursor: "updated_at")
            let first = try await SourceHarness.read([stream])
            #expect(try Self.numbers(first).count == 10)

            let writer = try await TestDatabase.connect()
            defer { writer.close() }
            _ = try await writer.executeScript("""
                BEGIN;
                UPDATE \(s).t SET updated_at = now() WHERE n = 5;
                SAVEPOINT inner_work;
                UPDATE \(s).t SET updated_at = now() WHERE n = 6;
                RELEASE SAVEPOINT inner_work;
                """)
            // Committed after the open transaction's savepoint, with a later cursor.
            _ = try await db.execute("INSERT INTO \(s).t VALUES (11, clock_timestamp() + interval '1 second')")
            let second = try await SourceHarness.read([stream], states: [try #require(first.states.last)])
            #expect(try Self.numbers(second) == [11])

            _ = try await writer.execute("COMMIT")
            let third = try await SourceHarness.read([stream], states: [try #require(second.states.last)])
            #expect(try Self.numbers(third).sorted() == [5, 6])
            let fourth = try await SourceHarness.read([stream], states: [try #require(third.states.last)])
            #expect(try fourth.rows("t").isEmpty)
        }
    }

    @Test("a transaction opened before read 1 and committed after read 2 has its rows arrive in read 3")
    func transactionSpanningReads() async throws {
        try await SourceHarness.withSchema { schema, db in
            let s = SQL.quoteIdentifier(schema)
            _ = try await db.executeScript("""
                CREATE TABLE \(s).t (n int PRIMARY KEY, updated_at timestamptz NOT NULL);
                INSERT INTO \(s).t SELECT g, '2024-01-01'::timestamptz + g * interval '1 minute' FROM generate_series(1, 10) g;
                """)
            let stream = SourceHarness.stream(schema, "t", mode: .incremental, cursor: "updated_at")
            let writer = try await TestDatabase.connect()
            defer { writer.close() }
            _ = try await writer.executeScript("""
                BEGIN;
                INSERT INTO \(s).t VALUES (100, now());
                UPDATE \(s).t SET updated_at = now() WHERE n = 3;
                """)
            let first = try await SourceHarness.read([stream])
            #expect(try Self.numbers(first).sorted() == Array(1 ... 10))

            _ = try await db.execute("INSERT INTO \(s).t VALUES (11, clock_timestamp() + interval '1 second')")
            let second = try await SourceHarness.read([stream], states: [try #require(first.states.last)])
            #expect(try Self.numbers(second) == [11])

            _ = try await writer.execute("COMMIT")
            let third = try await SourceHarness.read([stream], states: [try #require(second.states.last)])
            #expect(try Self.numbers(third).sorted() == [3, 100])
            let fourth = try await SourceHarness.read([stream], states: [try #require(third.states.last)])
            #expect(try fourth.rows("t").isEmpty)
        }
    }

    @Test("a killed incremental read resumes exactly after its checkpoint; rows committed meanwhile with lower cursors arrive next")
    func killedReadResumesExactly() async throws {
        try await SourceHarness.withSchema { schema, db in
            let s = SQL.quoteIdentifier(schema)
            _ = try await db.executeScript("""
                CREATE TABLE \(s).t (n int PRIMARY KEY, updated_at timestamptz NOT NULL);
                INSERT INTO \(s).t SELECT g, '2024-01-01'::timestamptz + (g / 3) * interval '1 minute' FROM generate_series(1, 3000) g;
                """)
            let stream = SourceHarness.stream(schema, "t", mode: .incremental, cursor: "updated_at")
            let first = try await SourceHarness.read([stream])
            #expect(try Self.numbers(first).count == 3000)
            _ = try await db.executeScript("""
                UPDATE \(s).t SET updated_at = updated_at + interval '1 year' WHERE n > 2000;
                INSERT INTO \(s).t SELECT g, '2025-06-01'::timestamptz + (g / 3) * interval '1 minute' FROM generate_series(3001, 4000) g;
                """)
            let changed = Array(2001 ... 4000).map(Int64.init)

            // A transaction open during the killed read moves row 10 forward, below the checkpoint.
            let writer = try await TestDatabase.connect()
            defer { writer.close() }
            _ = try await writer.executeScript("BEGIN; UPDATE \(s).t SET updated_at = '2024-06-01' WHERE n = 10;")
            let overrides: [String: Any] = ["batch_size": 50]
            let (sentRows, checkpoint) = try await SourceHarness.readUntilKilled(stream, overrides: overrides, minimumRows: 500,
                                                                                 states: [try #require(first.states.last)])
            let saved = SourceHarness.json(checkpoint)
            #expect(saved["v"] as? Int == 3)
            #expect(saved["run"] != nil, "a checkpoint mid-read holds the read in progress")
            let sent = try sentRows.map { row -> Int64 in
                guard case .int32(let v) = row[0] else { throw CancellationError() }
                return Int64(v)
            }
            #expect(sent.count >= 500 && sent.count < 2000)
            _ = try await writer.execute("COMMIT")
            _ = try await db.execute("INSERT INTO \(s).t VALUES (5000, '2024-01-02')")

            let resumed = try await SourceHarness.read([stream], states: [checkpoint], overrides: overrides)
            let rest = try Self.numbers(resumed)
            #expect((sent + rest).sorted() == changed, "the interrupted read's rows, each exactly once")
            let next = try await SourceHarness.read([stream], states: [try #require(resumed.states.last)])
            #expect(try Self.numbers(next).sorted() == [10, 5000])
        }
    }

    @Test("a read cut by limit stays in progress; the next read continues it, then reads what changed")
    func limitContinues() async throws {
        try await SourceHarness.withSchema { schema, db in
            let s = SQL.quoteIdentifier(schema)
            _ = try await db.executeScript("""
                CREATE TABLE \(s).t (n int PRIMARY KEY, updated_at timestamptz NOT NULL);
                INSERT INTO \(s).t SELECT g, '2024-01-01'::timestamptz + g * interval '1 minute' FROM generate_series(1, 20) g;
                """)
            let limited = try await SourceHarness.read([SourceHarness.stream(schema, "t", mode: .incremental, cursor: "updated_at", limit: 5)])
            #expect(try Self.numbers(limited) == [1, 2, 3, 4, 5])
            #expect(limited.lastStateJSON["run"] != nil)
            _ = try await db.execute("INSERT INTO \(s).t VALUES (21, '2023-01-01')")
            let stream = SourceHarness.stream(schema, "t", mode: .incremental, cursor: "updated_at")
            let rest = try await SourceHarness.read([stream], states: [try #require(limited.states.last)])
            #expect(try Self.numbers(rest) == Array(6 ... 20))
            let next = try await SourceHarness.read([stream], states: [try #require(rest.states.last)])
            #expect(try Self.numbers(next) == [21])
        }
    }

    @Test("a partitioned table tracks row versions across its partitions; a view keeps the cursor-only state")
    func partitionedAndView() async throws {
        try await SourceHarness.withSchema { schema, db in
            let s = SQL.quoteIdentifier(schema)
            _ = try await db.executeScript("""
                CREATE TABLE \(s).t (n int, day date NOT NULL, PRIMARY KEY (day, n)) PARTITION BY RANGE (day);
                CREATE TABLE \(s).t_2024 PARTITION OF \(s).t FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
                CREATE TABLE \(s).t_2025 PARTITION OF \(s).t FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
                INSERT INTO \(s).t VALUES (5, '2024-12-31'), (6, '2025-03-01');
                CREATE VIEW \(s).v AS SELECT n, day FROM \(s).t;
                """)
            let stream = SourceHarness.stream(schema, "t", mode: .incremental, cursor: "day")
            let first = try await SourceHarness.read([stream])
            #expect(try Self.numbers(first) == [5, 6])
            _ = try await db.execute("INSERT INTO \(s).t VALUES (1, '2025-03-01'), (2, '2024-06-01')")
            let second = try await SourceHarness.read([stream], states: [try #require(first.states.last)])
            #expect(try Self.numbers(second) == [2, 1])

            let view = SourceHarness.stream(schema, "v", mode: .incremental, cursor: "day")
            let fromView = try await SourceHarness.read([view])
            #expect(try fromView.rows("v").count == 4)
            #expect(fromView.lastStateJSON["snapshot"] == nil)
            #expect(fromView.lastStateJSON["key"] as? [String] == ["2025-03-01"])
        }
    }

    @Test("a version 2 state (no snapshot) still resumes after its key, and the next state records a snapshot")
    func olderStateAccepted() async throws {
        try await SourceHarness.withSchema { schema, db in
            let s = SQL.quoteIdentifier(schema)
            _ = try await db.executeScript("""
                CREATE TABLE \(s).t (n int PRIMARY KEY, updated_at timestamptz NOT NULL);
                INSERT INTO \(s).t SELECT g, '2024-01-01'::timestamptz + g * interval '1 minute' FROM generate_series(1, 10) g;
                """)
            let stream = SourceHarness.stream(schema, "t", mode: .incremental, cursor: "updated_at")
            let old = try Self.state(schema, ["v": 2, "mode": "incremental", "key_columns": ["updated_at", "n"],
                                              "key": ["2024-01-01 00:07:00+00", "7"], "complete": false])
            let result = try await SourceHarness.read([stream], states: [old])
            #expect(try Self.numbers(result) == [8, 9, 10])
            #expect(result.lastStateJSON["snapshot"] is String)

            let future = try Self.state(schema, ["v": 3, "mode": "incremental", "key_columns": ["updated_at", "n"],
                                                 "key": ["2024-01-01 00:07:00+00", "7"], "snapshot": "9000000000:9000000000:"])
            let fromFuture = try await SourceHarness.read([stream], states: [future])
            #expect(try Self.numbers(fromFuture).count == 10, "a snapshot this server never had: read again from the beginning")

            var malformed = SourceHarness.json(try #require(result.states.last))
            malformed["snapshot"] = "12:10:"
            let fromMalformed = try await SourceHarness.read([stream], states: [try Self.state(schema, malformed)])
            #expect(try Self.numbers(fromMalformed).count == 10, "a state with a malformed snapshot is not this source's: read from the beginning")
        }
    }
}
