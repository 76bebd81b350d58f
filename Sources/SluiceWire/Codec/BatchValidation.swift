extension RecordBatch {
    /// Checks every column against the schema: the right vectors for each kind, exact lengths
    /// (row_count entries; offsets monotonic, within data; validity length; list child consistent).
    ///
    /// Also checks the values the protocol constrains: INT16 range, TIME and TIMETZ within a
    /// day, DECIMAL text syntax, STRING and JSON text in UTF-8, the row operations, and the CDC
    /// markers (§5.9): TRUNCATE rows null in every column; `unchanged` only on upsert rows with
    /// no value, never on a list's child nor on a key column — `keyColumns`, the schema's
    /// primary key unless given. Throws ``ProtocolError/Code/invalidMessage``.
    ///
    /// Completes what a proto3 writer may leave out (PROTOCOL.md §5.5): a list column whose rows
    /// hold no element at all may come without its `child`; it gets an empty vector of the
    /// element kind, so that readers of a validated batch always find one.
    ///
    /// A batch of PostgreSQL rows (``postgresRows``) is checked for its layout alone
    /// (``PostgresRows``); whether its stream may carry them is its receiver's to check.
    public mutating func validate(against schema: StreamSchema, keyColumns: [String]? = nil) throws(ProtocolError) {
        if carriesPostgresRows { return try validatePostgresRows(columnCount: schema.columns.count) }
        guard columns.count == schema.columns.count else {
            throw ProtocolError(.invalidMessage, "the batch for \(stream) has \(columns.count) columns; its schema has \(schema.columns.count)")
        }
        try checkOperations()
        for (vector, column) in zip(columns, schema.columns) {
            try vector.validate(kind: column.type.kind, elementKind: column.type.elementKind, rowCount: rowCount,
                                column: "column \"\(column.name)\" (\(column.type.label))")
        }
        try checkChangeMarkers { "column \"\(schema.columns[$0].name)\" (\(schema.columns[$0].type.label))" }
        try checkUnchangedKeys(schema: schema, keyColumns: keyColumns ?? schema.primaryKey)
        for (index, column) in schema.columns.enumerated() where column.type.kind == .list && columns[index].child == nil {
            columns[index].child = ColumnBuilder(type: LogicalType(column.type.elementKind)).finish()
        }
    }
}

extension ColumnVector {
    private static let microsPerDay: Int64 = 86_400_000_000

    func validate(kind: TypeKind, elementKind: TypeKind, rowCount: Int, column: String) throws(ProtocolError) {
        guard let layout = ColumnLayout(kind: kind) else { throw columnError(column, "has no type kind") }
        try checkValidity(rowCount: rowCount, column: column)
        for vector in fixedWidthCounts {
            let expected = layout.contains(vector.layout) ? rowCount : 0
            guard vector.count == expected else {
                throw columnError(column, "\(vector.name) has \(vector.count) entries, expected \(expected)")
            }
        }
        try validateData(layout: layout, elementKind: elementKind, rowCount: rowCount, column: column)
        try validateValues(kind: kind, rowCount: rowCount, column: column)
    }

    private func validateData(layout: ColumnLayout, elementKind: TypeKind, rowCount: Int, column: String) throws(ProtocolError) {
        if !layout.contains(.listChild) && child != nil { throw columnError(column, "has list elements") }
        if layout.contains(.variableData) {
            try checkOffsets(rowCount: rowCount, end: data.count, column: column)
        } else if layout.contains(.uuidData) {
            guard offsets.isEmpty else { throw columnError(column, "has offsets") }
            guard data.count == ColumnLayout.uuidSize * rowCount else {
                throw columnError(column, "data has \(data.count) bytes; \(rowCount) UUIDs need \(ColumnLayout.uuidSize * rowCount)")
            }
        } else if layout.contains(.listChild) {
            guard elementKind != .list && elementKind != .unspecified else {
                throw columnError(column, "a list's element kind must be a scalar kind")
            }
            guard data.isEmpty else { throw columnError(column, "has data bytes") }
            try checkOffsets(rowCount: rowCount, end: nil, column: column)
            if let child {
                try child.validate(kind: elementKind, elementKind: .unspecified, rowCount: Int(offsets[rowCount]), column: "\(column) elements")
            } else if offsets[rowCount] != 0 {
                // An absent child is an empty one (proto3 writers omit empty sub-messages).
                throw columnError(column, "its offsets end at element \(offsets[rowCount]) but it has no child vector")
            }
        } else {
            guard data.isEmpty else { throw columnError(column, "has data bytes") }
            guard offsets.isEmpty else { throw columnError(column, "has offsets") }
        }
    }

    /// Every row's text is UTF-8 (§5.10). ASCII, the common case, is one pass over `data`;
    /// otherwise the whole buffer is validated, and every row must start on a character.
    private func checkUTF8(rowCount: Int, column: String) throws(ProtocolError) {
        var any: UInt8 = 0
        for byte in data { any |= byte }
        guard any >= 0x80 else { return }
        let whole = (try? UTF8Span(validating: data.span)) != nil
        let split = (0..<rowCount).contains { Int(offsets[$0]) < data.count && data[Int(offsets[$0])] & 0xC0 == 0x80 }
        guard !whole || split else { return }
        let row = (0..<rowCount).first { (try? UTF8Span(validating: Array(data[Int(offsets[$0])..<Int(offsets[$0 + 1])]).span)) == nil }
        throw columnError(column, "row \(row ?? 0) is not valid UTF-8")
    }

    private func validateValues(kind: TypeKind, rowCount: Int, column: String) throws(ProtocolError) {
        switch kind {
        case .int16:
            for (row, value) in int32s.enumerated() where Int16(exactly: value) == nil {
                throw columnError(column, "row \(row) holds \(value), outside the int16 range")
            }
        case .time, .timetz:
            for (row, value) in int64s.enumerated() where !(0...Self.microsPerDay).contains(value) {
                throw columnError(column, "row \(row) holds \(value) microseconds, outside 0...\(Self.microsPerDay)")
            }
        case .string, .json:
            try checkUTF8(rowCount: rowCount, column: column)
        case .decimal:
            for row in 0..<rowCount where isValid(row) {
                guard DecimalText.isValid(data[Int(offsets[row])..<Int(offsets[row + 1])]) else {
                    throw columnError(column, "row \(row) is not canonical decimal text")
                }
            }
        default:
            break
        }
    }
}
