import Foundation
import Logging
import PostgresClient
import SluiceSDK
import SluiceWire

/// One Write call: prepares every stream's table, buffers rows per stream, flushes them (on
/// rows, bytes, timeout, state and end), commits at each state (`transaction_scope: state`) or
/// after each flush (`flush`), acknowledges a state once everything before it is committed,
/// then finishes mirror and replace streams. A failure rolls back every lane's uncommitted
/// work, so with `state` nothing after the last acknowledged state stays committed.
final class DestinationSession {
    static let maxAttempts = 3

    let config: PluginConfig
    let request: WriteRequest
    let context: CallContext
    private var settings: DestinationSettings { config.destination }
    /// Where each stream's table lands.
    private var naming: TableNaming { settings.naming(defaultSchema: config.connection.schema) }
    /// `max_connections` lanes; a table (so a stream) is always flushed on the same one, which
    /// keeps its order and keeps two transactions off one table; DDL and the end of the sync run
    /// on lane 0 once every lane is idle.
    private let lanes: [FlushLane]
    private var laneOfTable: [TableTarget.Key: Int] = [:]
    private var laneOf: [StreamID: Int] = [:]
    /// Lane 0's connection: opened in `init`, only ever replaced by a new one.
    private var connection: PostgresConnection { lanes[0].connection! }
    /// The sync's time: every row's `_sluice_synced_at`, and mirror's cut-off.
    let syncedAtMicros: Int64
    private var buffers: [StreamID: StreamBuffer] = [:]
    private var order: [StreamID] = []
    private var stagingCounter = 0
    /// User-defined types the Write's table actions create, by destination name: a later
    /// stream using one does not create it again (``UserTypeInstaller``).
    private var plannedUserTypes: [ExactName: UserType] = [:]
    private var bufferedBytes = 0
    private var oldestBuffered: ContinuousClock.Instant?
    /// States held back until the replace swaps (acknowledging earlier would let a resumed
    /// sync skip rows that live only in a replacement table it drops).
    private var deferredStates: [State] = []
    private let defersStates: Bool
    private var reporter: WriteReporter?
    /// Rolls back the lanes' uncommitted transactions when the Write is cancelled or fails.
    private let cancellation: FlushCancellation
    /// The embeddings endpoint, when `embeddings` is configured.
    private lazy var embeddingClient: EmbeddingClient? = settings.embeddings.map(EmbeddingClient.init)
    /// `transaction_scope: flush`: every flush commits its own transaction (never with a CDC
    /// stream: a source transaction is applied whole or not at all).
    private var commitsEachFlush: Bool { settings.transactionScope == .flush && !appliesChanges }
    /// The Write has a CDC stream (PROTOCOL.md §8.2): one connection, so the rows of every stream
    /// up to a state commit in one transaction with the state.
    private let appliesChanges: Bool
    /// Where acknowledged states are committed with their rows, when the request names a pipeline.
    private let stateStore: CommittedStateStore?
    /// Mirror streams resuming a sync an earlier Write began: when it began (the cut-off for
    /// stale rows, so rows that Write committed are not deleted as stale).
    private var syncStarted: [StreamID: Int64] = [:]
    /// A global state waiting for the replace swaps (a global state covers every stream).
    private var deferredGlobalState: State?
    /// Streams whose table this Write created: nothing of them is committed.
    private var freshStreams: [StreamID] = []
    /// The streams this Write told the host it takes as PostgreSQL rows (PROTOCOL.md §5.12).
    private var postgresRowsStreams: Set<StreamID> = []
    /// Whether the database has PL/pgSQL (``WritePlan/guardsStatistics``), looked up with the
    /// first stream's table.
    private var hasPLpgSQL: Bool?
    /// Stages staged upserts ahead on a connection of its own, when the Write has one to spare
    /// (``Stager``).
    private let stager: Stager?

    init(config: PluginConfig, request: WriteRequest, context: CallContext) async throws {
        self.config = config
        self.request = request
        self.context = context
        syncedAtMicros = Int64((Date().timeIntervalSince1970 * 1_000_000).rounded())
        let cancellation = FlushCancellation()
        self.cancellation = cancellation
        appliesChanges = request.catalog.streams.contains { $0.syncMode == .cdc }
        lanes = [FlushLane(connection: try await Self.connect(config), cancellation: cancellation)]
            + (1..<(appliesChanges ? 1 : config.batch.maxConnections)).map { _ in FlushLane(cancellation: cancellation) }
        defersStates = request.catalog.streams.contains { config.destination.mode(of: $0.schema, configured: $0) == .replace }
        stager = await Self.stager(config, request: request, lanes: lanes, appliesChanges: appliesChanges, logger: context.logger)
        stateStore = request.pipelineID.isEmpty ? nil
            : CommittedStateStore(schemaName: config.connection.schema, pipelineID: request.pipelineID)
    }

    /// A ``Stager`` when a connection is to spare (fewer streams than lanes, so a lane stays
    /// unused), flushes commit at states, no stream is CDC, and the lanes' transactions read
    /// what was committed before each statement (READ COMMITTED, the server's default).
    private static func stager(_ config: PluginConfig, request: WriteRequest, lanes: [FlushLane], appliesChanges: Bool,
                               logger: Logger) async -> Stager? {
        guard !appliesChanges, config.destination.transactionScope == .state, request.catalog.streams.count < lanes.count,
              let connection = lanes.first?.connection,
              let row = try? await connection.execute("SELECT current_setting('default_transaction_isolation')").rows.first,
              row.first == "read committed" else { return nil }
        return Stager(logger: logger) { try await Self.connect(config) }
    }

    private static func connect(_ config: PluginConfig) async throws -> PostgresConnection {
        let settings = try await config.connection.authenticatedConfig()
        let connection: PostgresConnection
        do throws(PostgresError) {
            connection = try await PostgresConnection.connect(settings)
        } catch {
            throw connectFailed(error)
        }
        do {
            try await connection.executeScript(SessionSettings.keepTransactionsOpen(serverVersion: connection.serverVersionNumber))
            if config.destination.tableLayout == .raw {
                try RawLayout.requireSupport(serverVersion: connection.serverVersionNumber)
                try await connection.executeScript(RawLayout.sessionSettings)
            }
        } catch {
            connection.close()
            if let error = error as? PostgresError { throw connectFailed(error) }
            throw error
        }
        return connection
    }

    private static func connectFailed(_ error: PostgresError) -> PluginError {
        PluginError(category: error.isRetryable ? .transient : .config, code: PluginErrors.connectCode(error.kind) ?? "CONN_FAILED",
                    message: "could not connect to PostgreSQL: \(error.message)", retryable: error.isRetryable)
    }

    /// Runs the call to its end and returns the per-stream counts. Cancelling the calling task
    /// rolls back every flush whose COMMIT was not sent yet (see ``Flush/run(on:stagingReady:)``).
    func run(input: WriteInput, output: WriteOutput) async throws -> [StreamSummary] {
        defer { for lane in lanes { lane.connection?.close() } }
        let cancellation = cancellation, stager = stager
        return try await withTaskCancellationHandler {
            try await runUntilEnd(input: input, output: output)
        } onCancel: {
            cancellation.cancelAll()
            stager?.cancelAll()
        }
    }

    private func runUntilEnd(input: WriteInput, output: WriteOutput) async throws -> [StreamSummary] {
        let reporter = WriteReporter(output: output)
        self.reporter = reporter
        do {
            if let stateStore { try await stateStore.prepare(on: connection) }
            try await prepareCatalog()
            if let stateStore { try await reportCommittedStates(stateStore, output: output) }
            let pump = EventPump(input: input)
            try await withTaskCancellationHandler {
                try await consume(pump, output: output)
            } onCancel: {
                pump.cancel()
            }
            try await checkpoint()
            try await finish()
            await stager?.close()
            if let stateStore, let global = deferredGlobalState {
                try await stateStore.store(global, table: nil, syncStartedMicros: nil, on: connection)
            }
            for state in deferredStates { try await output.acknowledge(state) }
            try await reporter.complete(order.compactMap { buffers[$0] })
        } catch {
            await abandon()
            let error = PluginErrors.map(error, stream: nil, otherCode: "WRITE_FAILED")
            await reporter.incomplete(error)
            throw error
        }
        return order.compactMap { buffers[$0]?.summary }
    }

    /// Handles events until WriteEnd, flushing when buffered rows wait `batch_timeout`.
    private func consume(_ pump: EventPump, output: WriteOutput) async throws {
        while true {
            let deadline = oldestBuffered.map { $0 + .seconds(settings.batchTimeout) }
            guard case .event(let next) = try await pump.next(before: deadline) else {
                try await flushAll()
                continue
            }
            guard let event = next else { return }
            switch event {
            case .schema(let schema):
                try await accept(schema)
                try await reporter?.started(schema.stream)
            case .records(let batch):
                try await reporter?.started(batch.stream)
                try await receive(batch)
            case .state(let state):
                try await checkpoint(storing: state)
                if defersStates { deferredStates.append(state) } else { try await output.acknowledge(state) }
            }
        }
    }

    // MARK: Committed states

    /// Tells the host the states committed for this pipeline (the Write's first message), and
    /// where mirror streams resume a sync that an earlier Write began.
    private func reportCommittedStates(_ store: CommittedStateStore, output: WriteOutput) async throws {
        let streams = request.catalog.streams.map(\.schema.stream)
        let committed = try await store.load(streams, on: connection)
        for entry in committed {
            guard let stream = entry.state.stream, buffers[stream]?.plan.mode == .mirror, let started = entry.syncStartedMicros else { continue }
            syncStarted[stream] = started
        }
        // PostgreSQL rows go by COPY: not for a Write told to insert, nor when they are turned off.
        let taken = settings.postgresRows && settings.insertMethod != .insert
        postgresRowsStreams = taken ? Set(streams.filter { buffers[$0]?.plan.takesPostgresRows == true }) : []
        try await output.report(CommittedStates(states: committed.map(\.state), freshStreams: freshStreams,
                                                postgresRowsStreams: streams.filter(postgresRowsStreams.contains)))
    }

    /// Where `state` is stored with the rows it covers: the lane of its stream (a global state:
    /// lane 0); nil when it is not stored now (no pipeline, or held for a replace swap).
    private func placement(of state: State) -> Int? {
        guard stateStore != nil else { return nil }
        guard let stream = state.stream else {
            if defersStates {
                deferredGlobalState = state
                return nil
            }
            return 0
        }
        if buffers[stream]?.plan.mode == .replace { return nil }
        return lane(for: stream)
    }

    /// Stores `states` on `lane`'s connection: in its open transaction, else on their own.
    private func store(_ states: [State], on lane: FlushLane) async throws {
        guard let stateStore else { return }
        let connection = try await connected(lane)
        for state in states {
            try await stateStore.store(state, table: state.stream.map(naming.target(of:)),
                                       syncStartedMicros: state.stream.flatMap(syncStartMicros), on: connection)
        }
    }

    /// A mirror stream's sync start (kept with its states until the sync finishes); nil otherwise.
    private func syncStartMicros(_ stream: StreamID) -> Int64? {
        buffers[stream]?.plan.mode == .mirror ? syncStarted[stream] ?? syncedAtMicros : nil
    }

    // MARK: Tables

    /// Checks every configured stream (keys, migrations) before any data moves, then creates
    /// or migrates their tables.
    private func prepareCatalog() async throws {
        try naming.checkCollisions(request.catalog.streams.map(\.schema.stream))
        try await createPgvectorIfNeeded()
        var actions: [TableAction] = []
        var refusals: [PluginError] = []
        for stream in request.catalog.streams {
            do {
                actions.append(try await action(for: stream.schema, configured: stream))
            } catch let error as PluginError where error.code == "MIGRATION_REFUSED" {
                refusals.append(error)
            }
        }
        if let first = refusals.first {
            throw PluginError(category: .config, code: "MIGRATION_REFUSED", message: refusals.map(\.message).joined(separator: "\n"),
                              stream: refusals.count == 1 ? first.stream : nil)
        }
        for action in actions { try await install(action) }
    }

    /// What the Write would do to each stream's table, decided as it would be but run by no one
    /// (PlanWrite, PROTOCOL.md §4.8): the target, the action, the DDL; a stream the Write would
    /// refuse before any data moves is planned as `refuse` with the reason. Changes nothing.
    func plan() async throws -> [TablePlan] {
        defer { for lane in lanes { lane.connection?.close() } }
        try naming.checkCollisions(request.catalog.streams.map(\.schema.stream))
        var tables: [TablePlan] = []
        for stream in request.catalog.streams {
            let target = naming.target(of: stream.schema.stream)
            let name = "\(target.schema).\(target.table)"
            do {
                let action = try await action(for: stream.schema, configured: stream)
                // The schema statement runs only when the schema is missing (``TableManager/createSchemaIfMissing(_:on:)``).
                let schemaStatement = try await TableManager.schemaExists(target.schema, on: connection) ? nil : action.statements.first
                var statements = [schemaStatement].compactMap { $0 } + action.userTypeStatements.map(\.sql) + action.statements.dropFirst()
                // A key built after the rows: its statements run later in the Write, but they are its DDL too.
                let keyAfterLoad = action.plan.keyAfterLoad
                if keyAfterLoad {
                    statements += action.plan.keyStatements(adding: action.plan.metadataAfterLoad
                        ? action.plan.addMetadataColumns(syncedAtMicros: syncedAtMicros, sourceName: request.sourceName) : [])
                }
                let exists = try await TableManager.tableExists(SQL.quoteQualified(schema: target.schema, name: target.table), on: connection)
                let mode = settings.mode(of: stream.schema, configured: stream)
                let kind: TablePlan.Action = mode == .replace ? (exists ? .replace : .create)
                    : action.createsTable ? (exists ? .recreate : .create) : (action.statements.count > 1 || keyAfterLoad ? .migrate : .keep)
                tables.append(TablePlan(stream: stream.schema.stream, target: name, action: kind.rawValue, statements: kind == .keep ? [] : statements,
                                        detail: "written with \(Self.modeName(mode))" + (action.createdUserTypes.isEmpty ? "" : ", creating \(action.createdUserTypes.count) user-defined types")
                                            + (keyAfterLoad ? ", the primary key built once the rows are in (the last statements)" : "")))
            } catch let error as PluginError where error.category == .config || error.category == .data {
                tables.append(TablePlan(stream: stream.schema.stream, target: name, action: TablePlan.Action.refuse.rawValue, detail: "\(error.code): \(error.message)"))
            }
        }
        return tables
    }

    /// With `embeddings`, creates pgvector (when the server has it) in a statement of its own
    /// before any table DDL: Writes starting at once would otherwise both try to create it
    /// inside their DDL transactions, and one would fail with a unique violation. A server
    /// without pgvector is reported per stream by ``TableManager``.
    private func createPgvectorIfNeeded() async throws {
        guard settings.embeddings != nil else { return }
        let available = try await connection.execute("SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'")
        guard available.rows.first?.first == "1" else { return }
        do throws(PostgresError) {
            _ = try await connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
        } catch {
            // 23505 and 42710: another session created it at the same moment.
            guard error.sqlState == "23505" || error.sqlState == "42710" else { throw error }
        }
    }

    private func accept(_ schema: StreamSchema) async throws {
        if let buffer = buffers[schema.stream] {
            guard buffer.plan.schema != schema else { return }
            try await flush(buffer)
        }
        if buffers[schema.stream] == nil { try naming.checkCollisions(order + [schema.stream]) }
        try await drainAll()
        // The DDL runs on the stream's own lane, inside its open transaction if it has one: the
        // table is then only ever locked by that lane, and a failed sync rolls the change back.
        let configured = request.catalog.streams.first { $0.schema.stream == schema.stream }
        let lane = lanes[lane(for: schema.stream)]
        let connection = try await connected(lane)
        try await install(try await action(for: schema, configured: configured, on: connection), on: connection,
                          inOpenTransaction: lane.transactionOpen)
    }

    /// The lane of `stream`: its table's, else the next one round-robin.
    private func lane(for stream: StreamID) -> Int {
        if let lane = laneOf[stream] { return lane }
        let table = naming.target(of: stream).key
        let lane = laneOfTable[table] ?? laneOfTable.count % lanes.count
        laneOfTable[table] = lane
        laneOf[stream] = lane
        return lane
    }

    private func action(for schema: StreamSchema, configured: ConfiguredStream?,
                        on connection: PostgresConnection? = nil) async throws -> TableAction {
        let mode = settings.mode(of: configured?.schema ?? schema, configured: configured)
        if settings.tableLayout == .raw, mode != .append, mode != .replace {
            throw PluginError(category: .config, code: "RAW_LAYOUT_MODE",
                              message: "stream \(schema.stream) is written with \(Self.modeName(mode)), but table_layout raw keeps every record: use append or replace",
                              stream: schema.stream)
        }
        let key = try resolveKey(schema, configured: configured, mode: mode)
        let cdc = configured?.syncMode == .cdc
        if cdc { try ChangeApply.check(schema.stream, mode: mode, embedded: settings.embeddings?.table(for: schema.stream) != nil) }
        if mode == .replace, let partial = configured?.partialRead {
            throw PluginError(category: .config, code: "REPLACE_PARTIAL_READ",
                              message: "stream \(schema.stream) is written with replace, which keeps only the rows the sync sends, but \(partial): use append or upsert, or a full read without a limit",
                              stream: schema.stream)
        }
        let target = naming.target(of: schema.stream)
        if target.schema.isExactly(config.connection.schema), target.table.isExactly(CommittedStateStore.tableName) {
            throw PluginError(category: .config, code: "RESERVED_TABLE_NAME",
                              message: "stream \(schema.stream) would be written to \(target), the table where committed states are kept: write it to another schema or name",
                              stream: schema.stream)
        }
        stagingCounter += 1
        let connection = connection ?? self.connection
        if hasPLpgSQL == nil {
            hasPLpgSQL = try await connection.execute("SELECT EXISTS (SELECT 1 FROM pg_language WHERE lanname = 'plpgsql')").rows.first?.first == "t"
        }
        let manager = TableManager(connection: connection, settings: settings, schemaName: target.schema,
                                   embeddingClient: embeddingClient, plannedUserTypes: plannedUserTypes, guardsStatistics: hasPLpgSQL ?? false,
                                   syncedAtMicros: syncedAtMicros, sourceName: request.sourceName)
        let action = try await manager.action(for: schema, target: target, mode: mode, key: key, staging: "_sluice_stg_\(stagingCounter)",
                                              replacementStarted: buffers[schema.stream] != nil, cdc: cdc)
        for type in action.createdUserTypes { plannedUserTypes[ExactName(type.name)] = type }
        return action
    }

    private func install(_ action: TableAction, on connection: PostgresConnection? = nil, inOpenTransaction: Bool = false) async throws {
        try await TableManager(connection: connection ?? self.connection, settings: settings, schemaName: action.plan.schemaName)
            .apply(action, stateSchema: config.connection.schema, inOpenTransaction: inOpenTransaction)
        if action.createsTable, !freshStreams.contains(action.plan.stream) { freshStreams.append(action.plan.stream) }
        if let buffer = buffers[action.plan.stream] {
            buffer.plan = action.plan
            buffer.keyPending = action.plan.keyAfterLoad
            buffer.metadataPending = action.plan.metadataAfterLoad
        } else {
            buffers[action.plan.stream] = StreamBuffer(plan: action.plan)
            _ = lane(for: action.plan.stream)
            order.append(action.plan.stream)
        }
    }

    /// The key: the configured stream's key columns, else `key_columns` from the config, else
    /// the primary key. Modes that need one fail here, before any data moves.
    private func resolveKey(_ schema: StreamSchema, configured: ConfiguredStream?, mode: WriteMode) throws -> [String] {
        let key = settings.key(of: schema, configured: configured)
        let names = Set(schema.columns.map { ExactName($0.name) })
        if let unknown = key.first(where: { !names.contains(ExactName($0)) }) {
            throw PluginError(category: .config, code: "UNKNOWN_KEY_COLUMN",
                              message: "stream \(schema.stream): key column \"\(unknown)\" is not one of its columns", stream: schema.stream)
        }
        if key.isEmpty, [.upsert, .updateOnly, .mirror].contains(mode) {
            throw PluginError(category: .config, code: "MISSING_KEY",
                              message: "stream \(schema.stream) is written with \(Self.modeName(mode)) but has no primary key: set key_columns for it",
                              stream: schema.stream)
        }
        return key
    }

    private static func modeName(_ mode: WriteMode) -> String {
        switch mode {
        case .upsert: "upsert"
        case .updateOnly: "update-only"
        case .mirror: "mirror"
        case .replace: "replace"
        default: "append"
        }
    }

    // MARK: Rows

    private func receive(_ batch: RecordBatch) async throws {
        guard let buffer = buffers[batch.stream] else {
            throw PluginError(category: .protocol, code: "UNKNOWN_STREAM", message: "records for stream \(batch.stream) before its schema", stream: batch.stream)
        }
        guard batch.rowCount > 0 else { return }
        if batch.carriesPostgresRows, !(postgresRowsStreams.contains(batch.stream) && buffer.plan.takesPostgresRows) {
            throw PluginError(category: .protocol, code: ProtocolError.Code.invalidMessage.rawValue,
                              message: "the batch for \(batch.stream) carries PostgreSQL rows, which this Write does not take for the stream (§5.12)",
                              stream: batch.stream)
        }
        var batch = batch
        if !buffer.plan.cdc, let marker = batch.changeMarker {
            throw PluginError(category: .protocol, code: ProtocolError.Code.invalidMessage.rawValue,
                              message: "the batch for \(batch.stream) holds \(marker), but the stream is not read with cdc (its sync_mode in the Write's catalog)",
                              stream: batch.stream)
        }
        try Self.refuseNullKeys(batch, buffer)
        if let truncate = batch.operations.lastIndex(of: RowOperation.truncate.rawValue) {
            try await self.truncate(buffer, before: batch, at: truncate)
            guard truncate + 1 < batch.rowCount else { return }
            batch = ChangeApply.rows(of: batch, from: truncate + 1)
        }
        bufferedBytes += buffer.append(batch)
        if oldestBuffered == nil { oldestBuffered = .now }
        if buffer.rows >= buffer.flushRows(config.batch) {
            try await flush(buffer)
        } else if bufferedBytes >= config.batch.batchSizeBytes {
            try await flushAll()
        }
    }

    /// Upsert, update-only and mirror find a row by its key, and a NULL there equals nothing: the
    /// row would be inserted again by every sync (and rows of one flush with a NULL key would
    /// collapse into one), so a NULL key fails the Write, naming stream, column and row.
    private static func refuseNullKeys(_ batch: RecordBatch, _ buffer: StreamBuffer) throws {
        let plan = buffer.plan
        guard isIdempotent(plan.mode) else { return }
        for key in plan.key {
            // The key names the destination's columns, which follow the stream's in order.
            guard let index = plan.columns.firstIndex(where: { $0.name.isExactly(key) }) else { continue }
            let name = plan.schema.columns[index].name
            if batch.carriesPostgresRows {
                var row = 0, null: Int?
                _ = batch.eachPostgresField(index, fields: plan.columns.count) { _, length in
                    if length < 0, null == nil { null = row }
                    row += 1
                }
                if let null { throw nullKey(plan, name, row: buffer.flushedRows + buffer.rows + null + 1) }
                continue
            }
            guard index < batch.columns.count else { continue }
            let validity = batch.columns[index].validity, operations = batch.operations
            // A TRUNCATE row (change data capture) carries no values.
            guard !validity.isEmpty, let row = (0 ..< batch.rowCount).first(where: { row in
                !ColumnVector.isValid(row, in: validity) && (operations.isEmpty || operations[row] != RowOperation.truncate.rawValue)
            }) else { continue }
            throw nullKey(plan, name, row: buffer.flushedRows + buffer.rows + row + 1)
        }
    }

    /// The error for a NULL in key column `name` at stream row `row` (one-based).
    private static func nullKey(_ plan: WritePlan, _ name: String, row: Int) -> PluginError {
        PluginError(category: .data, code: "NULL_KEY",
                    message: "stream \(plan.stream), column \"\(name)\", row \(row): the key is NULL, and \(modeName(plan.mode)) finds rows by their key, so a NULL key would write the row again on every sync: give the column a value, choose key_columns that are never NULL, or write the stream with append",
                    stream: plan.stream)
    }

    /// A TRUNCATE row at `row` of `batch`: the rows buffered before it and those before it in the
    /// batch would be removed with the table's, so they are dropped unwritten (still counted as
    /// received); the table is emptied after the stream's earlier flushes, in the same transaction.
    private func truncate(_ buffer: StreamBuffer, before batch: RecordBatch, at row: Int) async throws {
        bufferedBytes -= buffer.bytes
        buffer.summary.records += UInt64(row + 1)
        let position = buffer.flushedRows + buffer.rows + row
        buffer.handedOver()
        buffer.flushedRows += row + 1
        let lane = lanes[lane(for: buffer.plan.stream)]
        try await drain(lane)
        lane.start(Flush.truncate(buffer.plan, position: position), buffer: buffer, bytes: 0, commit: commitsEachFlush, on: try await connected(lane))
    }

    /// Flushes every buffer and waits until all of them are written (and, with `transaction_scope:
    /// flush`, committed).
    private func flushAll() async throws {
        for stream in order {
            if let buffer = buffers[stream] { try await flush(buffer) }
        }
        try await drainAll()
        oldestBuffered = nil
    }

    /// Makes every row received so far committed: flushes everything, then, once every lane has
    /// written without error, commits each lane's open transaction, storing `state` (when the
    /// Write names a pipeline) in the transaction of its stream's lane.
    private func checkpoint(storing state: State? = nil) async throws {
        try await flushAll()
        let stateLane = state.flatMap(placement)
        for (index, lane) in lanes.enumerated() {
            let states = index == stateLane ? state.map { [$0] } ?? [] : []
            if lane.transactionOpen || !states.isEmpty { try await commit(lane, storing: states) }
        }
    }

    /// Commits `lane`'s open transaction and counts its flushes. When the COMMIT fails, the
    /// transaction's id tells whether it took effect (``transactionCommitted(_:on:)``): committed
    /// → counted as usual; rolled back → a single flush is written again in a transaction of its
    /// own, more fail the call as retryable (their rows are no longer held); unknown → a keyed
    /// mode's single flush is written again (idempotent), anything else fails saying so.
    /// `states` are stored in the transaction (written again with its flush when it is retried).
    private func commit(_ lane: FlushLane, storing states: [State] = [], retried: Bool = false) async throws {
        try await endCopy(lane)
        try await store(states, on: lane)
        guard lane.transactionOpen else { return }
        let flushes = lane.written, sole = lane.soleFlush, id = lane.transactionID
        do {
            try await lane.commitTransaction()
        } catch let error as PostgresError {
            let committed = await transactionCommitted(id, on: lane)
            if committed == true {
                context.logger.warning("the answer to COMMIT was lost (\(error.message)), but the transaction committed")
                try await record(flushes)
                return
            }
            guard !retried, let sole, let only = flushes.first, error.isRetryable, committed == false || Self.isIdempotent(sole.plan.mode) else {
                let covered = !states.isEmpty && flushes.allSatisfy { flush in states.contains { $0.stream == flush.stream } }
                throw describe(error, committing: flushes, rolledBack: committed == false, storedWithTheirStates: covered)
            }
            context.logger.warning("commit of \(sole.plan.stream) failed (\(error.sqlState ?? "no SQLSTATE")), writing its flush again: \(error.message)")
            try await reconnectIfNeeded(lane)
            lane.start(sole, buffer: only.buffer, bytes: only.bytes, commit: states.isEmpty, on: try await connected(lane))
            try await drain(lane)
            if !states.isEmpty { try await commit(lane, storing: states, retried: true) }
            return
        }
        try await record(flushes)
    }

    /// Whether the transaction `id` committed (`pg_xact_status`), asked on `lane`'s connection or
    /// a new one when it is gone, waiting while it is still in progress; nil when that cannot be
    /// told (no id, the server unreachable for about 5 s, or the id too old).
    private func transactionCommitted(_ id: String?, on lane: FlushLane) async -> Bool? {
        guard let id else { return nil }
        for attempt in 0..<50 {
            if attempt > 0 { try? await Task.sleep(for: .milliseconds(100)) }
            do {
                try await reconnectIfNeeded(lane)
                let status = try await connected(lane).execute("SELECT pg_xact_status($1::xid8)", [.text(id)]).rows.first?.first ?? nil
                switch status {
                case "committed": return true
                case "aborted": return false
                case "in progress": continue
                default: return nil
                }
            } catch {
                continue
            }
        }
        return nil
    }

    /// Counts committed flushes in their streams' summaries and reports progress.
    private func record(_ flushes: [FlushLane.Written]) async throws {
        stager?.release(flushes.compactMap(\.result.slot))
        for written in flushes {
            let buffer = written.buffer
            buffer.summary.inserted += written.result.inserted
            buffer.summary.updated += written.result.updated
            buffer.summary.deleted += written.result.deleted
            buffer.summary.unmatched += written.result.unmatched
            buffer.summary.nulBytesStripped += written.nulBytesStripped
            buffer.committedRows += written.rows
            buffer.committedBytes += UInt64(written.bytes)
            try await reporter?.committed(buffer)
        }
    }

    private static func isIdempotent(_ mode: WriteMode) -> Bool {
        [.upsert, .updateOnly, .mirror].contains(mode)
    }

    /// Encodes `buffer`'s rows into a flush, waits for the flush in flight on the stream's lane
    /// (encoding overlaps it), then starts writing this one without waiting. When both are
    /// COPYs continuing the lane's open transaction, this one is started first, chained behind
    /// the other on the connection (``FlushLane/chain(_:buffer:bytes:on:)``), so the server
    /// does not wait between them.
    private func flush(_ buffer: StreamBuffer) async throws {
        guard buffer.rows > 0 else { return }
        var flush: Flush
        do {
            flush = try Flush.encode(buffer, settings: settings, syncedAtMicros: syncedAtMicros, sourceName: request.sourceName)
        } catch let error as RowError {
            throw PluginError(category: .data, code: "INVALID_VALUE",
                              message: "stream \(buffer.plan.stream), column \"\(error.column)\", row \(error.row + 1): \(error.reason)",
                              stream: buffer.plan.stream)
        }
        // Its rows go into a staging slot on the stager's connection while the lane finishes
        // the flush before it.
        if let stager, flush.stagedUpsert != nil, case .staging(let chunks) = flush.route {
            flush.prestage = await stager.stage(flush.plan, chunks: chunks)
        }
        let bytes = buffer.bytes
        bufferedBytes -= bytes
        buffer.previousFlushRows = buffer.rows
        buffer.handedOver()
        if flush.buildsKey {
            buffer.keyPending = false
            buffer.metadataPending = false
        }
        if let keys = flush.newKeys { buffer.highestKeyWritten = keys.upperBound }
        let lane = lanes[lane(for: buffer.plan.stream)]
        if lane.canChain(flush, commit: commitsEachFlush), let connection = lane.connection, connection.isAlive {
            lane.chain(flush, buffer: buffer, bytes: bytes, on: connection)
            try await drainInFlight(lane)
            lane.promoteQueued()
            return
        }
        try await drain(lane, keepingCopyFor: flush)
        lane.start(flush, buffer: buffer, bytes: bytes, commit: commitsEachFlush, on: try await connected(lane))
    }

    private func connected(_ lane: FlushLane) async throws -> PostgresConnection {
        if let connection = lane.connection { return connection }
        let connection = try await Self.connect(config)
        lane.connection = connection
        return connection
    }

    private func drainAll() async throws {
        for lane in lanes { try await drain(lane) }
    }

    /// Waits for the flush in flight, then records its counts (committed) or keeps it in the
    /// lane's open transaction. A failed flush that was alone in its transaction is retried (lost
    /// connections, deadlocks, serialization failures) with backoff; one that shared it with
    /// earlier flushes fails (retryable), since their rows are rolled back and no longer in
    /// memory: the host re-runs from the last acknowledged state. A connection lost while COMMIT
    /// was in flight leaves the outcome unknown: keyed modes retry (idempotent), append and
    /// replace fail rather than risk committing the batch twice.
    ///
    /// Then ends the COPY the lane left open (``Flush/Route/stream(_:)``), unless `next` continues it.
    private func drain(_ lane: FlushLane, keepingCopyFor next: Flush? = nil) async throws {
        try await drainInFlight(lane)
        if lane.queued != nil {
            lane.promoteQueued()
            try await drainInFlight(lane)
        }
        try await endCopy(lane, unlessContinuedBy: next)
    }

    /// Ends the COPY left open on `lane`, unless `next` continues it. The server takes or refuses
    /// the COPY's rows only now: a refused one fails the Write as a flush would, naming its row,
    /// and the lane's transaction is rolled back. A COPY that held only its transaction's one
    /// flush (whose rows the lane keeps, ``FlushLane/soleFlush``) and failed for a reason worth
    /// retrying (a lost connection, say) is written again, as that flush would be.
    private func endCopy(_ lane: FlushLane, unlessContinuedBy next: Flush? = nil, attempt: Int = 1) async throws {
        guard let span = lane.copySpan, let connection = lane.connection else { return }
        if let next, span.isContinued(by: next) { return }
        lane.copySpan = nil
        do {
            try await connection.endOpenCopy()
        } catch {
            let sole = lane.soleFlush
            if connection.isAlive { _ = try? await connection.execute("ROLLBACK") }
            let rolledBack = lane.dropTransaction()
            if Task.isCancelled { throw CancellationError() }
            if let sole, let only = rolledBack.first, rolledBack.count == 1, only.firstRow == span.firstRow, error.isRetryable,
               attempt < Self.maxAttempts {
                context.logger.warning("flush of \(span.plan.stream) failed (\(error.sqlState ?? "no SQLSTATE")), retrying: \(error.message)")
                try await Task.sleep(for: Self.backoff(attempt))
                try await reconnectIfNeeded(lane)
                lane.start(sole, buffer: only.buffer, bytes: only.bytes, commit: false, on: try await connected(lane))
                try await drainInFlight(lane)
                try await endCopy(lane, attempt: attempt + 1)
                return
            }
            let earlier = rolledBack.filter { !($0.stream == span.plan.stream && $0.firstRow >= span.firstRow) }
            throw describe(error, flush: span.asFlush, attempts: attempt, ambiguous: false, rolledBack: earlier, held: false)
        }
    }

    /// ``drain(_:)`` for the flush in flight only, leaving a queued one queued. A chained flush
    /// that sent nothing (the transaction it was to continue had failed; ``FlushFailure/notRun``)
    /// is started again, once: the flush before it has been settled by then.
    private func drainInFlight(_ lane: FlushLane) async throws {
        guard let current = lane.inFlight else { return }
        lane.inFlight = nil
        var task = current.task, attempt = 1, chained = current.chained
        while true {
            do {
                let result = try await task.value
                if result.leftFreshRoute { current.buffer.freshRoute = false }
                if current.flush.usesStaging { lane.stagingReady.insert(current.flush.plan.staging) }
                let written = FlushLane.Written(current.flush, buffer: current.buffer, bytes: current.bytes, result: result)
                if current.commits {
                    try await record([written])
                } else {
                    if let id = result.transactionID { lane.transactionID = id }
                    lane.keep(current.flush, written)
                }
                return
            } catch let failure as FlushFailure where failure.notRun && chained {
                chained = false
                task = lane.start(current.flush, buffer: current.buffer, bytes: current.bytes, commit: current.commits, on: try await connected(lane))
                lane.inFlight = nil
            } catch let failure as FlushFailure {
                let rolledBack = lane.dropTransaction()
                guard let error = failure.error as? PostgresError else { throw failure.error }
                var committed: Bool? = false
                if failure.committing {
                    committed = await transactionCommitted(failure.result.transactionID, on: lane)
                    if committed == true {
                        context.logger.warning("the answer to COMMIT was lost (\(error.message)), but the transaction committed")
                        try await record([FlushLane.Written(current.flush, buffer: current.buffer, bytes: current.bytes, result: failure.result)])
                        return
                    }
                }
                guard attempt < Self.maxAttempts, error.isRetryable, rolledBack.isEmpty,
                      committed == false || Self.isIdempotent(current.flush.plan.mode) else {
                    throw describe(error, flush: current.flush, attempts: attempt, ambiguous: committed == nil, rolledBack: rolledBack)
                }
                context.logger.warning("flush of \(current.flush.plan.stream) failed (\(error.sqlState ?? "no SQLSTATE")), retrying: \(error.message)")
                try await Task.sleep(for: Self.backoff(attempt))
                try await reconnectIfNeeded(lane)
                attempt += 1
                task = lane.start(current.flush, buffer: current.buffer, bytes: current.bytes, commit: current.commits, on: try await connected(lane))
                lane.inFlight = nil
            }
        }
    }

    /// The wait before a flush's next attempt: 200 ms after the first, then four times longer.
    private static func backoff(_ attempt: Int) -> Duration { .milliseconds(200 * (1 << (2 * (attempt - 1)))) }

    private func reconnectIfNeeded(_ lane: FlushLane) async throws {
        guard let connection = lane.connection, !connection.isAlive else { return }
        connection.close()
        lane.stagingReady.removeAll()
        lane.connection = try await Self.connect(config)
    }

    /// The error of a failed flush. `rolledBack`: earlier flushes of its transaction, lost with it.
    /// `held`: the flush's rows are still in memory (not those of a COPY left open, already sent).
    private func describe(_ error: PostgresError, flush: Flush, attempts: Int, ambiguous: Bool, rolledBack: [FlushLane.Written],
                          held: Bool = true) -> PluginError {
        if let timeout = PluginErrors.timeout(error, stream: flush.plan.stream, table: flush.plan.target) { return timeout }
        let rows = Self.rows(first: flush.firstRow, count: flush.rows)
        let state = error.sqlState ?? ""
        let lost = rolledBack.reduce(0) { $0 + $1.rows }
        let rollback = commitsEachFlush ? ""
            : "; nothing written since the last acknowledged state was committed"
                + (lost > 0 ? " (\(lost) earlier rows in the same transaction were rolled back too)" : "")
        if state.hasPrefix("22") || state.hasPrefix("23") {
            return PluginError(category: .data, code: "VALUE_REJECTED",
                               message: RejectedValue.place(error.context, flush: flush).map { "\($0): PostgreSQL rejected the value: \(error.message)\(rollback)" }
                                   ?? "stream \(flush.plan.stream): PostgreSQL rejected a value among \(rows): \(error.message)\(rollback)",
                               detail: [error.detail, "SQLSTATE \(state)"].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: "; "),
                               stream: flush.plan.stream)
        }
        // After an ambiguous COMMIT, repeating the call could write append rows twice.
        let retryable = error.isRetryable && (!ambiguous || Self.isIdempotent(flush.plan.mode))
        let note = ambiguous ? " (the connection was lost while committing, so whether \(rows) were committed is unknown; not retried to avoid writing them twice)"
            : (lost > 0 || !held) && retryable ? "\(rollback); those rows are no longer held, so re-run from the last acknowledged state"
            : retryable ? " (after \(attempts) attempts)\(rollback)" : rollback
        return PluginError(category: retryable ? .transient : .system, code: "WRITE_FAILED",
                           message: "stream \(flush.plan.stream): writing \(rows) failed: \(error.message)\(note)",
                           detail: state.isEmpty ? "" : "SQLSTATE \(state)", retryable: retryable, stream: flush.plan.stream)
    }

    /// The error of a failed COMMIT: `rolledBack` when the transaction is known to be rolled
    /// back, else its outcome is unknown.
    /// `storedWithTheirStates`: the transaction also stored the state of every stream it wrote.
    private func describe(_ error: PostgresError, committing flushes: [FlushLane.Written], rolledBack: Bool,
                          storedWithTheirStates: Bool) -> PluginError {
        let rows = flushes.map { "stream \($0.stream) \(Self.rows(first: $0.firstRow, count: $0.rows))" }.joined(separator: ", ")
        let state = error.sqlState ?? ""
        let detail = state.isEmpty ? "" : "SQLSTATE \(state)"
        guard !rolledBack else {
            let data = state.hasPrefix("22") || state.hasPrefix("23")
            let retryable = error.isRetryable && !data
            return PluginError(category: data ? .data : retryable ? .transient : .system, code: data ? "VALUE_REJECTED" : "WRITE_FAILED",
                               message: "committing \(rows) failed: \(error.message); the transaction was rolled back, so nothing written since the last acknowledged state was committed"
                                   + (retryable ? "; those rows are no longer held, so re-run from the last acknowledged state" : ""),
                               detail: detail, retryable: retryable, stream: flushes.first?.stream)
        }
        // Repeating the call could write append rows twice, unless the transaction also held the
        // state covering them: a rerun then resumes from whatever `_sluice_state` says committed.
        if storedWithTheirStates {
            return PluginError(category: .transient, code: "WRITE_FAILED",
                               message: "committing \(rows) failed: \(error.message) (the connection was lost while committing; whether they were committed is recorded with their state, so a re-run resumes exactly)",
                               detail: detail, retryable: true, stream: flushes.first?.stream)
        }
        let retryable = flushes.allSatisfy { Self.isIdempotent($0.buffer.plan.mode) }
        return PluginError(category: retryable ? .transient : .system, code: "WRITE_FAILED",
                           message: "committing \(rows) failed: \(error.message) (the connection was lost while committing and whether they were committed could not be found out; not retried to avoid writing them twice)",
                           detail: detail, retryable: retryable, stream: flushes.first?.stream)
    }

    private static func rows(first: Int, count: Int) -> String {
        "rows \(first + 1)–\(first + count) of the stream"
    }

    // MARK: End of sync

    /// Mirror: deletes rows this sync did not write. Replace: swaps the new tables in.
    private func finish() async throws {
        for stream in order {
            guard let buffer = buffers[stream] else { continue }
            let plan = buffer.plan
            // A replacement whose rows go into a live table that views keep (replaceInPlace) is dropped.
            if buffer.keyPending, plan.replaceInPlace == nil { try await buildKey(buffer) }
            switch plan.mode {
            case .mirror:
                if let partial = request.catalog.streams.first(where: { $0.schema.stream == stream })?.partialRead {
                    context.logger.warning("stream \(stream): mirror kept the rows this sync did not write, because \(partial): stale rows are deleted only after a complete read")
                    continue
                }
                try await deleteStale(buffer)
            case .replace:
                try await swap(plan, storing: deferredStates.last { $0.stream == stream })
            default:
                break
            }
        }
    }

    /// Builds the primary key of a table that was created without it (``WritePlan/keyAfterLoad``),
    /// now that its rows are in, in a transaction of its own.
    private func buildKey(_ buffer: StreamBuffer) async throws {
        _ = try await connection.execute("BEGIN")
        do {
            let metadata = buffer.metadataPending ? buffer.plan.addMetadataColumns(syncedAtMicros: syncedAtMicros, sourceName: request.sourceName) : []
            try await Flush.buildKey(buffer.plan, adding: metadata, on: connection)
            try await connection.commit()
        } catch {
            _ = try? await connection.execute("ROLLBACK")
            throw error
        }
        buffer.keyPending = false
        buffer.metadataPending = false
    }

    /// Mirror: deletes the rows this sync did not write (those written before it started), and
    /// marks the sync finished, in one transaction. A sync resumed from a state an earlier Write
    /// committed started with that Write.
    private func deleteStale(_ buffer: StreamBuffer) async throws {
        let plan = buffer.plan
        let column = SQL.quoteIdentifier(WritePlan.syncedAtColumn)
        let cutoff = CommittedStateStore.timestamp(syncStarted[plan.stream] ?? syncedAtMicros)
        _ = try await connection.execute("BEGIN")
        do {
            let deleted = try await connection.execute("DELETE FROM \(plan.target) WHERE \(column) IS NULL OR \(column) < $1", [cutoff])
            if let embedding = plan.embedding { _ = try await connection.execute(embedding.deleteOrphans(plan)) }
            try await stateStore?.finishSync(plan.stream, on: connection)
            try await connection.commit()
            buffer.summary.deleted += UInt64(deleted.affectedRows)
        } catch {
            _ = try? await connection.execute("ROLLBACK")
            throw error
        }
    }

    /// Swaps the replacement tables (the stream's, and its embeddings') in, in one transaction,
    /// with the stream's last state (the replacement holds every row it covers); a stream table
    /// that views depend on keeps its place and gets the replacement's rows.
    private func swap(_ plan: WritePlan, storing state: State?) async throws {
        _ = try await connection.execute("BEGIN")
        do {
            if let afterEmptying = plan.replaceInPlace {
                try await TableManager(connection: connection, settings: settings, schemaName: plan.schemaName).replaceRows(plan, afterEmptying: afterEmptying)
            } else {
                try await swapTable(schema: plan.schemaName, live: plan.table, replacement: plan.writeTable)
            }
            if let embedding = plan.embedding {
                try await swapTable(schema: plan.schemaName, live: embedding.liveTable, replacement: embedding.table)
            }
            if let stateStore, let state {
                try await stateStore.store(state, table: naming.target(of: plan.stream), syncStartedMicros: nil, on: connection)
            }
            try await connection.commit()
        } catch {
            _ = try? await connection.execute("ROLLBACK")
            throw error
        }
    }

    /// Renames `replacement` to `live`, dropping the old `live` table.
    private func swapTable(schema: String, live name: String, replacement: String) async throws {
        let old = Identifiers.shortened(name + "_sluice_old")
        let live = SQL.quoteQualified(schema: schema, name: name)
        let cascade = settings.migrateCascade ? " CASCADE" : ""
        let exists = try await TableManager.tableExists(live, on: connection)
        if exists {
            _ = try await connection.execute("DROP TABLE IF EXISTS \(SQL.quoteQualified(schema: schema, name: old))\(cascade)")
            _ = try await connection.execute("ALTER TABLE \(live) RENAME TO \(SQL.quoteIdentifier(old))")
        }
        _ = try await connection.execute("ALTER TABLE \(SQL.quoteQualified(schema: schema, name: replacement)) RENAME TO \(SQL.quoteIdentifier(name))")
        if exists {
            _ = try await connection.execute("DROP TABLE \(SQL.quoteQualified(schema: schema, name: old))\(cascade)")
        }
    }

    /// After a failure: stops every lane's flush in flight (rolling it back unless its COMMIT
    /// was already sent), rolls back every open transaction, then drops replacement tables so
    /// the live ones stay as they were.
    private func abandon() async {
        cancellation.cancelAll()
        for lane in lanes {
            for flush in [lane.inFlight, lane.queued].compactMap({ $0 }) { _ = try? await flush.task.value }
            lane.inFlight = nil
            lane.queued = nil
            if let connection = lane.connection, connection.isAlive { _ = try? await connection.execute("ROLLBACK") }
            _ = lane.dropTransaction()
        }
        await stager?.close()
        guard connection.isAlive else { return }
        for stream in order {
            guard let plan = buffers[stream]?.plan, plan.mode == .replace, plan.writeTable != plan.table else { continue }
            _ = try? await connection.execute("DROP TABLE IF EXISTS \(plan.target)")
            if let embedding = plan.embedding { _ = try? await connection.execute("DROP TABLE IF EXISTS \(embedding.qualified)") }
        }
    }
}
