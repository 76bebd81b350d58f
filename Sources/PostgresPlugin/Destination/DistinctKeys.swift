import SluiceWire

/// Tells, when it is cheap, that a flush's rows never repeat a key, so upsert can apply the
/// staged rows as they are instead of sorting them to keep the last row of each key.
enum DistinctKeys {
    /// One key value, in an order where two values are equal exactly when PostgreSQL's
    /// equality says so: an integer (its sign flipped, so that the order is the integers'), or
    /// a uuid's 16 bytes (compared as PostgreSQL compares uuids, byte by byte).
    struct Key: Comparable, Hashable, Sendable {
        let high: UInt64
        let low: UInt64

        init(_ integer: Int64) {
            high = 0
            low = UInt64(bitPattern: integer) ^ (1 << 63)
        }

        init(uuid bytes: [UInt8], at offset: Int) {
            var high: UInt64 = 0, low: UInt64 = 0
            for index in 0 ..< 8 {
                high = high << 8 | UInt64(bytes[offset + index])
                low = low << 8 | UInt64(bytes[offset + 8 + index])
            }
            self.high = high
            self.low = low
        }

        static func < (left: Key, right: Key) -> Bool {
            (left.high, left.low) < (right.high, right.low)
        }
    }

    /// What the keys of `batches` are known to do, when the key is one integer or uuid column
    /// without nulls (else neither): `proven`, no value repeats; `rising`, the first and last key
    /// when every key is above the one before it (as a table read by its key sends them), which
    /// also proves them distinct. Keys that rise past every key written before are new to the
    /// table. The keys are read once when they rise (the usual case), twice otherwise.
    static func check(plan: WritePlan, batches: [RecordBatch], rows: Int) -> (proven: Bool, rising: ClosedRange<Key>?) {
        guard let (index, kind) = singleKey(plan, batches) else { return (false, nil) }
        if let range = rising(batches, index: index, kind: kind, fieldCount: plan.columns.count) { return (true, range) }
        var seen = Set<Key>(minimumCapacity: rows)
        return (everyKey(of: batches, index: index, kind: kind, fieldCount: plan.columns.count) { seen.insert($0).inserted }, nil)
    }

    /// The key's column index and kind when it is one integer or uuid column without nulls in
    /// `batches` (and, for uuids, 16 bytes a row).
    private static func singleKey(_ plan: WritePlan, _ batches: [RecordBatch]) -> (Int, TypeKind)? {
        guard plan.key.count == 1, let index = plan.columns.firstIndex(where: { $0.name.isExactly(plan.key[0]) }) else { return nil }
        let kind = plan.columns[index].type.kind
        guard [.int16, .int32, .int64, .uuid].contains(kind) else { return nil }
        // PostgreSQL rows: their keys are read in ``everyKey(of:index:kind:fieldCount:_:)``, where a NULL fails.
        for batch in batches where !batch.carriesPostgresRows {
            let vector = batch.columns[index]
            if kind == .uuid, vector.data.count < batch.rowCount * 16 { return nil }
            if !vector.validity.isEmpty {
                for row in 0..<batch.rowCount where vector.validity[row >> 3] & (1 << UInt8(row & 7)) == 0 { return nil }
            }
        }
        return (index, kind)
    }

    /// The first and last key when every key is above the one before it: distinct without
    /// hashing each one.
    private static func rising(_ batches: [RecordBatch], index: Int, kind: TypeKind, fieldCount: Int) -> ClosedRange<Key>? {
        var first: Key?, previous: Key?
        let rises = everyKey(of: batches, index: index, kind: kind, fieldCount: fieldCount) { value in
            defer { previous = value }
            if first == nil { first = value }
            return previous.map { value > $0 } ?? true
        }
        guard rises, let first, let previous else { return nil }
        return first...previous
    }

    /// Whether `holds` is true of every key value of `batches` (column `index`, of `kind`),
    /// taken in order; stops at the first it is not.
    private static func everyKey(of batches: [RecordBatch], index: Int, kind: TypeKind, fieldCount: Int, _ holds: (Key) -> Bool) -> Bool {
        for batch in batches {
            if batch.carriesPostgresRows {
                guard let keys = postgresRowKeys(batch, fields: fieldCount, index: index, kind: kind) else { return false }
                for key in keys where !holds(key) { return false }
                continue
            }
            let vector = batch.columns[index]
            switch kind {
            case .int64:
                for value in vector.int64s.prefix(batch.rowCount) where !holds(Key(value)) { return false }
            case .uuid:
                for row in 0 ..< batch.rowCount where !holds(Key(uuid: vector.data, at: row * 16)) { return false }
            default:
                for value in vector.int32s.prefix(batch.rowCount) where !holds(Key(Int64(value))) { return false }
            }
        }
        return true
    }

    /// The values of key column `index` in a batch of PostgreSQL rows (PROTOCOL.md §5.12) of
    /// `fields` fields each; nil when one is NULL or not of its kind's size.
    private static func postgresRowKeys(_ batch: RecordBatch, fields: Int, index: Int, kind: TypeKind) -> [Key]? {
        let rows = batch.postgresRows
        var keys: [Key] = []
        keys.reserveCapacity(batch.rowCount)
        var complete = true
        let walked = batch.eachPostgresField(index, fields: fields) { at, length in
            switch (kind, length) {
            case (.int64, 8): keys.append(Key(Int64(bitPattern: BigEndian.u64(rows, at))))
            case (.int32, 4): keys.append(Key(Int64(Int32(bitPattern: BigEndian.u32(rows, at)))))
            case (.int16, 2): keys.append(Key(Int64(Int16(bitPattern: BigEndian.u16(rows, at)))))
            case (.uuid, 16): keys.append(Key(uuid: rows, at: at))
            default: complete = false
            }
        }
        return walked && complete ? keys : nil
    }
}
