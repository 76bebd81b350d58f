import Foundation
import PostgresClient
import SluiceTestSupport
import SluiceWire
import Testing
@testable import PostgresPlugin

/// A flush is started behind the one in flight (chained on the connection) only once that
/// one's COPY call has started there, so the connection's queue runs their COPYs in order.
@Suite("Destination: chained flushes")
struct FlushChainTests {
    /// An append flush of `ids` into `schema.t` (id bigint, name text, `tag` followed by the
    /// id); `fresh`: an upsert by `id` into a table the Write created (COPY straight in under a
    /// savepoint).
    private static func flush(_ ids: ClosedRange<Int64>, schema: String, firstRow: Int, fresh: Bool = false, tag: String = "n") throws -> Flush {
        let stream = StreamID(name: "t")
        let columns = [Column(name: "id", type: LogicalType(.int64)), Column(name: "name", type: LogicalType(.string))]
        var plan = WritePlan(stream: stream, schema: StreamSchema(stream: stream, columns: columns, primaryKey: fresh ? ["id"] : []),
                             mode: fresh ? .upsert : .append, key: fresh ? ["id"] : [], schemaName: schema, table: "t", writeTable: "t",
                             columns: [WriteColumn(name: "id", type: columns[0].type, targetType: "bigint", encodedType: "bigint"),
                                       WriteColumn(name: "name", type: columns[1].type, targetType: "text", encodedType: "text")],
                             hasSyncedAt: false, raw: false, hasSource: false, staging: "stage")
        plan.freshTable = fresh
        var names = ColumnVector(offsets: [0])
        for id in ids {
            names.data += Array("\(tag)\(id)".utf8)
            names.offsets.append(UInt32(names.data.count))
        }
        let buffer = StreamBuffer(plan: plan)
        buffer.flushedRows = firstRow
        _ = buffer.append(RecordBatch(stream: stream, rowCount: ids.count, columns: [ColumnVector(int64s: Array(ids)), names]))
        let settings = try PluginConfig.parse(#"{"host": "localhost", "user": "tests"}"#, environment: [:]).destination
        return try Flush.encode(buffer, settings: settings, syncedAtMicros: 0, sourceName: "tests")
    }

    /// A lane on a connection of its own (named `application`, so `holder` can see it wait), and
    /// `schema.t` (id bigint, name text; keyed by id with `primaryKey`).
    private struct Fixture {
        let schema: String, table: String, application: String
        let admin: PostgresConnection, connection: PostgresConnection, holder: PostgresConnection
        let lane: FlushLane
    }

    private static func withLane(primaryKey: Bool, _ body: (Fixture) async throws -> Void) async throws {
        try await DestinationHarness.withSchema { schema, admin in
            let table = "\(SQL.quoteIdentifier(schema)).t"
            _ = try await admin.executeScript("CREATE SCHEMA \(SQL.quoteIdentifier(schema)); CREATE TABLE \(table) (id bigint\(primaryKey ? " PRIMARY KEY" : ""), name text)")
            let application = "sluice-chain-test-\(UUID().uuidString.prefix(8))"
            let connection = try await PostgresConnection.connect(TestDatabase.config { $0.applicationName = application })
            defer { connection.close() }
            let holder = try await TestDatabase.connect()
            defer { holder.close() }
            try await body(Fixture(schema: schema, table: table, application: application, admin: admin, connection: connection, holder: holder,
                                   lane: FlushLane(connection: connection, cancellation: FlushCancellation())))
        }
    }

    @Test("a flush is chained only once the COPY of the one in flight has started, and their rows land in order")
    func chainsAfterTheCopyStarted() async throws {
        try await Self.withLane(primaryKey: false) { fixture in
            let (schema, table, application, admin, connection, holder, lane) = (fixture.schema, fixture.table, fixture.application, fixture.admin,
                                                                              fixture.connection, fixture.holder, fixture.lane)
            let first = try Self.flush(1...3000, schema: schema, firstRow: 0)
            let second = try Self.flush(3001...4500, schema: schema, firstRow: 3000)

            // The connection is busy with a call waiting for a lock: the first flush's calls
            // (BEGIN, then its COPY) wait behind it, so the second must not be chained yet.
            _ = try await holder.executeScript("BEGIN; SELECT pg_advisory_lock(4242)")
            let busy = Task { try await connection.execute("SELECT pg_advisory_lock(4242), pg_advisory_unlock(4242)") }
            try await DestinationHarness.waitForLockWait(holder, application: application)
            _ = lane.start(first, buffer: StreamBuffer(plan: first.plan), bytes: 0, commit: false, on: connection)
            try await Task.sleep(for: .milliseconds(200))
            #expect(!lane.canChain(second, commit: false))

            // Now its COPY waits for a lock on the table: started, so the second is chained.
            _ = try await holder.executeScript("LOCK TABLE \(table) IN SHARE MODE; SELECT pg_advisory_unlock(4242)")
            _ = try await busy.value
            try await DestinationHarness.waitForLockWait(holder, application: application)
            #expect(lane.canChain(second, commit: false))
            lane.chain(second, buffer: StreamBuffer(plan: second.plan), bytes: 0, on: connection)
            _ = try await holder.execute("COMMIT")
            let firstResult = try await #require(lane.inFlight).task.value
            let secondResult = try await #require(lane.queued).task.value
            #expect(firstResult.inserted == 3000 && secondResult.inserted == 1500)
            _ = try await connection.execute("COMMIT")
            let order = try await admin.execute("SELECT count(*), bool_and(rising) FROM (SELECT id > lag(id, 1, 0) OVER (ORDER BY ctid) AS rising FROM \(table)) r")
            #expect(order.rows == [["4500", "t"]])
        }
    }

    @Test("a flush chained behind a fresh table's COPY that falls back to an upsert runs after all of the fallback: the newer value of a key wins")
    func behindAFreshTablesFallback() async throws {
        try await Self.withLane(primaryKey: true) { fixture in
            let (schema, table, application, admin, connection, holder, lane) = (fixture.schema, fixture.table, fixture.application, fixture.admin,
                                                                              fixture.connection, fixture.holder, fixture.lane)
            // Key 1 is there, so the first flush's COPY fails and its rows are upserted; the
            // second carries newer values of keys 2001–3000.
            _ = try await admin.execute("INSERT INTO \(table) VALUES (1, 'before')")
            let first = try Self.flush(1...3000, schema: schema, firstRow: 0, fresh: true)
            let second = try Self.flush(2001...4500, schema: schema, firstRow: 3000, fresh: true, tag: "second")
            let lockerApplication = "sluice-chain-locker-\(UUID().uuidString.prefix(8))"
            let locker = try await PostgresConnection.connect(TestDatabase.config { $0.applicationName = lockerApplication })
            defer { locker.close() }

            // The first's COPY waits behind a SHARE lock, and an ACCESS EXCLUSIVE request behind
            // it. Once the COPY fails, rolling back to its savepoint hands the table to that
            // request, so the fallback waits in the middle, after the rollback.
            _ = try await holder.executeScript("BEGIN; LOCK TABLE \(table) IN SHARE MODE")
            _ = lane.start(first, buffer: StreamBuffer(plan: first.plan), bytes: 0, commit: false, on: connection)
            try await DestinationHarness.waitForLockWait(holder, application: application)
            let exclusive = Task { try await locker.executeScript("BEGIN; LOCK TABLE \(table) IN ACCESS EXCLUSIVE MODE") }
            try await DestinationHarness.waitForLockWait(holder, application: lockerApplication)
            _ = try await holder.execute("COMMIT")
            _ = try await exclusive.value
            try await DestinationHarness.waitForLockWait(holder, application: application, queryContaining: "CREATE TEMPORARY TABLE")

            // Chained now, its call waits on the connection behind the fallback's.
            #expect(lane.canChain(second, commit: false))
            lane.chain(second, buffer: StreamBuffer(plan: second.plan), bytes: 0, on: connection)
            try await Task.sleep(for: .milliseconds(300))
            _ = try await locker.execute("COMMIT")
            let firstResult = try await #require(lane.inFlight).task.value
            #expect(firstResult.leftFreshRoute && firstResult.inserted == 2999 && firstResult.updated == 1)
            let secondResult = try await #require(lane.queued).task.value
            #expect(secondResult.leftFreshRoute && secondResult.inserted == 1500 && secondResult.updated == 1000)
            _ = try await connection.execute("COMMIT")
            let rows = try await admin.execute("SELECT count(*), count(*) FILTER (WHERE name = 'second' || id), count(*) FILTER (WHERE name = 'n' || id) FROM \(table)")
            #expect(rows.rows == [["4500", "2500", "2000"]])
        }
    }
}
