import Foundation
import Testing
import SluiceWire
@testable import SluiceSDK

@Suite("Frame writer")
struct FrameWriterTests {
    @Test("a forwarded record batch is written as the HostMessage holding it, and the received bytes are left as they came")
    func forwardedBatch() async throws {
        let batch = RecordBatch(stream: StreamID(namespace: "public", name: "t"), rowCount: 3,
                                columns: [ColumnVector(int64s: [1, 2, 3]), ColumnVector(data: Array("abc".utf8), offsets: [0, 1, 2, 3])])
        let received = WireCodec.encode(PluginMessage.records(batch))
        let forwarding = try #require(WireCodec.hostRecordsPayload(forwarding: received))
        let pipe = Pipe()
        let writer = FrameWriter(handle: pipe.fileHandleForWriting, maxFrameSize: Int(Hello.defaultMaxFrameSize), label: "test.forward")
        try await writer.send(payload: forwarding)
        try await writer.send(payload: WireCodec.encode(HostMessage.writeEnd))
        try pipe.fileHandleForWriting.close()
        var decoder = FrameDecoder()
        decoder.append(try #require(try pipe.fileHandleForReading.readToEnd()))
        #expect(try WireCodec.decodeHostMessage(try #require(try decoder.nextFrame())) == .records(batch))
        #expect(try WireCodec.decodeHostMessage(try #require(try decoder.nextFrame())) == .writeEnd)
        #expect(try decoder.nextFrame() == nil)
        #expect(try WireCodec.decodePluginMessage(received) == .records(batch))
    }
}
