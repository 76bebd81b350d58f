import SluiceWire

/// Tells, when it is cheap, that a flush's rows never repeat a key, so upsert can apply the
/// staged rows as they are instead of sorting them to keep the last row of each key.
enum DistinctKeys {
    /// True when the key is one integer column without nulls and no value repeats in `batches`;
    /// false when a value repeats or the check does not apply.
    static func proven(plan: WritePlan, batches: [RecordBatch], rows: Int) -> Bool {
        guard plan.key.count == 1, let index = plan.columns.firstIndex(where: { $0.name.isExactly(plan.key[0]) }) else { return false }
        let kind = plan.columns[index].type.kind
        guard [.int16, .int32, .int64].contains(kind) else { return false }
        for batch in batches {
            let vector = batch.columns[index]
            if !vector.validity.isEmpty {
                for row in 0..<batch.rowCount where vector.validity[row >> 3] & (1 << UInt8(row & 7)) == 0 { return false }
            }
        }
        // Keys read in key order (a table read by its key) rise from row to row: distinct
        // without hashing each one.
        if rising(kind: kind, index: index, batches: batches) { return true }
        var seen = Set<Int64>(minimumCapacity: rows)
        for batch in batches {
            let vector = batch.columns[index]
            if kind == .int64 {
                for value in vector.int64s.prefix(batch.rowCount) where !seen.insert(value).inserted { return false }
            } else {
                for value in vector.int32s.prefix(batch.rowCount) where !seen.insert(Int64(value)).inserted { return false }
            }
        }
        return true
    }

    /// Whether the key values of `batches`, in order, are strictly increasing.
    private static func rising(kind: TypeKind, index: Int, batches: [RecordBatch]) -> Bool {
        var previous: Int64?
        for batch in batches {
            let vector = batch.columns[index]
            if kind == .int64 {
                for value in vector.int64s.prefix(batch.rowCount) {
                    if let previous, value <= previous { return false }
                    previous = value
                }
            } else {
                for value in vector.int32s.prefix(batch.rowCount) {
                    if let previous, Int64(value) <= previous { return false }
                    previous = Int64(value)
                }
            }
        }
        return true
    }
}
