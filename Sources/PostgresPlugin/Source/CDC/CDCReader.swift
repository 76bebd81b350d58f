import Foundation
import Logging
import PostgresClient
import SluiceSDK
import SluiceWire

/// A Read in sync mode `cdc`: change data capture from a logical replication slot.
///
/// Without a state, the slot is made with an exported snapshot and every stream is read by the
/// full-refresh reader inside that snapshot (each opening with a TRUNCATE row, so a retried
/// snapshot replaces an interrupted one), then a global State carries the slot's consistent
/// point. Changes are streamed from the state's position: whole transactions are grouped,
/// converted to typed batches (``ChangeConverter``) and followed by a global State holding the
/// end of the last transaction. The slot's flush position is confirmed only up to a State the
/// host acknowledged (ReadAck) or gave back as this Read's incoming state, never ahead. A run is
/// bounded by the server's WAL position at its start unless `follow` is set.
struct CDCReader {
    let source: PostgresSource
    let request: ReadRequest
    let output: ReadOutput

    /// Changes gathered before a group of whole transactions is sent, at most.
    static let maxPendingChanges = 50_000
    /// How long changes wait before they are sent, at most.
    static let maxPendingDuration: Duration = .seconds(1)
    /// The longest pause between two status updates to the server.
    static let statusInterval: Duration = .seconds(10)
    /// How long a bounded run waits on a quiet server before it writes a heartbeat record.
    static let heartbeatInterval: Duration = .seconds(2)

    private var config: PluginConfig { source.config }
    private var logger: Logger { source.context.logger }

    func run() async throws -> Summary {
        let started = Date()
        let main = try await source.connect()
        defer { main.close() }
        let plans: [StreamPlan]
        let slot: String
        let publication: String
        do {
            plans = try await source.makePlans(request, connection: main)
            try validate(plans)
            let database = try await main.execute("SELECT current_database()").rows.first?.first ?? nil
            slot = config.cdc.slotName(database: database ?? "")
            publication = config.cdc.publicationName(database: database ?? "")
            let prerequisites = ReplicationPrerequisites(connection: main, slot: slot, publication: publication)
            let tables = plans.map(\.table)
            for finding in [try await prerequisites.walLevel(), try await prerequisites.replicationPrivilege(),
                            try await prerequisites.replicaIdentities(tables: tables)] where !finding.passed {
                throw PluginError(category: .config, code: finding.code, message: finding.message)
            }
            try await prerequisites.ensurePublication(tables: tables)
            try await requirePublishedColumns(plans, publication: publication, main: main)
        } catch {
            throw PluginErrors.map(error, stream: nil, otherCode: "READ_FAILED")
        }
        let incoming = try incomingState(slot: slot)
        let replication = try await connectReplication()
        defer { replication.close() }
        let states = StateCounter(sendsStreamStates: false)
        var stream = ChangeStream(reader: self, plans: plans, slot: slot, publication: publication, states: states,
                                  converter: ChangeConverter(connection: main, maxFrameSize: output.maxFrameSize,
                                                             maxRows: config.batch.batchSize, maxBytes: config.batch.batchSizeBytes),
                                  main: main)
        do {
            if let incoming {
                try await requireSlot(slot, main: main, since: incoming.lsn)
                try await stream.resume(from: incoming)
                for plan in plans {
                    try await output.send(plan.schema)
                    try await output.status(StreamStatus(stream: plan.stream, status: .started))
                }
                stream.start = incoming.lsn
                stream.confirmed = incoming.lsn
            } else {
                let point = try await snapshot(plans, slot: slot, main: main, replication: replication, states: states, stream: &stream)
                stream.start = point
            }
            // The insert position: commits made with synchronous_commit off may not be written yet.
            let row = try await main.execute("""
                SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_insert_lsn() END)::text,
                       current_setting('wal_block_size')
                """).rows.first ?? []
            let position = row.first.flatMap { $0.flatMap(LSN.init) } ?? .zero
            let target = Self.recordBoundary(position, blockSize: UInt64(row.count == 2 ? row[1] ?? "" : "") ?? 8192)
            try await stream.run(replication: replication, target: config.cdc.follow ? nil : target)
        } catch {
            let mapped = PluginErrors.map(error, stream: nil, otherCode: "READ_FAILED")
            for plan in plans {
                try? await output.status(StreamStatus(stream: plan.stream, status: .incomplete, message: PluginErrors.incompleteRead(mapped)))
            }
            throw mapped
        }
        var summaries: [StreamSummary] = []
        for (index, plan) in plans.enumerated() {
            try await output.status(StreamStatus(stream: plan.stream, status: .complete))
            summaries.append(stream.summaries[index])
        }
        return Summary(streams: summaries, durationMicros: UInt64(max(0, Date().timeIntervalSince(started)) * 1_000_000))
    }

    /// `position`, or the start of its WAL page when it lies inside the page's header: the
    /// insert position of a quiet server may sit just past a header, where no record ends, and
    /// the server's decoded position would never reach it.
    static func recordBoundary(_ position: LSN, blockSize: UInt64) -> LSN {
        guard blockSize > 0 else { return position }
        let offset = position.rawValue % blockSize
        // SizeOfXLogLongPHD (40 bytes) is the largest page header.
        return offset <= 40 ? LSN(rawValue: position.rawValue - offset) : position
    }

    /// Streams must be keyed tables read whole.
    private func validate(_ plans: [StreamPlan]) throws {
        for plan in plans {
            guard plan.table.supportsChangeDataCapture else {
                let fix = plan.table.relkind == "r" || plan.table.relkind == "p"
                    ? "add a primary key (ALTER TABLE \(plan.qualifiedName) ADD PRIMARY KEY (…)) so the destination can apply its changes by key"
                    : "only tables can be streamed by change data capture; read it with full_refresh"
                throw PluginError(category: .config, code: "CDC_UNSUPPORTED", message: "stream \(plan.stream): \(fix)", stream: plan.stream)
            }
            guard plan.filter.isEmpty, plan.limit == 0 else {
                throw PluginError(category: .config, code: "CDC_UNSUPPORTED", message: "stream \(plan.stream): filter and limit do not apply to sync mode cdc", stream: plan.stream)
            }
        }
    }

    /// Every column of the streams must be in the publication's changes: a column that is not
    /// (a generated column, one left out of the publication's column list) would never change in
    /// the destination. (A column missing from the changes later is one added after them or
    /// dropped before them: see ``ChangeStream``.)
    private func requirePublishedColumns(_ plans: [StreamPlan], publication: String, main: PostgresConnection) async throws {
        let version = Int(try await main.execute("SHOW server_version_num").rows.first?.first.flatMap { $0 } ?? "") ?? 0
        var published: [StreamID: Set<String>] = [:]
        if version >= 150000 {
            let rows = try await main.execute("SELECT schemaname, tablename, unnest(attnames) FROM pg_publication_tables WHERE pubname = $1",
                                              [.text(publication)]).rows
            for row in rows {
                guard row.count == 3, let schema = row[0], let table = row[1], let name = row[2] else { continue }
                published[StreamID(namespace: schema, name: table), default: []].insert(name)
            }
        }
        for plan in plans {
            let names = published[plan.stream]
            for column in plan.columns where names.map({ !$0.contains(column.name) }) ?? false || (column.isGenerated && version < 180000) {
                throw PluginError(category: .config, code: "CDC_COLUMN_NOT_PUBLISHED",
                                  message: "stream \(plan.stream): column \(column.name) is not in the publication's changes (a generated column, or a column list): leave it out of the stream's columns, or publish it (PostgreSQL 18: ALTER PUBLICATION \(SQL.quoteIdentifier(publication)) SET (publish_generated_columns = stored))",
                                  stream: plan.stream)
            }
        }
    }

    /// The global state this source wrote, if the host gave one back.
    private func incomingState(slot: String) throws -> CDCState? {
        guard let saved = request.states.last(where: { $0.stream == nil }) else { return nil }
        guard let state = CDCState(data: saved.data) else {
            throw PluginError(category: .config, code: "INVALID_STATE", message: "the Read's global state was not written by this source's change data capture")
        }
        guard state.slot == slot else {
            throw PluginError(category: .config, code: "INVALID_STATE",
                              message: "the state is for the replication slot \(state.slot), the configuration names \(slot): set cdc_slot to \(state.slot), or start the pipeline over with a new snapshot (plugin-host: pipeline --release-resources)")
        }
        return state
    }

    /// Fails when the slot is gone (its changes since `since` are lost).
    private func requireSlot(_ slot: String, main: PostgresConnection, since: LSN) async throws {
        let row = try await main.execute("""
            SELECT confirmed_flush_lsn::text, wal_status FROM pg_replication_slots WHERE slot_name = $1 AND database = current_database()
            """, [.text(slot)]).rows.first
        guard let row else {
            throw PluginError(category: .data, code: "SLOT_MISSING",
                              message: "the replication slot \(slot) no longer exists, so the changes after \(since) cannot be read: start the pipeline over with a new snapshot (plugin-host: pipeline --release-resources)")
        }
        if row.count == 2, row[1] == "lost" {
            throw PluginError(category: .data, code: "SLOT_LOST",
                              message: "the replication slot \(slot) lost WAL it needed (max_slot_wal_keep_size): start the pipeline over with a new snapshot (plugin-host: pipeline --release-resources drops the slot and the pipeline's states)")
        }
        if let text = row.first ?? nil, let confirmed = LSN(text), confirmed > since {
            throw PluginError(category: .data, code: "SLOT_AHEAD",
                              message: "the replication slot \(slot) confirmed \(confirmed), past the state's \(since): changes in between were never delivered; start the pipeline over with a new snapshot (plugin-host: pipeline --release-resources drops the slot and the pipeline's states)")
        }
    }

    /// The failure of a slot whose changes the server cannot decode: PostgreSQL's `could not map
    /// filenumber … to relation OID` (`filenode` in older versions; SQLSTATE XX000), which
    /// every later start from the slot meets again (see the README's change data capture
    /// section); nil for any other error.
    static func undecodable(_ error: PostgresError, slot: String) -> PluginError? {
        guard error.sqlState == "XX000", error.message.hasPrefix("could not map file") else { return nil }
        return PluginError(category: .data, code: "SLOT_UNDECODABLE",
                           message: "the server cannot decode the changes of the replication slot \(slot): \(error.message) (SQLSTATE XX000), a PostgreSQL logical decoding fault that every start from this slot meets again; start the pipeline over with a new snapshot (plugin-host: pipeline --release-resources drops the slot and the pipeline's states)")
    }

    /// The output settings the source's sessions use (PostgresSource's `SET`s), as startup options.
    static let walsenderOptions = "-c DateStyle=ISO,YMD -c IntervalStyle=postgres -c extra_float_digits=3 -c TimeZone=UTC"

    /// A replication connection with the source's settings.
    private func connectReplication() async throws -> PostgresConnection {
        do {
            // The cloud identity's token (or the password), as every other connection of the source.
            var settings = try await config.connection.authenticatedConfig()
            settings.applicationName = "sluice-postgres-cdc"
            // pgoutput writes text values with the walsender's settings, and ChangeConverter
            // parses them with the main connection's: both use the same, whatever the server,
            // database or role default (DMY dates or sql_standard intervals would read back as
            // other values).
            settings.options["options"] = [settings.options["options"], Self.walsenderOptions].compactMap { $0 }.joined(separator: " ")
            return try await PostgresConnection.connect(settings.forLogicalReplication)
        } catch {
            throw PluginErrors.map(error, stream: nil, otherCode: "READ_FAILED")
        }
    }

    /// Makes the slot (dropping an idle leftover: without a state nothing of it was delivered)
    /// and reads every stream inside its exported snapshot; sends the State of its consistent
    /// point and returns that point.
    private func snapshot(_ plans: [StreamPlan], slot: String, main: PostgresConnection, replication: PostgresConnection,
                          states: StateCounter, stream: inout ChangeStream) async throws -> LSN {
        if let existing = try await main.execute("SELECT active::text FROM pg_replication_slots WHERE slot_name = $1", [.text(slot)]).rows.first {
            guard existing.first == "false" else {
                throw PluginError(category: .config, code: "SLOT_IN_USE", message: "the replication slot \(slot) is in use by another connection")
            }
            logger.info("dropping the replication slot \(slot): the Read has no state, so it starts over with a new snapshot")
            _ = try await main.execute("SELECT pg_drop_replication_slot($1)", [.text(slot)])
        }
        let created = try await replication.createLogicalSlot(slot, exportSnapshot: true)
        guard let name = created.snapshotName else {
            throw PluginError(category: .system, code: "SNAPSHOT", message: "the server exported no snapshot for the slot \(slot)")
        }
        logger.info("created the replication slot \(slot) at \(created.consistentPoint); reading the snapshot")
        _ = try await main.executeScript("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT \(try await main.quoteLiteral(name))")
        var workers: [PostgresConnection] = []
        defer { for worker in workers { worker.close() } }
        if config.batch.maxConnections > 1, plans.contains(where: source.readsRanges) {
            for _ in 1 ..< config.batch.maxConnections { workers.append(try await source.connect()) }
        }
        for (index, plan) in plans.enumerated() {
            try source.context.checkCancellation()
            let reader = StreamReader(plan: plan, batch: config.batch, checkpoints: config.source.checkpoints,
                                      splitTables: config.source.splitTables, output: output, states: states, logger: logger,
                                      listing: nil, opening: Self.truncateBatch(plan))
            stream.summaries[index] = try await reader.run(main: main, workers: workers)
        }
        _ = try await main.execute("COMMIT")
        try await stream.checkpoint(created.consistentPoint)
        return created.consistentPoint
    }

    /// One TRUNCATE row of `plan`'s stream, every value null.
    static func truncateBatch(_ plan: StreamPlan) -> RecordBatch {
        let columns = plan.columns.map { column -> ColumnVector in
            var accumulator = ColumnAccumulator(decoding: column.plan.decoding)
            _ = accumulator.appendNull()
            return accumulator.finish()
        }
        return RecordBatch(stream: plan.stream, rowCount: 1, columns: columns, operations: [RowOperation.truncate.rawValue])
    }
}
