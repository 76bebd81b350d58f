#if canImport(Glibc)
import Glibc
#endif

/// Turns binary COPY fields laid out column after column into rows, copying each field with
/// memcpy(3): a byte-at-a-time loop in Swift (a bounds check and a capacity check per byte)
/// took a quarter of the destination's encoding time.
enum RowInterleaver {
    /// Appends to `out`, for each of `rows` rows: `header`, field `row` of each of the
    /// `columns` columns of `fields` (field `c * rows + r` ends at `ends[c * rows + r]` and
    /// starts where the one before it ends), then `trailer` and `perRow(row)`'s
    /// `perRowBytes` bytes.
    ///
    /// The layout is checked before any byte is copied (ends never decrease and stay within
    /// `fields`); a layout that breaks it is a programming error and stops the process.
    static func append(to out: inout [UInt8], fields: [UInt8], ends: [Int], rows: Int, columns: Int,
                       header: [UInt8], trailer: [UInt8], perRowBytes: Int, perRow: (Int, inout [UInt8]) -> Void) {
        precondition(rows >= 0 && columns >= 0 && ends.count == rows * columns, "RowInterleaver: \(ends.count) field ends for \(rows) × \(columns)")
        var previous = 0
        for end in ends {
            precondition(end >= previous && end <= fields.count, "RowInterleaver: field ends out of order or past the fields")
            previous = end
        }
        guard rows > 0 else { return }
        var scratch = [UInt8](repeating: 0, count: perRowBytes)
        let total = previous + rows * (header.count + trailer.count + perRowBytes)
        out.append(addingCapacity: total) { span in
            span.withUnsafeMutableBufferPointer { buffer, initialized in
                guard let base = buffer.baseAddress else { return }
                fields.withUnsafeBytes { source in
                    ends.withUnsafeBufferPointer { ends in
                        for row in 0 ..< rows {
                            copy(header, to: base + initialized)
                            initialized += header.count
                            var field = row
                            for _ in 0 ..< columns {
                                let start = field == 0 ? 0 : ends[field - 1]
                                let length = ends[field] - start
                                if length > 0, let from = source.baseAddress {
                                    memcpy(base + initialized, from + start, length)
                                    initialized += length
                                }
                                field += rows
                            }
                            copy(trailer, to: base + initialized)
                            initialized += trailer.count
                            if perRowBytes > 0 {
                                perRow(row, &scratch)
                                precondition(scratch.count == perRowBytes, "RowInterleaver: per-row bytes changed size")
                                copy(scratch, to: base + initialized)
                                initialized += perRowBytes
                            }
                        }
                    }
                }
            }
        }
    }

    @inline(__always)
    private static func copy(_ bytes: [UInt8], to destination: UnsafeMutablePointer<UInt8>) {
        bytes.withUnsafeBytes { raw in
            if let from = raw.baseAddress, !raw.isEmpty { memcpy(destination, from, raw.count) }
        }
    }
}
