// The checks decoding makes on every record batch, which need no schema: each vector that is
// present fits the row count, so later code can index it without trapping.

extension RecordBatch {
    /// Throws ``ProtocolError/Code/invalidMessage`` when a vector does not fit `rowCount`.
    func checkStructure() throws(ProtocolError) {
        try checkOperations()
        for (index, column) in columns.enumerated() {
            try column.checkStructure(rowCount: rowCount, column: "column \(index)")
        }
        try checkChangeMarkers { "column \($0)" }
    }
}

extension ColumnVector {
    func checkStructure(rowCount: Int, column: String) throws(ProtocolError) {
        try checkValidity(rowCount: rowCount, column: column)
        for vector in fixedWidthCounts where vector.count != 0 && vector.count != rowCount {
            throw columnError(column, "\(vector.name) has \(vector.count) entries; the batch has \(rowCount) rows")
        }
        if let child {
            guard !offsets.isEmpty else { throw columnError(column, "has list elements but no offsets") }
            try checkOffsets(rowCount: rowCount, end: nil, column: column)
            try child.checkStructure(rowCount: Int(offsets[rowCount]), column: "\(column) elements")
        } else if !offsets.isEmpty {
            try checkOffsets(rowCount: rowCount, end: data.count, column: column)
        } else if !data.isEmpty && data.count != ColumnLayout.uuidSize * rowCount {
            throw columnError(column, "data has \(data.count) bytes without offsets; \(rowCount) UUIDs need \(ColumnLayout.uuidSize * rowCount)")
        }
    }
}
