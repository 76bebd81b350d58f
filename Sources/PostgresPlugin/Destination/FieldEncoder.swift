import SluiceWire

/// A value PostgreSQL can't take, found while encoding.
struct FieldError: Error {
    var reason: String
}

/// Writes column values as PostgreSQL binary fields (int32 length, -1 for null, then the
/// body) straight from ``ColumnVector``s: the shared core of binary COPY rows and array
/// parameters.
struct FieldEncoder {
    /// PostgreSQL's epoch (2000-01-01) in the protocol's units.
    static let epochMicros: Int64 = 946_684_800_000_000
    static let epochDays: Int32 = 10_957
    /// The largest value PostgreSQL stores (1 GB - 1 bytes).
    static let maxValueBytes = 0x3FFF_FFFF

    var out: BinaryBuffer
    /// Text NUL bytes removed so far (PostgreSQL can't store them).
    var nulBytesStripped: UInt64 = 0
    let failOnNul: Bool

    init(capacity: Int, failOnNul: Bool) {
        out = BinaryBuffer(capacity: capacity)
        self.failOnNul = failOnNul
    }

    /// Appends row `row` of `vector` (of logical type `type`) as one field. `plainJSON`: JSON
    /// values go to a `json` column (their text as it is) rather than `jsonb` (a version byte first).
    @inline(__always)
    mutating func field(_ vector: VectorReader, row: Int, type: LogicalType, plainJSON: Bool = false) throws(FieldError) {
        guard vector.isValid(row) else { return out.int32(-1) }
        try value(vector, row: row, kind: type.kind, elementKind: type.elementKind, plainJSON: plainJSON)
    }

    private mutating func value(_ vector: VectorReader, row: Int, kind: TypeKind, elementKind: TypeKind, plainJSON: Bool) throws(FieldError) {
        switch kind {
        case .bool:
            out.int32(1)
            out.bytes.append(vector.bools[row] ? 1 : 0)
        case .int16:
            out.int32(2)
            out.int16(Int16(truncatingIfNeeded: vector.int32s[row]))
        case .int32:
            out.int32(4)
            out.int32(vector.int32s[row])
        case .int64:
            out.int32(8)
            out.int64(vector.int64s[row])
        case .float32:
            out.int32(4)
            out.int32(Int32(bitPattern: vector.float32s[row].bitPattern))
        case .float64:
            out.int32(8)
            out.int64(Int64(bitPattern: vector.float64s[row].bitPattern))
        case .decimal:
            let at = out.beginLength()
            try NumericBinary.append(slice(vector, row), to: &out)
            try patchLength(at: at)
        case .string, .unspecified:
            try text(vector.data, range(vector, row))
        case .json:
            let at = out.beginLength()
            if !plainJSON { out.bytes.append(1) }
            try textBody(vector.data, range(vector, row))
            try patchLength(at: at)
        case .bytes:
            let at = out.beginLength()
            ByteCopy.append(vector.data, range(vector, row), to: &out.bytes)
            try patchLength(at: at)
        case .uuid:
            out.int32(16)
            out.bytes.append(contentsOf: vector.data[(row * 16)..<(row * 16 + 16)])
        case .date:
            out.int32(4)
            let days = vector.int32s[row]
            if days == .max || days == .min { out.int32(days); break }
            let (shifted, overflow) = days.subtractingReportingOverflow(Self.epochDays)
            guard !overflow else { throw FieldError(reason: "date \(days) (days since 1970-01-01) is beyond PostgreSQL's range") }
            out.int32(shifted)
        case .time:
            out.int32(8)
            out.int64(vector.int64s[row])
        case .timetz:
            out.int32(12)
            let offset = vector.int32s[row]
            guard offset != .min else { throw FieldError(reason: "time zone offset \(offset) seconds is beyond PostgreSQL's range") }
            out.int64(vector.int64s[row])
            out.int32(-offset)
        case .timestamp, .timestamptz:
            out.int32(8)
            let micros = vector.int64s[row]
            if micros == .max || micros == .min { out.int64(micros); break }
            let (shifted, overflow) = micros.subtractingReportingOverflow(Self.epochMicros)
            guard !overflow else { throw FieldError(reason: "timestamp \(micros) (µs since 1970-01-01) is beyond PostgreSQL's range") }
            out.int64(shifted)
        case .interval:
            out.int32(16)
            out.int64(vector.int64s[row])
            out.int32(vector.intervalDays[row])
            out.int32(vector.int32s[row])
        case .list:
            guard let child = vector.child else { return out.int32(-1) }
            let from = Int(vector.offsets[row]), to = Int(vector.offsets[row + 1])
            let at = out.beginLength()
            try array(child, from: from, to: to, kind: elementKind, plainJSON: plainJSON)
            try patchLength(at: at)
        }
    }

    /// Appends the body of a one-dimensional array of `child` rows `from..<to`.
    mutating func array(_ child: VectorReader, from: Int, to: Int, kind: TypeKind, plainJSON: Bool) throws(FieldError) {
        let elementOID = Int32(bitPattern: PostgresTypes.oid(kind, plainJSON: plainJSON))
        if from == to {
            out.int32(0)
            out.int32(0)
            out.int32(elementOID)
            return
        }
        out.int32(1)
        out.int32(child.validity.isEmpty ? 0 : 1)
        out.int32(elementOID)
        guard let count = Int32(exactly: to - from) else { throw FieldError(reason: "a list of \(to - from) elements is beyond PostgreSQL's array limit") }
        out.int32(count)
        out.int32(1)
        for element in from..<to {
            if child.isValid(element) {
                try value(child, row: element, kind: kind, elementKind: .unspecified, plainJSON: plainJSON)
            } else {
                out.int32(-1)
            }
        }
    }

    @inline(__always)
    private func range(_ vector: VectorReader, _ row: Int) -> Range<Int> {
        Int(vector.offsets[row])..<Int(vector.offsets[row + 1])
    }

    @inline(__always)
    private func slice(_ vector: VectorReader, _ row: Int) -> ArraySlice<UInt8> {
        vector.data[range(vector, row)]
    }

    /// A text field, `data[range]`: its length, then its bytes without NUL bytes (see
    /// ``textBody(_:_:)``).
    mutating func text(_ data: [UInt8], _ range: Range<Int>) throws(FieldError) {
        let at = out.beginLength()
        try textBody(data, range)
        try patchLength(at: at)
    }

    /// Patches the length of the value begun at `at`, or fails when PostgreSQL can't store a
    /// value that large.
    mutating func patchLength(at: Int) throws(FieldError) {
        let length = out.bytes.count - at - 4
        guard length <= Self.maxValueBytes else {
            throw FieldError(reason: "a value of \(length) bytes is beyond PostgreSQL's limit of \(Self.maxValueBytes) bytes for one value")
        }
        out.patchLength(at: at)
    }

    /// UTF-8 text, `data[range]`, without its NUL bytes (counted), or an error when NUL bytes
    /// must fail. Copied in one block unless it holds a NUL (no slice of `data` retained).
    private mutating func textBody(_ data: [UInt8], _ range: Range<Int>) throws(FieldError) {
        guard ByteCopy.containsNul(data, range) else { return ByteCopy.append(data, range, to: &out.bytes) }
        if failOnNul { throw FieldError(reason: "text contains a NUL byte, which PostgreSQL cannot store (nul_bytes: fail)") }
        for byte in data[range] {
            if byte == 0 { nulBytesStripped += 1 } else { out.bytes.append(byte) }
        }
    }
}
