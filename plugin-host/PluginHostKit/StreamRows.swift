import SluiceWire

/// The rows of one stream waiting to become a ``RecordBatch``, built column by column.
struct StreamRows {
    let schema: StreamSchema
    /// Column position by name.
    let columnIndex: [String: Int]
    /// The columns' names, in order.
    let columnNames: [String]
    private let capacity: Int
    private var builders: [ColumnBuilder]
    /// Empty until the first delete; then one ``RowOperation`` per row.
    private var operations: [UInt8] = []
    /// The (row, column) pairs left unchanged (a CDC stream's, PROTOCOL.md §5.9).
    private var unchanged: [(row: Int, column: Int)] = []
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
        columnNames = schema.columns.map(\.name)
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
    /// Why a row with `operation` and `unchanged` columns (positions in `schema`) breaks the
    /// CDC rules of PROTOCOL.md §5.9, 5.10, for a stream whose key is `key`; nil when it does
    /// not. A TRUNCATE row holds no value; only an upsert row leaves values unchanged, never a
    /// key column's, and those values are null.
    static func changeProblem(_ row: [Value], operation: RowOperation, unchanged: [Int], schema: StreamSchema, key: [String]) -> String? {
        if operation == .truncate, row.contains(where: { $0 != .null }) { return "a \"truncate\" row holds no values" }
        guard !unchanged.isEmpty else { return nil }
        guard operation == .upsert else { return "only an upsert row can leave values unchanged" }
        for column in unchanged {
            let name = schema.columns[column].name
            if key.contains(name) { return "\"_unchanged\" names the key column \"\(name)\"; key values are always sent" }
            if row[column] != .null { return "column \"\(name)\" is listed in \"_unchanged\" but has a value" }
        }
        return nil
    }

    /// `unchanged`: the columns whose value the row leaves unchanged (null in `row`).
    mutating func append(_ row: [Value], operation: RowOperation, unchanged columns: [Int] = [], bytes: Int) throws(ProtocolError) {
        for index in row.indices {
            do {
                try builders[index].append(row[index])
            } catch {
                throw ProtocolError(.invalidMessage, "column \"\(schema.columns[index].name)\": \(error.message)")
            }
        }
        if operation != .upsert, operations.isEmpty { operations = [UInt8](repeating: RowOperation.upsert.rawValue, count: count) }
        if !operations.isEmpty || operation != .upsert { operations.append(operation.rawValue) }
        for column in columns { unchanged.append((count, column)) }
        count += 1
        valueBytes += bytes
    }

    /// Appends an upsert row of `bytes` (an upper bound, as ``encodedBytes(of:)``) whose values
    /// `fill` appends to the columns' builders, exactly one per column. A `fill` that throws
    /// leaves the rows unusable: the input stops at that row.
    mutating func appendUpsert<E: Error>(bytes: Int, _ fill: (inout [ColumnBuilder]) throws(E) -> Void) throws(E) {
        try fill(&builders)
        if !operations.isEmpty { operations.append(RowOperation.upsert.rawValue) }
        count += 1
        valueBytes += bytes
    }

    /// The rows so far as a batch; starts over empty.
    mutating func takeBatch() -> RecordBatch {
        var columns = builders.map { $0.finish() }
        for (row, column) in unchanged {
            if columns[column].unchanged.isEmpty { columns[column].unchanged = [UInt8](repeating: 0, count: (count + 7) / 8) }
            columns[column].unchanged[row >> 3] |= 1 << UInt8(row & 7)
        }
        let batch = RecordBatch(stream: schema.stream, rowCount: count, columns: columns, operations: operations)
        builders = Self.builders(schema, capacity)
        operations = []
        unchanged = []
        count = 0
        valueBytes = 0
        return batch
    }
}
