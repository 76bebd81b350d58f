import SluiceWire

/// Shared test data: sample values of every kind, schemas, and bit-exact comparisons.
enum Fixtures {
    static let stream = StreamID(namespace: "public", name: "every_type")

    /// Validates a copy of `batch` against `schema` (validation may complete the copy).
    static func validate(_ batch: RecordBatch, against schema: StreamSchema) throws(ProtocolError) {
        var copy = batch
        try copy.validate(against: schema)
    }

    /// The kinds a column or a list element can have.
    static let scalarKinds: [TypeKind] = TypeKind.allCases.filter { $0 != .unspecified && $0 != .list }

    static let thousandDigitDecimal = "-" + String(repeating: "9", count: 600) + "." + String(repeating: "0123456789", count: 40)

    /// Values of `kind`, with extremes and nulls.
    static func samples(_ kind: TypeKind) -> [Value] {
        switch kind {
        case .bool: [.bool(true), .null, .bool(false)]
        case .int16: [.int16(.min), .int16(.max), .null, .int16(0), .int16(-1)]
        case .int32: [.int32(.min), .int32(.max), .int32(0), .null]
        case .int64: [.int64(.min), .int64(.max), .null, .int64(0), .int64(-1)]
        case .float32:
            [.float32(.nan), .float32(-.infinity), .float32(.infinity), .float32(-0.0), .null,
             .float32(.greatestFiniteMagnitude), .float32(.leastNonzeroMagnitude), .float32(Float(bitPattern: 0x7FA0_0001))]
        case .float64:
            [.float64(.nan), .float64(.infinity), .float64(-.infinity), .null, .float64(-0.0), .float64(.pi),
             .float64(.leastNonzeroMagnitude), .float64(Double(bitPattern: 0x7FF0_0000_0000_0001))]
        case .decimal:
            [.decimal("0"), .decimal("-1.50"), .null, .decimal("NaN"), .decimal("Infinity"), .decimal("-Infinity"),
             .decimal(thousandDigitDecimal), .decimal("123456789012345678901234567890.000000000000000000001")]
        case .string:
            [.string(""), .null, .string("héllo wörld"), .string("emoji 👩‍👩‍👧‍👦🎉"), .string("nul\u{0}inside"), .string("\u{0}"),
             .string(String(repeating: "long ", count: 2000))]
        case .bytes: [.bytes([]), .bytes([0]), .null, .bytes([0xFF, 0, 0x80]), .bytes(Array(0...255))]
        case .date: [.date(.max), .date(.min), .date(0), .null, .date(-719_528)]
        case .time: [.time(0), .time(86_400_000_000), .null, .time(43_200_000_001)]
        case .timetz:
            [.timetz(micros: 0, offsetSeconds: 0), .null, .timetz(micros: 86_400_000_000, offsetSeconds: -57_599),
             .timetz(micros: 1, offsetSeconds: 50_400)]
        case .timestamp, .timestamptz:
            [Int64.max, Int64.min, 0, -62_135_596_800_000_000, 253_402_300_799_999_999, -210_866_803_200_000_000].map {
                kind == .timestamp ? Value.timestamp($0) : Value.timestamptz($0)
            } + [.null]
        case .interval:
            [.interval(months: .min, days: .min, micros: .min), .null, .interval(months: .max, days: .max, micros: .max),
             .interval(months: 0, days: 0, micros: 0), .interval(months: 1, days: -1, micros: 1)]
        case .uuid:
            [.uuid([UInt8](repeating: 0, count: 16)), .null, .uuid([UInt8](repeating: 0xFF, count: 16)),
             .uuid([0x55, 0x0E, 0x84, 0x00, 0xE2, 0x9B, 0x41, 0xD4, 0xA7, 0x16, 0x44, 0x66, 0x55, 0x44, 0x00, 0x00])]
        case .json: [.json("{}"), .json("null"), .null, .json("[1,2,3]"), .json("{\"k\":\"👍\\u0000\"}"), .json("")]
        case .list, .unspecified: []
        }
    }

    /// Rows for a list of `kind`: empty lists, null elements, a null list, every sample.
    static func listSamples(_ kind: TypeKind) -> [Value] {
        let values = samples(kind)
        return [.list([]), .list([.null]), .null, .list(values), .list([values[0], .null, values[values.count - 1]])]
    }

    /// One column of every scalar kind, then one list column per scalar element kind.
    static let everyTypeSchema = StreamSchema(
        stream: stream,
        columns: scalarKinds.map { Column(name: $0.columnName, type: LogicalType($0, precision: $0 == .decimal ? 12 : 0,
                                                                                   scale: $0 == .decimal ? 2 : 0,
                                                                                   maxLength: $0 == .string ? 20 : 0),
                                          nullable: true, sourceType: "src_\($0.columnName)") }
            + scalarKinds.map { Column(name: "list_of_\($0.columnName)", type: .list(of: $0)) },
        primaryKey: ["int64"]
    )

    /// Rows cycling through every column's samples; as many rows as the longest sample list.
    static var everyTypeRows: [[Value]] {
        let columns = scalarKinds.map(samples) + scalarKinds.map(listSamples)
        let rowCount = columns.map(\.count).max()!
        return (0..<rowCount).map { row in columns.map { $0[row % $0.count] } }
    }

    /// The mixed 8-column table of the codec benchmark.
    static let mixedSchema = StreamSchema(
        stream: StreamID(namespace: "public", name: "mixed"),
        columns: [
            Column(name: "id", type: LogicalType(.int64), nullable: false),
            Column(name: "name", type: LogicalType(.string)),
            Column(name: "price", type: LogicalType(.decimal, precision: 12, scale: 2)),
            Column(name: "score", type: LogicalType(.float64)),
            Column(name: "active", type: LogicalType(.bool)),
            Column(name: "created", type: LogicalType(.timestamptz)),
            Column(name: "doc", type: LogicalType(.json)),
            Column(name: "tags", type: .list(of: .string)),
        ],
        primaryKey: ["id"]
    )
}

extension TypeKind {
    var columnName: String { String(describing: self) }
}

/// Bit-exact equality: floats compare by bit pattern (NaN payloads, the sign of zero).
func identical(_ a: Value, _ b: Value) -> Bool {
    switch (a, b) {
    case (.float32(let x), .float32(let y)): x.bitPattern == y.bitPattern
    case (.float64(let x), .float64(let y)): x.bitPattern == y.bitPattern
    case (.list(let x), .list(let y)): x.count == y.count && zip(x, y).allSatisfy(identical)
    default: a == b
    }
}

func identical(_ a: [[Value]], _ b: [[Value]]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { $0.count == $1.count && zip($0, $1).allSatisfy(identical) }
}

func identical(_ a: ColumnVector, _ b: ColumnVector) -> Bool {
    a.validity == b.validity && a.bools == b.bools && a.int32s == b.int32s && a.int64s == b.int64s
        && a.float32s.map(\.bitPattern) == b.float32s.map(\.bitPattern)
        && a.float64s.map(\.bitPattern) == b.float64s.map(\.bitPattern)
        && a.data == b.data && a.offsets == b.offsets && a.intervalDays == b.intervalDays
        && (a.child == nil) == (b.child == nil) && (a.child.map { identical($0, b.child!) } ?? true)
}

func identical(_ a: RecordBatch, _ b: RecordBatch) -> Bool {
    a.stream == b.stream && a.rowCount == b.rowCount && a.operations == b.operations
        && a.columns.count == b.columns.count && zip(a.columns, b.columns).allSatisfy(identical)
}

/// Protobuf wire encoding by hand, to build payloads the codec would never produce.
enum Wire {
    static func varint(_ value: UInt64) -> [UInt8] {
        var value = value
        var bytes: [UInt8] = []
        while value >= 0x80 {
            bytes.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
        return bytes
    }

    /// A length-delimited field.
    static func field(_ number: UInt64, _ content: [UInt8]) -> [UInt8] {
        varint(number << 3 | 2) + varint(UInt64(content.count)) + content
    }

    /// A varint field.
    static func field(_ number: UInt64, varint value: UInt64) -> [UInt8] {
        varint(number << 3) + varint(value)
    }
}
