import Foundation
import Logging
import PostgresClient
import SluiceSDK
import SluiceTestSupport
import SluiceWire
import Testing
@testable import PostgresPlugin

/// A staged upsert's rows are copied into a staging slot on a connection of their own while the
/// lane's connection runs the flush before (``Stager``); a failure there only sends them back to
/// the lane's own staging.
@Suite("Destination: upserts staged ahead on a second connection")
struct StagingAheadTests {
    private let items = DestinationHarness.items

    /// The staging slots (unlogged `_sluice_stage_*` tables) in `schema`, with their storage
    /// parameters and persistence.
    private func slots(_ schema: String, _ connection: PostgresConnection) async throws -> [[String?]] {
        try await DestinationHarness.rows(connection, """
            SELECT c.relname, array_to_string(c.reloptions, ','), c.relpersistence FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = '\(schema)' AND c.relname LIKE '\\_sluice\\_stage\\_%' ORDER BY c.relname
            """)
    }

    /// Writes 1…1000 (named `n<id>`), so that later upserts find their keys there and stage.
    private func fill(_ schema: String, _ overrides: [String: Any] = [:]) async throws {
        let config = DestinationHarness.config(schema: schema, overrides)
        _ = try await DestinationHarness.write(config, streams: [ConfiguredStream(schema: items)],
                                               [.schema(items)] + DestinationHarness.batches(items, 1...1_000))
    }

    /// Starts an upsert of `items` in flushes of 200 rows, its first rows `first` (renamed `u<id>`)
    /// followed by a state that is acknowledged.
    private func startUpsert(_ schema: String, first: ClosedRange<Int64>, _ overrides: [String: Any] = [:]) async throws -> PluginClient {
        let config = DestinationHarness.config(schema: schema, ["batch_size": 200].merging(overrides) { $1 })
        let client = try await DestinationHarness.launch()
        try await client.startWrite(WriteRequest(configJSON: config, catalog: ConfiguredCatalog(streams: [ConfiguredStream(schema: items)])))
        try await client.send(.schema(items))
        for message in try DestinationHarness.batches(items, first, size: 200, name: { "u\($0)" }) { try await client.send(message) }
        try await client.send(.state(State(id: 1, stream: nil, data: [])))
        #expect(try await DestinationHarness.nextAck(client)?.id == 1)
        return client
    }

    /// Sends `rest` and a state, then ends the Write; returns its stream's counts.
    private func finishUpsert(_ client: PluginClient, rest: ClosedRange<Int64>) async throws -> StreamSummary? {
        for message in try DestinationHarness.batches(items, rest, size: 200, name: { "u\($0)" }) { try await client.send(message) }
        try await client.send(.state(State(id: 2, stream: nil, data: [])))
        #expect(try await DestinationHarness.nextAck(client)?.id == 2)
        try await client.send(.writeEnd)
        var summary: Summary?
        while let message = try await client.nextCallMessage() {
            if case .summary(let last) = message {
                summary = last
                break
            }
        }
        await client.close()
        return summary?.streams.first
    }

    /// The upsert of 501…1500 over 1…1000 counted and landed exactly: 500 updated, 500 inserted,
    /// 1…500 as filled, 501…1500 renamed; no slot left.
    private func expectUpserted(_ counts: StreamSummary?, _ schema: String, _ connection: PostgresConnection) async throws {
        #expect(counts?.updated == 500 && counts?.inserted == 500, "\(String(describing: counts))")
        let table = "\(SQL.quoteIdentifier(schema)).items"
        #expect(try await DestinationHarness.rows(connection, """
            SELECT count(*), count(*) FILTER (WHERE name = 'u' || id), count(*) FILTER (WHERE name = 'n' || id) FROM \(table)
            """) == [["1500", "1000", "500"]])
        #expect(try await slots(schema, connection).isEmpty)
    }

    @Test("rows and counts exact, slots used while the Write runs and dropped at its end")
    func upsertsThroughSlots() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            try await fill(schema)
            // 501…1500: 500 keys there, 500 new, in flushes of 200 rows.
            let client = try await startUpsert(schema, first: 501...1_000)
            let used = try await slots(schema, connection)
            #expect(!used.isEmpty && used.allSatisfy { $0.last == "u" }, "\(used)")
            // Autovacuum stays off the scratch tables (toast.* options live on the TOAST table).
            #expect(used.allSatisfy { $0[1] == "autovacuum_enabled=false" }, "\(used)")
            let counts = try await finishUpsert(client, rest: 1_001...1_500)
            try await expectUpserted(counts, schema, connection)
        }
    }

    @Test("a stager whose backend is killed: the flushes stage on their own connection, rows exact, its slots dropped")
    func stagerKilled() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            try await fill(schema)
            let client = try await startUpsert(schema, first: 501...900)
            let name = try #require(try await slots(schema, connection).first?.first ?? nil)
            let pid = String(name.split(separator: "_").dropLast().last ?? "")
            #expect(try await connection.execute("SELECT pg_terminate_backend($1::int, 60000)", [.text(pid)]).rows == [["t"]])
            let counts = try await finishUpsert(client, rest: 901...1_500)
            try await expectUpserted(counts, schema, connection)
        }
    }

    @Test("slots a killed Write left are dropped by the next stager; a live backend's, and logged tables, are kept")
    func leftoversDropped() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            try await fill(schema)
            let live = try #require(try await connection.execute("SELECT pg_backend_pid()").rows.first?.first ?? nil)
            let dead = "0" // no process has pid 0
            let quoted = SQL.quoteIdentifier(schema)
            _ = try await connection.executeScript("""
                CREATE UNLOGGED TABLE \(quoted)._sluice_stage_\(dead)_1 (id bigint);
                CREATE UNLOGGED TABLE \(quoted)._sluice_stage_\(live)_1 (id bigint);
                CREATE TABLE \(quoted)._sluice_stage_\(dead)_2 (id bigint)
                """)
            let client = try await startUpsert(schema, first: 501...1_000)
            _ = try await finishUpsert(client, rest: 1_001...1_100)
            let kept = try await slots(schema, connection).map { $0.compactMap { $0 }.joined(separator: " ") }
            #expect(Set(kept) == ["_sluice_stage_\(dead)_2 p", "_sluice_stage_\(live)_1 u"])
            // A source reading the schema leaves slots out, as it leaves out `_sluice_state`.
            let discovered = try await SourceHarness.discover(["schemas": [schema]]).streams.map(\.schema.stream.name)
            #expect(Set(discovered) == ["items", "_sluice_stage_\(dead)_2"], "\(discovered)")
        }
    }

    /// A lane transaction under REPEATABLE READ takes its snapshot at its first statement, so a
    /// MERGE would not see a slot committed after it: its rows would be lost. Such a Write stages
    /// on the lane's own connection.
    @Test("lane transactions that do not read committed rows at each statement: no stager, rows exact")
    func repeatableReadStagesOnItsOwn() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            // In the conninfo's quotes, `\\` is one backslash, which keeps the space in the value.
            let options = ["connection_string": #"options='-c default_transaction_isolation=repeatable\\ read'"#]
            try await fill(schema, options)
            let client = try await startUpsert(schema, first: 501...1_000, options)
            #expect(try await slots(schema, connection).isEmpty)
            let counts = try await finishUpsert(client, rest: 1_001...1_500)
            try await expectUpserted(counts, schema, connection)
        }
    }

    @Test("two streams on two of three connections share the stager: both exact, slots gone")
    func twoStreams() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let things = DestinationHarness.schema("things", items.columns, primaryKey: ["id"])
            let streams = [ConfiguredStream(schema: items), ConfiguredStream(schema: things)]
            let config = DestinationHarness.config(schema: schema, ["batch_size": 200, "max_connections": 3])
            _ = try await DestinationHarness.write(config, streams: streams, [.schema(items), .schema(things)]
                                                   + DestinationHarness.batches(items, 1...1_000) + DestinationHarness.batches(things, 1...1_000))
            let client = try await DestinationHarness.launch()
            try await client.startWrite(WriteRequest(configJSON: config, catalog: ConfiguredCatalog(streams: streams)))
            try await client.send(.schema(items))
            try await client.send(.schema(things))
            func send(_ ids: ClosedRange<Int64>) async throws {
                for (one, other) in zip(try DestinationHarness.batches(items, ids, size: 200, name: { "u\($0)" }),
                                        try DestinationHarness.batches(things, ids, size: 200, name: { "u\($0)" })) {
                    try await client.send(one)
                    try await client.send(other)
                }
            }
            try await send(501...1_000)
            try await client.send(.state(State(id: 1, stream: nil, data: [])))
            #expect(try await DestinationHarness.nextAck(client)?.id == 1)
            #expect(try await slots(schema, connection).count >= 2)
            try await send(1_001...1_500)
            try await client.send(.state(State(id: 2, stream: nil, data: [])))
            #expect(try await DestinationHarness.nextAck(client)?.id == 2)
            try await client.send(.writeEnd)
            while let message = try await client.nextCallMessage() { if case .summary = message { break } }
            await client.close()
            for table in ["items", "things"] {
                #expect(try await DestinationHarness.rows(connection, """
                    SELECT count(*), count(*) FILTER (WHERE name = 'u' || id), count(*) FILTER (WHERE name = 'n' || id)
                    FROM \(SQL.quoteIdentifier(schema)).\(table)
                    """) == [["1500", "1000", "500"]], "\(table)")
            }
            #expect(try await slots(schema, connection).isEmpty)
        }
    }

    /// A role that may write the table but create nothing, in its schema or its database: the
    /// stager cannot make a slot, and each flush stages on its own connection. (The Write's
    /// schema statement runs only when the schema is missing: `CREATE SCHEMA IF NOT EXISTS`
    /// asks for CREATE on the database even when it exists.)
    @Test("a role that can only write the table: the upsert stages on its own connection, rows exact")
    func roleWithoutCreate() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            try await fill(schema)
            let role = "sluice_nocreate_\(Int.random(in: 100_000...999_999))", password = "nocreate-pw"
            let quoted = SQL.quoteIdentifier(schema)
            _ = try await connection.executeScript("""
                CREATE ROLE \(role) LOGIN PASSWORD '\(password)';
                GRANT USAGE ON SCHEMA \(quoted) TO \(role);
                GRANT SELECT, INSERT, UPDATE ON \(quoted).items TO \(role)
                """)
            do {
                let client = try await startUpsert(schema, first: 501...1_000, ["user": role, "password": password])
                #expect(try await slots(schema, connection).isEmpty)
                let counts = try await finishUpsert(client, rest: 1_001...1_500)
                try await expectUpserted(counts, schema, connection)
            } catch {
                _ = try? await connection.executeScript("DROP OWNED BY \(role); DROP ROLE \(role)")
                throw error
            }
            _ = try await connection.executeScript("DROP OWNED BY \(role); DROP ROLE \(role)")
        }
    }

    @Test("more streams than a connection to spare: no stager")
    func noConnectionToSpare() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            try await fill(schema)
            let client = try await startUpsert(schema, first: 501...1_000, ["max_connections": 1])
            #expect(try await slots(schema, connection).isEmpty)
            let counts = try await finishUpsert(client, rest: 1_001...1_500)
            try await expectUpserted(counts, schema, connection)
        }
    }
}

/// The ``Stager`` itself, on a connection of the tests.
@Suite("Destination: staging slots")
struct StagingSlotTests {
    @Test("a slot is filled again only once released, and then holds only its new rows; past the held bytes, nothing is staged")
    func slotsReusedAndBounded() async throws {
        try await DestinationHarness.withSchema { schema, admin in
            _ = try await admin.execute("CREATE SCHEMA \(SQL.quoteIdentifier(schema))")
            let first = try StagedUpsertTests.flush((1...300).map { ($0, "a\($0)") }, schema: schema, merges: true)
            let second = try StagedUpsertTests.flush((301...400).map { ($0, "b\($0)") }, schema: schema, merges: true)
            guard case .staging(let chunks) = first.route, case .staging(let more) = second.route else {
                Issue.record("the flushes are not staged")
                return
            }
            let size = chunks.reduce(0) { $0 + $1.count }
            let stager = Stager(logger: Logger(label: "tests"), maxHeldBytes: size + size / 2) { try await TestDatabase.connect() }
            let filled = try #require(await stager.stage(first.plan, chunks: chunks)?.ready())
            // Held: a second flush would pass the maximum.
            #expect(await stager.stage(second.plan, chunks: chunks) == nil)
            stager.release([filled])
            let again = try #require(await stager.stage(second.plan, chunks: more)?.ready())
            #expect(again == filled)
            #expect(try await DestinationHarness.rows(admin, "SELECT count(*), min(id), max(id) FROM \(again.qualified)") == [["100", "301", "400"]])
            await stager.close()
            #expect(try await DestinationHarness.rows(admin, "SELECT to_regclass('\(again.qualified)') IS NULL") == [["t"]])
        }
    }
}
