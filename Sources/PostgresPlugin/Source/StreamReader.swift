import Foundation
import Logging
import PostgresClient
import SluiceSDK
import SluiceWire

/// Reads one stream with binary COPY, sending batches, progress and checkpoints as it goes.
///
/// A full refresh of a table is read in ranges: primary-key ranges in key order when it has a
/// primary key, ctid block ranges otherwise; with `split_tables`, one range per connection (the
/// main connection plus `workers`, all in one exported snapshot) when the table is large enough,
/// else one range (an interrupted read resumes the ranges it saved, whatever the setting).
struct StreamReader {
    let plan: StreamPlan
    let batch: BatchSettings
    let checkpoints: CheckpointPolicy
    /// Whether a large table is split into ranges for the connections (`split_tables`).
    let splitTables: Bool
    let output: ReadOutput
    let states: StateCounter
    let logger: Logger
    /// The transactions in progress just before the read's transaction began, for an
    /// incremental read that records its snapshot.
    let listing: ReadSnapshot.Listing?
    /// A batch sent right after the stream's schema, before any row read (change data capture's
    /// snapshot opens with a TRUNCATE row).
    var opening: RecordBatch? = nil

    /// COPY chunks (about 1 MB each) read ahead of the decoder, per connection.
    static let queuedChunks = 4

    /// Blocks (8 kB) a range must have at least before a table is split.
    static let minimumBlocksPerRange: Int64 = 128

    /// Reads the stream on `main` (inside its read transaction) and `workers` (idle); returns its counts.
    func run(main: PostgresConnection, workers: [PostgresConnection]) async throws -> StreamSummary {
        let stream = plan.stream
        let (sink, segments) = try await open(on: main, connections: 1 + workers.count)
        let connections = segments.count > 1 ? [main] + workers.prefix(segments.count - 1) : [main]
        if connections.count > 1 {
            let snapshot = try await Self.exportSnapshot(main)
            for worker in connections.dropFirst() { try await Self.joinSnapshot(worker, snapshot) }
            logger.info("stream \(stream): reading \(segments.count) \(plan.byKey ? "key" : "block") ranges on \(connections.count) connections")
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, connection) in connections.enumerated() {
                let assigned = segments.enumerated().filter { $0.offset % connections.count == index }.map(\.element)
                group.addTask {
                    for segment in assigned { try await readSegment(connection, segment: segment, sink: sink) }
                }
            }
            do {
                try await group.waitForAll()
            } catch {
                for connection in connections { connection.cancel() }
                throw error
            }
        }
        for worker in connections.dropFirst() { _ = try await worker.execute("COMMIT") }
        return try await close(sink)
    }

    /// Starts the stream on `connection` (in the read's snapshot): sends its schema, its STARTED
    /// status and ``opening``, and splits it into the segments left to read (an interrupted read's
    /// ranges; with ``splitTables``, ranges for up to `connections` connections; else the whole
    /// stream), which the returned sink follows.
    func open(on connection: PostgresConnection, connections: Int) async throws -> (BatchSink, [Segment]) {
        let stream = plan.stream
        try await output.send(plan.schema)
        try await output.status(StreamStatus(stream: stream, status: .started))
        if let opening { try await output.send(opening) }
        let sink = BatchSink(plan: plan, output: output, states: states, checkpoints: checkpoints)
        // The ranges a table not read before is split into.
        let ways = splitTables ? connections : 1
        let segments: [Segment]
        if plan.byCtid {
            var all = plan.resumeRanges ?? []
            if all.isEmpty { all = try await splitRanges(main: connection, connections: ways) }
            await sink.start(ranges: all)
            segments = all.enumerated().filter { !$0.element.done }.map { .ctid($0.offset, $0.element) }
        } else if plan.byKey {
            var all = plan.resumeKeyRanges ?? []
            if all.isEmpty { all = try await splitKeys(main: connection, connections: ways) }
            await sink.start(keyRanges: all)
            segments = all.enumerated().filter { !$0.element.done }.map { .key($0.offset, $0.element) }
        } else {
            var run: SnapshotText?
            if let resumeRun = plan.resumeRun {
                run = SnapshotText(resumeRun.snapshot)
            } else if let listing {
                run = try await ReadSnapshot.capture(connection, listing: listing, stream: stream)
            }
            await sink.start(run: run)
            segments = [.all]
        }
        return (sink, segments)
    }

    /// Ends the stream once every segment is read: its final state, progress and COMPLETE status.
    func close(_ sink: BatchSink) async throws -> StreamSummary {
        let summary = try await sink.finish()
        try await output.status(StreamStatus(stream: plan.stream, status: .complete))
        return summary
    }

    /// The table's current size in blocks (it takes the ACCESS SHARE lock the read takes anyway).
    private func currentBlocks(main: PostgresConnection) async throws -> Int64 {
        let rows = try await main.execute(
            "SELECT pg_relation_size($1::oid) / current_setting('block_size')::bigint", [.text(String(plan.table.oid))]).rows
        return rows.first?[0].flatMap { Int64($0) } ?? 0
    }

    /// Splits the table's current blocks into up to `connections` ranges, the last one open-ended.
    private func splitRanges(main: PostgresConnection, connections: Int) async throws -> [CtidRange] {
        guard connections > 1, plan.limit == 0 else { return [CtidRange(lo: 0, hi: nil)] }
        let blocks = try await currentBlocks(main: main)
        let count = Int64(max(1, min(Int64(connections), blocks / Self.minimumBlocksPerRange)))
        let size = blocks / count
        return (0 ..< count).map { index in
            CtidRange(lo: index * size, hi: index == count - 1 ? nil : (index + 1) * size)
        }
    }

    /// Splits the first key column's values into up to `connections` ranges of about as many
    /// rows, at quantiles of a block sample (`TABLESAMPLE SYSTEM`) read in the current snapshot.
    private func splitKeys(main: PostgresConnection, connections: Int) async throws -> [KeyRange] {
        guard connections > 1, plan.limit == 0 else { return [KeyRange(lower: nil, upper: nil)] }
        let blocks = try await currentBlocks(main: main)
        let count = Int(max(1, min(Int64(connections), blocks / Self.minimumBlocksPerRange)))
        guard count > 1 else { return [KeyRange(lower: nil, upper: nil)] }
        // About 256 sampled blocks, whatever the table's size.
        let percent = min(100, max(0.001, 256 * 100 / Double(blocks)))
        let fractions = "{" + (1 ..< count).map { String(Double($0) / Double(count)) }.joined(separator: ",") + "}"
        let key = plan.qualifiedName + "." + SQL.quoteIdentifier(plan.keyColumns[0])
        let result = try await main.execute("""
            SELECT b FROM unnest((SELECT (percentile_disc($1::float8[]) WITHIN GROUP (ORDER BY \(key)))::text[]
                                  FROM \(plan.table.fromItem) TABLESAMPLE SYSTEM ($2::float8))) b
            """, [.text(fractions), .text(String(percent))])
        var bounds: [String] = []
        for case let bound? in result.rows.map({ $0[0] }) where bound != bounds.last { bounds.append(bound) }
        let edges: [String?] = [nil] + bounds.map { $0 } + [nil]
        return (0 ..< edges.count - 1).map { KeyRange(lower: edges[$0], upper: edges[$0 + 1]) }
    }

    /// Exports the snapshot of `main`'s transaction (`pg_export_snapshot()`).
    static func exportSnapshot(_ main: PostgresConnection) async throws -> String {
        let id = try await main.execute("SELECT pg_export_snapshot()").rows.first?[0] ?? ""
        // A server-made identifier (hex digits and dashes); SET TRANSACTION SNAPSHOT takes no parameters.
        guard !id.isEmpty, id.allSatisfy({ $0.isHexDigit || $0 == "-" }) else {
            throw PluginError(category: .system, code: "SNAPSHOT", message: "unexpected snapshot identifier from pg_export_snapshot()")
        }
        return id
    }

    /// Opens a read-only transaction on `worker` in `snapshot`.
    static func joinSnapshot(_ worker: PostgresConnection, _ snapshot: String) async throws {
        _ = try await worker.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        _ = try await worker.execute("SET TRANSACTION SNAPSHOT '\(snapshot)'")
    }

    /// One COPY: a block or key range, or the whole (filtered, ordered, resumed) stream.
    func readSegment(_ connection: PostgresConnection, segment: Segment, sink: BatchSink) async throws {
        if let (sql, parameters) = plan.settingsSQL(segment: segment) {
            _ = try await connection.execute(sql, parameters)
        }
        // By ctid: a sequential scan, never the primary key index. By key: the primary key index,
        // so rows stream (and checkpoints follow) from the start instead of after a full sort.
        // Only the row versions a snapshot did not see: a sequential scan, never a whole index.
        let setting = plan.usesCtid || plan.readsUnseenOnly ? "enable_indexscan" : plan.byKey ? "enable_sort" : nil
        if let setting { _ = try await connection.execute("SET LOCAL \(setting) = off") }
        let maxBytes = batch.batchSizeBytes, batch = self.batch
        let stream = plan.stream
        let queue = ChunkQueue(capacity: Self.queuedChunks)
        let sql = plan.copySQL(segment: segment)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    _ = try await connection.copyOut(sql) { chunk in try await queue.push(chunk) }
                    await queue.finish(nil)
                } catch {
                    await queue.finish(error)
                    throw error
                }
            }
            group.addTask {
                let decoder = CopyBatchDecoder(decodings: plan.columns.map(\.plan.decoding), extraFields: plan.extraFields,
                                               keyFields: plan.keyFields, maxFrameSize: output.maxFrameSize, postgresRows: plan.postgresRows)
                // Smaller first batches (``BatchSettings/firstBatchRows``): the destination starts sooner.
                var maxRows = batch.rowLimit(after: nil)
                do {
                    while let chunk = try await queue.next() {
                        var position = 0
                        while position < chunk.count && !decoder.ended {
                            do throws(CopyFormatError) {
                                position = try decoder.decode(chunk, from: position, maxRows: maxRows, maxBytes: maxBytes)
                            } catch {
                                throw await pluginError(error, sink: sink)
                            }
                            if decoder.rows >= maxRows || decoder.bytes >= maxBytes || decoder.full {
                                try await sink.send(decoder.takeBatchWithKey(stream: stream), segment: segment)
                                maxRows = batch.rowLimit(after: maxRows)
                            }
                        }
                    }
                    if decoder.rows > 0 { try await sink.send(decoder.takeBatchWithKey(stream: stream), segment: segment) }
                } catch {
                    await queue.close()
                    throw error
                }
            }
            // The reader stopped by a failed decoder throws CancellationError: report the cause.
            var failure: Error?
            while let result = await group.nextResult() {
                if case .failure(let error) = result, failure == nil || failure is CancellationError { failure = error }
            }
            if let failure { throw failure }
        }
        if let setting { _ = try await connection.execute("SET LOCAL \(setting) = on") }
        await sink.segmentDone(segment)
    }
}

extension StreamReader {
    /// The Read's error for a decoding failure: a value the protocol cannot carry and a row no
    /// frame can carry are data errors naming the stream, the column and the row.
    func pluginError(_ error: CopyFormatError, sink: BatchSink) async -> PluginError {
        let stream = plan.stream
        var row = ""
        if let key = error.key, !plan.keyColumns.isEmpty {
            row = "row with " + zip(plan.keyColumns, key).map { "\($0.0) = \($0.1 ?? "NULL")" }.joined(separator: ", ")
        } else if let index = error.row {
            row = "row \(await sink.recordsSent + UInt64(index) + 1)"
        }
        if let needed = error.rowTooLarge {
            return PluginError(category: .data, code: "ROW_TOO_LARGE",
                               message: "stream \(stream), \(row): the row needs about \(needed) bytes in a batch, over the maximum frame size of \(output.maxFrameSize) bytes the host set; raise the host's limit (plugin-host --max-frame-size) or select fewer columns",
                               stream: stream)
        }
        if error.unrepresentable, let field = error.field, plan.columns.indices.contains(field) {
            return PluginError(category: .data, code: "UNREPRESENTABLE_VALUE",
                               message: "stream \(stream), column \"\(plan.columns[field].name)\", \(row): \(error.message)", stream: stream)
        }
        return PluginError(category: .system, code: "COPY_FORMAT", message: "stream \(stream): \(error.message)", stream: stream)
    }
}

/// Sends the batches of one stream, from one or several connections, each followed by the
/// checkpoint that covers it when one is due (``CheckpointPolicy``): a batch, its position and
/// its checkpoint go out together.
actor BatchSink {
    private let plan: StreamPlan
    private let output: ReadOutput
    private let states: StateCounter
    private let checkpoints: CheckpointPolicy
    /// When the last state was sent (or the first batch read), and the bytes sent since.
    private var lastState: ContinuousClock.Instant?
    private var bytesSinceState = 0
    private var summary: StreamSummary
    /// Incremental: the key of the last row sent by this read.
    private var key: [String?]?
    /// Incremental: the snapshot this read's rows are recorded against.
    private var run: SnapshotText?
    private var ranges: [CtidRange] = []
    private var keyRanges: [KeyRange] = []
    private var batches = 0
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(plan: StreamPlan, output: ReadOutput, states: StateCounter, checkpoints: CheckpointPolicy) {
        self.plan = plan
        self.output = output
        self.states = states
        self.checkpoints = checkpoints
        summary = StreamSummary(stream: plan.stream)
    }

    /// Rows sent so far.
    var recordsSent: UInt64 { summary.records }

    func start(ranges: [CtidRange]) { self.ranges = ranges }
    func start(keyRanges: [KeyRange]) { self.keyRanges = keyRanges }
    func start(run: SnapshotText?) { self.run = run }

    /// Sends `batch` (read from `segment`), then, when one is due, the state after its last
    /// row, with no other batch in between.
    func send(_ batch: (RecordBatch, [String?], Int), segment: Segment) async throws {
        await acquire()
        defer { release() }
        let (records, lastKey, bytes) = batch
        summary.records += UInt64(records.rowCount)
        summary.bytes += UInt64(bytes)
        try await output.send(records)
        batches += 1
        let now = ContinuousClock.now
        let since = lastState ?? now
        lastState = since
        bytesSinceState += bytes
        let elapsed = since.duration(to: now)
        let due = checkpoints.due(elapsed: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
                                  sentBytes: bytesSinceState)
        let state: ReadState?
        switch segment {
        case .ctid(let index, _):
            ranges[index].after = lastKey.first ?? nil
            state = due ? plan.state(key: [], ranges: ranges, sent: summary.records) : nil
        case .key(let index, _):
            keyRanges[index].after = lastKey
            state = due ? plan.state(key: [], keyRanges: keyRanges, sent: summary.records) : nil
        case .all where !plan.keyColumns.isEmpty:
            key = lastKey
            state = due ? plan.incrementalState(last: lastKey, run: run, finished: false) : nil
        case .all:
            state = nil
        }
        if let state {
            try await states.checkpoint(output, stream: plan.stream, state)
            lastState = .now
            bytesSinceState = 0
        }
        if batches % 10 == 0 {
            try await output.progress(StreamProgress(stream: plan.stream, records: summary.records, bytes: summary.bytes,
                                               estimatedRecords: plan.table.estimatedRows))
        }
    }

    private func acquire() async {
        if busy {
            await withCheckedContinuation { waiters.append($0) }
        } else {
            busy = true
        }
    }

    /// Hands the turn to the next waiting sender, or frees it.
    private func release() {
        if waiters.isEmpty { busy = false } else { waiters.removeFirst().resume() }
    }

    /// Marks a block or key range as read to its end.
    func segmentDone(_ segment: Segment) {
        switch segment {
        case .ctid(let index, _): ranges[index].done = true
        case .key(let index, _): keyRanges[index].done = true
        case .all: break
        }
    }

    /// Sends the final state and progress; returns the stream's counts. An incremental read cut
    /// by `limit` stays a read in progress.
    func finish() async throws -> StreamSummary {
        let cut = plan.limit > 0 && summary.records >= plan.limit
        let final = plan.incremental ? plan.incrementalState(last: key, run: run, finished: !cut) : plan.state(key: [], complete: true)
        try await states.checkpoint(output, stream: plan.stream, final, streamComplete: true)
        try await output.progress(StreamProgress(stream: plan.stream, records: summary.records, bytes: summary.bytes,
                                           estimatedRecords: plan.table.estimatedRows))
        return summary
    }
}

extension CopyBatchDecoder {
    /// The batch so far, the key of its last row, and its field bytes.
    func takeBatchWithKey(stream: StreamID) -> (RecordBatch, [String?], Int) {
        let bytes = self.bytes
        return (takeBatch(stream: stream), lastKey, bytes)
    }
}

/// Numbers the states of a Read.
final class StateCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var last: UInt64 = 0
    /// False when the read's position is one global state (change data capture): the
    /// per-stream states of its snapshot are not sent.
    let sendsStreamStates: Bool

    init(sendsStreamStates: Bool = true) {
        self.sendsStreamStates = sendsStreamStates
    }

    /// Sends the state `state` of `stream` through `output`, unless per-stream states are off;
    /// `streamComplete` marks the stream's last state of the Read (PROTOCOL.md §4.4 rule 3).
    func checkpoint(_ output: ReadOutput, stream: StreamID, _ state: ReadState, streamComplete: Bool = false) async throws {
        guard sendsStreamStates else { return }
        try await output.checkpoint(next(stream: stream, state, streamComplete: streamComplete))
    }

    /// The next state id.
    func nextID() -> UInt64 {
        lock.withLock {
            last += 1
            return last
        }
    }

    /// A state message for `stream` carrying `state`.
    func next(stream: StreamID, _ state: ReadState, streamComplete: Bool = false) -> State {
        lock.lock()
        defer { lock.unlock() }
        last += 1
        return State(id: last, stream: stream, data: state.data, streamComplete: streamComplete)
    }
}
