import Testing
import SluiceWire

@Suite("Type round trips")
struct TypeRoundTripTests {
    private func roundTrip(_ batch: RecordBatch) throws -> (host: RecordBatch, plugin: RecordBatch) {
        guard case .records(let host) = try WireCodec.decodeHostMessage(WireCodec.encode(HostMessage.records(batch))),
              case .records(let plugin) = try WireCodec.decodePluginMessage(WireCodec.encode(PluginMessage.records(batch)))
        else { throw ProtocolError(.unexpectedMessage, "not a RecordBatch") }
        return (host, plugin)
    }

    @Test func everyKindWithNullsAndExtremes() throws {
        let schema = Fixtures.everyTypeSchema
        let rows = Fixtures.everyTypeRows
        let batch = try RecordBatch(schema: schema, rows: rows)
        try Fixtures.validate(batch, against: schema)
        #expect(identical(batch.rows(schema: schema), rows))
        let (host, plugin) = try roundTrip(batch)
        #expect(identical(host, batch))
        #expect(identical(plugin, batch))
        try Fixtures.validate(host, against: schema)
        #expect(identical(host.rows(schema: schema), rows))
    }

    @Test(arguments: Fixtures.scalarKinds)
    func eachKindAlone(kind: TypeKind) throws {
        let schema = StreamSchema(stream: Fixtures.stream, columns: [Column(name: "v", type: LogicalType(kind)),
                                                                     Column(name: "l", type: .list(of: kind))])
        let values = Fixtures.samples(kind)
        let lists = Fixtures.listSamples(kind)
        let rows = (0..<max(values.count, lists.count)).map { [values[$0 % values.count], lists[$0 % lists.count]] }
        let batch = try RecordBatch(schema: schema, rows: rows)
        try Fixtures.validate(batch, against: schema)
        let (host, _) = try roundTrip(batch)
        #expect(identical(host, batch))
        #expect(identical(host.rows(schema: schema), rows))
    }

    @Test func floatBitPatternsSurvive() throws {
        let schema = StreamSchema(stream: Fixtures.stream, columns: [Column(name: "f", type: LogicalType(.float64)),
                                                                     Column(name: "g", type: LogicalType(.float32))])
        let quietNaN = Double.nan
        let signalingNaN = Double(bitPattern: 0x7FF4_0000_0000_0001)
        let batch = try RecordBatch(schema: schema, rows: [
            [.float64(quietNaN), .float32(.nan)], [.float64(signalingNaN), .float32(-.infinity)],
            [.float64(-0.0), .float32(-0.0)], [.float64(.infinity), .float32(.infinity)],
        ])
        let (host, _) = try roundTrip(batch)
        #expect(host.columns[0].float64s.map(\.bitPattern) == [quietNaN, signalingNaN, -0.0, .infinity].map(\.bitPattern))
        #expect(host.columns[1].float32s.map(\.bitPattern) == [Float.nan, -.infinity, -0.0, .infinity].map(\.bitPattern))
    }

    @Test func emptyBatchOfEveryKind() throws {
        let schema = Fixtures.everyTypeSchema
        let batch = try RecordBatch(schema: schema, rows: [])
        #expect(batch.rowCount == 0)
        try Fixtures.validate(batch, against: schema)
        let (host, plugin) = try roundTrip(batch)
        #expect(host == batch)
        #expect(plugin == batch)
        try Fixtures.validate(host, against: schema)
        #expect(host.rows(schema: schema).isEmpty)
    }

    @Test func allNullColumns() throws {
        let schema = Fixtures.everyTypeSchema
        let rows = Array(repeating: Array(repeating: Value.null, count: schema.columns.count), count: 17)
        let batch = try RecordBatch(schema: schema, rows: rows)
        try Fixtures.validate(batch, against: schema)
        #expect(batch.columns.allSatisfy { $0.validity == [0, 0, 0] })
        let (host, _) = try roundTrip(batch)
        #expect(host == batch)
        #expect(host.rows(schema: schema) == rows)
    }

    @Test func emptyStringsAreNotNulls() throws {
        let schema = StreamSchema(stream: Fixtures.stream, columns: [Column(name: "s", type: LogicalType(.string)),
                                                                     Column(name: "b", type: LogicalType(.bytes))])
        let rows: [[Value]] = [[.string(""), .bytes([])], [.null, .null], [.string("\u{0}"), .bytes([0])]]
        let batch = try RecordBatch(schema: schema, rows: rows)
        #expect(batch.columns[0].validity == [0b101])
        #expect(batch.columns[0].offsets == [0, 0, 0, 1])
        let (host, _) = try roundTrip(batch)
        #expect(host.rows(schema: schema) == rows)
    }

    @Test func rowOperationsRoundTrip() throws {
        let schema = StreamSchema(stream: Fixtures.stream, columns: [Column(name: "id", type: LogicalType(.int64))])
        var batch = try RecordBatch(schema: schema, rows: (0..<9).map { [.int64(Int64($0))] })
        batch.operations = (0..<9).map { UInt8($0 % 2) }
        try Fixtures.validate(batch, against: schema)
        let (host, _) = try roundTrip(batch)
        #expect(host == batch)
    }

    @Test func largeBatchRoundTrips() throws {
        let schema = Fixtures.mixedSchema
        var builders = schema.columns.map { ColumnBuilder(type: $0.type, capacity: 10_000) }
        for row in 0..<10_000 {
            builders[0].append(int64: Int64(row))
            builders[1].append(string: "name \(row)")
            builders[2].append(string: "\(row).\(row % 100)")
            builders[3].append(float64: Double(row) / 3)
            if row % 7 == 0 { builders[4].appendNull() } else { builders[4].append(bool: row % 2 == 0) }
            builders[5].append(int64: 1_700_000_000_000_000 + Int64(row))
            builders[6].append(string: "{\"n\":\(row)}")
            builders[7].appendList { tags in
                for tag in 0..<(row % 3) { tags.append(string: "t\(tag)") }
            }
        }
        let batch = RecordBatch(stream: schema.stream, rowCount: 10_000, columns: builders.map { $0.finish() })
        try Fixtures.validate(batch, against: schema)
        let (host, plugin) = try roundTrip(batch)
        #expect(host == batch)
        #expect(plugin == batch)
        let expected: [Value] = [.int64(9_998), .string("name 9998"), .decimal("9998.98"), .float64(9_998.0 / 3),
                                 .bool(true), .timestamptz(1_700_000_000_000_000 + 9_998), .json("{\"n\":9998}"),
                                 .list([.string("t0"), .string("t1")])]
        #expect(host.rows(schema: schema)[9_998] == expected)
    }
}
