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
        "Rows per batch: records per outgoing batch when reading, rows per flush when writing.")
    static let batchSizeBytesSetting = Setting<Int>.integer(
        "batch_size_bytes", default: 100_000_000, range: 1024...2_000_000_000,
        "Approximate bytes per batch (default 100 MB); a source's batches also stay under the host's maximum frame size (64 MiB by default).")
    static let maxConnectionsSetting = Setting<Int>.integer(
        "max_connections", default: 2, range: 1...8,
        "Connections used in parallel: streams and batches written in parallel, or large tables read in ranges.")

    init(_ reader: inout ConfigReader) {
        batchSize = reader.read(Self.batchSizeSetting)
        batchSizeBytes = reader.read(Self.batchSizeBytesSetting)
        maxConnections = reader.read(Self.maxConnectionsSetting)
    }
}
