#if canImport(Glibc)
import Glibc
#endif

/// A column of variable-width values (text, JSON, bytes, decimals as text) copied into an output
/// format with memcpy(3), each value framed as the format wants: a Swift loop per byte (a bounds
/// and a capacity check each) took most of the time of a text column. Made only from a layout it
/// has checked (offsets in order, within the data), so the copies stay inside both arrays.
public struct ValueCopier {
    /// How each value is framed.
    public enum Framing: Sendable {
        /// A PostgreSQL binary field: its length (big-endian int32, counting `prefix`; -1 for a
        /// null), `prefix` if any, the bytes.
        case binaryField(prefix: UInt8?)
        /// A JSON string whose bytes need no escape: the bytes between quotes; `null` for a null.
        case plainJSONString
    }

    private let data: [UInt8]
    private let offsets: [UInt32]
    private let rows: Int
    /// The bytes of `data` the first `rows` values take.
    public let range: Range<Int>

    /// The first `rows` values of `data`, value `row` being `data[offsets[row] ..< offsets[row + 1]]`;
    /// nil when the offsets are too few, decrease, or pass the end of `data`.
    public init?(data: [UInt8], offsets: [UInt32], rows: Int) {
        guard rows >= 0, offsets.count > rows, Int(offsets[rows]) <= data.count,
              (0 ..< rows).allSatisfy({ offsets[$0] <= offsets[$0 + 1] }) else { return nil }
        self.data = data
        self.offsets = offsets
        self.rows = rows
        range = Int(offsets[0]) ..< Int(offsets[rows])
    }

    /// Whether the values hold a 0 byte.
    public var containsNul: Bool {
        guard !range.isEmpty else { return false }
        return data.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return false }
            return memchr(base + range.lowerBound, 0, range.count) != nil
        }
    }

    /// Appends each value framed by `framing` (its null when `isNull(row)`) to `out`, and where
    /// each ends (an index of `out`) to `ends`. For a binary field the caller has checked that no
    /// value exceeds an int32 length.
    public func append(to out: inout [UInt8], framing: Framing, isNull: (Int) -> Bool, ends: inout [Int]) {
        let framingBytes: Int
        switch framing {
        case .binaryField(let prefix): framingBytes = 4 + (prefix == nil ? 0 : 1)
        case .plainJSONString: framingBytes = 4 // two quotes, or `null`
        }
        let start = out.count, data = data, offsets = offsets, rows = rows
        out.append(addingCapacity: range.count + rows * framingBytes) { span in
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
