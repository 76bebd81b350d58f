import Testing
import SluiceWire

@Suite("CDC markers: TRUNCATE rows and unchanged values (§5.9, §5.10)")
struct ChangeMarkerTests {
    private static let schema = StreamSchema(stream: Fixtures.stream, columns: [
        Column(name: "id", type: LogicalType(.int64), nullable: false),
        Column(name: "body", type: LogicalType(.string)),
        Column(name: "tags", type: .list(of: .int32)),
    ], primaryKey: ["id"])

    /// Row 0: upsert of id 1, body unchanged; row 1: delete of id 2; row 2: truncate;
    /// row 3: upsert of id 4 with every value.
    private static var batch: RecordBatch {
        RecordBatch(stream: Fixtures.stream, rowCount: 4, columns: [
            ColumnVector(validity: [0b1011], int64s: [1, 2, 0, 4]),
            ColumnVector(validity: [0b1000], data: Array("x".utf8), offsets: [0, 0, 0, 0, 1], unchanged: [0b0001]),
            ColumnVector(validity: [0b1000], offsets: [0, 0, 0, 0, 1], child: ColumnVector(int32s: [7])),
        ], operations: [0, 1, 2, 0])
    }

    private func refused(_ batch: RecordBatch, keyColumns: [String]? = nil) -> String {
        var copy = batch
        let error = #expect(throws: ProtocolError.self) { try copy.validate(against: Self.schema, keyColumns: keyColumns) }
        #expect(error?.code == .invalidMessage)
        return error?.message ?? ""
    }

    /// The decoding check (no schema) refuses it too, as a frame of either direction.
    private func undecodable(_ batch: RecordBatch) -> String {
        let error = #expect(throws: ProtocolError.self) { try WireCodec.decodeHostMessage(WireCodec.encode(HostMessage.records(batch))) }
        #expect(error?.code == .invalidMessage)
        #expect(throws: ProtocolError.self) { try WireCodec.decodePluginMessage(WireCodec.encode(PluginMessage.records(batch))) }
        return error?.message ?? ""
    }

    @Test func aValidChangeBatchRoundTripsAndValidates() throws {
        let batch = Self.batch
        guard case .records(var decoded) = try WireCodec.decodeHostMessage(WireCodec.encode(HostMessage.records(batch))) else {
            Issue.record("expected records"); return
        }
        #expect(decoded == batch)
        #expect(decoded.columns[1].unchanged == [0b0001])
        #expect(decoded.columns[1].isUnchanged(0) && !decoded.columns[1].isUnchanged(3))
        #expect(RowOperation(rawValue: decoded.operations[2]) == .truncate)
        try decoded.validate(against: Self.schema)
        #expect(decoded.changeMarker == "a TRUNCATE row (row 2)")
        var onlyUnchanged = batch
        onlyUnchanged.operations = [0, 1, 0, 0]
        #expect(onlyUnchanged.changeMarker == "unchanged values (column 1)")
        onlyUnchanged.columns[1].unchanged = [0]
        #expect(onlyUnchanged.changeMarker == nil, "an all-zero bitmap marks nothing")
    }

    @Test func readAckAndTheCDCModeRoundTrip() throws {
        #expect(try WireCodec.decodeHostMessage(WireCodec.encode(HostMessage.readAck(ReadAck(stateID: .max)))) == .readAck(ReadAck(stateID: .max)))
        #expect(HostMessage.readAck(ReadAck(stateID: 0)).name == "ReadAck")
        let stream = ConfiguredStream(schema: Self.schema, syncMode: .cdc, writeMode: .upsert)
        let request = HostMessage.read(ReadRequest(configJSON: "{}", catalog: ConfiguredCatalog(streams: [stream]),
                                                   states: [State(id: 4, stream: nil, data: Array("{\"lsn\":\"0/16B3748\"}".utf8))]))
        #expect(try WireCodec.decodeHostMessage(WireCodec.encode(request)) == request)
        let reply = PluginMessage.hello(HelloReply(pluginName: "p", pluginVersion: "1", protocolVersion: 1, roles: [.source, .destination],
                                                   capabilities: Capabilities(readModes: [.cdc], features: [Feature.readAcks, Feature.cdcApply])))
        #expect(try WireCodec.decodePluginMessage(WireCodec.encode(reply)) == reply)
    }

    @Test func unchangedBitmapLength() {
        var batch = Self.batch
        batch.columns[1].unchanged = [1, 0]
        #expect(undecodable(batch).contains("unchanged has 2 bytes; 4 rows need 1"))
        batch.columns[1].unchanged = [0b10001]
        #expect(undecodable(batch).contains("unchanged has bits set past row 4"))
    }

    @Test func unchangedRowsHoldNoValue() {
        var batch = Self.batch
        batch.columns[1].unchanged = [0b1001]
        let message = undecodable(batch)
        #expect(message.contains("row 3 is marked unchanged but holds a value"), "\(message)")
        // Empty validity means every row holds a value.
        batch.columns[1] = ColumnVector(data: Array("abcd".utf8), offsets: [0, 1, 2, 3, 4], unchanged: [0b0001])
        #expect(refused(batch).contains("column \"body\" (string): row 0 is marked unchanged but holds a value"))
    }

    @Test func unchangedOnlyOnUpsertRows() {
        var batch = Self.batch
        batch.columns[1].unchanged = [0b0010]
        #expect(undecodable(batch).contains("row 1 is marked unchanged but is a DELETE row"))
        batch.columns[1].unchanged = [0b0100]
        #expect(refused(batch).contains("row 2 is marked unchanged but is a TRUNCATE row"))
    }

    @Test func unchangedNeverOnAListChild() {
        var batch = Self.batch
        batch.columns[2].child?.unchanged = [0]
        #expect(undecodable(batch).contains("list elements have an unchanged bitmap"))
    }

    @Test func unchangedNeverOnAKeyColumn() throws {
        var batch = Self.batch
        batch.columns[0] = ColumnVector(validity: [0b1010], int64s: [0, 2, 0, 4], unchanged: [0b0001])
        // Not a decoding error: the key needs the schema.
        _ = try WireCodec.decodeHostMessage(WireCodec.encode(HostMessage.records(batch)))
        #expect(refused(batch).contains("column \"id\" (int64): row 0 is marked unchanged, but the column is part of the key"))
        // The Write's key, when given, replaces the primary key.
        var copy = batch
        try copy.validate(against: Self.schema, keyColumns: ["tags"])
        #expect(refused(Self.batch, keyColumns: ["body"]).contains("column \"body\""))
    }

    @Test func truncateRowsAreNullEverywhere() {
        var batch = Self.batch
        batch.columns[0].validity = [0b1111]
        #expect(undecodable(batch).contains("column 0: row 2 is a TRUNCATE row but holds a value"))
        #expect(refused(batch).contains("column \"id\" (int64): row 2 is a TRUNCATE row but holds a value"))
    }
}
