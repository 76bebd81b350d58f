#if canImport(Glibc)
import Glibc
#endif

/// A column of variable-width values (text, JSON, bytes, decimals as text) copied into an output
/// format a value at a time (``RowJoiner/copyBytes(_:_:_:)``: loads and stores, or memcpy(3)),
/// each value framed as the format wants: a Swift loop per byte (a bounds and a capacity check
/// each) took most of the time of a text column. Made only from a layout it has checked (offsets
/// in order, within the data), so the copies stay inside both arrays.
public struct ValueCopier {
    /// How each value is framed.
    public enum Framing: Sendable {
        /// A PostgreSQL binary field: its length (big-endian int32, counting `prefix`; -1 for a
        /// null), `prefix` if any, the bytes.
        case binaryField(prefix: UInt8?)
        /// A JSON string: the bytes between quotes, each quote, backslash and control byte
        /// escaped (`\"`, `\\`, `\n`, `\r`, `\t`, else `\u00xx`); `null` for a null.
        case jsonString
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
        let framingBytes: Int, escapes: Int
        switch framing {
        case .binaryField(let prefix): (framingBytes, escapes) = (4 + (prefix == nil ? 0 : 1), 0)
        case .jsonString: (framingBytes, escapes) = (4, jsonEscapeBytes()) // two quotes, or `null`
        }
        let start = out.count, data = data, offsets = offsets, rows = rows
        out.append(addingCapacity: range.count + rows * framingBytes + escapes) { span in
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
                        case .jsonString:
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
                            if escapes > 0, case .jsonString = framing {
                                initialized += Self.copyEscaped(bytes + from, count: count, to: base + initialized)
                            } else {
                                RowJoiner.copyBytes(base + initialized, bytes + from, count)
                                initialized += count
                            }
                        }
                        if !null, case .jsonString = framing {
                            base[initialized] = UInt8(ascii: "\"")
                            initialized += 1
                        }
                        ends.append(start + initialized)
                    }
                }
            }
        }
    }

    /// The bytes escapes add to the values as JSON strings: 1 for a quote, a backslash, `\n`,
    /// `\r` or `\t`, 5 for another control byte. Eight bytes at a time where none needs one.
    private func jsonEscapeBytes() -> Int {
        data.withUnsafeBytes { raw in
            var index = range.lowerBound, total = 0
            while index < range.upperBound {
                if range.upperBound - index >= 8,
                   JSONSpecialBytes.mask(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: index, as: UInt64.self))) == 0 {
                    index += 8
                    continue
                }
                for byte in raw[index ..< min(index + 8, range.upperBound)] { total += Self.escapeBytes(byte) }
                index += 8
            }
            return total
        }
    }

    @inline(__always)
    private static func escapeBytes(_ byte: UInt8) -> Int {
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), 0x0A, 0x0D, 0x09: 1
        case ..<0x20: 5
        default: 0
        }
    }

    private static let hexDigits: StaticString = "0123456789abcdef"

    /// Copies `count` bytes from `source` to `target` as the inside of a JSON string, escaping
    /// as ``Framing/jsonString`` says (runs between escapes with memcpy(3)); returns the bytes written.
    private static func copyEscaped(_ source: UnsafeRawPointer, count: Int, to target: UnsafeMutablePointer<UInt8>) -> Int {
        var written = 0, run = 0, index = 0
        while index < count {
            if count - index >= 8,
               JSONSpecialBytes.mask(UInt64(littleEndian: source.loadUnaligned(fromByteOffset: index, as: UInt64.self))) == 0 {
                index += 8
                continue
            }
            let byte = source.load(fromByteOffset: index, as: UInt8.self)
            index += 1
            guard escapeBytes(byte) > 0 else { continue }
            let at = index - 1
            memcpy(target + written, source + run, at - run)
            written += at - run
            run = index
            target[written] = UInt8(ascii: "\\")
            switch byte {
            case 0x0A: target[written + 1] = UInt8(ascii: "n")
            case 0x0D: target[written + 1] = UInt8(ascii: "r")
            case 0x09: target[written + 1] = UInt8(ascii: "t")
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): target[written + 1] = byte
            default:
                target[written + 1] = UInt8(ascii: "u")
                target[written + 2] = UInt8(ascii: "0")
                target[written + 3] = UInt8(ascii: "0")
                target[written + 4] = hexDigits.utf8Start[Int(byte >> 4)]
                target[written + 5] = hexDigits.utf8Start[Int(byte & 0xF)]
                written += 4
            }
            written += 2
        }
        memcpy(target + written, source + run, count - run)
        return written + count - run
    }
}
