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

    @Test("a large frame whose payload has not all arrived is taken out, and decoding goes on after it")
    func incompleteFrameTakenOut() throws {
        let small = payload(3), large = payload(1000, seed: 9), next = payload(7, seed: 1)
        var decoder = FrameDecoder()
        decoder.append(Frame.encode(small) + Frame.encode(large).prefix(Frame.headerSize + 100))
        #expect(try decoder.takeIncompleteFrame(minimumLength: 500) == nil, "a whole frame is nextFrame's")
        #expect(try decoder.nextFrame() == small)
        #expect(try decoder.takeIncompleteFrame(minimumLength: 1001) == nil, "under the minimum")
        let taken = try #require(try decoder.takeIncompleteFrame(minimumLength: 1000))
        #expect(taken.length == 1000)
        #expect(Array(taken.prefix) == Array(large.prefix(100)))
        #expect(taken.frameNumber == 2)
        #expect(taken.byteOffset == Frame.headerSize + 3)
        #expect(decoder.framesDecoded == 2)
        #expect(decoder.nextFrameOffset == 2 * Frame.headerSize + 1003)
        // The caller reads the payload's rest itself; the decoder starts again after it.
        decoder.append(Frame.encode(next))
        #expect(try decoder.nextFrame() == next)
        #expect(decoder.framesDecoded == 3)
        #expect(decoder.nextFrameOffset == 3 * Frame.headerSize + 1010)
        try decoder.finish()
    }

    @Test("nothing is taken before the whole header, and a header over the maximum fails as in nextFrame")
    func incompleteFrameNeedsAValidHeader() throws {
        var decoder = FrameDecoder(maxFrameSize: 4096)
        decoder.append(Frame.encode(payload(4000)).prefix(Frame.headerSize - 1))
        #expect(try decoder.takeIncompleteFrame(minimumLength: 0) == nil)
        var tooLarge = FrameDecoder(maxFrameSize: 4096)
        tooLarge.append(Frame.encode(payload(4097)).prefix(Frame.headerSize + 10))
        let error = #expect(throws: ProtocolError.self) { try tooLarge.takeIncompleteFrame(minimumLength: 0) }
        #expect(error?.code == .frameTooLarge)
        #expect(error?.frameNumber == 1)
    }

    @Test("input ending inside a taken frame gives the error finish gives for the same bytes")
    func incompleteFrameTruncated() throws {
        let stream = Frame.encode(payload(20)) + Frame.encode(payload(900)).prefix(Frame.headerSize + 300)
        var whole = FrameDecoder()
        whole.append(stream)
        _ = try drain(&whole)
        let expected = #expect(throws: ProtocolError.self) { try whole.finish() }
        var direct = FrameDecoder()
        direct.append(stream.prefix(Frame.headerSize + 20 + Frame.headerSize + 50))
        _ = try drain(&direct)
        let taken = try #require(try direct.takeIncompleteFrame(minimumLength: 100))
        #expect(taken.truncated(received: 300) == expected)
        #expect(expected?.frameNumber == 2)
        #expect(expected?.byteOffset == Frame.headerSize + 20)
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
