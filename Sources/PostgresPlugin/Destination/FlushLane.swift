import PostgresClient
import SluiceWire

/// One of the Write's connections (`max_connections`): the streams assigned to it are flushed
/// on it in order, one flush at a time, while other lanes flush other streams. With
/// `transaction_scope: state` its flushes accumulate in one open transaction until the session
/// commits it at the next state (``commitTransaction()``).
final class FlushLane {
    /// Opened at the lane's first flush (lane 0's at the start of the call).
    var connection: PostgresConnection?
    /// The flush being written now; nothing else uses the connection meanwhile.
    var inFlight: InFlight?
    /// A flush started behind `inFlight` (``chain(_:buffer:bytes:on:)``): its COPY waits on
    /// the connection's queue and runs right after `inFlight`'s, in the same transaction, or
    /// not at all when that transaction failed.
    var queued: InFlight?
    /// Staging tables that exist on `connection`.
    var stagingReady: Set<String> = []
    /// Whether a transaction is open on `connection` (BEGIN sent, neither COMMIT nor ROLLBACK
    /// since), including the one of the flush in flight.
    var transactionOpen = false
    /// The open transaction's id (`pg_current_xact_id()`), once its first flush was written.
    var transactionID: String?
    /// Flushes written in the open transaction, counted once it commits.
    var written: [Written] = []
    /// The open transaction's only flush, kept (while it is the only one) so a keyed mode can
    /// write it again when the COMMIT's outcome is unknown.
    var soleFlush: Flush?
    /// Cancels the flush tasks when the Write is cancelled or fails.
    let cancellation: FlushCancellation
    /// The rows sent into the COPY left open on `connection` (``Flush/Route/stream(_:)``), once
    /// a flush that opens one has been started; the session ends it before anything else uses
    /// the connection.
    var copySpan: CopySpan?

    /// The rows of one stream in a COPY left open, consecutive in the stream: the rows of every
    /// flush started into it, which the server takes or refuses only when the COPY ends.
    struct CopySpan {
        var plan: WritePlan
        /// The stream position (zero-based) of the COPY's first row; its line 1.
        var firstRow: Int
        var rows: Int

        /// Whether `flush` adds its rows to this COPY: the same statement, and the next rows.
        func isContinued(by flush: Flush) -> Bool {
            guard case .stream = flush.route else { return false }
            return flush.plan.stream == plan.stream && flush.plan.copyIntoTarget == plan.copyIntoTarget && flush.firstRow == firstRow + rows
        }

        /// The COPY's rows as one flush, for error messages (``RejectedValue``).
        var asFlush: Flush {
            Flush(plan: plan, route: .copy([]), hasDeletes: false, distinctKeys: false, rows: rows, firstRow: firstRow, nulBytesStripped: 0)
        }
    }

    /// Records `flush` as the next one on the connection: whether it continues the COPY left
    /// open, or opens the next (a flush of another route ends it, ``Flush/Route/stream(_:)``).
    private func joinCopy(_ flush: Flush) -> Bool {
        guard case .stream = flush.route else {
            copySpan = nil
            return false
        }
        if let span = copySpan, span.isContinued(by: flush) {
            copySpan?.rows += flush.rows
            return true
        }
        copySpan = CopySpan(plan: flush.plan, firstRow: flush.firstRow, rows: flush.rows)
        return false
    }

    /// A started flush, with what the session records once it commits.
    struct InFlight {
        var flush: Flush
        var buffer: StreamBuffer
        var bytes: Int
        /// Whether the flush's task commits its own transaction.
        var commits: Bool
        var task: Task<FlushResult, any Error>
        /// Started behind another flush (``chain(_:buffer:bytes:on:)``).
        var chained = false
        /// Set when the call that starts the flush's COPY has started on the connection.
        var copyStarted: CallStarted
    }

    /// A flush written but not yet committed: what counting it takes, without its encoded rows
    /// (so an open transaction holds no row data in memory).
    struct Written {
        var stream: StreamID
        var buffer: StreamBuffer
        var rows: Int
        /// The stream position (zero-based) of the flush's first row.
        var firstRow: Int
        var bytes: Int
        var nulBytesStripped: UInt64
        var result: FlushResult

        init(_ flush: Flush, buffer: StreamBuffer, bytes: Int, result: FlushResult) {
            stream = flush.plan.stream
            self.buffer = buffer
            rows = flush.rows
            firstRow = flush.firstRow
            self.bytes = bytes
            nulBytesStripped = flush.nulBytesStripped
            self.result = result
        }
    }

    init(connection: PostgresConnection? = nil, cancellation: FlushCancellation) {
        self.connection = connection
        self.cancellation = cancellation
    }

    /// Starts writing `flush` on `connection` as the lane's flush in flight: in the open
    /// transaction if there is one, else in a new one; `commit` ends that transaction with it.
    @discardableResult
    func start(_ flush: Flush, buffer: StreamBuffer, bytes: Int, commit: Bool, on connection: PostgresConnection) -> Task<FlushResult, any Error> {
        let begin = !transactionOpen
        transactionOpen = !commit
        let ready = stagingReady.contains(flush.plan.staging)
        let started = CallStarted()
        let continues = !commit && joinCopy(flush)
        if commit { copySpan = nil }
        let task = cancellation.start(lane: ObjectIdentifier(self)) {
            try await flush.run(on: connection, stagingReady: ready, begin: begin, commit: commit, copyStarted: started, continuesCopy: continues)
        }
        inFlight = InFlight(flush: flush, buffer: buffer, bytes: bytes, commits: commit, task: task, copyStarted: started)
        return task
    }

    /// Whether `flush` can be started now behind the flush in flight (``chain(_:buffer:bytes:on:)``).
    /// Both continue the open transaction without committing. The one in flight has started its
    /// COPY's call on the connection and was not refused there (a refused flush is started again
    /// later, so nothing may wait behind it), and makes no call after that one
    /// (``Flush/copyIsLastCall``): an append's COPY, a staged upsert's single call, or a fresh
    /// table's COPY, whose fallback upsert, if it needs one, is a single call made once the COPY
    /// has failed the transaction. The new one makes no call before its COPY (its staging table
    /// exists), so it sends nothing when the first failed. The connection's queue runs calls in
    /// the order they were made, so the two stay in order.
    func canChain(_ flush: Flush, commit: Bool) -> Bool {
        guard let inFlight, queued == nil, !commit, !inFlight.commits, transactionOpen, !flush.buildsKey else { return false }
        // A COPY left open is ended by the session, not by a call queued behind it.
        if let copySpan, !copySpan.isContinued(by: flush) { return false }
        guard !flush.usesStaging || stagingReady.contains(flush.plan.staging) else { return false }
        return flush.copyIsLastCall && inFlight.flush.copyIsLastCall && inFlight.copyStarted.isSet
    }

    /// Starts `flush` behind the flush in flight, as `queued`: the server then goes from one
    /// COPY to the next without waiting for this process (on a busy machine, for each thread
    /// between the two), while the session drains the first. The second checks, on the
    /// connection's queue, that the transaction is still open and has not failed; otherwise it
    /// sends nothing and fails with `transactionNotOpen`, and is started again once the first
    /// is settled (``FlushFailure/notRun``).
    func chain(_ flush: Flush, buffer: StreamBuffer, bytes: Int, on connection: PostgresConnection) {
        let ready = stagingReady.contains(flush.plan.staging)
        let started = CallStarted()
        let continues = joinCopy(flush)
        let task = cancellation.start(lane: ObjectIdentifier(self)) {
            try await flush.run(on: connection, stagingReady: ready, begin: false, commit: false, copyStarted: started, continuesCopy: continues)
        }
        queued = InFlight(flush: flush, buffer: buffer, bytes: bytes, commits: false, task: task, chained: true, copyStarted: started)
    }

    /// Makes the queued flush the one in flight, once the one before it is settled.
    func promoteQueued() {
        inFlight = queued
        queued = nil
    }

    /// Records `flush`, written in the open transaction.
    func keep(_ flush: Flush, _ written: Written) {
        self.written.append(written)
        soleFlush = self.written.count == 1 ? flush : nil
    }

    /// Forgets the open transaction (it was rolled back, or is gone with the connection) and
    /// returns the flushes it held.
    func dropTransaction() -> [Written] {
        let lost = written
        copySpan = nil
        transactionOpen = false
        transactionID = nil
        written = []
        soleFlush = nil
        return lost
    }

    /// Commits the open transaction. A thrown error leaves its outcome unknown; the lane has
    /// forgotten the transaction either way (read `written` and `soleFlush` before).
    func commitTransaction() async throws {
        _ = dropTransaction()
        try await connection?.commit()
    }
}
