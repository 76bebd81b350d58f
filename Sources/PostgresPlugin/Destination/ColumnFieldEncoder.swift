import SluiceWire

/// A value of a column that can't be written, with its row.
struct ColumnFieldError: Error {
    /// Zero-based row within the batch.
    var row: Int
    var reason: String
}

/// The column-at-a-time half of binary COPY encoding: a whole column's fields in one pass,
/// the vector's arrays held in locals and the bytes written through one `OutputSpan`, so the
/// per-value loop does no reference counting and no uniqueness checks (the row-at-a-time
/// ``FieldEncoder/field(_:row:type:plainJSON:)`` does both for every value, about a third of
/// the destination's CPU). Kinds without a loop here go through that path a row at a time.
/// The bytes are those ``FieldEncoder/field(_:row:type:plainJSON:)`` writes, which
/// ``ColumnFieldEncoderTests`` checks for every kind.
extension FieldEncoder {
    /// Appends rows `0..<rows` of `vector` (of logical type `type`) as fields, one after
    /// another, and after each the position where it ends in `out`.
    mutating func column(_ vector: ColumnVector, rows: Int, type: LogicalType, plainJSON: Bool, ends: inout [Int]) throws(ColumnFieldError) {
        let validity = vector.validity
        guard validity.isEmpty || validity.count >= (rows + 7) / 8 else { return try rowByRow(vector, rows: rows, type: type, plainJSON: plainJSON, ends: &ends) }
        switch type.kind {
        case .bool:
            let values = vector.bools
            guard values.count >= rows else { break }
            fixedWidth(rows: rows, width: 1, validity: validity, ends: &ends) { out, row in out.append(values[row] ? 1 : 0) }
            return
        case .int16:
            let values = vector.int32s
            guard values.count >= rows else { break }
            fixedWidth(rows: rows, width: 2, validity: validity, ends: &ends) { out, row in
                Self.bigEndian(UInt64(UInt16(truncatingIfNeeded: values[row])), bytes: 2, to: &out)
            }
            return
        case .int32:
            let values = vector.int32s
            guard values.count >= rows else { break }
            fixedWidth(rows: rows, width: 4, validity: validity, ends: &ends) { out, row in
                Self.bigEndian(UInt64(UInt32(bitPattern: values[row])), bytes: 4, to: &out)
            }
            return
        case .int64, .time:
            let values = vector.int64s
            guard values.count >= rows else { break }
            fixedWidth(rows: rows, width: 8, validity: validity, ends: &ends) { out, row in
                Self.bigEndian(UInt64(bitPattern: values[row]), bytes: 8, to: &out)
            }
            return
        case .float32:
            let values = vector.float32s
            guard values.count >= rows else { break }
            fixedWidth(rows: rows, width: 4, validity: validity, ends: &ends) { out, row in
                Self.bigEndian(UInt64(values[row].bitPattern), bytes: 4, to: &out)
            }
            return
        case .float64:
            let values = vector.float64s
            guard values.count >= rows else { break }
            fixedWidth(rows: rows, width: 8, validity: validity, ends: &ends) { out, row in
                Self.bigEndian(values[row].bitPattern, bytes: 8, to: &out)
            }
            return
        case .timestamp, .timestamptz:
            let values = vector.int64s
            // Out-of-range values fail as the row-at-a-time path reports them.
            guard values.count >= rows, !values.prefix(rows).contains(where: Self.timestampOverflows) else { break }
            fixedWidth(rows: rows, width: 8, validity: validity, ends: &ends) { out, row in
                let micros = values[row]
                let shifted = micros == .max || micros == .min ? micros : micros &- Self.epochMicros
                Self.bigEndian(UInt64(bitPattern: shifted), bytes: 8, to: &out)
            }
            return
        case .date:
            let values = vector.int32s
            guard values.count >= rows, !values.prefix(rows).contains(where: Self.dateOverflows) else { break }
            fixedWidth(rows: rows, width: 4, validity: validity, ends: &ends) { out, row in
                let days = values[row]
                let shifted = days == .max || days == .min ? days : days &- Self.epochDays
                Self.bigEndian(UInt64(UInt32(bitPattern: shifted)), bytes: 4, to: &out)
            }
            return
        case .uuid:
            let data = vector.data
            guard data.count >= rows * 16 else { break }
            fixedWidth(rows: rows, width: 16, validity: validity, ends: &ends) { out, row in
                for index in row * 16 ..< row * 16 + 16 { out.append(data[index]) }
            }
            return
        case .string, .unspecified, .json, .bytes:
            let data = vector.data, offsets = vector.offsets
            guard offsets.count > rows, Int(offsets[rows]) <= data.count else { break }
            let prefix: UInt8? = type.kind == .json && !plainJSON ? 1 : nil
            try variableWidth(rows: rows, data: data, offsets: offsets, validity: validity, prefix: prefix,
                              dropsNul: type.kind != .bytes, ends: &ends)
            return
        case .decimal:
            let data = vector.data, offsets = vector.offsets
            guard offsets.count > rows, Int(offsets[rows]) <= data.count else { break }
            for row in 0 ..< rows {
                if ColumnVector.isValid(row, in: validity) {
                    let start = Int(offsets[row]), end = Int(offsets[row + 1])
                    guard start <= end else { throw ColumnFieldError(row: row, reason: "value offsets out of order") }
                    let at = out.beginLength()
                    do {
                        try NumericBinary.append(data[start ..< end], to: &out)
                        try patchLength(at: at)
                    } catch {
                        throw ColumnFieldError(row: row, reason: error.reason)
                    }
                } else {
                    out.int32(-1)
                }
                ends.append(out.bytes.count)
            }
            return
        case .list where type.elementKind == .string || type.elementKind == .unspecified:
            guard let child = vector.child else { break }
            let offsets = vector.offsets, data = child.data, elementOffsets = child.offsets, elementValidity = child.validity
            guard offsets.count > rows, Int(offsets[rows]) < elementOffsets.count, Int(elementOffsets[Int(offsets[rows])]) <= data.count,
                  elementValidity.isEmpty || elementValidity.count * 8 >= Int(offsets[rows]) else { break }
            try textLists(rows: rows, validity: validity, offsets: offsets, data: data, elementOffsets: elementOffsets,
                          elementValidity: elementValidity, elementKind: type.elementKind, plainJSON: plainJSON, ends: &ends)
            return
        case .timetz, .interval, .list:
            break
        }
        try rowByRow(vector, rows: rows, type: type, plainJSON: plainJSON, ends: &ends)
    }

    /// The row-at-a-time path, for kinds without a loop of their own and for vectors the
    /// checks above find short (which it reports as it always has).
    private mutating func rowByRow(_ vector: ColumnVector, rows: Int, type: LogicalType, plainJSON: Bool, ends: inout [Int]) throws(ColumnFieldError) {
        let reader = VectorReader(vector)
        for row in 0 ..< rows {
            do {
                try field(reader, row: row, type: type, plainJSON: plainJSON)
            } catch {
                throw ColumnFieldError(row: row, reason: error.reason)
            }
            ends.append(out.bytes.count)
        }
    }

    /// One-dimensional text arrays (PostgreSQL's array binary format, as
    /// ``FieldEncoder/array(_:from:to:kind:plainJSON:)`` writes it), their elements' arrays in locals.
    private mutating func textLists(rows: Int, validity: [UInt8], offsets: [UInt32], data: [UInt8], elementOffsets: [UInt32],
                                    elementValidity: [UInt8], elementKind: TypeKind, plainJSON: Bool, ends: inout [Int]) throws(ColumnFieldError) {
        let elementOID = Int32(bitPattern: PostgresTypes.oid(elementKind, plainJSON: plainJSON))
        if try framedTextLists(rows: rows, validity: validity, offsets: offsets, data: data, elementOffsets: elementOffsets,
                               elementValidity: elementValidity, elementOID: elementOID, ends: &ends) {
            return
        }
        for row in 0 ..< rows {
            guard let (from, to, count) = try listRow(row, validity: validity, offsets: offsets, ends: &ends) else { continue }
            let at = out.beginLength()
            do throws(FieldError) {
                if from == to {
                    out.int32(0)
                    out.int32(0)
                    out.int32(elementOID)
                } else {
                    out.int32(1)
                    out.int32(elementValidity.isEmpty ? 0 : 1)
                    out.int32(elementOID)
                    out.int32(count)
                    out.int32(1)
                    for element in from ..< to {
                        if ColumnVector.isValid(element, in: elementValidity) {
                            let start = Int(elementOffsets[element]), end = Int(elementOffsets[element + 1])
                            guard start <= end else { throw FieldError(reason: "value offsets out of order") }
                            try text(data, start ..< end)
                        } else {
                            out.int32(-1)
                        }
                    }
                }
                try patchLength(at: at)
            } catch {
                throw ColumnFieldError(row: row, reason: error.reason)
            }
            ends.append(out.bytes.count)
        }
    }

    /// List `row`'s elements (`offsets[row] ..< offsets[row + 1]`) and their count; nil, its
    /// NULL written, for a null list.
    private mutating func listRow(_ row: Int, validity: [UInt8], offsets: [UInt32], ends: inout [Int]) throws(ColumnFieldError) -> (Int, Int, Int32)? {
        guard ColumnVector.isValid(row, in: validity) else {
            out.int32(-1)
            ends.append(out.bytes.count)
            return nil
        }
        let from = Int(offsets[row]), to = Int(offsets[row + 1])
        guard from <= to, let count = Int32(exactly: to - from) else {
            throw ColumnFieldError(row: row, reason: "a list of \(to - from) elements is beyond PostgreSQL's array limit")
        }
        return (from, to, count)
    }

    /// The usual text-list column (element values in order, no NUL byte to strip, all of them
    /// under PostgreSQL's value limit together): every element framed at once (``ValueCopier``),
    /// then each list as its length, its header and its elements' framed bytes in one copy, where
    /// the loop above writes each element's length and bytes separately. Returns false, having
    /// written nothing, for any other column.
    private mutating func framedTextLists(rows: Int, validity: [UInt8], offsets: [UInt32], data: [UInt8], elementOffsets: [UInt32],
                                          elementValidity: [UInt8], elementOID: Int32, ends: inout [Int]) throws(ColumnFieldError) -> Bool {
        let elements = Int(offsets[rows])
        guard let values = ValueCopier(data: data, offsets: elementOffsets, rows: elements),
              values.range.count + 1 <= Self.maxValueBytes, !values.containsNul,
              (0 ..< rows).allSatisfy({ offsets[$0] <= offsets[$0 + 1] }) else { return false }
        var framed: [UInt8] = []
        var elementEnds: [Int] = []
        elementEnds.reserveCapacity(elements)
        values.append(to: &framed, framing: .binaryField(prefix: nil), isNull: { !ColumnVector.isValid($0, in: elementValidity) }, ends: &elementEnds)
        let hasNulls: UInt64 = elementValidity.isEmpty ? 0 : 1
        for row in 0 ..< rows {
            guard let (from, to, count) = try listRow(row, validity: validity, offsets: offsets, ends: &ends) else { continue }
            let body = (from == 0 ? 0 : elementEnds[from - 1]) ..< (to == 0 ? 0 : elementEnds[to - 1])
            let length = (from == to ? 12 : 20) + body.count
            guard length <= Self.maxValueBytes else {
                throw ColumnFieldError(row: row, reason: "a value of \(length) bytes is beyond PostgreSQL's limit of \(Self.maxValueBytes) bytes for one value")
            }
            out.bytes.append(addingCapacity: 24) { span in
                Self.bigEndian(UInt64(length), bytes: 4, to: &span)
                if from == to {
                    Self.bigEndian(0, bytes: 8, to: &span)
                    Self.bigEndian(UInt64(UInt32(bitPattern: elementOID)), bytes: 4, to: &span)
                } else {
                    Self.bigEndian(1 << 32 | hasNulls, bytes: 8, to: &span)
                    Self.bigEndian(UInt64(UInt32(bitPattern: elementOID)) << 32 | UInt64(UInt32(bitPattern: count)), bytes: 8, to: &span)
                    Self.bigEndian(1, bytes: 4, to: &span)
                }
            }
            ByteCopy.append(framed, body, to: &out.bytes)
            ends.append(out.bytes.count)
        }
        return true
    }

    /// Fields of `width` bytes (or NULL), each body written by `body`.
    @inline(__always)
    private mutating func fixedWidth(rows: Int, width: Int, validity: [UInt8], ends: inout [Int],
                                     _ body: (inout OutputSpan<UInt8>, Int) -> Void) {
        let base = out.bytes.count
        out.bytes.append(addingCapacity: rows * (4 + width)) { out in
            for row in 0 ..< rows {
                if ColumnVector.isValid(row, in: validity) {
                    Self.bigEndian(UInt64(width), bytes: 4, to: &out)
                    body(&out, row)
                } else {
                    Self.bigEndian(UInt64(UInt32.max), bytes: 4, to: &out)
                }
                ends.append(base + out.count)
            }
        }
    }

    /// Text, JSON and bytes fields: `prefix` (jsonb's version byte) then the value's bytes,
    /// without NUL bytes when `dropsNul` (counted, or an error with `nul_bytes: fail`).
    private mutating func variableWidth(rows: Int, data: [UInt8], offsets: [UInt32], validity: [UInt8], prefix: UInt8?,
                                        dropsNul: Bool, ends: inout [Int]) throws(ColumnFieldError) {
        // The usual column (offsets in order, under PostgreSQL's value limit all together, no
        // NUL byte to strip) is written with memcpy; any other goes value by value below.
        if let values = ValueCopier(data: data, offsets: offsets, rows: rows), values.range.count + 1 <= Self.maxValueBytes,
           !dropsNul || !values.containsNul {
            values.append(to: &out.bytes, framing: .binaryField(prefix: prefix), isNull: { !ColumnVector.isValid($0, in: validity) }, ends: &ends)
            return
        }
        let base = out.bytes.count
        let failOnNul = failOnNul
        var stripped: UInt64 = 0
        var failure: ColumnFieldError?
        let capacity = Int(offsets[rows]) - Int(offsets[0]) + rows * 5
        out.bytes.append(addingCapacity: max(capacity, 0)) { out in
            for row in 0 ..< rows {
                guard ColumnVector.isValid(row, in: validity) else {
                    Self.bigEndian(UInt64(UInt32.max), bytes: 4, to: &out)
                    ends.append(base + out.count)
                    continue
                }
                let start = Int(offsets[row]), end = Int(offsets[row + 1])
                guard start <= end else {
                    failure = ColumnFieldError(row: row, reason: "value offsets out of order")
                    return
                }
                var nuls = 0
                if dropsNul { for index in start ..< end where data[index] == 0 { nuls += 1 } }
                if nuls > 0, failOnNul {
                    failure = ColumnFieldError(row: row, reason: "text contains a NUL byte, which PostgreSQL cannot store (nul_bytes: fail)")
                    return
                }
                let length = end - start - nuls + (prefix == nil ? 0 : 1)
                guard length <= Self.maxValueBytes else {
                    failure = ColumnFieldError(row: row, reason: "a value of \(length) bytes is beyond PostgreSQL's limit of \(Self.maxValueBytes) bytes for one value")
                    return
                }
                Self.bigEndian(UInt64(length), bytes: 4, to: &out)
                if let prefix { out.append(prefix) }
                if nuls == 0 {
                    for index in start ..< end { out.append(data[index]) }
                } else {
                    for index in start ..< end where data[index] != 0 { out.append(data[index]) }
                    stripped += UInt64(nuls)
                }
                ends.append(base + out.count)
            }
        }
        nulBytesStripped += stripped
        if let failure { throw failure }
    }

    /// The low `bytes` bytes of `value`, most significant first.
    @inline(__always)
    private static func bigEndian(_ value: UInt64, bytes: Int, to out: inout OutputSpan<UInt8>) {
        var shift = (bytes - 1) * 8
        while shift >= 0 {
            out.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
            shift -= 8
        }
    }

    private static func timestampOverflows(_ micros: Int64) -> Bool {
        micros != .max && micros != .min && micros.subtractingReportingOverflow(epochMicros).overflow
    }

    private static func dateOverflows(_ days: Int32) -> Bool {
        days != .max && days != .min && days.subtractingReportingOverflow(epochDays).overflow
    }
}
