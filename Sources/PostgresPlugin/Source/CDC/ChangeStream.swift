import PostgresClient
import SluiceSDK
import SluiceWire

/// The streaming part of a CDC Read: reads the slot, gathers whole transactions, sends them as
/// batches followed by a global State, and confirms the slot's flush position only up to the
/// States acknowledged (or the Read's incoming one).
///
/// Columns follow the table as the WAL describes it: each Relation message gives the columns of
/// the changes after it, which may differ from the Read's plan (a column added or dropped while
/// or before the changes were made). Each distinct column set is a *shape* of the stream; a
/// change carries its shape, and batches of a new shape are preceded by a StreamSchema with its
/// columns (the destination adds new columns as a safe migration). A stream read with selected
/// columns keeps to them. A column whose type changed, or a column that appears in a table with
/// a default (rows already copied took the default without a change in the WAL, so the
/// destination cannot learn their values), fails the Read naming it.
struct ChangeStream {
    let reader: CDCReader
    let plans: [StreamPlan]
    let slot: String
    let publication: String
    let states: StateCounter
    let converter: ChangeConverter
    /// An ordinary connection, for heartbeats.
    let main: PostgresConnection
    /// Transactions whose commit record lies before this position were delivered already.
    var start: LSN = .zero
    /// The flush position the slot may be confirmed at: the destination committed up to it.
    var confirmed: LSN = .zero
    /// Per stream, in plan order.
    var summaries: [StreamSummary]

    /// States sent in this Read and not acknowledged yet, oldest first, with their positions.
    private var unacknowledged: [(id: UInt64, lsn: LSN)] = []
    /// Relations the server described, by oid: their stream, shape, and each shape column's index in their tuples.
    private var relations: [UInt32: (plan: Int, shape: Int, columns: [Int])] = [:]
    /// Per stream (plan order), its shapes; shape 0 is the plan's columns (the schema sent first).
    private var shapes: [[[SourceColumn]]]
    /// Per stream, the shape of the last StreamSchema sent.
    private var sentShape: [Int]
    /// Per stream, the column names its latest changes carried (they reached the destination,
    /// or will with them): a column not among them that appears is an added column.
    private var carried: [[String]]
    /// The transaction being received: whether it is a duplicate, and its changes per stream.
    private var open: (skip: Bool, changes: [Int: [RowChange]])?
    /// Whole transactions received and not sent yet, per stream, and the end of the last one.
    private var pending: [Int: [RowChange]] = [:]
    private var pendingCount = 0
    private var pendingEnd: LSN?
    private var pendingSince: ContinuousClock.Instant?
    /// The server's WAL position from its last keepalive: everything before it was received.
    private var serverEnd: LSN = .zero
    private var received: LSN = .zero
    private var lastIdleState = ContinuousClock.now
    private var lastHeartbeat = ContinuousClock.now
    private var lastProgress = ContinuousClock.now
    /// How often each stream's Progress (with the slot's lag) is sent.
    static let progressInterval: Duration = .seconds(2)

    /// Bytes of WAL the slot holds back: from its confirmed position to the server's.
    var lagBytes: UInt64 {
        guard confirmed > .zero, serverEnd > confirmed else { return 0 }
        return serverEnd.rawValue - confirmed.rawValue
    }

    init(reader: CDCReader, plans: [StreamPlan], slot: String, publication: String, states: StateCounter,
         converter: ChangeConverter, main: PostgresConnection) {
        self.main = main
        self.reader = reader
        self.plans = plans
        self.slot = slot
        self.publication = publication
        self.states = states
        self.converter = converter
        summaries = plans.map { StreamSummary(stream: $0.stream) }
        shapes = plans.map { [$0.columns] }
        sentShape = plans.map { _ in 0 }
        carried = plans.map { $0.columns.map(\.name) }
    }

    /// Takes the columns each stream carried by the incoming state: the plan's columns not among
    /// them were added to the table since, and fail the Read when the table gave them a default.
    func resume(from state: CDCState) async throws {
        for plan in plans {
            guard let names = state.columns[plan.stream] else { continue }
            let known = Set(names)
            try await requireNoDefaults(plan.columns.filter { !known.contains($0.name) }, plan: plan)
        }
    }

    /// Sends the global State at `lsn` and remembers it until acknowledged.
    mutating func checkpoint(_ lsn: LSN) async throws {
        let id = states.nextID()
        var columns: [StreamID: [String]] = [:]
        for (index, plan) in plans.enumerated() { columns[plan.stream] = shapes[index][sentShape[index]].map(\.name) }
        try await reader.output.checkpoint(State(id: id, stream: nil, data: CDCState(slot: slot, lsn: lsn, columns: columns).data))
        unacknowledged.append((id, lsn))
    }

    /// Streams from ``start`` until the server's position reaches `target` (nil: until cancelled).
    mutating func run(replication: PostgresConnection, target: LSN?) async throws {
        try await replication.startLogicalReplication(slot: slot, start: start, options: [
            ("proto_version", "1"), ("publication_names", SQL.quoteIdentifier(publication)),
        ])
        var reported = LSN.zero
        var lastStatus = ContinuousClock.now
        if confirmed > .zero {
            try await replication.sendStandbyStatus(StandbyStatus(write: confirmed, flush: confirmed, apply: confirmed))
            reported = confirmed
        }
        var done = false
        while !done {
            try reader.source.context.checkCancellation()
            noteAcknowledgements()
            if target == nil { try await advanceIdle() }
            var replyNow = false
            if confirmed > reported || ContinuousClock.now - lastStatus >= CDCReader.statusInterval {
                try await replication.sendStandbyStatus(StandbyStatus(write: max(received, confirmed), flush: confirmed, apply: confirmed))
                reported = confirmed
                lastStatus = ContinuousClock.now
            }
            let batch: ReplicationBatch
            do {
                batch = try await replication.receiveReplication(waitMilliseconds: 500)
            } catch {
                if let undecodable = CDCReader.undecodable(error, slot: slot) { throw undecodable }
                throw error
            }
            if batch.ended {
                throw PluginError(category: .transient, code: "REPLICATION_ENDED", message: "the server ended replication from the slot \(slot)")
            }
            for message in batch.messages {
                switch message {
                case .keepalive(let keepalive):
                    serverEnd = max(serverEnd, keepalive.walEnd)
                    if keepalive.replyRequested { replyNow = true }
                case .data(let data):
                    received = max(received, data.start)
                    if try await handle(data) { replyNow = true }
                }
                if let target, open == nil, serverEnd >= target || (pendingEnd ?? .zero) >= target {
                    done = true
                    break
                }
            }
            if let since = pendingSince, done || pendingCount >= CDCReader.maxPendingChanges || ContinuousClock.now - since >= CDCReader.maxPendingDuration {
                try await flush()
            }
            if batch.messages.isEmpty {
                replyNow = true
                // A bounded run on a quiet server: a WAL record past the target lets the server's
                // position reach it (the target may sit just past a page header no record ends at).
                if target != nil, ContinuousClock.now - lastHeartbeat >= CDCReader.heartbeatInterval {
                    lastHeartbeat = .now
                    _ = try? await main.execute("SELECT pg_logical_emit_message(false, 'sluice_heartbeat', '')")
                }
            }
            if ContinuousClock.now - lastProgress >= Self.progressInterval {
                lastProgress = .now
                try await sendProgress()
            }
            if replyNow && !done {
                // Asking for a reply makes the server send a keepalive with its position at once:
                // how a bounded run sees that it caught up, and how an idle slot advances.
                try await replication.sendStandbyStatus(StandbyStatus(write: max(received, confirmed), flush: confirmed, apply: confirmed,
                                                                      replyRequested: true))
                reported = confirmed
                lastStatus = ContinuousClock.now
            }
        }
        try await flush()
        noteAcknowledgements()
        try await replication.sendStandbyStatus(StandbyStatus(write: max(received, confirmed), flush: confirmed, apply: confirmed))
        try? await replication.endReplication(waitMilliseconds: 5_000)
        for index in summaries.indices { summaries[index].lagBytes = lagBytes }
    }

    /// Each stream's records so far and the slot's lag.
    private func sendProgress() async throws {
        for summary in summaries {
            try await reader.output.progress(StreamProgress(stream: summary.stream, records: summary.records, bytes: summary.bytes,
                                                            lagBytes: lagBytes))
        }
    }

    /// Moves ``confirmed`` to the newest acknowledged State.
    private mutating func noteAcknowledgements() {
        guard let latest = reader.output.acknowledgements.latest else { return }
        while let first = unacknowledged.first, first.id <= latest {
            confirmed = max(confirmed, first.lsn)
            unacknowledged.removeFirst()
        }
    }

    /// An idle slot advances: with every State acknowledged, nothing pending and no transaction
    /// open, every transaction before the server's position was received and had nothing for
    /// these streams, so a State at that position is sent (at most once per
    /// ``CDCReader/maxPendingDuration``); the slot confirms it once acknowledged, like any other.
    private mutating func advanceIdle() async throws {
        guard unacknowledged.isEmpty, open == nil, pendingEnd == nil, confirmed > .zero, serverEnd > confirmed,
              ContinuousClock.now - lastIdleState >= CDCReader.maxPendingDuration else { return }
        lastIdleState = .now
        try await checkpoint(serverEnd)
    }

    /// Takes one pgoutput message; true when a commit ended a transaction.
    private mutating func handle(_ data: XLogData) async throws -> Bool {
        let message: PgOutputMessage
        do {
            message = try PgOutputMessage(decoding: data.payload)
        } catch {
            throw PluginError(category: .protocol, code: "READ_FAILED", message: "malformed pgoutput message at \(data.start): \(error)")
        }
        switch message {
        case .begin(let begin):
            open = (skip: begin.finalLSN < start, changes: [:])
        case .commit(let commit):
            serverEnd = max(serverEnd, commit.endLSN)
            guard let transaction = open else { return true }
            open = nil
            guard !transaction.skip else { return true }
            if !transaction.changes.isEmpty {
                for (index, changes) in transaction.changes {
                    pending[index, default: []] += changes
                    pendingCount += changes.count
                }
                if pendingSince == nil { pendingSince = .now }
            }
            pendingEnd = commit.endLSN
            if pendingSince == nil { pendingSince = .now }
            return true
        case .relation(let relation):
            try await describe(relation)
        case .insert(let oid, let new):
            try add(oid, .upsert, new)
        case .update(let oid, let old, let new):
            if let old, let mapping = relations[oid], keyChanged(old, new, mapping: mapping) {
                try add(oid, .delete, old.values)
            }
            try add(oid, .upsert, new)
        case .delete(let oid, let old):
            try add(oid, .delete, old.values)
        case .truncate(let truncate):
            for oid in truncate.relations { try add(oid, .truncate, nil) }
        case .origin, .type, .message:
            break
        }
        return false
    }

    /// Maps a relation of the publication to its stream and shape (relations of other tables
    /// are ignored): the relation's columns, in its order, or the selected ones among them.
    private mutating func describe(_ relation: Relation) async throws {
        guard let index = plans.firstIndex(where: { $0.table.oid == relation.oid }) else {
            relations[relation.oid] = nil
            return
        }
        let plan = plans[index]
        let selected = plan.columns.map(\.name) != plan.table.columns.map(\.name)
        var known: [String: SourceColumn] = [:]
        for shape in shapes[index] { for column in shape { known[column.name] = column } }
        var current: [String: SourceColumn]?
        var columns: [SourceColumn] = []
        var positions: [Int] = []
        for (position, published) in relation.columns.enumerated() {
            if selected, !plan.columns.contains(where: { $0.name == published.name }) { continue }
            var column = known[published.name]
            if column == nil || column?.typeOID != published.typeOID || column?.typeModifier != published.typeModifier {
                if current == nil { current = try await currentColumns(plan) }
                column = current?[published.name]
            }
            guard let column, column.typeOID == published.typeOID, column.typeModifier == published.typeModifier else {
                throw PluginError(category: .data, code: "CDC_COLUMN_CHANGED",
                                  message: "stream \(plan.stream): column \(published.name) of the changes is not the table's column of that name now (its type changed, or it was dropped since): the rows copied so far cannot follow it; start the pipeline over with a new snapshot (plugin-host: pipeline --release-resources)",
                                  stream: plan.stream)
            }
            columns.append(column)
            positions.append(position)
        }
        for key in plan.table.primaryKey where plan.columns.contains(where: { $0.name == key }) && !columns.contains(where: { $0.name == key }) {
            throw PluginError(category: .data, code: "CDC_KEY_MISSING",
                              message: "stream \(plan.stream): the changes have no column \(key), a column of the primary key: the rows cannot be identified; start the pipeline over with a new snapshot (plugin-host: pipeline --release-resources)",
                              stream: plan.stream)
        }
        let carriedNames = Set(carried[index])
        try await requireNoDefaults(columns.filter { !carriedNames.contains($0.name) }, plan: plan)
        carried[index] = columns.map(\.name)
        let shape: Int
        if let existing = shapes[index].firstIndex(of: columns) {
            shape = existing
        } else {
            shape = shapes[index].count
            shapes[index].append(columns)
        }
        relations[relation.oid] = (index, shape, positions)
    }

    /// The table's columns now, by name, from the catalog.
    private func currentColumns(_ plan: StreamPlan) async throws -> [String: SourceColumn] {
        let tables = try await CatalogReader(connection: main, settings: reader.source.config.source).tables()
        let columns = tables.first { $0.oid == plan.table.oid }?.columns ?? []
        return Dictionary(columns.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// Fails when one of `added`, columns that appeared in the table after rows of it were
    /// copied, has a default (or is an identity or generated column): PostgreSQL gave the existing
    /// rows its value without writing a change for them.
    private func requireNoDefaults(_ added: [SourceColumn], plan: StreamPlan) async throws {
        guard !added.isEmpty else { return }
        let rows = try await main.execute("""
            SELECT attname FROM pg_attribute WHERE attrelid = $1::oid AND attname = ANY($2::text[]) AND NOT attisdropped
              AND (atthasmissing OR atthasdef OR attidentity <> '' OR attgenerated <> '') ORDER BY attnum
            """, [.text(String(plan.table.oid)), .text(PrivilegeAudit.textArray(added.map(\.name)))]).rows
        guard let name = rows.first?.first ?? nil else { return }
        throw PluginError(category: .data, code: "CDC_COLUMN_ADDED_WITH_DEFAULT",
                          message: "stream \(plan.stream): column \(name) was added to the table with a default (or as an identity or generated column): the rows already copied took its value without any change in the WAL, so the destination cannot learn it from the changes; start the pipeline over with a new snapshot (plugin-host: pipeline --release-resources), or add such columns without a default and set it afterwards",
                          stream: plan.stream)
    }

    /// Whether an update's old tuple holds another key than its new one.
    private func keyChanged(_ old: OldTuple, _ new: [TupleValue], mapping: (plan: Int, shape: Int, columns: [Int])) -> Bool {
        let plan = plans[mapping.plan]
        let columns = shapes[mapping.plan][mapping.shape]
        for key in plan.table.primaryKey {
            guard let column = columns.firstIndex(where: { $0.name == key }) else { continue }
            let position = mapping.columns[column]
            let before = position < old.values.count ? old.values[position] : .null
            let after = position < new.count ? new[position] : .null
            if before != .unchanged, after != .unchanged, before != .null, before != after { return true }
        }
        return false
    }

    /// Adds a change of relation `oid` to the open transaction; `tuple` nil is all-null.
    private mutating func add(_ oid: UInt32, _ operation: RowOperation, _ tuple: [TupleValue]?) throws {
        guard open != nil, let mapping = relations[oid] else { return }
        let plan = plans[mapping.plan]
        let columns = shapes[mapping.plan][mapping.shape]
        let values = mapping.columns.map { position -> TupleValue in
            guard let tuple, position < tuple.count else { return .null }
            return tuple[position]
        }
        if operation != .truncate {
            for key in plan.table.primaryKey {
                guard let column = columns.firstIndex(where: { $0.name == key }) else { continue }
                if values[column] == .unchanged || values[column] == .null {
                    throw PluginError(category: .data, code: "CDC_KEY_MISSING",
                                      message: "stream \(plan.stream), column \(key): a change arrived without its key value (an unchanged TOASTed key): the row cannot be identified",
                                      stream: plan.stream)
                }
            }
        }
        let stored: [TupleValue] = operation == .upsert ? values : values.map { $0 == .unchanged ? .null : $0 }
        open?.changes[mapping.plan, default: []].append(RowChange(operation: operation, values: stored, shape: mapping.shape))
    }

    /// Sends the pending transactions' batches, then their State.
    private mutating func flush() async throws {
        guard let end = pendingEnd else { return }
        for index in pending.keys.sorted() {
            let plan = plans[index]
            let changes = pending[index] ?? []
            var first = 0
            while first < changes.count {
                let shape = changes[first].shape
                let end = changes[first...].firstIndex { $0.shape != shape } ?? changes.count
                let columns = shapes[index][shape]
                if shape != sentShape[index] {
                    let names = Set(columns.map(\.name))
                    let key = plan.table.primaryKey.allSatisfy(names.contains) ? plan.table.primaryKey : []
                    try await reader.output.send(StreamSchema(stream: plan.stream, columns: columns.map(\.column), primaryKey: key))
                    sentShape[index] = shape
                }
                for batch in try await converter.convert(changes[first ..< end], plan: plan, columns: columns) {
                    try await reader.output.send(batch)
                    summaries[index].records += UInt64(batch.rowCount)
                }
                first = end
            }
        }
        try await checkpoint(end)
        pending = [:]
        pendingCount = 0
        pendingEnd = nil
        pendingSince = nil
    }
}
