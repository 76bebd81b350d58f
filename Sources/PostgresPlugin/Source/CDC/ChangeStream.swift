import PostgresClient
import SluiceSDK
import SluiceWire

/// The streaming part of a CDC Read: reads the slot, gathers whole transactions, sends them as
/// batches followed by a global State, and confirms the slot's flush position only up to the
/// States acknowledged (or the Read's incoming one).
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
    /// Relations the server described, by oid, with each stream column's index in its tuples.
    private var relations: [UInt32: (plan: Int, columns: [Int])] = [:]
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
    }

    /// Sends the global State at `lsn` and remembers it until acknowledged.
    mutating func checkpoint(_ lsn: LSN) async throws {
        let id = states.nextID()
        try await reader.output.checkpoint(State(id: id, stream: nil, data: CDCState(slot: slot, lsn: lsn).data))
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
            let batch = try await replication.receiveReplication(waitMilliseconds: 500)
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
            try describe(relation)
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

    /// Maps a relation of the publication to its stream (relations of other tables are ignored).
    private mutating func describe(_ relation: Relation) throws {
        guard let index = plans.firstIndex(where: { $0.table.oid == relation.oid }) else {
            relations[relation.oid] = nil
            return
        }
        let plan = plans[index]
        var columns: [Int] = []
        for column in plan.columns {
            guard let position = relation.columns.firstIndex(where: { $0.name == column.name }) else {
                throw PluginError(category: .config, code: "CDC_COLUMN_NOT_PUBLISHED",
                                  message: "stream \(plan.stream): column \(column.name) is not in the publication's changes (a generated column, a column list, or a dropped column): leave it out of the stream's columns, or publish it (PostgreSQL 18: ALTER PUBLICATION \(SQL.quoteIdentifier(publication)) SET (publish_generated_columns = stored))",
                                  stream: plan.stream)
            }
            columns.append(position)
        }
        relations[relation.oid] = (index, columns)
    }

    /// Whether an update's old tuple holds another key than its new one.
    private func keyChanged(_ old: OldTuple, _ new: [TupleValue], mapping: (plan: Int, columns: [Int])) -> Bool {
        let plan = plans[mapping.plan]
        for key in plan.table.primaryKey {
            guard let column = plan.columns.firstIndex(where: { $0.name == key }) else { continue }
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
        let values = mapping.columns.map { position -> TupleValue in
            guard let tuple, position < tuple.count else { return .null }
            return tuple[position]
        }
        if operation != .truncate {
            for key in plan.table.primaryKey {
                guard let column = plan.columns.firstIndex(where: { $0.name == key }) else { continue }
                if values[column] == .unchanged || values[column] == .null {
                    throw PluginError(category: .data, code: "CDC_KEY_MISSING",
                                      message: "stream \(plan.stream), column \(key): a change arrived without its key value (an unchanged TOASTed key): the row cannot be identified",
                                      stream: plan.stream)
                }
            }
        }
        let stored: [TupleValue] = operation == .upsert ? values : values.map { $0 == .unchanged ? .null : $0 }
        open?.changes[mapping.plan, default: []].append(RowChange(operation: operation, values: stored))
    }

    /// Sends the pending transactions' batches, then their State.
    private mutating func flush() async throws {
        guard let end = pendingEnd else { return }
        for index in pending.keys.sorted() {
            let plan = plans[index]
            for batch in try await converter.convert(pending[index] ?? [], plan: plan) {
                try await reader.output.send(batch)
                summaries[index].records += UInt64(batch.rowCount)
            }
        }
        try await checkpoint(end)
        pending = [:]
        pendingCount = 0
        pendingEnd = nil
        pendingSince = nil
    }
}
