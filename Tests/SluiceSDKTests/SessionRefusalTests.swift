import Foundation
import Testing
import SluiceWire
@testable import SluiceSDK

@Suite("Plugin session: refusals are explained, once")
struct SessionRefusalTests {
    @Test("Hello with a max_frame_size below the minimum is refused with an Error saying so, then exit 2")
    func tinyFrameSize() async throws {
        let session = SessionHarness(plugin: EchoPlugin())
        try session.send(.hello(Hello(hostName: "test-host", hostVersion: "1", maxFrameSize: 1)))
        guard case .error(let error)? = try await session.receive() else { Issue.record("expected an error"); return }
        #expect(error.category == .protocol)
        #expect(error.code == "INVALID_MESSAGE")
        #expect(error.message.contains("max_frame_size"))
        #expect(error.message.contains("\(Hello.minimumMaxFrameSize)"))
        #expect(await session.outcome() == .protocolError)
    }

    @Test("Hello with max_frame_size at the minimum is accepted")
    func minimumFrameSize() async throws {
        let session = SessionHarness(plugin: EchoPlugin())
        try session.send(.hello(Hello(hostName: "test-host", hostVersion: "1", maxFrameSize: Hello.minimumMaxFrameSize)))
        guard case .hello? = try await session.receive() else { Issue.record("expected HelloReply"); return }
        try session.send(.close)
        #expect(await session.outcome() == .closed)
    }

    @Test("a Cancel before Hello is refused with an Error naming it, then exit 2")
    func cancelBeforeHello() async throws {
        let session = SessionHarness(plugin: EchoPlugin())
        try session.send(.cancel)
        try session.closeInput()
        guard case .error(let error)? = try await session.receive() else { Issue.record("expected an error"); return }
        #expect(error.category == .protocol)
        #expect(error.code == "UNEXPECTED_MESSAGE")
        #expect(error.message.contains("Cancel"))
        #expect(await session.outcome() == .protocolError)
    }

    @Test("an invalid batch's Error is sent once, however the session then ends",
          arguments: [
              // Wrong for its schema (found by the Write input) …
              RecordBatch(stream: testStream, rowCount: 2, columns: [ColumnVector(bools: [true, false])]),
              // … or broken in itself (found when the frame is decoded, which ends the session).
              RecordBatch(stream: testStream, rowCount: 2, columns: [ColumnVector(int64s: [1])]),
          ])
    func invalidBatchReportedOnce(wrong: RecordBatch) async throws {
        let session = SessionHarness(plugin: EchoPlugin())
        _ = try await session.handshake()
        try session.send(.write(writeRequest))
        try session.send(.records(wrong))
        try session.send(.writeEnd)
        try session.send(.close)
        // Everything the plugin sent, up to the end of its output.
        _ = await session.outcome()
        var errors: [PluginError] = []
        while let message = try await session.receive() {
            if case .error(let error) = message { errors.append(error) }
        }
        #expect(errors.count == 1, "errors: \(errors)")
    }

    @Test("logs behind a host that does not read are bounded, and the dropped ones are counted and reported")
    func boundedLogQueue() async throws {
        let pipe = Pipe()
        let writer = FrameWriter(handle: pipe.fileHandleForWriting, maxFrameSize: Int(Hello.defaultMaxFrameSize), label: "test.logs")
        let router = LogRouter()
        router.attach(writer, level: .info)
        let total = 20_000
        let text = String(repeating: "x", count: 1000)
        for index in 0..<total {
            router.emit(LogMessage(level: .info, message: "\(index) \(text)", logger: "test"))
            #expect(writer.queuedPostedBytes <= FrameWriter.maxPostedBytes)
        }
        #expect(router.droppedCount > 0)
        // Now the host reads everything: the count of dropped messages arrives as a warning.
        let handle = pipe.fileHandleForReading
        async let data = withCheckedContinuation { continuation in
            // A thread of its own: a blocked read must not hold one of Dispatch's few pool threads.
            Thread.detachNewThread { continuation.resume(returning: handle.readDataToEndOfFile()) }
        }
        writer.flush()
        router.reportDropped()
        writer.flush()
        try pipe.fileHandleForWriting.close()
        var decoder = FrameDecoder()
        decoder.append(await data)
        var logs = 0
        var reported = 0
        while let payload = try decoder.nextFrame() {
            guard case .log(let log) = try WireCodec.decodePluginMessage(payload) else { continue }
            if log.logger == "test" {
                logs += 1
            } else {
                #expect(log.level == .warn)
                #expect(log.message.hasSuffix(" log messages were dropped: the host was not reading them"))
                reported += Int(log.message.prefix { $0.isNumber }) ?? 0
            }
        }
        #expect(reported > 0)
        #expect(logs + reported == total)
        #expect(router.droppedCount == 0)
    }
}
