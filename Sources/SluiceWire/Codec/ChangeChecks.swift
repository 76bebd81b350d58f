// The rules of the change-data-capture markers (PROTOCOL.md §5.9, §5.10): TRUNCATE rows and
// the `unchanged` bitmap. Shared by the structural check of decoding and by
// `RecordBatch.validate(against:)`, which adds the rule that needs the schema (key columns).

extension RecordBatch {
    /// Every `unchanged` bitmap fits the row count, marks only upsert rows whose validity bit
    /// is 0, and is absent from list children; every TRUNCATE row is null in every column.
    /// Expects ``checkOperations()`` to have passed.
    func checkChangeMarkers(columnName: (Int) -> String) throws(ProtocolError) {
        for (index, column) in columns.enumerated() {
            try column.checkUnchanged(rowCount: rowCount, operations: operations, column: columnName(index))
        }
        guard operations.contains(RowOperation.truncate.rawValue) else { return }
        for (row, operation) in operations.enumerated() where operation == RowOperation.truncate.rawValue {
            if let index = columns.indices.first(where: { columns[$0].isValid(row) }) {
                throw columnError(columnName(index), "row \(row) is a TRUNCATE row but holds a value; a TRUNCATE row is null in every column")
            }
        }
    }

    /// No column of `keyColumns` (names of `schema`) marks a row unchanged: a change is found
    /// by its key, which is always sent.
    func checkUnchangedKeys(schema: StreamSchema, keyColumns: [String]) throws(ProtocolError) {
        for (index, column) in schema.columns.enumerated() where index < columns.count && !columns[index].unchanged.isEmpty {
            guard keyColumns.contains(where: { $0.isExactly(column.name) }),
                  let row = (0..<rowCount).first(where: { columns[index].isUnchanged($0) }) else { continue }
            throw columnError("column \"\(column.name)\" (\(column.type.label))",
                              "row \(row) is marked unchanged, but the column is part of the key; key values are always sent")
        }
    }
}

extension RecordBatch {
    /// What of CDC the batch holds (TRUNCATE rows, unchanged values), for a receiver that does
    /// not apply CDC streams to name in its refusal; `nil` when it holds neither.
    public var changeMarker: String? {
        if let row = operations.firstIndex(of: RowOperation.truncate.rawValue) { return "a TRUNCATE row (row \(row))" }
        if let index = columns.firstIndex(where: { column in column.unchanged.contains { $0 != 0 } }) {
            return "unchanged values (column \(index))"
        }
        return nil
    }
}

extension ColumnVector {
    /// The `unchanged` bitmap is empty, or exactly ceil(rowCount / 8) bytes with no bit past
    /// rowCount, setting only bits of upsert rows that are not valid; a list's child has none.
    func checkUnchanged(rowCount: Int, operations: [UInt8], column: String) throws(ProtocolError) {
        if let child, !child.unchanged.isEmpty {
            throw columnError(column, "its list elements have an unchanged bitmap; only a whole value can be unchanged")
        }
        guard !unchanged.isEmpty else { return }
        guard unchanged.count == (rowCount + 7) / 8 else {
            throw columnError(column, "unchanged has \(unchanged.count) bytes; \(rowCount) rows need \((rowCount + 7) / 8)")
        }
        let usedBits = rowCount % 8
        if usedBits != 0 && unchanged[unchanged.count - 1] >> usedBits != 0 {
            throw columnError(column, "unchanged has bits set past row \(rowCount)")
        }
        for row in 0..<rowCount where isUnchanged(row) {
            if isValid(row) {
                throw columnError(column, "row \(row) is marked unchanged but holds a value; an unchanged row's validity bit is 0")
            }
            if !operations.isEmpty && operations[row] != RowOperation.upsert.rawValue {
                let name = RowOperation(rawValue: operations[row]).map { String(describing: $0).uppercased() } ?? "\(operations[row])"
                throw columnError(column, "row \(row) is marked unchanged but is a \(name) row; only UPSERT rows can be unchanged")
            }
        }
    }
}
