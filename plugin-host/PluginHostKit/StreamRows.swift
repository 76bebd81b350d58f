import SluiceWire

/// The rows of one stream waiting to become a ``RecordBatch``, built column by column.
struct StreamRows {
    let schema: StreamSchema
    /// Column position by name.
    let columnIndex: [String: Int]
    private let capacity: Int
    private var builders: [ColumnBuilder]
    /// Empty until the first delete; then one ``RowOperation`` per row.
    private var operations: [UInt8] = []
    /// Rows appended since the last batch.
    private(set) var count = 0
    /// An upper bound of the encoded size of those rows' values (see ``encodedBytes(of:)``).
    private(set) var valueBytes = 0
    /// An upper bound of what a batch of this stream adds to its values: the envelope, the
    /// stream's name and, per column, the tags and lengths of every vector it may use.
    let overheadBytes: Int

    init(schema: StreamSchema, capacity: Int) {
        self.schema = schema
        self.capacity = capacity
        columnIndex = Dictionary(schema.columns.enumerated().map { ($0.element.name, $0.offset) }) { first, _ in first }
        builders = Self.builders(schema, capacity)
        overheadBytes = 64 + schema.stream.namespace.utf8.count + schema.stream.name.utf8.count
            + schema.columns.reduce(0) { $0 + ($1.type.kind == .list ? 144 : 72) }
    }

    /// An upper bound of the bytes `row` adds to a batch once encoded: each value's slot in the
    /// vectors of its kind (PROTOCOL.md §5.3), its offset, and a validity byte per column.
    static func encodedBytes(of row: [Value]) -> Int {
        row.reduce(1) { $0 + encodedBytes(of: $1) + 1 }
    }

    private static func encodedBytes(of value: Value) -> Int {
        switch value {
        case .null: return 16 // the widest slot of a fixed-width kind (interval, uuid)
        case .bool: return 1
        case .int16, .int32, .date, .float32: return 4
        case .int64, .time, .timestamp, .timestamptz, .float64: return 8
        case .timetz: return 12
        case .interval, .uuid: return 16
        case .decimal(let text), .string(let text), .json(let text): return text.utf8.count + 4
        case .bytes(let bytes): return bytes.count + 4
        case .list(let elements): return elements.reduce(4) { $0 + encodedBytes(of: $1) + 1 }
        }
    }

    private static func builders(_ schema: StreamSchema, _ capacity: Int) -> [ColumnBuilder] {
        schema.columns.map { ColumnBuilder(type: $0.type, capacity: capacity) }
    }

    /// Appends a row of one value per column, of `bytes` as ``encodedBytes(of:)`` gives them;
    /// throws when a value does not fit its column.
    mutating func append(_ row: [Value], operation: RowOperation, bytes: Int) throws(ProtocolError) {
        for index in row.indices {
            do {
                try builders[index].append(row[index])
            } catch {
                throw ProtocolError(.invalidMessage, "column \"\(schema.columns[index].name)\": \(error.message)")
            }
        }
        if operation != .upsert, operations.isEmpty { operations = [UInt8](repeating: RowOperation.upsert.rawValue, count: count) }
        if !operations.isEmpty || operation != .upsert { operations.append(operation.rawValue) }
        count += 1
        valueBytes += bytes
    }

    /// The rows so far as a batch; starts over empty.
    mutating func takeBatch() -> RecordBatch {
        let batch = RecordBatch(stream: schema.stream, rowCount: count, columns: builders.map { $0.finish() }, operations: operations)
        builders = Self.builders(schema, capacity)
        operations = []
        count = 0
        valueBytes = 0
        return batch
    }
}
