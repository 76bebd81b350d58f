import Foundation
import Testing
import SluiceWire
@testable import SluiceSDK

@Suite("Plugin session")
struct PluginServerTests {
    @Test("handshake negotiates version 1 and reports roles and capabilities")
    func handshake() async throws {
        let session = SessionHarness(plugin: EchoPlugin())
        let reply = try #require(try await session.handshake())
        #expect(reply.protocolVersion == 1)
        #expect(reply.pluginName == "echo")
        #expect(reply.roles == [.source, .destination])
        #expect(reply.capabilities.features == ["cancel"])
        try session.send(.close)
        #expect(await session.outcome() == .closed)
    }

    @Test("no common version gives an error naming both ranges and a protocol-error exit")
    func versionMismatch() async throws {
        let session = SessionHarness(plugin: EchoPlugin())
        try session.send(.hello(Hello(minProtocolVersion: 2, maxProtocolVersion: 3, hostName: "future", hostVersion: "9")))
        guard case .error(let error)? = try await session.receive() else { Issue.record("expected an error"); return }
        #expect(error.code == "PROTOCOL_VERSION_MISMATCH")
        #expect(error.category == .protocol)
        #expect(error.message.contains("2-3"))
        #expect(error.message.contains("1-1"))
        #expect(await session.outcome() == .protocolError)
    }

    @Test("a session must start with Hello")
    func helloFirst() async throws {
        let session = SessionHarness(plugin: EchoPlugin())
        try session.send(.getSpec)
        guard case .error(let error)? = try await session.receive() else { Issue.record("expected an error"); return }
        #expect(error.code == "UNEXPECTED_MESSAGE")
        #expect(await session.outcome() == .protocolError)
    }

    @Test("calls run one after another, and end of input ends the session cleanly")
    func calls() async throws {
        let session = SessionHarness(plugin: EchoPlugin())
        _ = try await session.handshake()
        try session.send(.getSpec)
        guard case .spec(let spec)? = try await session.receive() else { Issue.record("expected a spec"); return }
        #expect(spec.configSchemaJSON.contains("object"))
        try session.send(.check(CheckRequest(configJSON: "{}")))
        guard case .check(let check)? = try await session.receive() else { Issue.record("expected a check"); return }
        #expect(check.passed)
        try session.send(.discover(DiscoverRequest(configJSON: "{}")))
        guard case .catalog(let catalog)? = try await session.receive() else { Issue.record("expected a catalog"); return }
        #expect(catalog.streams.map(\.schema.stream) == [testStream])
        try session.closeInput()
        #expect(await session.outcome() == .closed)
    }

    @Test("Cancel stops a running Read with a CANCELLED error and the session stays usable")
    func cancelRead() async throws {
        let session = SessionHarness(plugin: EchoPlugin())
        _ = try await session.handshake()
        try session.send(.read(ReadRequest(configJSON: "{}", catalog: ConfiguredCatalog(streams: []))))
        guard case .schema? = try await session.receive() else { Issue.record("expected a schema"); return }
        guard case .records? = try await session.receive() else { Issue.record("expected records"); return }
        try session.send(.cancel)
        var final: PluginMessage?
        while let message = try await session.receive() {
            if case .records = message { continue }
            final = message
            break
        }
        guard case .error(let error)? = final else { Issue.record("expected an error, got \(String(describing: final))"); return }
        #expect(error.category == .cancelled)
        try session.send(.getSpec)
        guard case .spec? = try await session.receive() else { Issue.record("session not usable after cancel"); return }
        try session.send(.close)
        #expect(await session.outcome() == .closed)
    }

    @Test("a Cancel sent right behind its Read cancels it even before the call starts running")
    func cancelBeforeStart() async throws {
        for _ in 0..<20 {
            let session = SessionHarness(plugin: EchoPlugin())
            _ = try await session.handshake()
            try session.send(.read(ReadRequest(configJSON: "{}", catalog: ConfiguredCatalog(streams: []))))
            try session.send(.cancel)
            var final: PluginMessage?
            while let message = try await session.receive() {
                if case .records = message { continue }
                if case .schema = message { continue }
                final = message
                break
            }
            guard case .error(let error)? = final else { Issue.record("expected an error, got \(String(describing: final))"); return }
            #expect(error.category == .cancelled)
            try session.send(.close)
            #expect(await session.outcome() == .closed)
        }
    }

    @Test("interrupt (SIGTERM) cancels the running call, reports it, and ends the session")
    func interruptRead() async throws {
        let session = SessionHarness(plugin: EchoPlugin())
        _ = try await session.handshake()
        try session.send(.read(ReadRequest(configJSON: "{}", catalog: ConfiguredCatalog(streams: []))))
        guard case .schema? = try await session.receive() else { Issue.record("expected a schema"); return }
        session.server.interrupt()
        var final: PluginMessage?
        while let message = try await session.receive() {
            if case .records = message { continue }
            final = message
            break
        }
        guard case .error(let error)? = final else { Issue.record("expected an error"); return }
        #expect(error.category == .cancelled)
        #expect(await session.outcome() == .interrupted)
    }

    @Test("Write acknowledges states in order and ends with a summary")
    func write() async throws {
        let session = SessionHarness(plugin: EchoPlugin())
        _ = try await session.handshake()
        try session.send(.write(writeRequest))
        try session.send(.records(batch([1, 2, 3])))
        try session.send(.state(State(id: 7, stream: testStream, data: [1])))
        try session.send(.records(batch([4])))
        try session.send(.writeEnd)
        guard case .stateAck(let ack)? = try await session.receive() else { Issue.record("expected an ack"); return }
        #expect(ack.id == 7)
        guard case .summary(let summary)? = try await session.receive() else { Issue.record("expected a summary"); return }
        #expect(summary.streams.first?.records == 4)
        try session.send(.close)
        #expect(await session.outcome() == .closed)
    }

    @Test("a failed Write reports its error, skips the rest of its input, and the session goes on")
    func failedWrite() async throws {
        let session = SessionHarness(plugin: EchoPlugin())
        _ = try await session.handshake()
        try session.send(.write(writeRequest))
        try session.send(.records(batch([-1])))
        try session.send(.records(batch([5])))
        try session.send(.state(State(id: 1, stream: testStream, data: [])))
        try session.send(.writeEnd)
        guard case .error(let error)? = try await session.receive() else { Issue.record("expected an error"); return }
        #expect(error.code == "NEGATIVE_ID")
        #expect(error.category == .data)
        try session.send(.getSpec)
        guard case .spec? = try await session.receive() else { Issue.record("expected the next call's answer, not leftovers"); return }
        try session.send(.close)
        #expect(await session.outcome() == .closed)
    }

    @Test("a batch that does not match its schema is a protocol error")
    func invalidBatch() async throws {
        let session = SessionHarness(plugin: EchoPlugin())
        _ = try await session.handshake()
        try session.send(.write(writeRequest))
        let wrong = RecordBatch(stream: testStream, rowCount: 2, columns: [ColumnVector(bools: [true, false])])
        try session.send(.records(wrong))
        try session.send(.writeEnd)
        guard case .error(let error)? = try await session.receive() else { Issue.record("expected an error"); return }
        #expect(error.category == .protocol)
        try session.send(.close)
        _ = await session.outcome()
    }

    @Test("garbage on the input is a protocol error naming the frame, then exit code 2")
    func garbage() async throws {
        let session = SessionHarness(plugin: EchoPlugin())
        _ = try await session.handshake()
        try session.sendRaw([7, 0, 0, 0, 1, 0])
        guard case .error(let error)? = try await session.receive() else { Issue.record("expected an error"); return }
        #expect(error.code == "UNSUPPORTED_FRAME_FLAGS")
        #expect(error.message.contains("frame 2"))
        #expect(await session.outcome() == .protocolError)
    }

    @Test("input cut inside a frame is a truncated-frame protocol error")
    func truncated() async throws {
        let session = SessionHarness(plugin: EchoPlugin())
        _ = try await session.handshake()
        try session.sendRaw([0, 0, 0, 0, 9, 1, 2])
        try session.closeInput()
        guard case .error(let error)? = try await session.receive() else { Issue.record("expected an error"); return }
        #expect(error.code == "TRUNCATED_FRAME")
        #expect(await session.outcome() == .protocolError)
    }
}
