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

    init(schema: StreamSchema, capacity: Int) {
        self.schema = schema
        self.capacity = capacity
        columnIndex = Dictionary(schema.columns.enumerated().map { ($0.element.name, $0.offset) }) { first, _ in first }
        builders = Self.builders(schema, capacity)
    }

    private static func builders(_ schema: StreamSchema, _ capacity: Int) -> [ColumnBuilder] {
        schema.columns.map { ColumnBuilder(type: $0.type, capacity: capacity) }
    }

    /// Appends a row of one value per column; throws when a value does not fit its column.
    mutating func append(_ row: [Value], operation: RowOperation) throws(ProtocolError) {
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
    }

    /// The rows so far as a batch; starts over empty.
    mutating func takeBatch() -> RecordBatch {
        let batch = RecordBatch(stream: schema.stream, rowCount: count, columns: builders.map { $0.finish() }, operations: operations)
        builders = Self.builders(schema, capacity)
        operations = []
        count = 0
        return batch
    }
}
