import Foundation
import PostgresClient
import SluiceTestSupport
import SluiceSDK
import SluiceWire
import Testing

/// Sync mode `cdc` through the real postgres-plugin binary: snapshot, then streamed changes,
/// applied here to a model of the destination and compared with a full refresh of the source.
@Suite("postgres-plugin source: change data capture")
struct SourceCDCTests {
    /// A destination in memory: rows by key, applying upserts (keeping unchanged values),
    /// deletes and truncates as the protocol says.
    struct Model {
        var rows: [[Value]: [Value]] = [:]
        var unchangedSeen = 0
        var operationsSeen: Set<UInt8> = []

        mutating func apply(_ result: SourceReadResult, keyColumns: [Int]) {
            for batch in result.batches {
                guard let schema = result.schemas.last(where: { $0.stream == batch.stream }) else { continue }
                for (index, row) in batch.rows(schema: schema).enumerated() {
                    let operation = batch.operations.isEmpty ? RowOperation.upsert.rawValue : batch.operations[index]
                    operationsSeen.insert(operation)
                    let key = keyColumns.map { row[$0] }
                    switch operation {
                    case RowOperation.truncate.rawValue: rows = [:]
                    case RowOperation.delete.rawValue: rows[key] = nil
                    default:
                        var merged = row
                        for column in row.indices where batch.columns[column].isUnchanged(index) {
                            unchangedSeen += 1
                            guard let old = rows[key] else {
                                Issue.record("an unchanged value for a key the destination does not hold: \(key)")
                                continue
                            }
                            merged[column] = old[column]
                        }
                        rows[key] = merged
                    }
                }
            }
        }
    }

    static func cdcStream(_ schema: String, _ table: String) -> ConfiguredStream {
        SourceHarness.stream(schema, table, mode: .cdc)
    }

    /// The source table's rows as a full refresh reads them, by key.
    static func sourceRows(_ schema: String, _ table: String, keyColumns: [Int]) async throws -> [[Value]: [Value]] {
        let result = try await SourceHarness.read([SourceHarness.stream(schema, table)])
        var rows: [[Value]: [Value]] = [:]
        for row in try result.rows(table) { rows[keyColumns.map { row[$0] }] = row }
        return rows
    }

    /// The slot's confirmed flush position.
    static func confirmed(_ slot: String, _ connection: PostgresConnection) async throws -> LSN? {
        let text = try await connection.execute("SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1", [.text(slot)]).rows.first?.first ?? nil
        return text.flatMap(LSN.init)
    }

    static func stateLSN(_ state: State) -> LSN? {
        (SourceHarness.json(state)["lsn"] as? String).flatMap(LSN.init)
    }

    /// Runs `body` with a slot and publication name for `schema`, then drops both (also when it throws).
    static func withSlot(_ schema: String, _ body: (String, String) async throws -> Void) async throws {
        let slot = "s_" + schema, publication = "p_" + schema
        do {
            try await body(slot, publication)
        } catch {
            await cleanUp(slot: slot, publication: publication)
            throw error
        }
        await cleanUp(slot: slot, publication: publication)
    }

    /// Drops the slot (once its walsender is gone) and the publication.
    static func cleanUp(slot: String, publication: String) async {
        guard let admin = try? await TestDatabase.connect() else { return }
        for _ in 0..<300 {
            let dropped = try? await admin.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active", [.text(slot)])
            let left = try? await admin.execute("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1", [.text(slot)])
            if dropped != nil, left?.rows.isEmpty == true { break }
            try? await Task.sleep(for: .milliseconds(100))
        }
        _ = try? await admin.executeScript("DROP PUBLICATION IF EXISTS \(SQL.quoteIdentifier(publication))")
        admin.close()
    }

    @Test("snapshot, concurrent and later inserts, updates, key changes, deletes, TOAST and TRUNCATE arrive; the slot never confirms past the acknowledged state")
    func snapshotThenStream() async throws {
        try await SourceHarness.withSchema { schema, connection in
            try await Self.withSlot(schema) { slot, publication in
            let table = SQL.quoteQualified(schema: schema, name: "t")
            _ = try await connection.executeScript("""
                CREATE TABLE \(table) (id int PRIMARY KEY, note text, n numeric(20,4), at timestamptz, tags int[], big text, money_ money, addr inet);
                INSERT INTO \(table) SELECT i, 'row ' || i, i * 1.5, '2024-01-01 00:00:00+00'::timestamptz + i * interval '1 hour',
                  ARRAY[i, i + 1], NULL, i, ('10.0.0.' || (i % 250))::inet FROM generate_series(1, 2000) i;
                """)
            let overrides: [String: Any] = ["cdc_slot": slot, "cdc_publication": publication]
            let keys = [0]
            var model = Model()

            // Changes while the first Read runs land in it or in a later one, never lost or doubled.
            let writer = Task {
                let writer = try await TestDatabase.connect()
                defer { writer.close() }
                for i in 1...50 {
                    _ = try await writer.executeScript("UPDATE \(table) SET note = 'concurrent \(i)' WHERE id = \(i)")
                    _ = try await writer.executeScript("INSERT INTO \(table) (id, note) VALUES (\(10_000 + i), 'new \(i)')")
                }
            }
            let first = try await SourceHarness.read([Self.cdcStream(schema, "t")], overrides: overrides)
            try await writer.value
            #expect(first.states.allSatisfy { $0.stream == nil }, "CDC states are global")
            #expect(!first.states.isEmpty)
            #expect(first.batches.first?.operations == [RowOperation.truncate.rawValue], "the snapshot opens with a TRUNCATE row")
            model.apply(first, keyColumns: keys)
            let firstState = try #require(first.states.last)
            let firstLSN = try #require(Self.stateLSN(firstState))
            if let confirmed = try await Self.confirmed(slot, connection) {
                #expect(confirmed <= firstLSN, "nothing was acknowledged: the slot must not confirm past the state")
            }

            // Later changes: TOAST kept when other columns change, a key change, deletes.
            _ = try await connection.executeScript("UPDATE \(table) SET big = (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 5000) g) WHERE id = 7")
            _ = try await connection.executeScript("UPDATE \(table) SET note = 'toast kept' WHERE id = 7")
            _ = try await connection.executeScript("UPDATE \(table) SET id = 20000 WHERE id = 8")
            _ = try await connection.executeScript("DELETE FROM \(table) WHERE id BETWEEN 100 AND 199")
            _ = try await connection.executeScript("UPDATE \(table) SET n = -n, money_ = money_ * -1, addr = '::1' WHERE id % 3 = 0")
            let second = try await SourceHarness.read([Self.cdcStream(schema, "t")], states: [firstState], overrides: overrides)
            #expect(second.batches.allSatisfy { $0.operations.first != RowOperation.truncate.rawValue }, "no new snapshot")
            model.apply(second, keyColumns: keys)
            #expect(model.unchangedSeen >= 1, "the TOASTed value of row 7 arrived as unchanged")
            #expect(model.operationsSeen.contains(RowOperation.delete.rawValue))
            let secondState = try #require(second.states.last)
            let secondLSN = try #require(Self.stateLSN(secondState))
            #expect(secondLSN > firstLSN)
            // Not acknowledged, the slot still holds everything from the incoming state on.
            let lag = try #require(second.summary?.streams.first?.lagBytes)
            #expect(lag >= secondLSN.rawValue - firstLSN.rawValue, "the Summary's lag covers the WAL streamed since the incoming state")
            let confirmedAfterSecond = try await Self.confirmed(slot, connection) ?? .zero
            #expect(confirmedAfterSecond >= firstLSN, "the incoming state is committed at the destination: confirmed")
            #expect(confirmedAfterSecond <= secondLSN)
            #expect(model.rows == (try await Self.sourceRows(schema, "t", keyColumns: keys)))

            // TRUNCATE, then rows after it; a Read whose state is acknowledged confirms it.
            _ = try await connection.executeScript("TRUNCATE \(table)")
            _ = try await connection.executeScript("INSERT INTO \(table) (id, note) VALUES (1, 'after truncate')")
            let client = try await SourceHarness.launch()
            defer { Task { await client.close() } }
            try await client.startRead(ReadRequest(configJSON: SourceHarness.config(overrides), catalog: ConfiguredCatalog(streams: [Self.cdcStream(schema, "t")]),
                                                   states: [secondState]))
            var third = SourceReadResult()
            while let message = try await client.nextCallMessage() {
                switch message {
                case .schema(let value): third.schemas.append(value)
                case .records(let batch): third.batches.append(batch)
                case .state(let state):
                    third.states.append(state)
                    try await client.send(.readAck(ReadAck(stateID: state.id)))
                case .summary(let summary): third.summary = summary
                default: break
                }
                if third.summary != nil { break }
            }
            model.apply(third, keyColumns: keys)
            #expect(model.operationsSeen.contains(RowOperation.truncate.rawValue))
            #expect(model.rows == (try await Self.sourceRows(schema, "t", keyColumns: keys)))
            #expect(model.rows.count == 1)
            let thirdState = try #require(third.states.last)
            let thirdLSN = try #require(Self.stateLSN(thirdState))
            // A bounded run may end before the last acknowledgement arrives: never past it, and
            // the next Read confirms the state it is given.
            #expect((try await Self.confirmed(slot, connection) ?? .zero) <= thirdLSN)
            let fourth = try await SourceHarness.read([Self.cdcStream(schema, "t")], states: [thirdState], overrides: overrides)
            #expect(fourth.batches.isEmpty, "nothing changed since")
            #expect((try await Self.confirmed(slot, connection) ?? .zero) >= thirdLSN, "the incoming state is confirmed")
            _ = await client.close()
            }
        }
    }

    @Test("a partitioned table streams under its root, even from a publication made without publish_via_partition_root")
    func partitioned() async throws {
        try await SourceHarness.withSchema { schema, connection in
            try await Self.withSlot(schema) { slot, publication in
                let table = SQL.quoteQualified(schema: schema, name: "events")
                _ = try await connection.executeScript("""
                    CREATE TABLE \(table) (id int, day date, note text, PRIMARY KEY (id, day)) PARTITION BY RANGE (day);
                    CREATE TABLE \(SQL.quoteQualified(schema: schema, name: "events_2024")) PARTITION OF \(table) FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
                    CREATE TABLE \(SQL.quoteQualified(schema: schema, name: "events_2025")) PARTITION OF \(table) FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
                    INSERT INTO \(table) VALUES (1, '2024-05-01', 'snapshot');
                    CREATE PUBLICATION \(SQL.quoteIdentifier(publication)) FOR TABLE \(table);
                    """)
                let overrides: [String: Any] = ["cdc_slot": slot, "cdc_publication": publication]
                let first = try await SourceHarness.read([Self.cdcStream(schema, "events")], overrides: overrides)
                let viaRoot = try await connection.execute("SELECT pubviaroot::text FROM pg_publication WHERE pubname = $1", [.text(publication)])
                #expect(viaRoot.rows == [["true"]])
                _ = try await connection.executeScript("INSERT INTO \(table) VALUES (2, '2025-03-01', 'streamed')")
                _ = try await connection.executeScript("UPDATE \(table) SET note = 'changed' WHERE id = 1")
                let second = try await SourceHarness.read([Self.cdcStream(schema, "events")], states: [try #require(first.states.last)], overrides: overrides)
                var model = Model()
                model.apply(first, keyColumns: [0, 1])
                model.apply(second, keyColumns: [0, 1])
                #expect(second.batches.allSatisfy { $0.stream.name == "events" })
                #expect(second.batches.reduce(0) { $0 + $1.rowCount } == 2)
                #expect(model.rows == (try await Self.sourceRows(schema, "events", keyColumns: [0, 1])))
            }
        }
    }

    @Test("a source killed mid-stream resumes from its last State: nothing lost, the slot never past that State")
    func killedMidStream() async throws {
        try await SourceHarness.withSchema { schema, connection in
            try await Self.withSlot(schema) { slot, publication in
                let table = SQL.quoteQualified(schema: schema, name: "t")
                _ = try await connection.executeScript("CREATE TABLE \(table) (id int PRIMARY KEY, n int)")
                let overrides: [String: Any] = ["cdc_slot": slot, "cdc_publication": publication, "batch_size": 100]
                let first = try await SourceHarness.read([Self.cdcStream(schema, "t")], overrides: overrides)
                var model = Model()
                model.apply(first, keyColumns: [0])
                for i in 0..<40 {
                    _ = try await connection.executeScript("INSERT INTO \(table) SELECT g, g FROM generate_series(\(i * 500 + 1), \(i * 500 + 500)) g")
                    _ = try await connection.executeScript("UPDATE \(table) SET n = n + 1 WHERE id % 7 = \(i % 7)")
                    _ = try await connection.executeScript("DELETE FROM \(table) WHERE id % 11 = \(i % 11) AND id > \(i * 400)")
                }
                // Kill the plugin once a State covers some streamed changes; keep only what States cover.
                let client = try await SourceHarness.launch()
                defer { Task { await client.close() } }
                try await client.startRead(ReadRequest(configJSON: SourceHarness.config(overrides),
                                                       catalog: ConfiguredCatalog(streams: [Self.cdcStream(schema, "t")]),
                                                       states: [try #require(first.states.last)]))
                var covered = SourceReadResult(), pending: [RecordBatch] = []
                covered.schemas = first.schemas
                var lastState: State?
                while lastState == nil || covered.batches.count < 3, let message = try await client.nextCallMessage() {
                    switch message {
                    case .records(let batch): pending.append(batch)
                    case .state(let state):
                        lastState = state
                        covered.batches += pending
                        pending = []
                    default: break
                    }
                }
                client.process.send(signal: SIGKILL)
                _ = await client.close(timeout: 5)
                let killedAt = try #require(lastState.flatMap(Self.stateLSN))
                model.apply(covered, keyColumns: [0])
                for _ in 0..<100 where try await connection.execute("SELECT active FROM pg_replication_slots WHERE slot_name = $1", [.text(slot)]).rows.first?.first == "t" {
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect((try await Self.confirmed(slot, connection) ?? .zero) <= killedAt, "nothing past the last State was confirmed")
                let rest = try await SourceHarness.read([Self.cdcStream(schema, "t")], states: [try #require(lastState)], overrides: overrides)
                model.apply(rest, keyColumns: [0])
                #expect(model.rows == (try await Self.sourceRows(schema, "t", keyColumns: [0])))
            }
        }
    }

    @Test("a table without a primary key is refused with the fix; filters are refused; an unpublished generated column is named before any change")
    func refusals() async throws {
        try await SourceHarness.withSchema { schema, connection in
            _ = try await connection.executeScript("""
                CREATE TABLE \(SQL.quoteQualified(schema: schema, name: "loose")) (v text);
                CREATE TABLE \(SQL.quoteQualified(schema: schema, name: "keyed")) (id int PRIMARY KEY);
                """)
            try await Self.withSlot(schema) { slot, publication in
            let overrides: [String: Any] = ["cdc_slot": slot, "cdc_publication": publication]
            await #expect {
                _ = try await SourceHarness.read([Self.cdcStream(schema, "loose")], overrides: overrides)
            } throws: { error in
                "\(error)".contains("add a primary key (ALTER TABLE \"\(schema)\".\"loose\" ADD PRIMARY KEY")
            }
            await #expect {
                _ = try await SourceHarness.read([SourceHarness.stream(schema, "keyed", mode: .cdc, filter: "id > 1")], overrides: overrides)
            } throws: { error in
                "\(error)".contains("filter and limit do not apply to sync mode cdc")
            }
            await #expect {
                _ = try await SourceHarness.read([Self.cdcStream(schema, "keyed"), SourceHarness.stream(schema, "loose")], overrides: overrides)
            } throws: { error in
                "\(error)".contains("MIXED_SYNC_MODES")
            }
            _ = try await connection.executeScript("""
                CREATE TABLE \(SQL.quoteQualified(schema: schema, name: "derived")) (id int PRIMARY KEY, a int, doubled int GENERATED ALWAYS AS (a * 2) STORED);
                """)
            await #expect {
                _ = try await SourceHarness.read([Self.cdcStream(schema, "derived")], overrides: overrides)
            } throws: { error in
                "\(error)".contains("CDC_COLUMN_NOT_PUBLISHED") && "\(error)".contains("column doubled")
            }
            let catalog = try await SourceHarness.discover(["schemas": [schema]])
            #expect(catalog.streams.first { $0.schema.stream.name == "keyed" }?.syncModes.contains(.cdc) == true)
            #expect(catalog.streams.first { $0.schema.stream.name == "loose" }?.syncModes.contains(.cdc) == false)
            }
        }
    }
}

@Suite("postgres-plugin source: change data capture, following")
struct SourceCDCFollowTests {
    @Test("follow streams changes as they commit, advances an idle slot past unrelated WAL once acknowledged, and ends on Cancel",
          .timeLimit(.minutes(3)))
    func follow() async throws {
        try await SourceHarness.withSchema { schema, connection in
            try await SourceCDCTests.withSlot(schema) { slot, publication in
            let table = SQL.quoteQualified(schema: schema, name: "t")
            let other = SQL.quoteQualified(schema: schema, name: "unrelated")
            _ = try await connection.executeScript("""
                CREATE TABLE \(table) (id int PRIMARY KEY, note text);
                CREATE TABLE \(other) (id serial PRIMARY KEY, v text);
                INSERT INTO \(table) VALUES (1, 'snapshot');
                """)
            let overrides: [String: Any] = ["cdc_slot": slot, "cdc_publication": publication, "follow": true,
                                            "tables": ["\(schema).t"]]
            let client = try await SourceHarness.launch()
            defer { Task { await client.close() } }
            try await client.startRead(ReadRequest(configJSON: SourceHarness.config(overrides),
                                                   catalog: ConfiguredCatalog(streams: [SourceCDCTests.cdcStream(schema, "t")])))
            var result = SourceReadResult()
            var ended = false
            var incomplete: [String] = []
            /// Reads messages, acknowledging every state, until `enough` or the Read ends.
            func pump(until enough: (SourceReadResult) -> Bool) async throws {
                while !enough(result), !ended, let message = try await client.nextCallMessage() {
                    switch message {
                    case .streamStatus(let status) where status.status == .incomplete: incomplete.append(status.message)
                    case .schema(let value): result.schemas.append(value)
                    case .records(let batch): result.batches.append(batch)
                    case .state(let state):
                        result.states.append(state)
                        try await client.send(.readAck(ReadAck(stateID: state.id)))
                    case .summary, .error: ended = true
                    default: break
                    }
                }
            }
            try await pump { !$0.states.isEmpty }
            _ = try await connection.executeScript("INSERT INTO \(table) VALUES (2, 'streamed while following')")
            // The snapshot's row and the streamed one (an idle State may come in between).
            try await pump { $0.batches.filter(\.operations.isEmpty).reduce(0) { $0 + $1.rowCount } >= 2 }
            #expect(!ended, "a following Read does not stop on its own")
            var model = SourceCDCTests.Model()
            model.apply(result, keyColumns: [0])
            #expect(model.rows.count == 2)

            // Unrelated writes only: once everything sent is acknowledged, the slot moves past them.
            for i in 1...20 { _ = try await connection.executeScript("INSERT INTO \(other) (v) VALUES ('\(i)')") }
            let writtenText = try await connection.execute("SELECT pg_current_wal_lsn()::text").rows.first?.first ?? nil
            let written = try #require(writtenText.flatMap(LSN.init))
            // The idle source sends a State at the server's position; acknowledged, it is confirmed.
            var idleState = LSN.zero
            while idleState < written, !ended {
                let count = result.states.count
                try await pump { $0.states.count > count }
                idleState = result.states.last.flatMap(SourceCDCTests.stateLSN) ?? .zero
            }
            var confirmed = LSN.zero
            let deadline = ContinuousClock.now + .seconds(60)
            while confirmed < written, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
                confirmed = try await SourceCDCTests.confirmed(slot, connection) ?? .zero
            }
            #expect(confirmed >= written, "the idle slot advanced to \(confirmed), not past \(written)")
            #expect(confirmed <= idleState, "never past the acknowledged state")

            try await client.send(.cancel)
            var outcome = false
            do {
                try await pump { _ in false }
                outcome = ended
            } catch {
                outcome = "\(error)".contains("CANCELLED")
            }
            #expect(outcome, "Cancel ends a following Read")
            #expect(incomplete.count == 1 && incomplete.allSatisfy { $0.lowercased().contains("cancel") && !$0.contains("Error(") },
                    "the stream is incomplete because of the Cancel, said without Swift type names: \(incomplete)")
            _ = await client.close()
            }
        }
    }
}
