import Testing
import SluiceWire

@Suite("Framing")
struct FramingTests {
    private func payload(_ count: Int, seed: UInt8 = 0) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &+ Int(seed)) } }

    /// Every payload available in `decoder` now.
    private func drain(_ decoder: inout FrameDecoder) throws(ProtocolError) -> [[UInt8]] {
        var payloads: [[UInt8]] = []
        while let payload = try decoder.nextFrame() { payloads.append(payload) }
        return payloads
    }

    @Test func headerIsFlagThenBigEndianLength() {
        #expect(Frame.encode([0xAA, 0xBB]) == [0, 0, 0, 0, 2, 0xAA, 0xBB])
        #expect(Array(Frame.encode(payload(0x01_02_03)).prefix(5)) == [0, 0, 0x01, 0x02, 0x03])
    }

    @Test("a header written before its payload makes the same frame as encode")
    func headerThenPayload() {
        for count in [0, 1, 255, 256, 0x01_02_03] {
            let bytes = payload(count, seed: 7)
            #expect(Frame.header(payloadCount: count) + bytes == Frame.encode(bytes))
        }
    }

    @Test func splitReadAtEveryBoundary() throws {
        let original = payload(100)
        let frame = Frame.encode(original)
        for split in 0...frame.count {
            var decoder = FrameDecoder()
            decoder.append(frame[..<split])
            var payloads = try drain(&decoder)
            #expect(payloads.isEmpty == (split < frame.count))
            decoder.append(frame[split...])
            payloads += try drain(&decoder)
            #expect(payloads == [original])
            try decoder.finish()
        }
    }

    @Test func byteByByteDelivery() throws {
        let originals = [payload(0), payload(1), payload(300, seed: 7), payload(5)]
        var stream: [UInt8] = []
        for original in originals { Frame.append(payload: original, to: &stream) }
        var decoder = FrameDecoder()
        var payloads: [[UInt8]] = []
        for byte in stream {
            decoder.append(CollectionOfOne(byte))
            payloads += try drain(&decoder)
        }
        #expect(payloads == originals)
        #expect(decoder.framesDecoded == originals.count)
        #expect(decoder.nextFrameOffset == stream.count)
        try decoder.finish()
    }

    @Test func manyFramesInOneRead() throws {
        let originals = (0..<1000).map { payload($0 % 37, seed: UInt8(truncatingIfNeeded: $0)) }
        var stream: [UInt8] = []
        for original in originals { Frame.append(payload: original, to: &stream) }
        var decoder = FrameDecoder()
        decoder.append(stream)
        #expect(try drain(&decoder) == originals)
        try decoder.finish()
    }

    @Test func zeroLengthFrame() throws {
        var decoder = FrameDecoder()
        decoder.append(Frame.encode([]))
        #expect(try decoder.nextFrame() == [])
        #expect(try decoder.nextFrame() == nil)
        try decoder.finish()
    }

    @Test func exactlyTheMaximumSize() throws {
        let original = payload(4096)
        var decoder = FrameDecoder(maxFrameSize: 4096)
        decoder.append(Frame.encode(original))
        #expect(try decoder.nextFrame() == original)
    }

    @Test func oneByteOverTheMaximumFailsBeforeThePayloadArrives() throws {
        var decoder = FrameDecoder(maxFrameSize: 4096)
        decoder.append(Frame.encode(payload(10)))
        _ = try decoder.nextFrame()
        decoder.append(Frame.encode(payload(4097)).prefix(Frame.headerSize))
        let error = #expect(throws: ProtocolError.self) { try decoder.nextFrame() }
        #expect(error?.code == .frameTooLarge)
        #expect(error?.frameNumber == 2)
        #expect(error?.byteOffset == Frame.headerSize + 10)
    }

    @Test func truncatedInTheHeader() throws {
        var decoder = FrameDecoder()
        decoder.append(Frame.encode(payload(3)))
        decoder.append(Frame.encode(payload(8)).prefix(3))
        #expect(try drain(&decoder) == [payload(3)])
        let error = #expect(throws: ProtocolError.self) { try decoder.finish() }
        #expect(error?.code == .truncatedFrame)
        #expect(error?.frameNumber == 2)
        #expect(error?.byteOffset == Frame.headerSize + 3)
    }

    @Test func truncatedInThePayload() throws {
        var decoder = FrameDecoder()
        decoder.append(Frame.encode(payload(20)))
        decoder.append(Frame.encode(payload(2)))
        decoder.append(Frame.encode(payload(50)).dropLast(1))
        #expect(try drain(&decoder).count == 2)
        let error = #expect(throws: ProtocolError.self) { try decoder.finish() }
        #expect(error?.code == .truncatedFrame)
        #expect(error?.frameNumber == 3)
        #expect(error?.byteOffset == 2 * Frame.headerSize + 22)
    }

    @Test func garbageFlagByte() throws {
        var decoder = FrameDecoder()
        var frame = Frame.encode(payload(4))
        frame[0] = 0x7F
        decoder.append(frame)
        let error = #expect(throws: ProtocolError.self) { try decoder.nextFrame() }
        #expect(error?.code == .unsupportedFlags)
        #expect(error?.frameNumber == 1)
        #expect(error?.byteOffset == 0)
    }

    @Test func encodedMessagesSurviveFraming() throws {
        let messages: [PluginMessage] = [.log(LogMessage(level: .info, message: "one")), .state(State(id: 2, stream: nil, data: [1])),
                                         .records(try RecordBatch(schema: Fixtures.everyTypeSchema, rows: Fixtures.everyTypeRows))]
        var stream: [UInt8] = []
        for message in messages { Frame.append(payload: WireCodec.encode(message), to: &stream) }
        var decoder = FrameDecoder()
        var decoded: [PluginMessage] = []
        var offset = 0
        while offset < stream.count {
            let end = min(stream.count, offset + 777)
            decoder.append(stream[offset..<end])
            offset = end
            while let payload = try decoder.nextFrame() { decoded.append(try WireCodec.decodePluginMessage(payload)) }
        }
        try decoder.finish()
        #expect(decoded.count == messages.count)
        #expect(decoded.first == messages.first)
        guard case .records(let batch)? = decoded.last, case .records(let original)? = messages.last else {
            Issue.record("the batch did not come back")
            return
        }
        #expect(identical(batch, original))
    }
}
