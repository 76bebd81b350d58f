extension RecordBatch {
    /// Row-wise view (tests, JSON Lines): `rowCount` rows of one ``Value`` per schema column.
    ///
    /// Meant for batches that passed ``validate(against:)``; on others, a slot whose vector is
    /// missing or too short reads as ``Value/null`` rather than trapping.
    public func rows(schema: StreamSchema) -> [[Value]] {
        (0..<rowCount).map { row in
            schema.columns.indices.map { index in
                index < columns.count ? columns[index].value(at: row, type: schema.columns[index].type) : .null
            }
        }
    }
}

extension ColumnVector {
    /// The value of `row` read as `type`; ``Value/null`` for a null row, and for a slot the
    /// vectors do not hold (a vector too short for `row`, or the wrong vectors for `type`).
    public func value(at row: Int, type: LogicalType) -> Value {
        guard row >= 0, validity.isEmpty || (row >> 3 < validity.count && isValid(row)) else { return .null }
        switch type.kind {
        case .unspecified: return .null
        case .bool: return element(bools, row).map(Value.bool) ?? .null
        case .int16: return element(int32s, row).map { .int16(Int16(truncatingIfNeeded: $0)) } ?? .null
        case .int32: return element(int32s, row).map(Value.int32) ?? .null
        case .date: return element(int32s, row).map(Value.date) ?? .null
        case .int64: return element(int64s, row).map(Value.int64) ?? .null
        case .time: return element(int64s, row).map(Value.time) ?? .null
        case .timestamp: return element(int64s, row).map(Value.timestamp) ?? .null
        case .timestamptz: return element(int64s, row).map(Value.timestamptz) ?? .null
        case .float32: return element(float32s, row).map(Value.float32) ?? .null
        case .float64: return element(float64s, row).map(Value.float64) ?? .null
        case .timetz:
            guard let micros = element(int64s, row), let offset = element(int32s, row) else { return .null }
            return .timetz(micros: micros, offsetSeconds: offset)
        case .interval:
            guard let months = element(int32s, row), let days = element(intervalDays, row), let micros = element(int64s, row) else {
                return .null
            }
            return .interval(months: months, days: days, micros: micros)
        case .decimal: return slice(row).map { .decimal(String(decoding: data[$0], as: UTF8.self)) } ?? .null
        case .string: return slice(row).map { .string(String(decoding: data[$0], as: UTF8.self)) } ?? .null
        case .json: return slice(row).map { .json(String(decoding: data[$0], as: UTF8.self)) } ?? .null
        case .bytes: return slice(row).map { .bytes(Array(data[$0])) } ?? .null
        case .uuid:
            let start = row * ColumnLayout.uuidSize
            guard start + ColumnLayout.uuidSize <= data.count else { return .null }
            return .uuid(Array(data[start..<start + ColumnLayout.uuidSize]))
        case .list:
            guard let range = range(row), let child else { return .null }
            let elementType = LogicalType(type.elementKind)
            return .list(range.map { child.value(at: $0, type: elementType) })
        }
    }

    private func element<T>(_ vector: [T], _ row: Int) -> T? { row < vector.count ? vector[row] : nil }

    /// Row `row`'s range of offsets, when the offsets hold it.
    private func range(_ row: Int) -> Range<Int>? {
        guard row + 1 < offsets.count, offsets[row] <= offsets[row + 1] else { return nil }
        return Int(offsets[row])..<Int(offsets[row + 1])
    }

    /// Row `row`'s bytes of `data`, when the offsets hold them.
    private func slice(_ row: Int) -> Range<Int>? {
        guard let range = range(row), range.upperBound <= data.count else { return nil }
        return range
    }
}
