#if canImport(Glibc)
import Glibc
#endif

/// Joins cells rendered a column at a time into rows, copying each piece with memcpy(3): a
/// JSON Lines row is its head, then per column a separator (`,"key":`) and the cell, then a tail.
enum RowAssembler {
    /// Appends `rows` rows to `out`. Cell `c * rows + r` (column `c`, row `r`) of `cells` ends at
    /// `cellEnds[c * rows + r]` and starts where the one before it ends; `separators[c]` comes
    /// before each cell of column `c`; every row starts with `head` and ends with `tail`.
    ///
    /// The layout is checked before any byte is copied (ends never decrease and stay within
    /// `cells`, one separator per column); a layout that breaks it is a programming error and
    /// stops the process.
    static func append(to out: inout [UInt8], cells: [UInt8], cellEnds: [Int], rows: Int,
                       separators: [[UInt8]], head: [UInt8], tail: [UInt8]) {
        let columns = separators.count
        precondition(rows >= 0 && cellEnds.count == rows * columns, "RowAssembler: \(cellEnds.count) cell ends for \(rows) × \(columns)")
        var previous = 0
        for end in cellEnds {
            precondition(end >= previous && end <= cells.count, "RowAssembler: cell ends out of order or past the cells")
            previous = end
        }
        guard rows > 0 else { return }
        let perRow = head.count + tail.count + separators.reduce(0) { $0 + $1.count }
        out.append(addingCapacity: previous + rows * perRow) { span in
            span.withUnsafeMutableBufferPointer { buffer, initialized in
                guard let base = buffer.baseAddress else { return }
                cells.withUnsafeBytes { source in
                    cellEnds.withUnsafeBufferPointer { ends in
                        for row in 0 ..< rows {
                            copy(head, to: base, at: &initialized)
                            var cell = row
                            for column in 0 ..< columns {
                                copy(separators[column], to: base, at: &initialized)
                                let start = cell == 0 ? 0 : ends[cell - 1]
                                let length = ends[cell] - start
                                if length > 0, let from = source.baseAddress {
                                    memcpy(base + initialized, from + start, length)
                                    initialized += length
                                }
                                cell += rows
                            }
                            copy(tail, to: base, at: &initialized)
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
                memcpy(base + offset, from, raw.count)
                offset += raw.count
            }
        }
    }
}
