import Foundation
import PostgresClient
import SluiceWire

/// What one flush did.
struct FlushResult: Sendable {
    var inserted: UInt64 = 0
    var updated: UInt64 = 0
    var deleted: UInt64 = 0
    var unmatched: UInt64 = 0
    /// The id (`pg_current_xact_id()`) of the transaction the flush began, if it began one: what
    /// tells, after a COMMIT whose answer was lost, whether it took effect (`pg_xact_status`).
    var transactionID: String?
    /// A ``Flush/Route/fresh(_:)`` flush met a key already in the table and was upserted.
    var leftFreshRoute = false
    /// The staging slot the flush's upsert read (``Flush/prestage``): free again once its
    /// transaction has committed.
    var slot: StagingSlot?
}

/// A flush attempt that failed. `committing`: COMMIT was already sent, so whether it took
/// effect is unknown; `result` then holds what the flush did if it did.
struct FlushFailure: Error {
    var error: any Error
    var committing: Bool
    var result: FlushResult

    /// The flush sent nothing: it was to continue a transaction that was no longer open, or had
    /// failed (a flush chained behind one that failed, ``FlushLane/chain(_:buffer:bytes:on:)``).
    var notRun: Bool { (error as? PostgresError)?.kind == .transactionNotOpen }
}

/// One stream's buffered rows, encoded, and the statements that write them: binary COPY
/// straight into the table (its own, or one left open across flushes), an `unnest` INSERT, or
/// COPY into a staging table plus one set-based statement. Encoding (``encode(_:settings:syncedAtMicros:sourceName:)``) is
/// separate from writing (``run(on:stagingReady:begin:commit:)``), so the session encodes the
/// next flush while this one is in flight, and a retry resends the same bytes.
struct Flush: Sendable {
    /// Batches below this many rows use INSERT with `insert_method: auto`.
    static let smallBatchRows = 1_000
    /// COPY data is sent in chunks of about this size.
    static let chunkBytes = 1 << 20
    /// The most parameter bytes an `unnest` INSERT carries (PostgreSQL takes messages below 1 GB).
    static let maxInsertBytes = 1 << 29

    /// How the rows reach the table.
    enum Route: Sendable {
        case copy([[UInt8]])
        /// Upsert or mirror into a table this Write created, keys distinct within the flush:
        /// COPY straight into the table under a savepoint; a key already there rolls that back
        /// and the same rows are upserted (``run(on:stagingReady:begin:commit:)``).
        case fresh([[UInt8]])
        case insert([PostgresValue])
        case staging([[UInt8]])
        /// Rows straight into a table that no key of theirs can already be in (an append, or a
        /// table still without its primary key whose keys rise past every key written), within
        /// a transaction committed at a state: into the COPY its lane left open, when this flush
        /// continues its rows, else a new one left open (``FlushLane/CopySpan``). The chunks hold
        /// rows only, no COPY header or trailer.
        case stream([[UInt8]])
        /// A CDC stream's TRUNCATE row (``WritePlan/truncateStatement``).
        case truncate
    }

    let plan: WritePlan
    let route: Route
    let hasDeletes: Bool
    /// Whether no key repeats among the rows (upsert then skips keeping the last of each key).
    let distinctKeys: Bool
    let rows: Int
    /// The stream position (zero-based) of the first row, for error messages.
    let firstRow: Int
    let nulBytesStripped: UInt64
    /// A CDC flush with rows keeping the table's value of a column (``UnchangedOrigins``).
    var keepsValues = false
    /// The chunks of text to embed (``EmbeddingPlan``), and the sync's time for their rows.
    var chunks: [EmbeddingPlan.Chunk] = []
    var syncedAtMicros: Int64 = 0
    /// Builds the table's primary key before writing (``WritePlan/keyAfterLoad``).
    var buildsKey = false
    /// Run before building the key: they add the table's metadata columns (``WritePlan/metadataAfterLoad``).
    var metadataStatements: [String] = []
    /// Into a table still without its primary key: the flush's keys, which rise past every key
    /// written before (``DistinctKeys/check(plan:batches:rows:)``).
    var newKeys: ClosedRange<DistinctKeys.Key>?
    /// A staged upsert's rows, being staged ahead on the ``Stager``'s connection: the upsert then
    /// reads them there, or, if that staging failed, stages them on its own connection. Such a
    /// flush makes its upsert a call of its own, so no flush is chained to it.
    var prestage: Prestage?

    var usesStaging: Bool {
        if case .staging = route { return true }
        return false
    }

    /// Whether the call that starts the flush's COPY is the last one it makes on the connection
    /// (when it does not commit): a COPY straight into the table, or into staging with its upsert
    /// in the same call (``stagedUpsert``). A fresh table's COPY that meets a key already there
    /// makes one more, its fallback upsert, but its failure leaves the transaction failed until
    /// then, so a call queued in between sends nothing.
    var copyIsLastCall: Bool {
        switch route {
        case .copy, .fresh, .stream: return true
        case .staging: return stagedUpsert != nil && prestage == nil
        case .insert, .truncate: return false
        }
    }

    /// The statements that apply a staged flush in the same call as its COPY, when they can: an
    /// upsert (or mirror) of rows without deletes, embeddings or values to keep.
    var stagedUpsert: StagedUpsert? {
        guard usesStaging, [.upsert, .mirror].contains(plan.mode), !hasDeletes, !keepsValues, plan.embedding == nil, !plan.raw else {
            return nil
        }
        return plan.upsertFromStaging(distinctKeys: distinctKeys)
    }

    /// Encodes `buffer`'s rows for the route its plan, settings and size call for.
    static func encode(_ buffer: StreamBuffer, settings: DestinationSettings, syncedAtMicros: Int64, sourceName: String) throws -> Flush {
        var plan = buffer.plan
        let failOnNul = settings.nulBytes == .fail
        if buffer.hasDeletes, plan.key.isEmpty, !plan.raw {
            throw PluginError(category: .config, code: "MISSING_KEY",
                              message: "stream \(plan.stream) sends deletes but has no key: give it a primary key or key_columns", stream: plan.stream)
        }
        let insert: Bool
        if buffer.hasDeletes || buffer.hasPostgresRows || plan.hasListColumnWithoutLiteral || plan.raw || plan.embedding != nil {
            insert = false
        } else {
            switch settings.insertMethod {
            case .insert: insert = true
            case .copy: insert = false
            case .auto: insert = buffer.rows < smallBatchRows
            }
        }
        let keyed = plan.raw || buffer.hasDeletes || [.upsert, .updateOnly, .mirror].contains(plan.mode) || plan.embedding != nil
        let keys = !buffer.hasDeletes && !plan.raw && [.upsert, .mirror].contains(plan.mode)
            ? DistinctKeys.check(plan: plan, batches: buffer.batches, rows: buffer.rows) : (proven: false, rising: nil)
        let provenDistinct = keys.proven
        let fresh = provenDistinct && plan.freshTable && buffer.freshRoute && plan.embedding == nil && plan.direct && !plan.cdc
        // A table still without its primary key (``WritePlan/keyAfterLoad``) takes a flush as it is
        // only when no key can be in it yet: straight into it, keys rising past every key written.
        // Any other keyed flush builds the key first, since it finds rows by it.
        var newKeys: ClosedRange<DistinctKeys.Key>?
        if buffer.keyPending, keyed, fresh, let range = keys.rising,
           buffer.highestKeyWritten.map({ range.lowerBound > $0 }) ?? true {
            newKeys = range
        }
        let buildsKey = buffer.keyPending && keyed && newKeys == nil
        // Until the key is built the table lacks its metadata columns (``WritePlan/metadataAfterLoad``);
        // the flush that builds it adds them first and carries them.
        var metadataStatements: [String] = []
        if buffer.metadataPending {
            if buildsKey {
                metadataStatements = plan.addMetadataColumns(syncedAtMicros: syncedAtMicros, sourceName: sourceName)
            } else {
                plan = plan.withoutMetadata
            }
        }
        let origins = plan.cdc ? try UnchangedOrigins.resolve(plan: plan, batches: buffer.batches, firstRow: buffer.flushedRows) : nil
        var inserted: (parameters: [PostgresValue], nulBytesStripped: UInt64)?
        // A statement's parameters travel in one protocol message, which PostgreSQL caps at
        // 1 GB: bigger flushes (by their size received plus a length per value, then encoded)
        // go by COPY, which streams. This also keeps every array's length within an Int32.
        let fieldCount = plan.columns.count + plan.metadataColumns.count
        if insert, !keyed, buffer.bytes + buffer.rows * 4 * fieldCount <= maxInsertBytes {
            let built = try ArrayParameters.build(plan: plan, batches: buffer.batches, rows: buffer.rows, firstRow: buffer.flushedRows,
                                                  syncedAtMicros: syncedAtMicros, sourceName: sourceName, failOnNul: failOnNul)
            let size = built.parameters.reduce(0) { total, parameter in
                if case .binary(let bytes, _) = parameter { total + bytes.count } else { total }
            }
            if size <= maxInsertBytes { inserted = built }
        }
        let staging = (keyed && !fresh) || (!plan.direct && inserted == nil)
        if staging { try TableLimits.checkStaging(plan, metadataSetting: settings.metadataColumns) }
        let route: Route, stripped: UInt64
        if let inserted {
            route = .insert(inserted.parameters)
            stripped = inserted.nulBytesStripped
        } else {
            var encoder = CopyEncoder(plan: plan, staging: staging, syncedAtMicros: syncedAtMicros, sourceName: sourceName,
                                      failOnNul: failOnNul, capacity: min(buffer.bytes + buffer.rows * 24, chunkBytes * 2))
            var chunks: [[UInt8]] = []
            // Rows no key conflict can refuse, in a transaction that outlasts the flush, go into a
            // COPY left open across flushes (a key already there must take a fresh table's
            // savepoint and fallback instead).
            let streams = !staging && (!fresh || newKeys != nil) && settings.transactionScope == .state && !plan.cdc
            if !streams { encoder.appendHeader() }
            var sequence: Int64 = 0
            let flushVectors = origins == nil ? [] : buffer.batches.map { $0.columns.map(VectorReader.init) }
            for (index, batch) in buffer.batches.enumerated() {
                let batchStart = buffer.flushedRows + Int(sequence)
                do throws(RowError) {
                    try encoder.append(batch, sequence: &sequence, origins: origins?.cells[index], flushVectors: flushVectors)
                } catch {
                    throw error.located(firstRow: batchStart)
                }
                if encoder.fields.out.bytes.count >= chunkBytes { chunks.append(encoder.take()) }
            }
            if !streams { encoder.appendTrailer() }
            chunks.append(encoder.take())
            route = streams ? .stream(chunks) : fresh ? .fresh(chunks) : staging ? .staging(chunks) : .copy(chunks)
            stripped = encoder.fields.nulBytesStripped
        }
        let distinct = staging && provenDistinct
        return Flush(plan: plan, route: route, hasDeletes: buffer.hasDeletes, distinctKeys: distinct, rows: buffer.rows, firstRow: buffer.flushedRows,
                     nulBytesStripped: stripped, keepsValues: origins?.keepsDestinationValues ?? false,
                     chunks: plan.embedding?.chunks(buffer.batches) ?? [], syncedAtMicros: syncedAtMicros,
                     buildsKey: buildsKey, metadataStatements: metadataStatements, newKeys: newKeys)
    }

    /// A CDC stream's TRUNCATE row, at stream position `position`.
    static func truncate(_ plan: WritePlan, position: Int) -> Flush {
        Flush(plan: plan, route: .truncate, hasDeletes: false, distinctKeys: false, rows: 0, firstRow: position, nulBytesStripped: 0)
    }

    /// Writes the flush on `connection`; failures come as ``FlushFailure``.
    /// `stagingReady`: whether the plan's staging table already exists on `connection`.
    /// `begin`: opens the transaction (else it continues the one open on `connection`).
    /// `commit`: commits it at the end (else leaves it open, with the staging table emptied for
    /// the next flush). Any failure rolls the whole transaction back, earlier flushes in it too.
    ///
    /// Cancelling the task interrupts the running statement (`PQcancel`), rolls back and throws
    /// `CancellationError`; COMMIT is never sent once cancellation is seen. A COMMIT already sent
    /// when the cancellation comes is ambiguous and may stand: if it returns, the flush counts as
    /// committed; if it fails (the cancel may reach it), whether it took effect is unknown, as on
    /// a connection lost while committing.
    ///
    /// `copyStarted` is set on the connection's queue when the call that starts the COPY starts
    /// (and, continuing a transaction, has found it open).
    /// `continuesCopy`: a ``Route/stream(_:)`` flush adds its rows to the COPY left open.
    func run(on connection: PostgresConnection, stagingReady: Bool, begin: Bool, commit: Bool,
             copyStarted: CallStarted? = nil, continuesCopy: Bool = false) async throws -> FlushResult {
        try Task.checkCancellation()
        var committing = false
        var result = FlushResult()
        do {
            try await withTaskCancellationHandler {
                if begin { result.transactionID = try await connection.executeScript(Self.begin).rows.first?.first ?? nil }
                do {
                    if buildsKey { try await Self.buildKey(plan, adding: metadataStatements, on: connection) }
                    switch route {
                    case .staging(let chunks):
                        // Also for rows staged ahead: the MERGE counts its inserts with the
                        // session's temporary sequence, created with the staging table.
                        if !stagingReady { try await connection.executeScript(plan.createStaging) }
                        if stagedUpsert != nil, let slot = await prestage?.ready() {
                            // The rows are committed in the slot: only the upsert runs here.
                            let upsert = plan.stagedIn(slot).upsertFromStaging(distinctKeys: distinctKeys)
                            (result.inserted, result.updated) = try counts(of: upsert, try await connection.executeScriptResults(upsert.sql))
                            result.slot = slot
                        } else if let upsert = stagedUpsert {
                            // Staging ahead may have failed by a cancellation meant for this flush too.
                            try Task.checkCancellation()
                            // One call: the COPY, the upsert and (unless committing) emptying
                            // the staging table for the next flush.
                            let outcome = try await copy(chunks, plan.copyIntoStaging, on: connection,
                                                         followUp: commit ? upsert.sql : "\(upsert.sql); TRUNCATE \(plan.quotedStaging)",
                                                         inOpenTransaction: !begin, started: copyStarted)
                            (result.inserted, result.updated) = try counts(of: upsert, outcome.followUp)
                        } else {
                            try await copy(chunks, plan.copyIntoStaging, on: connection)
                            try await apply(&result, on: connection)
                            if let embedding = plan.embedding {
                                try await embedding.write(self.chunks, plan: plan, syncedAtMicros: syncedAtMicros, on: connection)
                            }
                        }
                    case .insert(let parameters):
                        result.inserted = UInt64(try await connection.execute(plan.insertFromArrays, parameters).affectedRows)
                    case .copy(let chunks):
                        try await copy(chunks, plan.copyIntoTarget, on: connection, inOpenTransaction: !begin, started: copyStarted)
                        result.inserted = UInt64(rows)
                    case .fresh(let chunks):
                        try await copyFresh(chunks, &result, on: connection, inOpenTransaction: !begin, started: copyStarted)
                    case .stream(let chunks):
                        try await connection.copyInKeepingOpen(plan.copyIntoTarget, header: CopyEncoder.header, chunks: chunks, trailer: CopyEncoder.trailer,
                                                               continuing: continuesCopy, inOpenTransaction: !begin, onStart: copyStarted?.setter)
                        // Committing, the COPY ends first, so a row it refuses fails this flush.
                        if commit { try await connection.endOpenCopy() }
                        result.inserted = UInt64(rows)
                    case .truncate:
                        result.deleted = count(try await connection.execute(plan.truncateStatement), 0)
                    }
                    try Task.checkCancellation()
                    if commit {
                        committing = true
                        try await connection.commit()
                    } else if usesStaging, stagedUpsert == nil {
                        _ = try await connection.execute("TRUNCATE \(plan.quotedStaging)")
                    }
                } catch let error as PostgresError where error.kind == .transactionNotOpen {
                    // Nothing was sent; the transaction is the business of the flush that
                    // failed it (whose own clean-up may still be on the connection's queue).
                    throw error
                } catch {
                    if !committing { _ = try? await connection.execute("ROLLBACK") }
                    throw error
                }
            } onCancel: {
                connection.cancel()
            }
            return result
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw FlushFailure(error: error, committing: committing, result: result)
        }
    }

    /// Builds `plan`'s primary key (``WritePlan/keyAfterLoad``) in the transaction open on
    /// `connection`, after `metadata` (``WritePlan/addMetadataColumns(syncedAtMicros:sourceName:)``,
    /// when the table still lacks those columns). Rows that repeat a key fail it with
    /// `KEY_NOT_UNIQUE`, naming the key.
    static func buildKey(_ plan: WritePlan, adding metadata: [String], on connection: PostgresConnection) async throws {
        do {
            for statement in plan.keyStatements(adding: metadata) { _ = try await connection.execute(statement) }
        } catch {
            guard error.sqlState == "23505" else { throw error }
            throw PluginError(category: .data, code: "KEY_NOT_UNIQUE",
                              message: "stream \(plan.stream): rows written repeat a key, so the primary key (\(plan.schema.primaryKey.joined(separator: ", "))) cannot be built: \(error.detail ?? error.message)",
                              stream: plan.stream)
        }
    }

    /// Opens a transaction and returns its id, in one round trip.
    static let begin = "BEGIN; SELECT pg_current_xact_id()"

    /// `inOpenTransaction`: the COPY continues the open transaction and is not sent without one
    /// (``PostgresConnection/copyIn(_:chunks:followUp:inOpenTransaction:onStart:)``).
    @discardableResult
    private func copy(_ chunks: [[UInt8]], _ sql: String, on connection: PostgresConnection, followUp: String? = nil,
                      inOpenTransaction: Bool = false, started: CallStarted? = nil) async throws -> CopyInResult {
        try await connection.copyIn(sql, chunks: chunks, followUp: followUp, inOpenTransaction: inOpenTransaction, onStart: started?.setter)
    }

    /// A fresh table's rows, straight into it under a savepoint. A key already there (written by
    /// an earlier flush of this Write, or by another session meanwhile) fails the COPY with a
    /// unique violation: it is rolled back to the savepoint and the same rows are upserted
    /// through ``WritePlan/freshStaging`` instead, with the counts of an upsert.
    ///
    /// Each attempt is one call on the connection, so a flush chained behind this one
    /// (``FlushLane/chain(_:buffer:bytes:on:)``) runs before the fallback, finding the
    /// transaction failed and sending nothing, or after all of it: never between its statements,
    /// where it would write a key's newer value that the fallback's older one then overwrites.
    private func copyFresh(_ chunks: [[UInt8]], _ result: inout FlushResult, on connection: PostgresConnection,
                           inOpenTransaction: Bool, started: CallStarted?) async throws {
        let savepoint = SQL.quoteIdentifier(WritePlan.freshSavepoint)
        do {
            // One round trip to start, none between: the savepoint, the COPY and its release.
            try await copy(chunks, "SAVEPOINT \(savepoint); \(plan.copyIntoTarget)", on: connection, followUp: "RELEASE SAVEPOINT \(savepoint)",
                           inOpenTransaction: inOpenTransaction, started: started)
            result.inserted = UInt64(rows)
            return
        } catch let error as PostgresError where error.sqlState == "23505" {
            try Task.checkCancellation()
        }
        result.leftFreshRoute = true
        let upsert = plan.upsertFromFreshStaging
        let outcome = try await copy(chunks, "ROLLBACK TO SAVEPOINT \(savepoint); RELEASE SAVEPOINT \(savepoint); \(plan.createFreshStaging); \(plan.copyIntoFreshStaging)",
                                     on: connection, followUp: "\(upsert.sql); TRUNCATE \(SQL.quoteIdentifier(plan.freshStaging))")
        (result.inserted, result.updated) = try counts(of: upsert, outcome.followUp)
    }

    /// Applies the staged rows to the table per the write mode.
    private func apply(_ result: inout FlushResult, on connection: PostgresConnection) async throws {
        if plan.raw {
            result.inserted = UInt64(try await connection.execute(plan.appendRawFromStaging, plan.rawFieldNames).affectedRows)
            return
        }
        // Deletes, update-only and kept values join the staged rows to the table (MERGE's
        // upsert carries its own guard).
        if plan.guardsStatistics, hasDeletes || keepsValues || plan.mode == .updateOnly { _ = try await connection.execute(plan.statisticsGuard) }
        if hasDeletes, plan.mode != .append, plan.mode != .replace {
            result.deleted = count(try await connection.execute(plan.deleteFromStaging), 0)
        }
        switch plan.mode {
        case .upsert, .mirror:
            let upsert = plan.upsertFromStaging(distinctKeys: distinctKeys)
            (result.inserted, result.updated) = try counts(of: upsert, try await connection.executeScriptResults(upsert.sql))
            if keepsValues { result.updated += try await updateKeepingValues(on: connection) }
        case .updateOnly:
            let counts = try await connection.execute(plan.updateFromStaging)
            result.updated = count(counts, 0)
            result.unmatched = count(counts, 1) - result.updated
        default:
            if hasDeletes {
                result.deleted = count(try await connection.execute(plan.deleteFromStaging), 0)
            }
            let inserted = try await connection.execute(plan.appendFromStaging)
            result.inserted = UInt64(inserted.affectedRows)
        }
    }

    /// Applies the staged rows that leave values unchanged, keeping the table's values; fails
    /// (DATA) naming the first such row whose key the table does not have: no value to keep.
    private func updateKeepingValues(on connection: PostgresConnection) async throws -> UInt64 {
        let counts = try await connection.execute(plan.keepingUpdateFromStaging)
        let updated = count(counts, 0)
        guard updated < count(counts, 1) else { return updated }
        let missing = try await connection.execute(plan.missingKeptRow).rows.first
        let sequence = missing?.first.flatMap { $0 }.flatMap { Int($0) } ?? 0
        let flags = missing.flatMap { $0.count > 1 ? $0[1] : nil } ?? ""
        let column = stride(from: 0, to: flags.utf8.count, by: 2).first { offset in
            flags.dropFirst(offset).prefix(2) == "01"
        }.map { $0 / 2 }
        let name = column.flatMap { $0 < plan.schema.columns.count ? plan.schema.columns[$0].name : nil } ?? "?"
        throw PluginError(category: .data, code: "UNCHANGED_WITHOUT_VALUE",
                          message: "stream \(plan.stream), column \"\(name)\", row \(firstRow + sequence + 1): the value is marked unchanged, but the table has no row with its key, so there is no value to keep",
                          stream: plan.stream)
    }

    /// The rows `upsert` inserted and updated, read from its `results`.
    private func counts(of upsert: StagedUpsert, _ results: [QueryResult]) throws -> (UInt64, UInt64) {
        guard let counts = upsert.counts(results) else {
            throw PluginError(category: .system, code: "WRITE_FAILED", message: "stream \(plan.stream): the upsert returned no counts", stream: plan.stream)
        }
        return counts
    }

    private func count(_ result: QueryResult, _ column: Int) -> UInt64 {
        UInt64(result.rows.first?[column].flatMap { $0 } ?? "0") ?? 0
    }
}

extension RowError {
    /// The error as a data error naming the stream's column and row position.
    func located(firstRow: Int) -> RowError {
        RowError(column: column, row: firstRow + row, reason: reason)
    }
}

/// Set once a flush's COPY call has started on its connection's queue and was not refused (read
/// from any thread): a call queued after that runs after it.
final class CallStarted: @unchecked Sendable {
    // @unchecked: `value` is guarded by `lock`.
    private let lock = NSLock()
    private var value = false

    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
    /// ``set()`` as a connection's `onStart`.
    var setter: @Sendable () -> Void { { self.set() } }
}
