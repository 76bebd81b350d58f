/// Batching and parallelism, shared by both roles.
struct BatchSettings: Sendable {
    /// Rows per batch (records read, or rows per flush).
    var batchSize: Int
    /// Bytes per batch, approximately.
    var batchSizeBytes: Int
    /// Connections used in parallel.
    var maxConnections: Int

    static let batchSizeSetting = Setting<Int>.integer(
        "batch_size", default: 10_000, range: 1...10_000_000,
        "Rows per batch: records per outgoing batch when reading, rows per flush when writing. A stream's first batch holds at most 1,000 rows and each next one twice the one before, up to this; so do a destination's flushes until the stream's first commit, so that rows start loading at once.")
    static let batchSizeBytesSetting = Setting<Int>.integer(
        "batch_size_bytes", default: 100_000_000, range: 1024...2_000_000_000,
        "Approximate bytes per batch (default 100 MB); a source's batches also stay under the host's maximum frame size (64 MiB by default).")
    static let maxConnectionsSetting = Setting<Int>.integer(
        "max_connections", default: 2, range: 1...8,
        "Connections used in parallel: streams and batches written in parallel, or large tables read in ranges.")

    /// Rows of a stream's first batch when reading, and of its first flush when writing, when
    /// `batch_size` is larger. A source's batches after the first hold twice as many as the one
    /// before, up to `batch_size`; so do a destination's flushes until the stream's first
    /// commit, then they come at `batch_size`. A destination then starts loading a few
    /// milliseconds into a Read instead of once a whole batch has been read, sent and buffered,
    /// and keeps the server busy while the batches grow.
    static let firstBatchRows = 1_000

    /// The row limit of a stream's next batch: the first's (`previous` nil), or twice
    /// `previous`, never above `batch_size`.
    func rowLimit(after previous: Int?) -> Int {
        guard let previous else { return min(batchSize, Self.firstBatchRows) }
        return min(batchSize, previous * 2)
    }

    init(_ reader: inout ConfigReader) {
        batchSize = reader.read(Self.batchSizeSetting)
        batchSizeBytes = reader.read(Self.batchSizeBytesSetting)
        maxConnections = reader.read(Self.maxConnectionsSetting)
    }
}
