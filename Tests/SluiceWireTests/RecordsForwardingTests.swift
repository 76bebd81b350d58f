import SluiceWire
import Testing

/// A host forwards a source's record batch in the bytes it came in (``WireCodec/hostRecordsPayload(forwarding:)``).
@Suite struct RecordsForwardingTests {
    static let batch = try! RecordBatch(schema: Fixtures.everyTypeSchema, rows: Fixtures.everyTypeRows)

    @Test("a PluginMessage holding a record batch becomes the HostMessage holding the same batch, byte for byte but its tag")
    func batchIsForwardedAsItCame() throws {
        let payload = WireCodec.encode(PluginMessage.records(Self.batch))
        let forwarding = try #require(WireCodec.hostRecordsPayload(forwarding: payload))
        // The received bytes are sent on as they are, their first byte replaced in the writing.
        #expect(forwarding.bytes == payload)
        let forwarded = forwarding.written
        #expect(forwarded.count == payload.count)
        #expect(forwarded.dropFirst() == payload.dropFirst())
        guard case .records(let batch) = try WireCodec.decodeHostMessage(forwarded) else {
            Issue.record("the forwarded payload is not a record batch")
            return
        }
        #expect(identical(batch, Self.batch))
    }

    @Test("a batch of no rows and no columns, whose length is one byte, is forwarded too")
    func smallestBatch() throws {
        let empty = RecordBatch(stream: StreamID(name: "s"), rowCount: 0, columns: [])
        let forwarded = try #require(WireCodec.hostRecordsPayload(forwarding: WireCodec.encode(PluginMessage.records(empty))))
        #expect(try WireCodec.decodeHostMessage(forwarded.written) == .records(empty))
    }

    @Test("anything but exactly one records field is encoded again, not forwarded")
    func otherLayoutsAreNotForwarded() throws {
        let records = WireCodec.encode(PluginMessage.records(Self.batch))
        // Other messages.
        #expect(WireCodec.hostRecordsPayload(forwarding: WireCodec.encode(PluginMessage.state(State(id: 1, stream: nil, data: [1])))) == nil)
        #expect(WireCodec.hostRecordsPayload(forwarding: []) == nil)
        // The batch followed by another field, or repeated (protobuf merges repeated message fields).
        #expect(WireCodec.hostRecordsPayload(forwarding: records + Wire.field(7, [])) == nil)
        #expect(WireCodec.hostRecordsPayload(forwarding: records + records) == nil)
        // A length that stops short of the end, or runs past it; a length that never ends.
        #expect(WireCodec.hostRecordsPayload(forwarding: Array(records.dropLast())) == nil)
        #expect(WireCodec.hostRecordsPayload(forwarding: records + [0]) == nil)
        #expect(WireCodec.hostRecordsPayload(forwarding: [0x32, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]) == nil)
        #expect(WireCodec.hostRecordsPayload(forwarding: [0x32]) == nil)
    }
}

extension FramePayload {
    /// The payload as the frame writer sends it.
    var written: [UInt8] {
        guard let firstByte else { return bytes }
        return [firstByte] + bytes.dropFirst()
    }
}
