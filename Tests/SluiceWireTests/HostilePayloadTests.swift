import SluiceTestSupport
import Testing
import SluiceWire

@Suite("Hostile payloads")
struct HostilePayloadTests {
    /// Decodes `payload` both ways; returns the error codes (nil for a payload that decoded).
    @discardableResult
    private func decodeBoth(_ payload: [UInt8]) -> (host: ProtocolError.Code?, plugin: ProtocolError.Code?) {
        var codes: (ProtocolError.Code?, ProtocolError.Code?) = (nil, nil)
        do {
            if case .records(let batch) = try WireCodec.decodeHostMessage(payload) { _ = batch.rows(schema: Fixtures.everyTypeSchema) }
        } catch { codes.0 = error.code }
        do {
            if case .records(let batch) = try WireCodec.decodePluginMessage(payload) { _ = batch.rows(schema: Fixtures.mixedSchema) }
        } catch { codes.1 = error.code }
        return codes
    }

    private func hostError(_ payload: [UInt8]) -> ProtocolError? {
        #expect(throws: ProtocolError.self) { try WireCodec.decodeHostMessage(payload) }
    }

    private func batchError(_ batch: RecordBatch) -> ProtocolError? {
        hostError(WireCodec.encode(HostMessage.records(batch)))
    }

    @Test func randomBytes() {
        var random = SplitMix64(state: 1)
        for _ in 0..<20_000 {
            let count = Int.random(in: 0...64, using: &random)
            decodeBoth((0..<count).map { _ in UInt8.random(in: 0...255, using: &random) })
        }
    }

    @Test func mutatedValidPayloads() throws {
        let batch = try RecordBatch(schema: Fixtures.everyTypeSchema, rows: Array(Fixtures.everyTypeRows.prefix(3)))
        let originals = [WireCodec.encode(HostMessage.records(batch)), WireCodec.encode(PluginMessage.records(batch)),
                         WireCodec.encode(HostMessage.read(ReadRequest(configJSON: "{}", catalog: MessageRoundTripTests.configured)))]
        var random = SplitMix64(state: 2)
        for original in originals {
            for _ in 0..<3_000 {
                var payload = original
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    let index = Int.random(in: 0..<payload.count, using: &random)
                    payload[index] = UInt8.random(in: 0...255, using: &random)
                }
                decodeBoth(payload)
                if case .records(let decoded)? = try? WireCodec.decodeHostMessage(payload),
                   (try? Fixtures.validate(decoded, against: Fixtures.everyTypeSchema)) != nil {
                    _ = decoded.rows(schema: Fixtures.everyTypeSchema)
                }
            }
        }
    }

    @Test func everyTruncation() throws {
        let batch = try RecordBatch(schema: Fixtures.everyTypeSchema, rows: Array(Fixtures.everyTypeRows.prefix(2)))
        let payload = WireCodec.encode(HostMessage.records(batch))
        for length in 0..<payload.count { decodeBoth(Array(payload.prefix(length))) }
    }

    @Test func notProtobufIsUndecodable() {
        #expect(hostError([0xFF, 0xFF, 0xFF])?.code == .undecodableMessage)
        // Group wire types are not supported.
        #expect(hostError([0x0B, 0x0C])?.code == .undecodableMessage)
        // A length past the end.
        #expect(hostError(Array(Wire.field(8, [0x08, 0x01]).dropLast()))?.code == .undecodableMessage)
    }

    @Test func missingOrUnknownOneofIsInvalid() {
        #expect(hostError([])?.code == .invalidMessage)
        #expect(hostError(Wire.field(99, varint: 1))?.code == .invalidMessage)
        #expect(hostError(Wire.field(200, [1, 2, 3]))?.code == .invalidMessage)
        #expect((#expect(throws: ProtocolError.self) { try WireCodec.decodePluginMessage([]) })?.code == .invalidMessage)
    }

    @Test func unknownTypeKindIsInvalid() {
        // HostMessage.schema (7) { columns (2) { type (2) { kind (1) = 77 } } }
        let payload = Wire.field(7, Wire.field(2, Wire.field(2, Wire.field(1, varint: 77))))
        #expect(hostError(payload)?.code == .invalidMessage)
    }

    @Test func shortVector() {
        let batch = RecordBatch(stream: Fixtures.stream, rowCount: 3, columns: [ColumnVector(int64s: [1, 2])])
        let error = batchError(batch)
        #expect(error?.code == .invalidMessage)
        #expect(error?.message.contains("int64s") == true)
    }

    @Test func offsetsPastData() {
        let batch = RecordBatch(stream: Fixtures.stream, rowCount: 2, columns: [ColumnVector(data: [1, 2, 3], offsets: [0, 2, 9])])
        #expect(batchError(batch)?.code == .invalidMessage)
    }

    @Test func malformedOffsetsAndBitmaps() {
        let bad: [ColumnVector] = [
            ColumnVector(data: [1, 2], offsets: [0, 2]),                   // one offset short
            ColumnVector(data: [1, 2], offsets: [1, 1, 2]),                // not starting at 0
            ColumnVector(data: [1, 2], offsets: [0, 2, 1]),                // decreasing
            ColumnVector(data: [1, 2, 3], offsets: [0, 1, 2]),             // not ending at len(data)
            ColumnVector(validity: [0b11, 0], int64s: [1, 2]),             // validity too long
            ColumnVector(validity: [0b111], int64s: [1, 2]),               // a bit past the rows
            ColumnVector(data: [UInt8](repeating: 0, count: 31)),          // UUID data not 16 per row
            ColumnVector(child: ColumnVector(int64s: [1])),                // child without offsets
            ColumnVector(offsets: [0, 1, 3], child: ColumnVector(int64s: [1, 2])), // child shorter than the offsets say
        ]
        for vector in bad {
            #expect(batchError(RecordBatch(stream: Fixtures.stream, rowCount: 2, columns: [vector]))?.code == .invalidMessage, "\(vector)")
        }
    }

    @Test func badOperations() {
        let column = ColumnVector(int64s: [1, 2])
        #expect(batchError(RecordBatch(stream: Fixtures.stream, rowCount: 2, columns: [column], operations: [0]))?.code == .invalidMessage)
        #expect(batchError(RecordBatch(stream: Fixtures.stream, rowCount: 2, columns: [column], operations: [0, 2]))?.code == .invalidMessage)
    }

    @Test func hugeRowCountWithoutVectorsIsHarmless() throws {
        let batch = RecordBatch(stream: Fixtures.stream, rowCount: Int(UInt32.max), columns: [ColumnVector()])
        guard case .records(let decoded) = try WireCodec.decodeHostMessage(WireCodec.encode(HostMessage.records(batch))) else {
            Issue.record("not a batch")
            return
        }
        let schema = StreamSchema(stream: Fixtures.stream, columns: [Column(name: "v", type: LogicalType(.int64))])
        #expect(throws: ProtocolError.self) { try Fixtures.validate(decoded, against: schema) }
        #expect(decoded.columns[0].value(at: 1_000_000, type: LogicalType(.int64)) == .null)
    }

    @Test func nestedListChildrenAreRefused() {
        // RecordBatch { row_count 1, columns { offsets [0,1], child { offsets [0,1], child { int64s [1] } } } }
        let inner = Wire.field(8, [0, 0, 0, 0, 1, 0, 0, 0]) + Wire.field(10, Wire.field(4, [1, 0, 0, 0, 0, 0, 0, 0]))
        let column = Wire.field(8, [0, 0, 0, 0, 1, 0, 0, 0]) + Wire.field(10, inner)
        let batch = Wire.field(2, varint: 1) + Wire.field(3, column)
        #expect(hostError(Wire.field(8, batch))?.code == .invalidMessage)
    }

    @Test func deeplyNestedChildrenDoNotOverflowTheStack() {
        // 200,000 nested `child` fields, built outside in: each header holds the length of all the inner ones.
        var headers: [[UInt8]] = []
        var length: UInt64 = 0
        for _ in 0..<200_000 {
            let header = Wire.varint(10 << 3 | 2) + Wire.varint(length)
            headers.append(header)
            length += UInt64(header.count)
        }
        let vector = Array(headers.reversed().joined())
        let payload = Wire.field(8, Wire.field(3, vector))
        #expect(hostError(payload)?.code == .invalidMessage)
        #expect((#expect(throws: ProtocolError.self) { try WireCodec.decodePluginMessage(Wire.field(6, Wire.field(3, vector))) })?.code == .invalidMessage)
    }

    @Test func allocationBombIsRefused() {
        // Two million empty columns: 4 MB on the wire, ~400 MB once unpacked.
        let columns = [UInt8](repeating: 0, count: 4_000_000).enumerated().map { $0.offset % 2 == 0 ? UInt8(0x1A) : 0 }
        let payload = Wire.field(8, columns)
        #expect(hostError(payload)?.code == .undecodableMessage)
    }

    @Test func duplicateOneofFieldsKeepTheLast() throws {
        let first = WireCodec.encode(HostMessage.state(State(id: 1, stream: nil, data: [1])))
        let second = WireCodec.encode(HostMessage.records(RecordBatch(stream: Fixtures.stream, rowCount: 1, columns: [ColumnVector(int64s: [5])])))
        let decoded = try WireCodec.decodeHostMessage(first + second)
        #expect(decoded.name == "RecordBatch")
    }
}
