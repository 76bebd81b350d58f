import SluiceSDK
import SluiceWire

/// The host's side of a running Read: renders batches, keeps the latest state per stream
/// once the output before it is durable, and reports progress.
struct ReadSession {
    let sink: OutputSink
    private var renderers: [StreamID: BatchJSONRenderer] = [:]
    private var states: [StreamID?: State] = [:]
    private var stateOrder: [StreamID?] = []
    private let report = ProgressReport()
    /// Whether the source emitted any state in this Read.
    private(set) var emittedStates = false

    init(sink: OutputSink, states: [State]) {
        self.sink = sink
        for state in states { keep(state) }
    }

    /// The latest state of each stream (and the global one), the earlier file's included.
    var latestStates: [State] { stateOrder.compactMap { states[$0] } }

    /// Handles the Read's messages up to its Summary, which it returns. With `statePath`, a
    /// source announcing `read_acks` gets a ReadAck for each state once the output before it is
    /// durable and the state file saved with it (PROTOCOL.md §8.2).
    mutating func consume(_ client: PluginClient, statePath: String? = nil) async throws -> Summary {
        let acknowledging = client.helloReply.capabilities.has(Feature.readAcks) ? statePath : nil
        while let message = try await client.nextCallMessage() {
            switch message {
            case .schema(let schema):
                renderers[schema.stream] = BatchJSONRenderer(schema: schema)
            case .records(var batch):
                guard let renderer = renderers[batch.stream] else {
                    throw HostError.protocolViolation("a RecordBatch of \(batch.stream) came before its StreamSchema")
                }
                do {
                    try batch.validate(against: renderer.schema)
                } catch {
                    throw HostError.protocolViolation("invalid RecordBatch of \(batch.stream): \(error)")
                }
                renderer.render(batch, to: &sink.buffer)
                try sink.flushIfLarge()
            case .state(let state):
                try sink.flush(durable: true)
                keep(state)
                emittedStates = true
                if let acknowledging {
                    try StateFile.save(latestStates, to: acknowledging)
                    try await client.send(.readAck(ReadAck(stateID: state.id)))
                }
            case .streamStatus(let status):
                report.status(status)
            case .progress(let progress):
                report.progress(progress)
            case .summary(let summary):
                return summary
            default:
                throw HostError.protocolViolation("unexpected \(message.name) during a Read")
            }
        }
        throw HostError.protocolViolation("the Read ended without a Summary")
    }

    private mutating func keep(_ state: State) {
        if states.updateValue(state, forKey: state.stream) == nil { stateOrder.append(state.stream) }
    }
}
