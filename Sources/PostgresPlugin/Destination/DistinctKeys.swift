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
        var previous: Int64?
        let rising = everyKey(of: batches, index: index, kind: kind) { value in
            defer { previous = value }
            return previous.map { value > $0 } ?? true
        }
        if rising { return true }
        var seen = Set<Int64>(minimumCapacity: rows)
        return everyKey(of: batches, index: index, kind: kind) { seen.insert($0).inserted }
    }

    /// Whether `holds` is true of every key value of `batches` (column `index`, an integer
    /// `kind`), taken in order; stops at the first it is not.
    private static func everyKey(of batches: [RecordBatch], index: Int, kind: TypeKind, _ holds: (Int64) -> Bool) -> Bool {
        for batch in batches {
            let vector = batch.columns[index]
            if kind == .int64 {
                for value in vector.int64s.prefix(batch.rowCount) where !holds(value) { return false }
            } else {
                for value in vector.int32s.prefix(batch.rowCount) where !holds(Int64(value)) { return false }
            }
        }
        return true
    }
}
