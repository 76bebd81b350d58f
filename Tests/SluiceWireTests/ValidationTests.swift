import Testing
import SluiceWire

@Suite("Validation against a schema")
struct ValidationTests {
    private func schema(_ type: LogicalType) -> StreamSchema {
        StreamSchema(stream: Fixtures.stream, columns: [Column(name: "v", type: type)])
    }

    private func validationError(_ vector: ColumnVector, rows: Int, type: LogicalType) -> ProtocolError? {
        let batch = RecordBatch(stream: Fixtures.stream, rowCount: rows, columns: [vector])
        return #expect(throws: ProtocolError.self) { try Fixtures.validate(batch, against: schema(type)) }
    }

    @Test func columnCountMustMatch() {
        let batch = RecordBatch(stream: Fixtures.stream, rowCount: 1, columns: [ColumnVector(int64s: [1]), ColumnVector(int64s: [2])])
        let error = #expect(throws: ProtocolError.self) { try Fixtures.validate(batch, against: schema(LogicalType(.int64))) }
        #expect(error?.code == .invalidMessage)
    }

    @Test func wrongVectorForTheKind() {
        let error = validationError(ColumnVector(float64s: [1, 2]), rows: 2, type: LogicalType(.int64))
        #expect(error?.code == .invalidMessage)
        #expect(error?.message.contains("column \"v\" (int64)") == true)
        _ = validationError(ColumnVector(int64s: [1, 2], data: [1], offsets: [0, 1, 1]), rows: 2, type: LogicalType(.int64))
        _ = validationError(ColumnVector(int32s: [1]), rows: 1, type: LogicalType(.timetz))
        _ = validationError(ColumnVector(int32s: [1], int64s: [1]), rows: 1, type: LogicalType(.interval))
        _ = validationError(ColumnVector(), rows: 1, type: LogicalType(.string))
        _ = validationError(ColumnVector(data: [1, 2], offsets: [0, 2]), rows: 1, type: LogicalType(.uuid))
        _ = validationError(ColumnVector(int64s: [1]), rows: 1, type: LogicalType(.unspecified))
    }

    @Test func typeSpecificValues() {
        #expect(validationError(ColumnVector(int32s: [40_000]), rows: 1, type: LogicalType(.int16))?.message.contains("int16") == true)
        _ = validationError(ColumnVector(int64s: [86_400_000_001]), rows: 1, type: LogicalType(.time))
        _ = validationError(ColumnVector(int32s: [0], int64s: [-1]), rows: 1, type: LogicalType(.timetz))
        for text in ["1e5", "", "-", "1.", ".5", "+1", "nan", " 1", "1,5", "--1", "-NaN", "Inf", "-Infinity ", "1.2.3", "-.5"] {
            let bytes = Array(text.utf8)
            _ = validationError(ColumnVector(data: bytes, offsets: [0, UInt32(bytes.count)]), rows: 1, type: LogicalType(.decimal))
        }
        for text in ["NaN", "Infinity", "-Infinity", "0", "-0", "-12.50", "007", "123456789012345678901234567890.1"] {
            let bytes = Array(text.utf8)
            let batch = RecordBatch(stream: Fixtures.stream, rowCount: 1, columns: [ColumnVector(data: bytes, offsets: [0, UInt32(bytes.count)])])
            #expect(throws: Never.self, "\(text)") { try Fixtures.validate(batch, against: schema(LogicalType(.decimal))) }
        }
    }

    @Test("string and json text must be UTF-8, row by row (§5.10)")
    func textIsUTF8() throws {
        for kind in [TypeKind.string, .json] {
            let bad = validationError(ColumnVector(data: [0x61, 0x62, 0xC3], offsets: [0, 2, 3]), rows: 2, type: LogicalType(kind))
            #expect(bad?.message.contains("row 1 is not valid UTF-8") == true, "\(String(describing: bad))")
            // Valid as a whole, but "é" is cut between rows 0 and 1.
            let split = validationError(ColumnVector(data: [0xC3, 0xA9], offsets: [0, 1, 2]), rows: 2, type: LogicalType(kind))
            #expect(split?.message.contains("row 0 is not valid UTF-8") == true, "\(String(describing: split))")
            let text = Array("héllo, 世界 🙂".utf8)
            try Fixtures.validate(RecordBatch(stream: Fixtures.stream, rowCount: 2, columns: [ColumnVector(data: text, offsets: [0, 3, UInt32(text.count)])]),
                                  against: schema(LogicalType(kind)))
        }
        let list = validationError(ColumnVector(offsets: [0, 1], child: ColumnVector(data: [0xFF], offsets: [0, 1])), rows: 1, type: .list(of: .string))
        #expect(list?.message.contains("elements: row 0 is not valid UTF-8") == true, "\(String(describing: list))")
        // Bytes are not text.
        try Fixtures.validate(RecordBatch(stream: Fixtures.stream, rowCount: 1, columns: [ColumnVector(data: [0xFF], offsets: [0, 1])]),
                              against: schema(LogicalType(.bytes)))
    }

    @Test func nullDecimalSlotsNeedNoText() throws {
        let batch = RecordBatch(stream: Fixtures.stream, rowCount: 2,
                                columns: [ColumnVector(validity: [0b10], data: Array("1.5".utf8), offsets: [0, 0, 3])])
        try Fixtures.validate(batch, against: schema(LogicalType(.decimal)))
        #expect(batch.rows(schema: schema(LogicalType(.decimal))) == [[.null], [.decimal("1.5")]])
    }

    @Test func listsNeedConsistentChildren() {
        let type = LogicalType.list(of: .int64)
        _ = validationError(ColumnVector(offsets: [0, 1]), rows: 1, type: type)
        _ = validationError(ColumnVector(offsets: [0, 2], child: ColumnVector(int64s: [1])), rows: 1, type: type)
        _ = validationError(ColumnVector(offsets: [0, 1], child: ColumnVector(float64s: [1])), rows: 1, type: type)
        _ = validationError(ColumnVector(offsets: [0, 1], child: ColumnVector(int64s: [1])), rows: 1, type: .list(of: .list))
        _ = validationError(ColumnVector(offsets: [0, 1], child: ColumnVector(int64s: [1])), rows: 1, type: .list(of: .unspecified))
        _ = validationError(ColumnVector(int64s: [1], child: ColumnVector(int64s: [1])), rows: 1, type: LogicalType(.int64))
    }

    @Test func structurallyBrokenBatchesFailValidationToo() {
        _ = validationError(ColumnVector(int64s: [1]), rows: 2, type: LogicalType(.int64))
        _ = validationError(ColumnVector(validity: [1, 0], int64s: [1]), rows: 1, type: LogicalType(.int64))
        _ = validationError(ColumnVector(data: [1], offsets: [0, 2]), rows: 1, type: LogicalType(.bytes))
    }
}

@Suite("Column building")
struct ColumnBuilderTests {
    @Test func validityAcrossByteBoundaries() {
        var builder = ColumnBuilder(type: LogicalType(.int64))
        for row in 0..<9 { builder.append(int64: Int64(row)) }
        builder.appendNull()
        builder.append(int64: 10)
        #expect(builder.count == 11)
        let vector = builder.finish()
        #expect(vector.validity == [0xFF, 0b101])
        #expect(vector.int64s == [0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 10])
        #expect(!vector.isValid(9) && vector.isValid(10) && vector.isValid(8))
    }

    @Test func noNullsMeansEmptyValidity() {
        var builder = ColumnBuilder(type: LogicalType(.string), capacity: 4)
        builder.append(string: "a")
        builder.append(bytes: [0xF0, 0x9F, 0x98, 0x80])
        let vector = builder.finish()
        #expect(vector.validity.isEmpty)
        #expect(vector.offsets == [0, 1, 5])
        #expect(vector.value(at: 1, type: LogicalType(.string)) == .string("😀"))
    }

    @Test func typedAppendsOfEveryLayout() throws {
        var timetz = ColumnBuilder(type: LogicalType(.timetz))
        timetz.append(timetz: 5, offsetSeconds: -3600)
        timetz.appendNull()
        #expect(timetz.finish() == ColumnVector(validity: [1], int32s: [-3600, 0], int64s: [5, 0]))

        var interval = ColumnBuilder(type: LogicalType(.interval))
        interval.append(interval: 1, days: 2, micros: 3)
        #expect(interval.finish() == ColumnVector(int32s: [1], int64s: [3], intervalDays: [2]))

        var uuid = ColumnBuilder(type: LogicalType(.uuid))
        uuid.appendNull()
        uuid.append(uuid: [UInt8](1...16))
        #expect(uuid.finish() == ColumnVector(validity: [0b10], data: [UInt8](repeating: 0, count: 16) + [UInt8](1...16)))

        var flags = ColumnBuilder(type: LogicalType(.bool))
        flags.append(bool: true)
        var small = ColumnBuilder(type: LogicalType(.int16))
        small.append(int16: -2)
        var real = ColumnBuilder(type: LogicalType(.float32))
        real.append(float32: 1.5)
        let schema = StreamSchema(stream: Fixtures.stream, columns: [Column(name: "b", type: LogicalType(.bool)),
                                                                     Column(name: "s", type: LogicalType(.int16)),
                                                                     Column(name: "r", type: LogicalType(.float32))])
        let batch = RecordBatch(stream: Fixtures.stream, rowCount: 1, columns: [flags.finish(), small.finish(), real.finish()])
        try Fixtures.validate(batch, against: schema)
        #expect(batch.rows(schema: schema) == [[.bool(true), .int16(-2), .float32(1.5)]])
    }

    @Test func listsWithNullsAndEmptyRows() throws {
        var builder = ColumnBuilder(type: .list(of: .string))
        builder.appendList { $0.append(string: "x"); $0.appendNull() }
        builder.appendNull()
        builder.appendList { _ in }
        try builder.append(.list([.string("y")]))
        let vector = builder.finish()
        #expect(vector.offsets == [0, 2, 2, 2, 3])
        #expect(vector.validity == [0b1101])
        #expect(vector.child == ColumnVector(validity: [0b101], data: Array("xy".utf8), offsets: [0, 1, 1, 2]))
        let type = LogicalType.list(of: .string)
        #expect((0..<4).map { vector.value(at: $0, type: type) } == [.list([.string("x"), .null]), .null, .list([]), .list([.string("y")])])
    }

    /// A protobuf field `number` (under 16) of wire type 2 holding `bytes`.
    private func field(_ number: UInt8, _ bytes: [UInt8]) -> [UInt8] {
        var length: [UInt8] = []
        var remaining = bytes.count
        repeat {
            length.append(UInt8(remaining & 0x7F) | (remaining > 0x7F ? 0x80 : 0))
            remaining >>= 7
        } while remaining > 0
        return [number << 3 | 2] + length + bytes
    }

    /// `HostMessage{records}` of 3 rows (valid, null, valid) with one list column per element
    /// kind in `kinds`, each with `offsets` and, as proto3 writers in other languages do for
    /// an empty message, no `child` at all. Encoded by hand, as such a writer would.
    private func batchWithoutChildren(columns: Int, offsets: [UInt32]) -> [UInt8] {
        let offsetBytes = offsets.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) }
        let column = field(1, [0b101]) + field(8, offsetBytes)
        let batch = field(1, field(2, Array("t".utf8))) + [0x10, 3] + (0..<columns).flatMap { _ in field(3, column) }
        return field(8, batch)
    }

    @Test("a list column whose rows hold no element may omit its child: it reads as an empty vector of the element kind")
    func omittedListChild() throws {
        let kinds = TypeKind.allCases.filter { $0 != .unspecified && $0 != .list }
        let schema = StreamSchema(stream: StreamID(name: "t"), columns: kinds.map { Column(name: "\($0)", type: .list(of: $0)) })
        guard case .records(var batch) = try WireCodec.decodeHostMessage(batchWithoutChildren(columns: kinds.count, offsets: [0, 0, 0, 0])) else {
            Issue.record("expected a record batch"); return
        }
        #expect(batch.columns.allSatisfy { $0.child == nil })
        try batch.validate(against: schema)
        for (kind, vector) in zip(kinds, batch.columns) {
            #expect(vector.child == ColumnBuilder(type: LogicalType(kind)).finish(), "\(kind)")
        }
        #expect(batch.rows(schema: schema) == [Array(repeating: .list([]), count: kinds.count), Array(repeating: .null, count: kinds.count),
                                               Array(repeating: .list([]), count: kinds.count)])
        // Still a valid batch once completed: it survives encoding and another validation.
        guard case .records(var again) = try WireCodec.decodeHostMessage(WireCodec.encode(HostMessage.records(batch))) else {
            Issue.record("expected a record batch"); return
        }
        try again.validate(against: schema)
        #expect(again == batch)
    }

    @Test("a list column whose offsets name elements still needs its child")
    func missingChildWithElements() throws {
        let schema = StreamSchema(stream: StreamID(name: "t"), columns: [Column(name: "v", type: .list(of: .int64))])
        let batch = RecordBatch(stream: schema.stream, rowCount: 3, columns: [ColumnVector(validity: [0b101], offsets: [0, 1, 1, 1])])
        let error = #expect(throws: ProtocolError.self) { try Fixtures.validate(batch, against: schema) }
        #expect(error?.message.contains("no child vector") == true, "\(String(describing: error))")
        // Decoding alone already refuses it: without a child, the offsets must end at the (empty) data.
        #expect(throws: ProtocolError.self) { try WireCodec.decodeHostMessage(batchWithoutChildren(columns: 1, offsets: [0, 1, 1, 1])) }
    }

    @Test func mismatchedValuesThrowAndAppendNothing() {
        var builder = ColumnBuilder(type: LogicalType(.int64))
        for value: Value in [.int32(1), .string("1"), .timestamp(1), .list([.int64(1)])] {
            let error = #expect(throws: ProtocolError.self) { try builder.append(value) }
            #expect(error?.code == .invalidMessage)
        }
        #expect(builder.count == 0)

        var list = ColumnBuilder(type: .list(of: .int64))
        #expect(throws: ProtocolError.self) { try list.append(.list([.int64(1), .string("2")])) }
        #expect(throws: ProtocolError.self) { try list.append(.list([.list([])])) }
        #expect(list.count == 0)
        #expect(list.finish() == ColumnVector(offsets: [0], child: ColumnVector()))

        var uuid = ColumnBuilder(type: LogicalType(.uuid))
        #expect(throws: ProtocolError.self) { try uuid.append(.uuid([1, 2, 3])) }
        var decimal = ColumnBuilder(type: LogicalType(.decimal))
        #expect(throws: ProtocolError.self) { try decimal.append(.decimal("1e10")) }
        var time = ColumnBuilder(type: LogicalType(.time))
        #expect(throws: ProtocolError.self) { try time.append(.time(-1)) }
    }

    @Test func batchFromRowsReportsTheCell() {
        let schema = StreamSchema(stream: Fixtures.stream, columns: [Column(name: "id", type: LogicalType(.int64)),
                                                                     Column(name: "name", type: LogicalType(.string))])
        let error = #expect(throws: ProtocolError.self) {
            try RecordBatch(schema: schema, rows: [[.int64(1), .string("a")], [.int64(2), .int64(3)]])
        }
        #expect(error?.code == .invalidMessage)
        #expect(error?.message.contains("row 1, column \"name\"") == true)
        #expect(throws: ProtocolError.self) { try RecordBatch(schema: schema, rows: [[.int64(1)]]) }
    }
}
