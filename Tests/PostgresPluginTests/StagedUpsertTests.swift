import Foundation
import PostgresClient
import SluiceTestSupport
import SluiceWire
import Testing
@testable import PostgresPlugin

/// Staged rows are upserted with MERGE (PostgreSQL 15 and later, its inserts counted by a
/// temporary sequence) or `INSERT … ON CONFLICT`; both give the same rows and counts.
@Suite("Destination: staged upsert")
struct StagedUpsertTests {
    private static func result(_ tag: String, _ rows: [[String?]] = []) -> QueryResult {
        QueryResult(columns: [], rows: rows, affectedRows: 0, commandTag: tag)
    }

    @Test("MERGE's counts: inserts from the counter, updates the rest of its command tag")
    func mergeCounts() {
        let merge = StagedUpsert(sql: "", merges: true)
        let guarded = Self.result("DO"), reset = Self.result("SELECT 1", [["1"]])
        #expect(merge.counts([guarded, reset, Self.result("MERGE 10"), Self.result("SELECT 1", [["3", "t"]])])! == (3, 7))
        // Without the guard (a database without PL/pgSQL).
        #expect(merge.counts([reset, Self.result("MERGE 10"), Self.result("SELECT 1", [["3", "t"]])])! == (3, 7))
        // The counter untouched: nothing inserted (setval(…, 1, false) leaves last_value 1).
        #expect(merge.counts([guarded, reset, Self.result("MERGE 10"), Self.result("SELECT 1", [["1", "f"]]), Self.result("TRUNCATE TABLE")])! == (0, 10))
        #expect(merge.counts([guarded, reset, Self.result("UPDATE 10"), Self.result("SELECT 1", [["1", "f"]])]) == nil)
        #expect(merge.counts([guarded, reset, Self.result("MERGE 2"), Self.result("SELECT 1", [["3", "t"]])]) == nil)
        #expect(merge.counts([guarded, reset, Self.result("MERGE 2")]) == nil)
        let onConflict = StagedUpsert(sql: "", merges: false)
        #expect(onConflict.counts([Self.result("SELECT 1", [["4", "5"]])])! == (4, 5))
        #expect(onConflict.counts([Self.result("SELECT 1", [["4", nil]])]) == nil)
    }

    /// An upsert flush of `rows` (id, name) by `id` into `schema.t`, staged.
    static func flush(_ rows: [(Int64, String)], schema: String, merges: Bool) throws -> Flush {
        let stream = StreamID(name: "t")
        let columns = [Column(name: "id", type: LogicalType(.int64)), Column(name: "name", type: LogicalType(.string))]
        var plan = WritePlan(stream: stream, schema: StreamSchema(stream: stream, columns: columns, primaryKey: ["id"]),
                             mode: .upsert, key: ["id"], schemaName: schema, table: "t", writeTable: "t",
                             columns: [WriteColumn(name: "id", type: columns[0].type, targetType: "bigint", encodedType: "bigint"),
                                       WriteColumn(name: "name", type: columns[1].type, targetType: "text", encodedType: "text")],
                             hasSyncedAt: false, raw: false, hasSource: false, staging: "stage_upsert")
        plan.merges = merges
        plan.guardsStatistics = true
        var names = ColumnVector(offsets: [0])
        for (_, name) in rows {
            names.data += Array(name.utf8)
            names.offsets.append(UInt32(names.data.count))
        }
        let buffer = StreamBuffer(plan: plan)
        _ = buffer.append(RecordBatch(stream: stream, rowCount: rows.count, columns: [ColumnVector(int64s: rows.map(\.0)), names]))
        let settings = try PluginConfig.parse(#"{"host": "localhost", "user": "tests"}"#, environment: [:]).destination
        return try Flush.encode(buffer, settings: settings, syncedAtMicros: 0, sourceName: "tests")
    }

    @Test("rows whose key is there are updated, the others inserted, the last of a repeated key wins, counts exact", arguments: [true, false])
    func upsertsAndCounts(merges: Bool) async throws {
        try await DestinationHarness.withSchema { schema, admin in
            let table = "\(SQL.quoteIdentifier(schema)).t"
            _ = try await admin.executeScript("""
                CREATE SCHEMA \(SQL.quoteIdentifier(schema)); CREATE TABLE \(table) (id bigint PRIMARY KEY, name text);
                INSERT INTO \(table) SELECT g, 'old' || g FROM generate_series(1, 1500) g
                """)
            let connection = try await TestDatabase.connect()
            defer { connection.close() }
            let lane = FlushLane(connection: connection, cancellation: FlushCancellation())
            // Keys rising: taken as they are. 1001…1500 are there, 1501…2500 are not.
            let rising = try Self.flush((1001...2500).map { ($0, "new\($0)") }, schema: schema, merges: merges)
            #expect(rising.stagedUpsert?.merges == merges)
            let first = try await lane.start(rising, buffer: StreamBuffer(plan: rising.plan), bytes: 0, commit: true, on: connection).value
            #expect(first.inserted == 1000 && first.updated == 500)
            // A key repeated in one flush: its last row wins; 2501 is new, 1…1200 are there.
            let repeated = try Self.flush([(7, "first7")] + (1...1200).map { ($0, "again\($0)") } + [(2501, "again2501")],
                                          schema: schema, merges: merges)
            let second = try await lane.start(repeated, buffer: StreamBuffer(plan: repeated.plan), bytes: 0, commit: true, on: connection).value
            #expect(second.inserted == 1 && second.updated == 1200)
            let check = try await admin.execute("""
                SELECT count(*), count(*) FILTER (WHERE name = 'again' || id), count(*) FILTER (WHERE name = 'new' || id),
                       count(*) FILTER (WHERE name = 'old' || id) FROM \(table)
                """)
            #expect(check.rows == [["2501", "1201", "1300", "0"]])
        }
    }

    /// A VACUUM that found only dead rows (those of a failed Write) leaves statistics saying the
    /// table is empty though it has pages: MERGE's plan would then take the table, however full
    /// this transaction makes it, for one row. The upsert analyzes such a table first.
    @Test("MERGE into a table whose statistics say empty but which has pages analyzes it first")
    func emptyStatisticsAreRefreshed() async throws {
        try await DestinationHarness.withSchema { schema, admin in
            let table = "\(SQL.quoteIdentifier(schema)).t"
            _ = try await admin.executeScript("""
                CREATE SCHEMA \(SQL.quoteIdentifier(schema));
                CREATE TABLE \(table) (id bigint PRIMARY KEY, name text) WITH (autovacuum_enabled = false);
                INSERT INTO \(table) SELECT g, 'dead' || g FROM generate_series(1, 5000) g; DELETE FROM \(table)
                """)
            _ = try await admin.execute("VACUUM (TRUNCATE false) \(table)")
            let statistics = "SELECT reltuples > 0, relpages > 0 FROM pg_class WHERE oid = '\(table)'::regclass"
            #expect(try await admin.execute(statistics).rows == [["f", "t"]])
            let connection = try await TestDatabase.connect()
            defer { connection.close() }
            let lane = FlushLane(connection: connection, cancellation: FlushCancellation())
            // The first flush finds the table empty indeed; the second finds the first's rows.
            for ids in [Int64(1)...1500, 1501...3000] {
                let flush = try Self.flush(ids.map { ($0, "new\($0)") }, schema: schema, merges: true)
                let result = try await lane.start(flush, buffer: StreamBuffer(plan: flush.plan), bytes: 0, commit: true, on: connection).value
                #expect(result.inserted == 1500)
            }
            #expect(try await admin.execute("SELECT reltuples FROM pg_class WHERE oid = '\(table)'::regclass").rows == [["1500"]])
        }
    }

    @Test("a database without PL/pgSQL upserts without the statistics guard")
    func withoutPLpgSQL() async throws {
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        let database = "sluice_noplpgsql_\(UInt32.random(in: 0...UInt32.max))"
        _ = try await connection.execute("CREATE DATABASE \(database)")
        do {
            var config = TestDatabase.config()
            config.database = database
            let owner = try await PostgresConnection.connect(config)
            _ = try await owner.execute("DROP EXTENSION plpgsql")
            owner.close()
            let items = DestinationHarness.items
            let write = DestinationHarness.config(schema: "public", ["database": database, "batch_size": 100])
            _ = try await DestinationHarness.write(write, streams: [ConfiguredStream(schema: items)], [.schema(items), try DestinationHarness.items(1...300)])
            // Every key there: staged and merged.
            let again = try await DestinationHarness.write(write, streams: [ConfiguredStream(schema: items)], [.schema(items), try DestinationHarness.items(201...400)])
            #expect(again.stream("items")?.inserted == 100)
            #expect(again.stream("items")?.updated == 100)
        } catch {
            _ = try? await connection.execute("DROP DATABASE IF EXISTS \(database) WITH (FORCE)")
            throw error
        }
        _ = try await connection.execute("DROP DATABASE IF EXISTS \(database) WITH (FORCE)")
    }

    @Test("a key another session inserts while the upsert waits: MERGE fails with a unique violation, INSERT … ON CONFLICT updates the row",
          arguments: [true, false])
    func keyInsertedMeanwhile(merges: Bool) async throws {
        try await DestinationHarness.withSchema { schema, admin in
            let table = "\(SQL.quoteIdentifier(schema)).t"
            _ = try await admin.executeScript("CREATE SCHEMA \(SQL.quoteIdentifier(schema)); CREATE TABLE \(table) (id bigint PRIMARY KEY, name text)")
            let application = "sluice-upsert-test-\(UUID().uuidString.prefix(8))"
            let connection = try await PostgresConnection.connect(TestDatabase.config { $0.applicationName = application })
            defer { connection.close() }
            let other = try await TestDatabase.connect()
            defer { other.close() }
            _ = try await other.executeScript("BEGIN; INSERT INTO \(table) VALUES (1500, 'theirs')")
            let flush = try Self.flush((1...1500).map { ($0, "ours\($0)") }, schema: schema, merges: merges)
            let lane = FlushLane(connection: connection, cancellation: FlushCancellation())
            let task = lane.start(flush, buffer: StreamBuffer(plan: flush.plan), bytes: 0, commit: true, on: connection)
            // The upsert's insert of 1500 waits for the other transaction, which then commits.
            try await DestinationHarness.waitForLockWait(admin, application: application)
            _ = try await other.execute("COMMIT")
            if merges {
                let failure = await #expect(throws: FlushFailure.self) { try await task.value }
                #expect((failure?.error as? PostgresError)?.sqlState == "23505")
                let rows = try await admin.execute("SELECT id, name FROM \(table)")
                #expect(rows.rows == [["1500", "theirs"]])
            } else {
                let result = try await task.value
                #expect(result.inserted == 1499 && result.updated == 1)
                let rows = try await admin.execute("SELECT count(*), min(name) FILTER (WHERE id = 1500) FROM \(table)")
                #expect(rows.rows == [["1500", "ours1500"]])
            }
        }
    }
}
