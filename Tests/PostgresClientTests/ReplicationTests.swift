import PostgresClient
import SluiceTestSupport
import Testing

/// Logical replication through libpq against the test server (which runs with
/// `wal_level=logical`): slot with exported snapshot, CopyBoth streaming, status updates.
@Suite("Logical replication")
struct ReplicationTests {
    /// Reads from `connection` until `stop` says enough or 60 s pass; returns the pgoutput
    /// messages and keepalives seen.
    static func read(_ connection: PostgresConnection, until stop: ([PgOutputMessage]) -> Bool) async throws -> [PgOutputMessage] {
        var decoded: [PgOutputMessage] = []
        let deadline = ContinuousClock.now + .seconds(60)
        while !stop(decoded) {
            guard ContinuousClock.now < deadline else {
                Issue.record("no end after 60 s; got \(decoded)")
                return decoded
            }
            let batch = try await connection.receiveReplication(waitMilliseconds: 200)
            for case .data(let data) in batch.messages { decoded.append(try PgOutputMessage(decoding: data.payload)) }
            #expect(!batch.ended)
        }
        return decoded
    }

    /// Drops `slot` (waiting for its walsender to go) and `publication`.
    static func dropSlot(_ slot: String, publication: String) async throws {
        let admin = try await TestDatabase.connect()
        defer { admin.close() }
        _ = try await admin.execute("""
            SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL
            """, [.text(slot)])
        for _ in 0..<600 {
            let dropped = try await admin.execute("""
                SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active
                """, [.text(slot)])
            if dropped.rows.count == 1 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        _ = try await admin.executeScript("DROP PUBLICATION IF EXISTS \(SQL.quoteIdentifier(publication))")
    }

    @Test("a slot's exported snapshot, then streamed changes, then a confirmed flush position")
    func snapshotStreamConfirm() async throws {
        let table = randomToken("repl_t")
        let slot = randomToken("repl_s")
        let publication = randomToken("repl p")
        let admin = try await TestDatabase.connect()
        defer { admin.close() }
        _ = try await admin.executeScript("""
            CREATE TABLE \(SQL.quoteIdentifier(table)) (id int PRIMARY KEY, note text, big text);
            INSERT INTO \(SQL.quoteIdentifier(table)) VALUES (1, 'before', NULL);
            CREATE PUBLICATION \(SQL.quoteIdentifier(publication)) FOR TABLE \(SQL.quoteIdentifier(table));
            """)
        let replication = try await PostgresConnection.connect(TestDatabase.config { $0.sessionSettings = ["statement_timeout": "0"] }.forLogicalReplication)
        defer { replication.close() }
        do {
            let system = try await replication.identifySystem()
            #expect(system.timeline >= 1)
            #expect(system.walPosition > .zero)

            let created = try await replication.createLogicalSlot(slot, exportSnapshot: true)
            #expect(created.name == slot)
            #expect(created.consistentPoint >= system.walPosition)
            let snapshot = try #require(created.snapshotName)

            // A change after the slot exists is streamed, not in the snapshot.
            // (Each its own transaction: a multi-statement script is one.)
            for statement in ["INSERT INTO \(SQL.quoteIdentifier(table)) VALUES (2, 'after', repeat(md5(random()::text), 10000))",
                              "UPDATE \(SQL.quoteIdentifier(table)) SET note = 'changed' WHERE id = 2",
                              "DELETE FROM \(SQL.quoteIdentifier(table)) WHERE id = 1"] {
                _ = try await admin.executeScript(statement)
            }
            let reader = try await TestDatabase.connect()
            defer { reader.close() }
            _ = try await reader.executeScript("BEGIN ISOLATION LEVEL REPEATABLE READ; SET TRANSACTION SNAPSHOT \(try await reader.quoteLiteral(snapshot))")
            #expect(try await reader.execute("SELECT id FROM \(SQL.quoteIdentifier(table)) ORDER BY id").rows == [["1"]])
            _ = try await reader.executeScript("COMMIT")
            _ = try await admin.executeScript("TRUNCATE \(SQL.quoteIdentifier(table))")

            try await replication.startLogicalReplication(slot: slot, start: .zero, options: [
                ("proto_version", "1"), ("publication_names", SQL.quoteIdentifier(publication)),
            ])
            let messages = try await Self.read(replication) { messages in
                messages.filter { if case .commit = $0 { return true } else { return false } }.count == 4
            }
            let changes = messages.compactMap { message -> String? in
                switch message {
                case .insert(_, let new): return "I \(new.count) \(new[0])"
                case .update(_, let old, let new): return "U \(old == nil) \(new[1]) \(new[2])"
                case .delete(_, let old): return "D \(old)"
                case .truncate(let truncate): return "T \(truncate.relations.count)"
                default: return nil
                }
            }
            #expect(changes == ["I 3 text([50])", "U true text([99, 104, 97, 110, 103, 101, 100]) unchanged",
                                "D key([PostgresClient.TupleValue.text([49]), PostgresClient.TupleValue.null, PostgresClient.TupleValue.null])",
                                "T 1"])
            guard case .relation(let relation) = messages.first(where: { if case .relation = $0 { true } else { false } }) else {
                Issue.record("no Relation message")
                return
            }
            #expect(relation.name == table)
            #expect(relation.columns.map(\.name) == ["id", "note", "big"])
            #expect(relation.columns.map(\.isKey) == [true, false, false])

            // Confirm the second transaction only: the slot moves exactly there.
            let commits = messages.compactMap { if case .commit(let commit) = $0 { commit } else { nil } }
            try await replication.sendStandbyStatus(StandbyStatus(write: commits[1].endLSN, flush: commits[1].endLSN, apply: commits[1].endLSN))
            var confirmed: String?
            for _ in 0..<600 {
                confirmed = try await admin.execute("SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1", [.text(slot)]).rows.first?.first ?? nil
                if confirmed == commits[1].endLSN.description { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(confirmed == commits[1].endLSN.description)
            try await replication.endReplication()
            #expect(try await replication.executeScript("SELECT 1").rows == [["1"]])
        } catch {
            try await Self.dropSlot(slot, publication: publication)
            throw error
        }
        replication.close()
        try await Self.dropSlot(slot, publication: publication)
        _ = try await admin.executeScript("DROP TABLE \(SQL.quoteIdentifier(table))")
    }

    @Test("a keepalive asking for a reply arrives within wal_sender_timeout; cancelling a read ends it promptly")
    func keepaliveAndCancel() async throws {
        let slot = randomToken("repl_s")
        let publication = randomToken("repl_p")
        let admin = try await TestDatabase.connect()
        defer { admin.close() }
        _ = try await admin.executeScript("CREATE PUBLICATION \(publication)")
        let replication = try await PostgresConnection.connect(TestDatabase.config { $0.options["options"] = "-c wal_sender_timeout=2s" }.forLogicalReplication)
        defer { replication.close() }
        do {
            _ = try await replication.createLogicalSlot(slot, exportSnapshot: false)
            try await replication.startLogicalReplication(slot: slot, start: .zero, options: [
                ("proto_version", "1"), ("publication_names", publication),
            ])
            var asked = false
            let deadline = ContinuousClock.now + .seconds(60)
            while !asked && ContinuousClock.now < deadline {
                for case .keepalive(let keepalive) in try await replication.receiveReplication(waitMilliseconds: 200).messages where keepalive.replyRequested {
                    asked = true
                    try await replication.sendStandbyStatus(StandbyStatus(write: keepalive.walEnd, flush: .zero, apply: .zero))
                }
            }
            #expect(asked)

            // A read loop in a task that is cancelled ends with `cancelled`, not a hang.
            let loop = Task {
                while true { _ = try await replication.receiveReplication(waitMilliseconds: 60_000) }
            }
            try await Task.sleep(for: .milliseconds(300))
            loop.cancel()
            let outcome = await loop.result
            guard case .failure(let error as PostgresError) = outcome else {
                Issue.record("expected a PostgresError, got \(outcome)")
                throw CancellationError()
            }
            #expect(error.kind == .cancelled || error.kind == .connectionLost)
        } catch {
            try await Self.dropSlot(slot, publication: publication)
            throw error
        }
        replication.close()
        try await Self.dropSlot(slot, publication: publication)
    }
}
