#if canImport(Glibc)
import Glibc
#endif

/// Joins values encoded a column at a time into rows, copying each piece without a Swift loop: the
/// destination's binary COPY rows and `plugin-host read`'s JSON Lines are both encoded a column
/// at a time (one loop per column kind) and then laid out row after row, where a Swift loop
/// copying a byte at a time (a bounds and a capacity check each) took a quarter of the time.
public enum RowJoiner {
    /// Appends `rows` rows to `out`. Value `c * rows + r` (column `c`, row `r`) of `values` ends at
    /// `ends[c * rows + r]` and starts where the one before it ends. Each row is `head`, then per
    /// column `separators[c]` and the value, then `tail`, then the `perRowBytes` bytes `perRow`
    /// writes for the row into the array it is given (of that size).
    ///
    /// The layout is checked before any byte is copied (ends never decrease and stay within
    /// `values`, one separator per column); a layout that breaks it is a programming error and
    /// stops the process.
    public static func append(to out: inout [UInt8], values: [UInt8], ends: [Int], rows: Int, separators: [[UInt8]],
                              head: [UInt8], tail: [UInt8], perRowBytes: Int = 0, perRow: (Int, inout [UInt8]) -> Void = { _, _ in }) {
        let columns = separators.count
        precondition(rows >= 0 && ends.count == rows * columns, "RowJoiner: \(ends.count) value ends for \(rows) × \(columns)")
        var previous = 0
        for end in ends {
            precondition(end >= previous && end <= values.count, "RowJoiner: value ends out of order or past the values")
            previous = end
        }
        guard rows > 0 else { return }
        var scratch = [UInt8](repeating: 0, count: perRowBytes)
        // The separators one after another (reading `separators[c]` in the loop retained and
        // released an array per value).
        let joinedSeparators = Array(separators.joined())
        let separatorEnds = separators.reduce(into: [Int]()) { $0.append(($0.last ?? 0) + $1.count) }
        let perRowFixed = head.count + tail.count + perRowBytes + joinedSeparators.count
        out.append(addingCapacity: previous + rows * perRowFixed) { span in
            span.withUnsafeMutableBufferPointer { buffer, initialized in
                guard let base = buffer.baseAddress else { return }
                values.withUnsafeBytes { source in
                    ends.withUnsafeBufferPointer { ends in
                        joinedSeparators.withUnsafeBytes { joined in
                            for row in 0 ..< rows {
                                copy(head, to: base, at: &initialized)
                                var value = row
                                for column in 0 ..< columns {
                                    let separatorStart = column == 0 ? 0 : separatorEnds[column - 1]
                                    if let from = joined.baseAddress, separatorEnds[column] > separatorStart {
                                        copyBytes(base + initialized, from + separatorStart, separatorEnds[column] - separatorStart)
                                        initialized += separatorEnds[column] - separatorStart
                                    }
                                    let start = value == 0 ? 0 : ends[value - 1]
                                    let length = ends[value] - start
                                    if length > 0, let from = source.baseAddress {
                                        copyBytes(base + initialized, from + start, length)
                                        initialized += length
                                    }
                                    value += rows
                                }
                                copy(tail, to: base, at: &initialized)
                                if perRowBytes > 0 {
                                    perRow(row, &scratch)
                                    precondition(scratch.count == perRowBytes, "RowJoiner: per-row bytes changed size")
                                    copy(scratch, to: base, at: &initialized)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    @inline(__always)
    private static func copy(_ bytes: [UInt8], to base: UnsafeMutablePointer<UInt8>, at offset: inout Int) {
        bytes.withUnsafeBytes { raw in
            if let from = raw.baseAddress, !raw.isEmpty {
                copyBytes(base + offset, from, raw.count)
                offset += raw.count
            }
        }
    }

    /// Copies `count` bytes. Most values are a few bytes (a length and an integer, a short
    /// text), where a call to memcpy(3) cost more than the copy: up to 16 bytes move as two
    /// (possibly overlapping) unaligned loads and stores, longer runs through memcpy.
    @inline(__always)
    static func copyBytes(_ destination: UnsafeMutableRawPointer, _ source: UnsafeRawPointer, _ count: Int) {
        switch count {
        case 8 ... 16:
            let head = source.loadUnaligned(as: UInt64.self)
            let tail = source.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
            destination.storeBytes(of: head, as: UInt64.self)
            destination.storeBytes(of: tail, toByteOffset: count - 8, as: UInt64.self)
        case 4 ..< 8:
            let head = source.loadUnaligned(as: UInt32.self)
            let tail = source.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)
            destination.storeBytes(of: head, as: UInt32.self)
            destination.storeBytes(of: tail, toByteOffset: count - 4, as: UInt32.self)
        case 1 ..< 4:
            for offset in 0 ..< count {
                destination.storeBytes(of: source.load(fromByteOffset: offset, as: UInt8.self), toByteOffset: offset, as: UInt8.self)
            }
        case 0:
            break
        default:
            memcpy(destination, source, count)
        }
    }
}
