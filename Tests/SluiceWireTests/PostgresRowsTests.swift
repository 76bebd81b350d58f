import SluiceWire
import Testing

/// Batches carrying PostgreSQL rows (PROTOCOL.md §5.12): their layout is checked, their values
/// are not (the receiving server checks them as its own types).
@Suite struct PostgresRowsTests {
    static let schema = StreamSchema(stream: StreamID(namespace: "s", name: "t"), columns: [
        Column(name: "id", type: LogicalType(.int64), nullable: false, sourceType: "bigint"),
        Column(name: "note", type: LogicalType(.string), sourceType: "text"),
    ])

    /// One tuple: `id` as 8 bytes, `note` as its bytes or NULL.
    static func tuple(_ id: UInt8, _ note: [UInt8]?) -> [UInt8] {
        var bytes: [UInt8] = [0, 2, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, id]
        if let note {
            bytes += [0, 0, 0, UInt8(note.count)] + note
        } else {
            bytes += [255, 255, 255, 255]
        }
        return bytes
    }

    func validate(_ rows: [UInt8], count: Int, columns: [ColumnVector] = []) throws(ProtocolError) {
        var batch = RecordBatch(stream: Self.schema.stream, rowCount: count, columns: columns, postgresRows: rows)
        try batch.validate(against: Self.schema)
    }

    @Test func wellFormedTuplesPass() throws {
        try validate(Self.tuple(1, Array("é".utf8)) + Self.tuple(2, nil) + Self.tuple(3, []), count: 3)
        var ranges: [Range<Int>] = []
        let rows = Self.tuple(1, [65]) + Self.tuple(2, nil)
        #expect(try PostgresRows.walk(rows, fields: 2) { ranges.append($0) } == 2)
        #expect(ranges == [2 ..< 19, 21 ..< 37])
    }

    @Test func aBrokenLayoutIsRefusedNamingTheRow() {
        let good = Self.tuple(1, [65])
        let cases: [([UInt8], Int, String)] = [
            (good + [0, 3] + Array(Self.tuple(2, nil).dropFirst(2)), 2, "PostgreSQL row 1 has 3 fields; the schema has 2 columns"),
            (good + [0], 2, "PostgreSQL row 1 is cut short in its field count"),
            (good + [0, 2, 0, 0], 2, "PostgreSQL row 1 is cut short in a field's length"),
            (Array(good.dropLast()), 1, "PostgreSQL row 0 has a field length 1 past the rows' bytes"),
            (good + [0, 2, 0, 0, 0, 8] + [0, 0, 0, 0, 0, 0, 0, 2] + [255, 255, 255, 254], 2, "PostgreSQL row 1 has a field length -2 past the rows' bytes"),
            (good + Self.tuple(2, nil), 3, "holds 2 PostgreSQL rows; its row count says 3"),
        ]
        for (rows, count, message) in cases {
            #expect(throws: ProtocolError.self, "\(message)") { try validate(rows, count: count) }
            do throws(ProtocolError) {
                try validate(rows, count: count)
            } catch {
                #expect("\(error)".contains(message), "\(error)")
            }
        }
    }

    @Test func rowsWithColumnVectorsAreRefused() throws {
        var ids = ColumnBuilder(type: LogicalType(.int64), capacity: 1)
        ids.append(int64: 1)
        #expect(throws: ProtocolError.self) { try validate(Self.tuple(1, nil), count: 1, columns: [ids.finish()]) }
    }
}
