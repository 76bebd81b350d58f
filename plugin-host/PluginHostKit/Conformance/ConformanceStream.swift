import SluiceWire

/// The stream the destination checks write: `sluice_conformance_<random hex>` (no namespace:
/// the destination's default) with columns of several logical types, in batches of rows
/// with nulls in every column but the key.
struct ConformanceStream: Sendable {
    /// Batches the `write` check sends.
    static let batchCount = 3
    /// Rows per batch.
    static let rowsPerBatch = 4

    let schema: StreamSchema

    /// `prefix` and 8 random hex digits: a table name no earlier check used.
    static func freshName(_ prefix: String) -> String {
        let hex = String(UInt64.random(in: 0...UInt64(UInt32.max)), radix: 16)
        return prefix + String(repeating: "0", count: 8 - hex.count) + hex
    }

    init() {
        schema = StreamSchema(stream: StreamID(name: Self.freshName("sluice_conformance_")), columns: [
            Column(name: "id", type: LogicalType(.int64), nullable: false),
            Column(name: "label", type: LogicalType(.string)),
            Column(name: "score", type: LogicalType(.float64)),
            Column(name: "active", type: LogicalType(.bool)),
            Column(name: "seen_at", type: LogicalType(.timestamptz)),
            Column(name: "amount", type: LogicalType(.decimal, precision: 12, scale: 2)),
            Column(name: "tags", type: .list(of: .string)),
        ], primaryKey: ["id"])
    }

    /// The stream's id.
    var id: StreamID { schema.stream }

    /// The Write's catalog: this stream, in append mode.
    var catalog: ConfiguredCatalog {
        ConfiguredCatalog(streams: [ConfiguredStream(schema: schema, writeMode: .append)])
    }

    /// Batch `index` (from 0): ids `index * rowsPerBatch + 1` onwards, each column but `id`
    /// null in some rows.
    func batch(_ index: Int) throws -> RecordBatch {
        let first = Int64(index * Self.rowsPerBatch + 1)
        return try RecordBatch(schema: schema, rows: (first..<first + Int64(Self.rowsPerBatch)).map(Self.row))
    }

    /// The row with key `id`, in the schema's column order.
    private static func row(_ id: Int64) -> [Value] {
        let label: Value = id % 4 == 1 ? .null : .string("row \(id) ✓")
        let score: Value = id % 4 == 2 ? .null : .float64(Double(id) * 1.5)
        let active: Value = id % 4 == 3 ? .null : .bool(id % 2 == 0)
        let seenAt: Value = id % 4 == 0 ? .null : .timestamptz(1_700_000_000_000_000 + id * 1_000_000)
        let amount: Value = id % 3 == 0 ? .null : .decimal(id % 2 == 0 ? "-\(id).25" : "\(id).50")
        let tags: Value = id % 5 == 0 ? .null : .list([.string("tag \(id)"), .null, .string("")])
        return [.int64(id), label, score, active, seenAt, amount, tags]
    }

    /// The State sent after batch `index`; its id is `101 + index`.
    func state(_ index: Int) -> State {
        State(id: UInt64(101 + index), stream: id, data: Array("conformance batch \(index)".utf8))
    }

    /// A CDC Write's catalog: this stream, upsert (PROTOCOL.md §8.2).
    var changeCatalog: ConfiguredCatalog {
        ConfiguredCatalog(streams: [ConfiguredStream(schema: schema, syncMode: .cdc, writeMode: .upsert)])
    }

    /// CDC changes to batch 0's rows: row 1 updated with `label` unchanged, row 2 deleted;
    /// then a TRUNCATE row, then row 9 inserted.
    func changeBatches() throws -> [RecordBatch] {
        var updates = try RecordBatch(schema: schema, rows: [Self.row(1), Self.row(2)].map { row in
            [row[0], .null] + row.dropFirst(2)
        })
        updates.columns[1].unchanged = [0b01]
        updates.operations = [RowOperation.upsert.rawValue, RowOperation.delete.rawValue]
        var truncate = try RecordBatch(schema: schema, rows: [schema.columns.map { _ in .null }, Self.row(9)])
        truncate.operations = [RowOperation.truncate.rawValue, RowOperation.upsert.rawValue]
        return [updates, truncate]
    }

    /// A batch of this stream whose columns do not match its schema: every column is text.
    func mismatchedBatch() throws -> RecordBatch {
        let text = StreamSchema(stream: id, columns: schema.columns.map { Column(name: $0.name, type: LogicalType(.string)) })
        return try RecordBatch(schema: text, rows: [schema.columns.map { .string("not \($0.name)") }])
    }
}
