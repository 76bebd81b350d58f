import Foundation
import Testing
import SluiceWire
@testable import SluiceSDK

/// A source that sends three global states and reports the acknowledgements it saw, and a
/// destination that counts the rows it accepts; `features` decides what they announce.
private struct AckingPlugin: SourcePlugin, DestinationPlugin {
    var features: [String]

    var info: PluginInfo {
        PluginInfo(name: "acking", version: "1", roles: [.source, .destination],
                   capabilities: Capabilities(readModes: [.cdc], writeModes: [.upsert], features: features))
    }

    func spec() -> SpecResponse { SpecResponse(configSchemaJSON: #"{"type":"object"}"#) }
    func check(_ request: CheckRequest, context: CallContext) async -> CheckResponse { CheckResponse(checks: []) }
    func discover(_ request: DiscoverRequest, context: CallContext) async throws -> Catalog { Catalog(streams: []) }

    /// Summary: `records` = the first acknowledged id, `bytes` = the last one (0 when none).
    func read(_ request: ReadRequest, output: ReadOutput) async throws -> Summary {
        var updates = output.acknowledgements.updates.makeAsyncIterator()
        try await output.checkpoint(State(id: 1, stream: nil, data: [1]))
        var summary = StreamSummary(stream: testStream)
        guard features.contains(Feature.readAcks) else {
            try await output.checkpoint(State(id: 2, stream: nil, data: [2]))
            try await Task.sleep(nanoseconds: 200_000_000)
            summary.bytes = output.acknowledgements.latest ?? 0
            return Summary(streams: [summary], durationMicros: 1)
        }
        summary.records = await updates.next() ?? 0
        try await output.checkpoint(State(id: 2, stream: nil, data: [2]))
        try await output.checkpoint(State(id: 3, stream: nil, data: [3]))
        while let id = await updates.next(), id != 3 {}
        summary.bytes = output.acknowledgements.latest ?? 0
        return Summary(streams: [summary], durationMicros: 1)
    }

    func write(_ request: WriteRequest, input: WriteInput, output: WriteOutput) async throws -> Summary {
        var summary = StreamSummary(stream: testStream)
        for try await event in input {
            if case .records(let batch) = event { summary.records += UInt64(batch.rowCount) }
        }
        return Summary(streams: [summary], durationMicros: 1)
    }
}

private let cdcSchema = StreamSchema(stream: testStream, columns: [
    Column(name: "id", type: LogicalType(.int64), nullable: false),
    Column(name: "body", type: LogicalType(.string)),
], primaryKey: ["id"])

/// Row 0 upserts id 1 with `body` unchanged; row 1 truncates.
private let cdcBatch = RecordBatch(stream: testStream, rowCount: 2, columns: [
    ColumnVector(validity: [0b01], int64s: [1, 0]),
    ColumnVector(validity: [0b00], data: [], offsets: [0, 0, 0], unchanged: [0b01]),
], operations: [RowOperation.upsert.rawValue, RowOperation.truncate.rawValue])

private func cdcWrite(keyColumns: [String] = []) -> WriteRequest {
    WriteRequest(configJSON: "{}", catalog: ConfiguredCatalog(streams: [
        ConfiguredStream(schema: cdcSchema, syncMode: .cdc, writeMode: .upsert, keyColumns: keyColumns),
    ]))
}

@Suite("Change data capture in the session")
struct ChangeDataCaptureTests {
    @Test("a read_acks source sees the host's ReadAcks of its states; unknown and older ids are ignored")
    func readAcks() async throws {
        let session = SessionHarness(plugin: AckingPlugin(features: [Feature.readAcks]))
        _ = try await session.handshake()
        // Out of place between calls: consumed without an answer.
        try session.send(.readAck(ReadAck(stateID: 1)))
        try session.send(.read(ReadRequest(configJSON: "{}", catalog: ConfiguredCatalog(streams: []))))
        guard case .state(let first)? = try await session.receive() else { Issue.record("expected state 1"); return }
        #expect(first.id == 1)
        try session.send(.readAck(ReadAck(stateID: 99)))
        try session.send(.readAck(ReadAck(stateID: 1)))
        guard case .state? = try await session.receive(), case .state(let third)? = try await session.receive() else {
            Issue.record("expected states 2 and 3"); return
        }
        #expect(third.id == 3)
        try session.send(.readAck(ReadAck(stateID: 1)))
        try session.send(.readAck(ReadAck(stateID: 3)))
        guard case .summary(let summary)? = try await session.receive() else { Issue.record("expected a summary"); return }
        #expect(summary.streams.first?.records == 1, "the first acknowledgement is state 1, not the unknown 99")
        #expect(summary.streams.first?.bytes == 3)
        // After the Read: ignored, and the session goes on.
        try session.send(.readAck(ReadAck(stateID: 3)))
        try session.send(.getSpec)
        guard case .spec? = try await session.receive() else { Issue.record("expected the spec, not an error"); return }
        try session.send(.close)
        #expect(await session.outcome() == .closed)
    }

    @Test("a source without read_acks never sees a ReadAck")
    func noReadAcksFeature() async throws {
        let session = SessionHarness(plugin: AckingPlugin(features: []))
        _ = try await session.handshake()
        try session.send(.read(ReadRequest(configJSON: "{}", catalog: ConfiguredCatalog(streams: []))))
        guard case .state? = try await session.receive() else { Issue.record("expected a state"); return }
        try session.send(.readAck(ReadAck(stateID: 1)))
        guard case .state? = try await session.receive(), case .summary(let summary)? = try await session.receive() else {
            Issue.record("expected a state and the summary"); return
        }
        #expect(summary.streams.first?.bytes == 0)
        try session.send(.close)
        #expect(await session.outcome() == .closed)
    }

    @Test("a destination without cdc_apply refuses TRUNCATE rows and unchanged values; one with it takes them")
    func cdcApplyGate() async throws {
        let refusing = SessionHarness(plugin: AckingPlugin(features: []))
        _ = try await refusing.handshake()
        try refusing.send(.write(cdcWrite()))
        try refusing.send(.records(cdcBatch))
        try refusing.send(.writeEnd)
        guard case .error(let error)? = try await refusing.receive() else { Issue.record("expected an error"); return }
        #expect(error.category == .protocol)
        #expect(error.code == "INVALID_MESSAGE")
        #expect(error.message.contains("cdc_apply"))
        try refusing.send(.close)
        #expect(await refusing.outcome() == .closed)

        let applying = SessionHarness(plugin: AckingPlugin(features: [Feature.cdcApply]))
        _ = try await applying.handshake()
        try applying.send(.write(cdcWrite()))
        try applying.send(.records(cdcBatch))
        try applying.send(.writeEnd)
        guard case .summary(let summary)? = try await applying.receive() else { Issue.record("expected a summary"); return }
        #expect(summary.streams.first?.records == 2)
        try applying.send(.close)
        #expect(await applying.outcome() == .closed)
    }

    @Test("an unchanged value in the Write's key column (not the primary key) is refused")
    func unchangedKeyColumn() async throws {
        let session = SessionHarness(plugin: AckingPlugin(features: [Feature.cdcApply]))
        _ = try await session.handshake()
        try session.send(.write(cdcWrite(keyColumns: ["body"])))
        try session.send(.records(cdcBatch))
        try session.send(.writeEnd)
        guard case .error(let error)? = try await session.receive() else { Issue.record("expected an error"); return }
        #expect(error.code == "INVALID_MESSAGE")
        #expect(error.message.contains("\"body\""), "\(error.message)")
        try session.send(.close)
        _ = await session.outcome()
    }
}
