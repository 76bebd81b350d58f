import SluiceWire

/// The stream the `write-postgres-rows` check writes (PROTOCOL.md §5.12): a new stream
/// `sluice_conformance_rows_<hex>` of a `bigint` key and a `text` column, named by their
/// `source_type`, and its rows as PostgreSQL binary COPY tuples.
struct PostgresRowsStream: Sendable {
    let schema: StreamSchema

    init() {
        schema = StreamSchema(stream: StreamID(name: ConformanceStream.freshName("sluice_conformance_rows_")), columns: [
            Column(name: "id", type: LogicalType(.int64), nullable: false, sourceType: "bigint"),
            Column(name: "note", type: LogicalType(.string), sourceType: "text"),
        ], primaryKey: ["id"])
    }

    /// The stream's id.
    var id: StreamID { schema.stream }

    /// The Write's catalog: this stream, in append mode.
    var catalog: ConfiguredCatalog {
        ConfiguredCatalog(streams: [ConfiguredStream(schema: schema, writeMode: .append)])
    }

    /// The rows `(1, 'hé')`, `(2, NULL)` and `(3, '')` as tuples (§5.12 rule 2).
    var batch: RecordBatch {
        let rows: [(Int64, [UInt8]?)] = [(1, Array("hé".utf8)), (2, nil), (3, [])]
        var bytes: [UInt8] = []
        for (id, note) in rows {
            bytes += Self.bigEndian(UInt16(2)) + Self.bigEndian(UInt32(8)) + Self.bigEndian(UInt64(bitPattern: id))
            if let note {
                bytes += Self.bigEndian(UInt32(note.count)) + note
            } else {
                bytes += Self.bigEndian(UInt32.max)
            }
        }
        return RecordBatch(stream: id, rowCount: rows.count, columns: [], postgresRows: bytes)
    }

    /// One tuple with a field count of 1, where the schema has 2 columns (§5.12 rule 3).
    var brokenBatch: RecordBatch {
        let bytes = Self.bigEndian(UInt16(1)) + Self.bigEndian(UInt32(8)) + Self.bigEndian(UInt64(4))
        return RecordBatch(stream: id, rowCount: 1, columns: [], postgresRows: bytes)
    }

    /// `value`'s bytes, most significant first.
    private static func bigEndian<T: FixedWidthInteger & UnsignedInteger>(_ value: T) -> [UInt8] {
        (0 ..< T.bitWidth / 8).reversed().map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) }
    }
}
