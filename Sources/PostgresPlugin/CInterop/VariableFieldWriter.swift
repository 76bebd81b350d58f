#if canImport(Glibc)
import Glibc
#endif

/// Writes a column of variable-width values (text, JSON, bytes) as binary COPY fields with
/// memchr(3) and memcpy(3): a Swift loop per byte (a bounds and a capacity check each) to look
/// for NUL bytes and another to copy was most of the destination's time on text columns.
enum VariableFieldWriter {
    /// Whether `bytes[range]` holds a 0 byte.
    static func containsNul(_ bytes: [UInt8], in range: Range<Int>) -> Bool {
        precondition(range.lowerBound >= 0 && range.upperBound <= bytes.count, "VariableFieldWriter: range past the bytes")
        guard !range.isEmpty else { return false }
        return bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return false }
            return memchr(base + range.lowerBound, 0, range.count) != nil
        }
    }

    /// Appends to `out`, for each of the first `rows` rows, the field of value `row` of `data`
    /// (`data[offsets[row] ..< offsets[row + 1]]`): its length (big-endian int32, counting
    /// `prefix`), then `prefix` if any, then its bytes; -1 for a row `isNull` says is null. Appends
    /// where each field ends (an index of `out`) to `ends`.
    ///
    /// The caller has checked that the offsets never decrease, stay within `data`, and that no
    /// field exceeds an int32 length; a layout that breaks it stops the process.
    static func append(to out: inout [UInt8], data: [UInt8], offsets: [UInt32], rows: Int, prefix: UInt8?,
                       isNull: (Int) -> Bool, ends: inout [Int]) {
        precondition(rows >= 0 && offsets.count > rows && Int(offsets[rows]) <= data.count, "VariableFieldWriter: offsets past the data")
        for row in 0 ..< rows { precondition(offsets[row] <= offsets[row + 1], "VariableFieldWriter: offsets out of order") }
        let extra = prefix == nil ? 0 : 1
        let total = Int(offsets[rows]) - Int(offsets[0]) + rows * (4 + extra)
        let start = out.count
        out.append(addingCapacity: total) { span in
            span.withUnsafeMutableBufferPointer { buffer, initialized in
                guard let base = buffer.baseAddress else { return }
                data.withUnsafeBytes { source in
                    for row in 0 ..< rows {
                        let length: UInt32
                        let from = Int(offsets[row]), to = Int(offsets[row + 1])
                        if isNull(row) {
                            length = .max
                        } else {
                            length = UInt32(to - from + extra)
                        }
                        let field = base + initialized
                        field[0] = UInt8(truncatingIfNeeded: length >> 24)
                        field[1] = UInt8(truncatingIfNeeded: length >> 16)
                        field[2] = UInt8(truncatingIfNeeded: length >> 8)
                        field[3] = UInt8(truncatingIfNeeded: length)
                        initialized += 4
                        if length != .max {
                            if let prefix {
                                base[initialized] = prefix
                                initialized += 1
                            }
                            if to > from, let bytes = source.baseAddress {
                                memcpy(base + initialized, bytes + from, to - from)
                                initialized += to - from
                            }
                        }
                        ends.append(start + initialized)
                    }
                }
            }
        }
    }
}
