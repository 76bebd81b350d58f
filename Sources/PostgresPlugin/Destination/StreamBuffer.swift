import SluiceWire

/// A stream's rows received since its last flush, and its counts so far.
final class StreamBuffer {
    var plan: WritePlan
    var batches: [RecordBatch] = []
    var rows = 0
    var bytes = 0
    var hasDeletes = false
    /// Whether a buffered batch carries PostgreSQL rows (PROTOCOL.md §5.12): they go by COPY.
    private(set) var hasPostgresRows = false
    /// Rows of the stream handed to flushes before this buffer (for error positions).
    var flushedRows = 0
    /// Rows of the stream committed so far.
    var committedRows = 0
    /// Approximate bytes of the rows committed so far.
    var committedBytes: UInt64 = 0
    var summary: StreamSummary
    /// Whether flushes into a fresh table may still COPY straight into it (``Flush/Route/fresh(_:)``):
    /// false once one met a key already written.
    var freshRoute = true
    /// The table still has no primary key (``WritePlan/keyAfterLoad``): built by the first flush
    /// that needs it, else when the Write ends.
    var keyPending: Bool
    /// The table still lacks its metadata columns (``WritePlan/metadataAfterLoad``): flushes
    /// leave them out until the one that builds the key adds them.
    var metadataPending: Bool
    /// The highest key written while ``keyPending`` (``Flush/newKeys``).
    var highestKeyWritten: DistinctKeys.Key?
    /// Rows of the stream's last flush, nil before the first.
    var previousFlushRows: Int?

    /// Buffered rows at which the stream is flushed. Until its first rows are committed, sooner:
    /// the first flush at ``BatchSettings/firstBatchRows``, each next at twice the one before, up
    /// to `batch_size` (``BatchSettings/rowLimit(after:)``), so the server loads while the rest
    /// arrives; then at `batch_size`.
    func flushRows(_ batch: BatchSettings) -> Int {
        committedRows == 0 ? batch.rowLimit(after: previousFlushRows) : batch.batchSize
    }

    init(plan: WritePlan) {
        self.plan = plan
        keyPending = plan.keyAfterLoad
        metadataPending = plan.metadataAfterLoad
        summary = StreamSummary(stream: plan.stream)
    }

    /// Adds a batch; returns its approximate size in bytes.
    func append(_ batch: RecordBatch) -> Int {
        let size = Self.approximateBytes(batch.columns) + batch.operations.count + batch.postgresRows.count
        if batch.carriesPostgresRows { hasPostgresRows = true }
        batches.append(batch)
        rows += batch.rowCount
        bytes += size
        if !hasDeletes, batch.operations.contains(RowOperation.delete.rawValue) { hasDeletes = true }
        summary.records += UInt64(batch.rowCount)
        summary.bytes += UInt64(size)
        return size
    }

    /// Forgets the buffered rows once they are encoded into a flush.
    func handedOver() {
        flushedRows += rows
        batches.removeAll()
        rows = 0
        bytes = 0
        hasDeletes = false
        hasPostgresRows = false
    }

    private static func approximateBytes(_ vectors: [ColumnVector]) -> Int {
        var total = 0
        for vector in vectors {
            total += vector.validity.count + vector.bools.count + vector.int32s.count * 4 + vector.int64s.count * 8
                + vector.float32s.count * 4 + vector.float64s.count * 8 + vector.data.count + vector.offsets.count * 4
                + vector.intervalDays.count * 4
            if let child = vector.child { total += approximateBytes([child]) }
        }
        return total
    }
}
