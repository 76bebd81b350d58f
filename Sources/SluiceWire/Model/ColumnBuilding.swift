/// Appends the values of one column, row by row, into a ``ColumnVector``.
///
/// Typed appends (`append(int64:)`, `append(bytes:)`, …) are the hot path: they must match the
/// column's kind (checked by `assert` in debug builds and by ``RecordBatch/validate(against:)``).
/// ``append(_:)`` takes any ``Value`` and throws when its type does not fit the column.
public struct ColumnBuilder: Sendable {
    /// The column's type.
    public let type: LogicalType
    /// Rows appended so far.
    public private(set) var count = 0

    private let layout: ColumnLayout
    /// Empty until the first null; then one bit per row.
    private var validity: [UInt8] = []
    private var hasNulls = false
    private var bools: [Bool] = []
    private var int32s: [Int32] = []
    private var int64s: [Int64] = []
    private var float32s: [Float] = []
    private var float64s: [Double] = []
    /// Variable-width bytes or UUIDs (visible to the inlinable byte appends).
    @usableFromInline var data: [UInt8] = []
    private var offsets: [UInt32] = []
    private var intervalDays: [Int32] = []
    /// For lists, the builder of the elements (an array so that the struct can hold its own type).
    private var elements: [ColumnBuilder] = []

    /// A builder for a column of `type`, with room for `capacity` rows.
    public init(type: LogicalType, capacity: Int = 0) {
        self.type = type
        layout = ColumnLayout(kind: type.kind) ?? []
        if layout.contains(.bools) { bools.reserveCapacity(capacity) }
        if layout.contains(.int32s) { int32s.reserveCapacity(capacity) }
        if layout.contains(.int64s) { int64s.reserveCapacity(capacity) }
        if layout.contains(.float32s) { float32s.reserveCapacity(capacity) }
        if layout.contains(.float64s) { float64s.reserveCapacity(capacity) }
        if layout.contains(.intervalDays) { intervalDays.reserveCapacity(capacity) }
        if layout.contains(.uuidData) { data.reserveCapacity(capacity * ColumnLayout.uuidSize) }
        if !layout.isDisjoint(with: [.variableData, .listChild]) {
            offsets.reserveCapacity(capacity + 1)
            offsets.append(0)
        }
        if layout.contains(.listChild) { elements = [ColumnBuilder(type: LogicalType(type.elementKind), capacity: capacity)] }
    }

    /// The column built so far.
    public func finish() -> ColumnVector {
        ColumnVector(validity: hasNulls ? validity : [], bools: bools, int32s: int32s, int64s: int64s,
                     float32s: float32s, float64s: float64s, data: data, offsets: offsets,
                     intervalDays: intervalDays, child: elements.first?.finish())
    }

    // MARK: - Nulls

    /// Appends a null row (its slot holds zero or an empty slice).
    public mutating func appendNull() {
        if !hasNulls {
            hasNulls = true
            validity = [UInt8](repeating: 0xFF, count: count / 8)
            if count % 8 != 0 { validity.append(UInt8(0xFF) >> (8 - count % 8)) }
        }
        if count % 8 == 0 { validity.append(0) }
        if layout.contains(.bools) { bools.append(false) }
        if layout.contains(.int32s) { int32s.append(0) }
        if layout.contains(.int64s) { int64s.append(0) }
        if layout.contains(.float32s) { float32s.append(0) }
        if layout.contains(.float64s) { float64s.append(0) }
        if layout.contains(.intervalDays) { intervalDays.append(0) }
        if layout.contains(.uuidData) { data.append(contentsOf: repeatElement(0, count: ColumnLayout.uuidSize)) }
        if layout.contains(.variableData) { offsets.append(offsets[offsets.count - 1]) }
        if layout.contains(.listChild) { offsets.append(UInt32(elements[0].count)) }
        count += 1
    }

    /// Records that the row being appended holds a value.
    @inline(__always)
    private mutating func appendedValue() {
        if hasNulls {
            if count % 8 == 0 { validity.append(0) }
            validity[count >> 3] |= 1 << UInt8(count & 7)
        }
        count += 1
    }

    // MARK: - Typed appends

    /// Appends to a BOOL column.
    public mutating func append(bool value: Bool) {
        assert(layout == .bools, "append(bool:) on a \(type.label) column")
        bools.append(value)
        appendedValue()
    }

    /// Appends to an INT16 column.
    public mutating func append(int16 value: Int16) {
        append(int32: Int32(value))
    }

    /// Appends to an INT16, INT32 or DATE column (days since 1970-01-01).
    public mutating func append(int32 value: Int32) {
        assert(layout == .int32s, "append(int32:) on a \(type.label) column")
        int32s.append(value)
        appendedValue()
    }

    /// Appends to an INT64, TIME, TIMESTAMP or TIMESTAMPTZ column (microseconds for times).
    public mutating func append(int64 value: Int64) {
        assert(layout == .int64s, "append(int64:) on a \(type.label) column")
        int64s.append(value)
        appendedValue()
    }

    /// Appends to a FLOAT32 column.
    public mutating func append(float32 value: Float) {
        assert(layout == .float32s, "append(float32:) on a \(type.label) column")
        float32s.append(value)
        appendedValue()
    }

    /// Appends to a FLOAT64 column.
    public mutating func append(float64 value: Double) {
        assert(layout == .float64s, "append(float64:) on a \(type.label) column")
        float64s.append(value)
        appendedValue()
    }

    /// Appends to a STRING, BYTES, DECIMAL or JSON column: the value's bytes (UTF-8 for text).
    /// Inlinable so that the copy is specialised for the caller's collection (a bulk copy for
    /// arrays, slices and buffers).
    @inlinable
    public mutating func append<Bytes: Collection>(bytes: Bytes) where Bytes.Element == UInt8 {
        data.append(contentsOf: bytes)
        endVariableWidthRow()
    }

    /// ``append(bytes:)`` of the bytes of `source`, in one block copy.
    public mutating func append(bytes source: Span<UInt8>) {
        ByteCopy.append(source, to: &data)
        endVariableWidthRow()
    }

    /// Appends to a STRING, BYTES, DECIMAL or JSON column the bytes `fill` appends to the
    /// column's data (which it must only append to).
    public mutating func appendBytes(_ fill: (inout [UInt8]) -> Void) {
        let start = data.count
        fill(&data)
        assert(data.count >= start, "appendBytes: fill removed bytes")
        endVariableWidthRow()
    }

    /// Appends to a STRING, DECIMAL or JSON column: the text as UTF-8.
    public mutating func append(string: String) {
        append(bytes: string.utf8)
    }

    /// Appends to a UUID column: exactly 16 bytes, RFC 4122 order.
    @inlinable
    public mutating func append<Bytes: Collection>(uuid: Bytes) where Bytes.Element == UInt8 {
        precondition(uuid.count == 16, "a UUID has 16 bytes, not \(uuid.count)")
        data.append(contentsOf: uuid)
        endUUIDRow()
    }

    /// Ends a row whose bytes were just appended to `data`.
    @usableFromInline
    mutating func endVariableWidthRow() {
        assert(layout == .variableData, "append(bytes:) on a \(type.label) column")
        offsets.append(UInt32(data.count))
        appendedValue()
    }

    /// Ends a row whose 16 bytes were just appended to `data`.
    @usableFromInline
    mutating func endUUIDRow() {
        assert(layout == .uuidData, "append(uuid:) on a \(type.label) column")
        appendedValue()
    }

    /// Appends to a TIMETZ column: local time in microseconds and the zone's offset east of UTC.
    public mutating func append(timetz micros: Int64, offsetSeconds: Int32) {
        assert(layout == [.int64s, .int32s], "append(timetz:) on a \(type.label) column")
        int64s.append(micros)
        int32s.append(offsetSeconds)
        appendedValue()
    }

    /// Appends to an INTERVAL column: months, days and microseconds, kept apart.
    public mutating func append(interval months: Int32, days: Int32, micros: Int64) {
        assert(layout == [.int32s, .intervalDays, .int64s], "append(interval:) on a \(type.label) column")
        int32s.append(months)
        intervalDays.append(days)
        int64s.append(micros)
        appendedValue()
    }

    /// Appends one row to a LIST column: `fill` appends the row's elements (possibly none) to
    /// the builder of the element column.
    public mutating func appendList<E: Error>(_ fill: (inout ColumnBuilder) throws(E) -> Void) throws(E) {
        assert(layout == .listChild, "appendList on a \(type.label) column")
        try fill(&elements[0])
        offsets.append(UInt32(elements[0].count))
        appendedValue()
    }

    // MARK: - Values

    /// Appends `value`; throws ``ProtocolError/Code/invalidMessage`` (appending nothing) when its
    /// type does not fit the column, or it breaks the protocol (UUID length, decimal text, time range).
    public mutating func append(_ value: Value) throws(ProtocolError) {
        if let problem = problem(with: value) { throw ProtocolError(.invalidMessage, problem) }
        appendChecked(value)
    }

    /// Why `value` cannot be appended, or nil when it can.
    private func problem(with value: Value) -> String? {
        switch (value, type.kind) {
        case (.null, _), (.bool, .bool), (.int16, .int16), (.int32, .int32), (.int64, .int64), (.float32, .float32),
             (.float64, .float64), (.string, .string), (.bytes, .bytes), (.date, .date), (.timetz, .timetz),
             (.timestamp, .timestamp), (.timestamptz, .timestamptz), (.interval, .interval), (.json, .json):
            return nil
        case (.time(let micros), .time):
            return (0...86_400_000_000).contains(micros) ? nil : "time \(micros) is outside 0...86400000000 microseconds"
        case (.decimal(let text), .decimal):
            return DecimalText.isValid(text.utf8) ? nil : "\"\(text)\" is not canonical decimal text"
        case (.uuid(let bytes), .uuid):
            return bytes.count == ColumnLayout.uuidSize ? nil : "a UUID has 16 bytes, not \(bytes.count)"
        case (.list(let values), .list):
            guard type.elementKind != .list && type.elementKind != .unspecified else {
                return "a list's element kind must be a scalar kind, not \(type.elementKind.label)"
            }
            for element in values {
                if let problem = elements[0].problem(with: element) { return "list element: \(problem)" }
            }
            return nil
        default:
            return "\(value.kindLabel) value in a \(type.label) column"
        }
    }

    private mutating func appendChecked(_ value: Value) {
        switch value {
        case .null: appendNull()
        case .bool(let value): append(bool: value)
        case .int16(let value): append(int16: value)
        case .int32(let value), .date(let value): append(int32: value)
        case .int64(let value), .time(let value), .timestamp(let value), .timestamptz(let value): append(int64: value)
        case .float32(let value): append(float32: value)
        case .float64(let value): append(float64: value)
        case .decimal(let text), .string(let text), .json(let text): append(string: text)
        case .bytes(let bytes): append(bytes: bytes)
        case .uuid(let bytes): append(uuid: bytes)
        case .timetz(let micros, let offset): append(timetz: micros, offsetSeconds: offset)
        case .interval(let months, let days, let micros): append(interval: months, days: days, micros: micros)
        case .list(let values): appendList { elements in for element in values { elements.appendChecked(element) } }
        }
    }
}

extension Value {
    /// The case's name, for messages.
    var kindLabel: String {
        switch self {
        case .null: "null"
        case .bool: "bool"
        case .int16: "int16"
        case .int32: "int32"
        case .int64: "int64"
        case .float32: "float32"
        case .float64: "float64"
        case .decimal: "decimal"
        case .string: "string"
        case .bytes: "bytes"
        case .date: "date"
        case .time: "time"
        case .timetz: "timetz"
        case .timestamp: "timestamp"
        case .timestamptz: "timestamptz"
        case .interval: "interval"
        case .uuid: "uuid"
        case .json: "json"
        case .list: "list"
        }
    }
}

extension RecordBatch {
    /// Builds a batch from rows; throws ProtocolError(.invalidMessage, ...) on a value whose type does not match its column.
    public init(schema: StreamSchema, rows: [[Value]]) throws(ProtocolError) {
        var builders = schema.columns.map { ColumnBuilder(type: $0.type, capacity: rows.count) }
        for (rowIndex, row) in rows.enumerated() {
            guard row.count == builders.count else {
                throw ProtocolError(.invalidMessage, "row \(rowIndex) has \(row.count) values; the schema has \(builders.count) columns")
            }
            for (index, value) in row.enumerated() {
                do {
                    try builders[index].append(value)
                } catch {
                    throw ProtocolError(.invalidMessage, "row \(rowIndex), column \"\(schema.columns[index].name)\": \(error.message)")
                }
            }
        }
        self.init(stream: schema.stream, rowCount: rows.count, columns: builders.map { $0.finish() })
    }
}
