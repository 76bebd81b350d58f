import SluiceWire

/// Builds one ``ColumnVector`` from binary COPY fields, appending typed values straight into
/// the vector that the column's kind uses. A value type, so the hot loop mutates it in place
/// without runtime exclusivity checks.
struct ColumnAccumulator {
    private let decoding: FieldDecoding
    /// The byte length every field of a fixed-width decoding has; 0 for variable widths.
    private let fieldSize: Int
    private var vector = ColumnVector()
    /// One bit per row, set for a value; kept only once a row is null (until then every row
    /// holds a value and the bitmap stays empty, which saves a write per value).
    private var validity: [UInt8] = []
    private var hasNull = false
    private(set) var count = 0
    /// For arrays: the element accumulator (zero or one).
    private var children: [ColumnAccumulator] = []

    init(decoding: FieldDecoding) {
        self.decoding = decoding
        switch decoding {
        case .bool: fieldSize = 1
        case .int16: fieldSize = 2
        case .int32, .float32, .date: fieldSize = 4
        case .int64, .float64, .time, .timestamp: fieldSize = 8
        case .timetz: fieldSize = 12
        case .interval, .uuid: fieldSize = 16
        case .numeric, .raw, .jsonb, .array: fieldSize = 0
        }
        if case .array(let element) = decoding {
            children = [ColumnAccumulator(decoding: element)]
        }
        reset()
    }

    private mutating func reset() {
        // The next batch is about as large as this one: its vectors start with room for as many
        // values, so that they do not grow by copying, a doubling at a time, through each batch.
        let last = vector
        vector = ColumnVector()
        validity = []
        hasNull = false
        count = 0
        vector.bools.reserveCapacity(last.bools.count)
        vector.int32s.reserveCapacity(last.int32s.count)
        vector.int64s.reserveCapacity(last.int64s.count)
        vector.float32s.reserveCapacity(last.float32s.count)
        vector.float64s.reserveCapacity(last.float64s.count)
        vector.intervalDays.reserveCapacity(last.intervalDays.count)
        vector.data.reserveCapacity(last.data.count)
        vector.offsets.reserveCapacity(last.offsets.count)
        switch decoding {
        case .numeric, .raw, .jsonb, .array: vector.offsets.append(0)
        default: break
        }
    }

    /// Appends a null row; returns the bytes it adds to the encoded vector (an upper bound).
    mutating func appendNull() -> Int {
        markValidity(false)
        switch decoding {
        case .bool: vector.bools.append(false)
        case .int16, .int32, .date: vector.int32s.append(0)
        case .int64, .time, .timestamp: vector.int64s.append(0)
        case .float32: vector.float32s.append(0)
        case .float64: vector.float64s.append(0)
        case .numeric, .raw, .jsonb: vector.offsets.append(UInt32(vector.data.count))
        case .timetz:
            vector.int64s.append(0)
            vector.int32s.append(0)
        case .interval:
            vector.int32s.append(0)
            vector.intervalDays.append(0)
            vector.int64s.append(0)
        case .uuid: vector.data.append(contentsOf: repeatElement(0, count: 16))
        case .array: vector.offsets.append(UInt32(children.first?.count ?? 0))
        }
        return Self.fixedBytes
    }

    /// Bytes a value adds to its vector's encoding besides its variable data: at most 16 for a
    /// fixed-width value (interval's 4 + 4 + 8), 4 for an offset, plus a validity bit.
    static let fixedBytes = 17

    /// Appends the field `bytes[start ..< start + length]`; returns the bytes it adds to the
    /// encoded vector (an upper bound), counting array elements.
    /// A fixed-width field of any other length is refused, not read past.
    mutating func append(_ bytes: [UInt8], _ start: Int, _ length: Int) throws(CopyFormatError) -> Int {
        guard fieldSize == 0 || length == fieldSize else {
            throw CopyFormatError(message: "a \(decoding) field of \(length) bytes, expected \(fieldSize)")
        }
        markValidity(true)
        let dataBefore = vector.data.count
        switch decoding {
        case .bool:
            vector.bools.append(bytes[start] != 0)
        case .int16:
            vector.int32s.append(Int32(Int16(bitPattern: BigEndian.u16(bytes, start))))
        case .int32:
            vector.int32s.append(Int32(bitPattern: BigEndian.u32(bytes, start)))
        case .int64:
            vector.int64s.append(Int64(bitPattern: BigEndian.u64(bytes, start)))
        case .float32:
            vector.float32s.append(Float(bitPattern: BigEndian.u32(bytes, start)))
        case .float64:
            vector.float64s.append(Double(bitPattern: BigEndian.u64(bytes, start)))
        case .numeric:
            try NumericText.append(bytes, start, length, to: &vector.data)
            vector.offsets.append(UInt32(vector.data.count))
        case .raw:
            ByteCopy.append(bytes, start ..< start + length, to: &vector.data)
            vector.offsets.append(UInt32(vector.data.count))
        case .jsonb:
            if length > 0 { ByteCopy.append(bytes, start + 1 ..< start + length, to: &vector.data) }
            vector.offsets.append(UInt32(vector.data.count))
        case .date:
            let days = Int32(bitPattern: BigEndian.u32(bytes, start))
            if days == .max || days == .min {
                vector.int32s.append(days)
            } else {
                // PostgreSQL's dates end in 5874897 AD, far inside the protocol's range.
                let (shifted, overflow) = days.addingReportingOverflow(10_957)
                guard !overflow, shifted != .max, shifted != .min else {
                    throw CopyFormatError(message: "a finite date is past the protocol's range; \(Self.asText)", unrepresentable: true)
                }
                vector.int32s.append(shifted)
            }
        case .time:
            vector.int64s.append(Int64(bitPattern: BigEndian.u64(bytes, start)))
        case .timestamp:
            let micros = Int64(bitPattern: BigEndian.u64(bytes, start))
            if micros == .max || micros == .min {
                vector.int64s.append(micros)
            } else {
                // A finite value must never become an infinity (PROTOCOL.md §5.7).
                let (shifted, overflow) = micros.addingReportingOverflow(946_684_800_000_000)
                guard !overflow, shifted != .max, shifted != .min else {
                    throw CopyFormatError(message: "a finite timestamp at or after 294247-01-10 04:00:54.775807 (UTC for timestamptz) is past the protocol's range, whose last microsecond is +infinity's sentinel; \(Self.asText)",
                                          unrepresentable: true)
                }
                vector.int64s.append(shifted)
            }
        case .timetz:
            vector.int64s.append(Int64(bitPattern: BigEndian.u64(bytes, start)))
            vector.int32s.append(0 &- Int32(bitPattern: BigEndian.u32(bytes, start + 8)))
        case .interval:
            vector.int64s.append(Int64(bitPattern: BigEndian.u64(bytes, start)))
            vector.intervalDays.append(Int32(bitPattern: BigEndian.u32(bytes, start + 8)))
            vector.int32s.append(Int32(bitPattern: BigEndian.u32(bytes, start + 12)))
        case .uuid:
            ByteCopy.append(bytes, start ..< start + 16, to: &vector.data)
        case .array:
            return try appendArray(bytes, start, length)
        }
        return Self.fixedBytes + vector.data.count - dataBefore
    }

    /// How to read a value the protocol cannot carry.
    static let asText = "read the column as text, e.g. through a view selecting it with ::text"

    private mutating func appendArray(_ bytes: [UInt8], _ start: Int, _ length: Int) throws(CopyFormatError) -> Int {
        guard !children.isEmpty, length >= 12 else { throw CopyFormatError(message: "array field too short") }
        let dimensions = Int(Int32(bitPattern: BigEndian.u32(bytes, start)))
        guard dimensions <= 1 else {
            throw CopyFormatError(message: "a \(dimensions)-dimensional array cannot travel as a list (lists are one-dimensional); \(Self.asText)",
                                  unrepresentable: true)
        }
        var position = start + 12
        var elements = 0
        if dimensions == 1 {
            guard length >= 20 else { throw CopyFormatError(message: "array field too short") }
            elements = Int(Int32(bitPattern: BigEndian.u32(bytes, position)))
            guard elements >= 0 else { throw CopyFormatError(message: "array with a negative length") }
            let lowerBound = Int32(bitPattern: BigEndian.u32(bytes, position + 4))
            guard lowerBound == 1 else {
                throw CopyFormatError(message: "an array whose subscripts start at \(lowerBound), not 1, cannot travel as a list (lists keep no bounds); \(Self.asText), which keeps them ([\(lowerBound):…]={…})",
                                      unrepresentable: true)
            }
            position += 8
        }
        let end = start + length
        var added = Self.fixedBytes
        for _ in 0 ..< elements {
            guard position + 4 <= end else { throw CopyFormatError(message: "array element past the field") }
            let size = Int(Int32(bitPattern: BigEndian.u32(bytes, position)))
            position += 4
            if size < 0 {
                added += children[0].appendNull()
            } else {
                guard position + size <= end else { throw CopyFormatError(message: "array element past the field") }
                added += try children[0].append(bytes, position, size)
                position += size
            }
        }
        vector.offsets.append(UInt32(children[0].count))
        return added
    }

    /// Drops every row after the first `rows` (a row that would not fit its batch).
    mutating func truncate(to rows: Int) {
        guard rows < count else { return }
        switch decoding {
        case .bool: vector.bools.removeLast(count - rows)
        case .int16, .int32, .date: vector.int32s.removeLast(count - rows)
        case .int64, .time, .timestamp: vector.int64s.removeLast(count - rows)
        case .float32: vector.float32s.removeLast(count - rows)
        case .float64: vector.float64s.removeLast(count - rows)
        case .numeric, .raw, .jsonb:
            vector.data.removeLast(vector.data.count - Int(vector.offsets[rows]))
            vector.offsets.removeLast(count - rows)
        case .timetz:
            vector.int64s.removeLast(count - rows)
            vector.int32s.removeLast(count - rows)
        case .interval:
            vector.int32s.removeLast(count - rows)
            vector.intervalDays.removeLast(count - rows)
            vector.int64s.removeLast(count - rows)
        case .uuid: vector.data.removeLast(vector.data.count - 16 * rows)
        case .array:
            children[0].truncate(to: Int(vector.offsets[rows]))
            vector.offsets.removeLast(count - rows)
        }
        guard hasNull else {
            count = rows
            return
        }
        validity.removeLast(validity.count - (rows + 7) / 8)
        if rows & 7 != 0 { validity[validity.count - 1] &= UInt8(1 << (rows & 7)) - 1 }
        count = rows
        // A null among the rows kept leaves a clear bit in a whole byte or in the last one's low bits.
        hasNull = validity.indices.contains { index in
            let mask: UInt8 = index == validity.count - 1 && rows & 7 != 0 ? UInt8(1 << (rows & 7)) - 1 : 0xFF
            return validity[index] & mask != mask
        }
    }

    @inline(__always)
    private mutating func markValidity(_ valid: Bool) {
        if !hasNull, valid {
            count += 1
            return
        }
        markValiditySlowly(valid)
    }

    /// ``markValidity(_:)`` once a row is null, or for the first null.
    private mutating func markValiditySlowly(_ valid: Bool) {
        if hasNull {
            if count & 7 == 0 { validity.append(0) }
            if valid { validity[count >> 3] |= 1 << UInt8(count & 7) }
        } else if !valid {
            // The first null: every row before it holds a value.
            hasNull = true
            validity = [UInt8](repeating: 0xFF, count: count / 8)
            validity.append(count & 7 == 0 ? 0 : UInt8(1 << (count & 7)) - 1)
        }
        count += 1
    }

    /// The vector of every row appended since the last call; starts a new one.
    mutating func finish() -> ColumnVector {
        var result = vector
        result.validity = hasNull ? validity : []
        if !children.isEmpty { result.child = children[0].finish() }
        reset()
        return result
    }
}

/// A binary COPY stream that does not parse, or a row that cannot be sent.
struct CopyFormatError: Error, Sendable {
    var message: String
    /// Set for a well-formed value the protocol cannot carry (a data error, not a broken COPY).
    var unrepresentable = false
    /// Set (to the bytes it needs) for a row that no frame of the host's size can carry.
    var rowTooLarge: Int?
    /// The field (column position) of the value, when known.
    var field: Int?
    /// The row's index in the batch being built, and its checkpoint key, when known.
    var row: Int?
    var key: [String?]?
}

/// Big-endian integer reads from a byte array.
enum BigEndian {
    @inline(__always)
    static func u16(_ b: [UInt8], _ i: Int) -> UInt16 { UInt16(b[i]) << 8 | UInt16(b[i + 1]) }

    @inline(__always)
    static func u32(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
    }

    @inline(__always)
    static func u64(_ b: [UInt8], _ i: Int) -> UInt64 { UInt64(u32(b, i)) << 32 | UInt64(u32(b, i + 4)) }
}
