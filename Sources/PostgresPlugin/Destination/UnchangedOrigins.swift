import SluiceWire

/// Where each unchanged value (PROTOCOL.md §5.9) of a CDC flush comes from: an earlier row of
/// the same key in the flush that set the column (an insert, then an update leaving the column
/// unchanged: the inserted value stays), or else the destination table's current value.
struct UnchangedOrigins {
    /// The origin of one unchanged value.
    enum Origin: Equatable {
        /// Row `row` of the flush's batch `batch` holds the value.
        case row(batch: Int, row: Int)
        /// The table keeps its value (the key must exist there).
        case destination
    }

    /// Batch index → row → column index → origin, for every value marked unchanged.
    private(set) var cells: [Int: [Int: [Int: Origin]]] = [:]

    /// The origins in `batches` (rows of `plan`'s stream from stream position `firstRow`), or
    /// nil when no value is unchanged. Fails (DATA) when the last row of a key leaves a value
    /// unchanged that nothing can give: the key was deleted earlier in the flush.
    static func resolve(plan: WritePlan, batches: [RecordBatch], firstRow: Int) throws -> UnchangedOrigins? {
        var tracked = Set<Int>()
        for batch in batches {
            for (index, column) in batch.columns.enumerated() where column.unchanged.contains(where: { $0 != 0 }) { tracked.insert(index) }
        }
        guard !tracked.isEmpty else { return nil }
        let keyIndexes = plan.key.compactMap { name in plan.columns.firstIndex { $0.name.isExactly(name) } }
        struct KeyState {
            var deleted = false
            var changed: [Int: Origin] = [:]
            var last: (batch: Int, row: Int, position: Int)
        }
        var keys: [[Value]: KeyState] = [:]
        var origins = UnchangedOrigins()
        var position = firstRow
        for (batchIndex, batch) in batches.enumerated() {
            for row in 0..<batch.rowCount {
                defer { position += 1 }
                let key = keyIndexes.map { batch.columns[$0].value(at: row, type: plan.columns[$0].type) }
                var state = keys[key] ?? KeyState(last: (batchIndex, row, position))
                state.last = (batchIndex, row, position)
                if !batch.operations.isEmpty, batch.operations[row] == RowOperation.delete.rawValue {
                    state.deleted = true
                    state.changed = [:]
                } else {
                    for column in tracked {
                        if batch.columns[column].isUnchanged(row) {
                            origins.cells[batchIndex, default: [:]][row, default: [:]][column] = state.changed[column] ?? .destination
                        } else {
                            state.changed[column] = .row(batch: batchIndex, row: row)
                        }
                    }
                }
                keys[key] = state
            }
        }
        for state in keys.values where state.deleted {
            guard let kept = origins.cells[state.last.batch]?[state.last.row]?.filter({ $0.value == .destination }).keys.min() else { continue }
            throw PluginError(category: .data, code: "UNCHANGED_WITHOUT_VALUE",
                              message: "stream \(plan.stream), column \"\(plan.schema.columns[kept].name)\", row \(state.last.position + 1): the value is marked unchanged, but the row was deleted earlier in the same batch, so there is no value to keep",
                              stream: plan.stream)
        }
        return origins
    }

    /// Whether some row keeps the table's value (so the flush runs the keeping update).
    var keepsDestinationValues: Bool {
        cells.values.contains { rows in rows.values.contains { $0.values.contains(.destination) } }
    }
}
