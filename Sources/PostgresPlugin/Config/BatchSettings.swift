/// Batching and parallelism, shared by both roles.
struct BatchSettings: Sendable {
    /// Rows per batch (records read, or rows per flush).
    var batchSize: Int
    /// Bytes per batch, approximately.
    var batchSizeBytes: Int
    /// Connections used in parallel.
    var maxConnections: Int

    init(_ reader: inout ConfigReader) {
        batchSize = reader.integer("batch_size", default: 10_000, range: 1...10_000_000)
        batchSizeBytes = reader.integer("batch_size_bytes", default: 100_000_000, range: 1024...2_000_000_000)
        maxConnections = reader.integer("max_connections", default: 2, range: 1...8)
    }

    static var schemaProperties: [String: Any] {
        [
            "batch_size": ["type": "integer", "minimum": 1, "maximum": 10_000_000, "default": 10_000,
                           "description": "Rows per batch: records per outgoing batch when reading, rows per flush when writing."],
            "batch_size_bytes": ["type": "integer", "minimum": 1024, "maximum": 2_000_000_000, "default": 100_000_000,
                                 "description": "Approximate bytes per batch (default 100 MB); a source's batches also stay under the host's maximum frame size (64 MiB by default)."],
            "max_connections": ["type": "integer", "minimum": 1, "maximum": 8, "default": 2,
                                "description": "Connections used in parallel: streams and batches written in parallel, or large tables read in ranges."],
        ]
    }
}
