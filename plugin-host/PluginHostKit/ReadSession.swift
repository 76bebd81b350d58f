import SluiceSDK
import SluiceWire

/// The host's side of a running Read: renders batches, keeps the latest state per stream
/// once the output before it is durable, and reports progress.
///
/// Into a regular file (`outputPath`), what it saves is a cut: the states at the last moment
/// when every stream's rows in the file were covered by its state, with the file's length then.
/// The next read continues the file from that length, so every row is in it once, even when a
/// stream's rows came after another stream's last state (streams read side by side).
struct ReadSession {
    let sink: OutputSink
    /// The output file as the state file names it; nil when the output cannot be continued
    /// (stdout, a device, a pipe).
    private let outputPath: String?
    private var renderers: [StreamID: BatchJSONRenderer] = [:]
    private var states: [StreamID?: State] = [:]
    private var stateOrder: [StreamID?] = []
    /// Streams with rows written after their latest state.
    private var uncovered: Set<StreamID> = []
    /// The stream-complete rule of PROTOCOL.md §4.4 rule 3.
    private var endings = StreamEndings()
    /// States received since the last cut, not yet acknowledged to the source.
    private var waitingAcks: [UInt64] = []
    private let report = ProgressReport()
    /// Whether the source emitted any state in this Read.
    private(set) var emittedStates = false
    /// The rows written out so far.
    private(set) var records: UInt64 = 0
    /// Streams whose every row is in the output (COMPLETE), in order.
    private var complete: [StreamID]
    /// The states to save, the output bytes they cover and the streams complete in those bytes
    /// (see the type's comment).
    private(set) var cut: (states: [State], bytes: UInt64, complete: [StreamID])

    /// `complete`: the streams an unfinished read already wrote whole into the output continued.
    init(sink: OutputSink, states: [State], outputPath: String?, complete: [StreamID] = []) {
        self.sink = sink
        self.outputPath = sink.isRegularFile ? outputPath : nil
        self.complete = complete
        cut = (states, sink.position, complete)
        for state in states { keep(state) }
    }

    /// The latest state of each stream (and the global one), the earlier file's included.
    var latestStates: [State] { stateOrder.compactMap { states[$0] } }

    /// Where the cut leaves the output file, for the state file; nil for an output that cannot
    /// be continued.
    var cutOutput: StateFile.OutputPosition? {
        outputPath.map { StateFile.OutputPosition(path: $0, bytes: cut.bytes, completeStreams: cut.complete) }
    }

    /// Handles the Read's messages up to its Summary, which it returns. With `statePath`, a
    /// source announcing `read_acks` gets a ReadAck for each state once the output before it is
    /// durable and the state file saved with it (PROTOCOL.md §8.2).
    mutating func consume(_ client: PluginClient, statePath: String? = nil) async throws -> Summary {
        do {
            let summary = try await consumeMessages(client, statePath: statePath)
            report.settle()
            return summary
        } catch {
            report.settle(failure: error)
            throw error
        }
    }

    private mutating func consumeMessages(_ client: PluginClient, statePath: String?) async throws -> Summary {
        let acknowledging = client.helloReply.capabilities.has(Feature.readAcks) ? statePath : nil
        while let message = try await client.nextCallMessage() {
            switch message {
            case .schema(let schema):
                renderers[schema.stream] = BatchJSONRenderer(schema: schema)
            case .records(var batch):
                guard let renderer = renderers[batch.stream] else {
                    throw HostError.protocolViolation("a RecordBatch of \(batch.stream) came before its StreamSchema")
                }
                if let violation = endings.violation(batchOf: batch.stream) { throw HostError.protocolViolation(violation) }
                // JSON Lines are rendered from column vectors: this host never allows PostgreSQL rows.
                if batch.carriesPostgresRows { throw HostError.protocolViolation(PostgresRowsRule.notAllowed(batch.stream)) }
                do {
                    try batch.validate(against: renderer.schema)
                } catch {
                    throw HostError.protocolViolation("invalid RecordBatch of \(batch.stream): \(error)")
                }
                renderer.render(batch, to: &sink.buffer)
                records += UInt64(batch.rowCount)
                if batch.rowCount > 0 { uncovered.insert(batch.stream) }
                try sink.flushIfLarge()
            case .state(let state):
                if let violation = endings.violation(state) { throw HostError.protocolViolation(violation) }
                try sink.flush(durable: true)
                keep(state)
                // Its last state: the stream is whole in the output, in the same cut as the state.
                if state.streamComplete, let stream = state.stream, !complete.contains(stream) { complete.append(stream) }
                emittedStates = true
                if let stream = state.stream { uncovered.remove(stream) } else { uncovered.removeAll() }
                waitingAcks.append(state.id)
                // A file continued from a cut with rows after a stream's state would hold them twice.
                guard outputPath == nil || uncovered.isEmpty else { continue }
                cut = (latestStates, sink.position, complete)
                if let acknowledging {
                    try StateFile.save(cut.states, output: cutOutput, to: acknowledging)
                    for id in waitingAcks { try await client.send(.readAck(ReadAck(stateID: id))) }
                }
                waitingAcks.removeAll()
            case .streamStatus(let status):
                if status.status == .complete, !complete.contains(status.stream) {
                    complete.append(status.stream)
                    try markCompleteInCut(status.stream, statePath: acknowledging)
                }
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

    /// A stream's COMPLETE comes after its final state, which a cut may already hold: its rows
    /// all lie before that state, so the cut holds the stream whole (else a continuing read would
    /// start the stream again, a full refresh's next sync). Saved at once where states are. (A
    /// source that marks its final state `stream_complete` closes the gap between the two.)
    private mutating func markCompleteInCut(_ stream: StreamID, statePath: String?) throws {
        guard outputPath != nil, !uncovered.contains(stream), !cut.complete.contains(stream),
              let latest = states[stream], cut.states.contains(latest) else { return }
        cut.complete.append(stream)
        if let statePath { try StateFile.save(cut.states, output: cutOutput, to: statePath) }
    }

    private mutating func keep(_ state: State) {
        if states.updateValue(state, forKey: state.stream) == nil { stateOrder.append(state.stream) }
    }
}
