#if canImport(Glibc)
import Glibc
#endif

/// Copies a column of variable-width values (text, JSON, bytes, decimals as text) into an
/// output format with memcpy(3), each value framed as the format wants: a Swift loop per byte
/// (a bounds and a capacity check each) took most of the time of a text column.
public enum ValueCopier {
    /// How each value is framed.
    public enum Framing: Sendable {
        /// A PostgreSQL binary field: its length (big-endian int32, counting `prefix`; -1 for a
        /// null), `prefix` if any, the bytes.
        case binaryField(prefix: UInt8?)
        /// A JSON string whose bytes need no escape: the bytes between quotes; `null` for a null.
        case plainJSONString
    }

    /// Whether `bytes[range]` holds a 0 byte.
    public static func containsNul(_ bytes: [UInt8], in range: Range<Int>) -> Bool {
        precondition(range.lowerBound >= 0 && range.upperBound <= bytes.count, "ValueCopier: range past the bytes")
        guard !range.isEmpty else { return false }
        return bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return false }
            return memchr(base + range.lowerBound, 0, range.count) != nil
        }
    }

    /// Appends to `out`, for each of the first `rows` rows, value `row` of `data`
    /// (`data[offsets[row] ..< offsets[row + 1]]`) framed by `framing`, or its null when
    /// `isNull(row)`; appends where each ends (an index of `out`) to `ends`.
    ///
    /// The caller has checked that the offsets never decrease and stay within `data` (and, for a
    /// binary field, that no value exceeds an int32 length); a layout that breaks it is a
    /// programming error and stops the process.
    public static func append(to out: inout [UInt8], data: [UInt8], offsets: [UInt32], rows: Int, framing: Framing,
                              isNull: (Int) -> Bool, ends: inout [Int]) {
        precondition(rows >= 0 && offsets.count > rows && Int(offsets[rows]) <= data.count, "ValueCopier: offsets past the data")
        for row in 0 ..< rows { precondition(offsets[row] <= offsets[row + 1], "ValueCopier: offsets out of order") }
        let framingBytes: Int
        switch framing {
        case .binaryField(let prefix): framingBytes = 4 + (prefix == nil ? 0 : 1)
        case .plainJSONString: framingBytes = 4 // two quotes, or `null`
        }
        let start = out.count
        out.append(addingCapacity: Int(offsets[rows]) - Int(offsets[0]) + rows * framingBytes) { span in
            span.withUnsafeMutableBufferPointer { buffer, initialized in
                guard let base = buffer.baseAddress else { return }
                data.withUnsafeBytes { source in
                    for row in 0 ..< rows {
                        let from = Int(offsets[row]), count = Int(offsets[row + 1]) - from
                        let null = isNull(row)
                        switch framing {
                        case .binaryField(let prefix):
                            let length: UInt32 = null ? .max : UInt32(count + (prefix == nil ? 0 : 1))
                            base[initialized] = UInt8(truncatingIfNeeded: length >> 24)
                            base[initialized + 1] = UInt8(truncatingIfNeeded: length >> 16)
                            base[initialized + 2] = UInt8(truncatingIfNeeded: length >> 8)
                            base[initialized + 3] = UInt8(truncatingIfNeeded: length)
                            initialized += 4
                            if !null, let prefix {
                                base[initialized] = prefix
                                initialized += 1
                            }
                        case .plainJSONString:
                            if null {
                                for byte in "null".utf8 {
                                    base[initialized] = byte
                                    initialized += 1
                                }
                            } else {
                                base[initialized] = UInt8(ascii: "\"")
                                initialized += 1
                            }
                        }
                        if !null, count > 0, let bytes = source.baseAddress {
                            memcpy(base + initialized, bytes + from, count)
                            initialized += count
                        }
                        if !null, case .plainJSONString = framing {
                            base[initialized] = UInt8(ascii: "\"")
                            initialized += 1
                        }
                        ends.append(start + initialized)
                    }
                }
            }
        }
    }
}
