// Length and offset checks shared by the structural check of decoding and by
// `RecordBatch.validate(against:)`. `column` names the column in error messages.

/// An ``ProtocolError/Code/invalidMessage`` error about `column`.
func columnError(_ column: String, _ problem: String) -> ProtocolError {
    ProtocolError(.invalidMessage, "\(column): \(problem)")
}

extension RecordBatch {
    /// Operations are empty, or one byte per row holding a ``RowOperation``.
    func checkOperations() throws(ProtocolError) {
        guard !operations.isEmpty else { return }
        guard operations.count == rowCount else {
            throw ProtocolError(.invalidMessage, "operations has \(operations.count) entries; the batch has \(rowCount) rows")
        }
        for (row, operation) in operations.enumerated() where RowOperation(rawValue: operation) == nil {
            throw ProtocolError(.invalidMessage, "row \(row) has unknown operation \(operation)")
        }
    }
}

extension ColumnVector {
    /// The validity bitmap is empty, or exactly ceil(rowCount / 8) bytes with no bit set past rowCount.
    func checkValidity(rowCount: Int, column: String) throws(ProtocolError) {
        guard !validity.isEmpty else { return }
        guard validity.count == (rowCount + 7) / 8 else {
            throw columnError(column, "validity has \(validity.count) bytes; \(rowCount) rows need \((rowCount + 7) / 8)")
        }
        let usedBits = rowCount % 8
        if usedBits != 0 && validity[validity.count - 1] >> usedBits != 0 {
            throw columnError(column, "validity has bits set past row \(rowCount)")
        }
    }

    /// The fixed-width vectors, by name.
    var fixedWidthCounts: [(name: String, count: Int, layout: ColumnLayout)] {
        [("bools", bools.count, .bools), ("int32s", int32s.count, .int32s), ("int64s", int64s.count, .int64s),
         ("float32s", float32s.count, .float32s), ("float64s", float64s.count, .float64s),
         ("interval_days", intervalDays.count, .intervalDays)]
    }

    /// `offsets` holds rowCount + 1 non-decreasing entries from 0, ending at `end` when given.
    func checkOffsets(rowCount: Int, end: Int?, column: String) throws(ProtocolError) {
        guard offsets.count == rowCount + 1 else {
            throw columnError(column, "offsets has \(offsets.count) entries; \(rowCount) rows need \(rowCount + 1)")
        }
        guard offsets[0] == 0 else { throw columnError(column, "offsets starts at \(offsets[0]), not 0") }
        var previous: UInt32 = 0
        for offset in offsets {
            guard offset >= previous else { throw columnError(column, "offsets decrease from \(previous) to \(offset)") }
            previous = offset
        }
        if let end, Int(previous) != end {
            throw columnError(column, "offsets end at \(previous); data has \(end) bytes")
        }
    }
}
