import SluiceSDK
import SluiceWire

/// The checks of a destination's Write, each against a fresh plugin process. They write to
/// one new stream, `sluice_conformance_<hex>`, which stays in the destination.
struct DestinationChecks: Sendable {
    let target: ConformanceTarget
    /// The configuration, as the JSON text to send.
    let config: String
    let stream: ConformanceStream

    /// `write` (§4.5, §8): batches of several logical types with nulls, a State after each,
    /// are acknowledged with StateAcks in order, echoing each State's id and stream, before a
    /// Summary whose inserted count is the rows sent.
    func write() async throws -> String {
        try await target.withPlugin { probe in
            try await probe.handshake()
            var input: [HostMessage] = []
            var states: [State] = []
            for index in 0..<ConformanceStream.batchCount {
                input.append(.records(try stream.batch(index)))
                states.append(stream.state(index))
                input.append(.state(stream.state(index)))
            }
            let acks = LockedBox<[StateAck]>([])
            probe.state.step = "writing \(ConformanceStream.batchCount) batches and waiting for the Summary"
            let summary = try await probe.client.write(request, input: Self.sequence(input)) { message in
                switch message {
                case .stateAck(let ack): acks.withLock { $0.append(ack) }
                case .streamStatus, .progress: break
                default: throw ConformanceFailure("\(ConformanceText.name(message)) arrived during a Write (§3.3)")
                }
            }
            let received = acks.withLock { $0 }
            try Self.verify(received, against: states)
            let rows = UInt64(ConformanceStream.batchCount * ConformanceStream.rowsPerBatch)
            let inserted = summary.streams.reduce(0) { $0 + $1.inserted }
            guard inserted == rows else {
                throw ConformanceFailure("the Summary counts \(inserted) inserted rows; \(rows) were sent in append mode")
            }
            try await probe.closeCleanly(after: "the Write's Summary")
            return "\(rows) rows in \(ConformanceStream.batchCount) batches to \(stream.id): StateAcks "
                + received.map { String($0.id) }.joined(separator: ", ") + " in order; Summary inserted \(inserted)"
        }
    }

    /// `write-invalid-batch` (§4.5, §5.10, §7.3): a batch whose columns do not match its schema
    /// is answered by Error{PROTOCOL, INVALID_MESSAGE}, and the session continues.
    func writeInvalidBatch() async throws -> String {
        try await target.withPlugin { probe in
            try await probe.handshake()
            try await Self.expectRefused(try stream.mismatchedBatch(), of: request, probe: probe,
                                         what: "the invalid batch", accepted: "a batch whose columns do not match the schema")
            return "text in an int64 column → Error{PROTOCOL, INVALID_MESSAGE}; the session continued"
        }
    }

    /// Writes `batch` in a Write of `request`, then expects Error{PROTOCOL, INVALID_MESSAGE}
    /// (what came before it aside: CommittedStates, StreamStatus, Progress) and a session that
    /// still answers GetSpec, and closes it.
    private static func expectRefused(_ batch: RecordBatch, of request: WriteRequest, probe: ConformanceProbe,
                                      what: String, accepted: String) async throws {
        try await probe.send(.write(request))
        try await probe.send(.records(batch))
        try await probe.send(.writeEnd)
        while let message = try await probe.next("Error{PROTOCOL, INVALID_MESSAGE}") {
            switch message {
            case .committedStates, .streamStatus, .progress:
                continue
            case .error(let error) where error.category == .protocol && error.code == "INVALID_MESSAGE":
                try await probe.expectSpec(after: "the failed Write")
                try await probe.closeCleanly(after: "GetSpec")
                return
            case .summary:
                throw ConformanceFailure("the Write accepted \(accepted) (Summary)")
            default:
                throw ConformanceFailure("\(what) was answered with \(ConformanceText.name(message)), not Error{PROTOCOL, INVALID_MESSAGE}")
            }
        }
        throw ConformanceFailure("the plugin ended its output before answering \(what)")
    }

    /// `write-committed-states` (§8.1): a Write with a new pipeline id, to a stream of its own,
    /// begins with CommittedStates holding no state for the stream; after it acknowledged a
    /// State, a Write of the same pipeline in a new session reports that State (id, stream,
    /// data) first.
    func writeCommittedStates() async throws -> String {
        let pipeline = "sluice-conformance-\(String(UInt64.random(in: 0...UInt64.max), radix: 16))"
        let stream = ConformanceStream()
        let state = stream.state(0)
        let first = try await committedStates(pipeline, stream, input: [.records(try stream.batch(0)), .state(state)])
        if let stale = first.states.first(where: { $0.stream == stream.id }) {
            throw ConformanceFailure("a new pipeline's first Write reported a committed state \(stale.id) for \(stream.id)")
        }
        let second = try await committedStates(pipeline, stream, input: [])
        guard let reported = second.states.first(where: { $0.stream == stream.id }) else {
            throw ConformanceFailure("the second Write of pipeline \(pipeline) reported no committed state for \(stream.id); State \(state.id) was acknowledged")
        }
        guard reported == state else {
            throw ConformanceFailure("the second Write reported State \(reported.id) (\(reported.data.count) bytes), not the acknowledged State \(state.id) (\(state.data.count) bytes)")
        }
        guard !second.freshStreams.contains(stream.id) else {
            throw ConformanceFailure("the second Write lists \(stream.id) as fresh, though the first one wrote it")
        }
        return "pipeline \(pipeline): first Write began with CommittedStates without a state for \(stream.id); the next reported State \(state.id) as sent"
    }

    /// `write-cdc` (§5.9, §8.2): with `applies` (`cdc_apply`), a CDC Write — rows, a global
    /// State, an update leaving a value unchanged and a delete, a TRUNCATE row and an insert, a
    /// global State — is acknowledged state by state and summarised; without it, the TRUNCATE
    /// row is Error{PROTOCOL, INVALID_MESSAGE} and the session continues.
    func writeChanges(applies: Bool) async throws -> String {
        let stream = ConformanceStream()
        let changes = try stream.changeBatches()
        let states = [State(id: 201, stream: nil, data: Array("cdc 1".utf8)), State(id: 202, stream: nil, data: Array("cdc 2".utf8))]
        return try await target.withPlugin { probe in
            try await probe.handshake()
            let request = WriteRequest(configJSON: config, catalog: stream.changeCatalog, sourceName: "plugin-host conformance")
            guard applies else {
                try await probe.send(.write(request))
                try await probe.send(.records(changes[1]))
                try await probe.send(.writeEnd)
                while let message = try await probe.next("Error{PROTOCOL, INVALID_MESSAGE}") {
                    switch message {
                    case .streamStatus, .progress: continue
                    case .error(let error) where error.category == .protocol && error.code == "INVALID_MESSAGE":
                        try await probe.expectSpec(after: "the refused Write")
                        try await probe.closeCleanly(after: "GetSpec")
                        return "without \(Feature.cdcApply): a TRUNCATE row → Error{PROTOCOL, INVALID_MESSAGE}; the session continued"
                    default:
                        throw ConformanceFailure("a destination without \(Feature.cdcApply) answered a TRUNCATE row with \(ConformanceText.name(message)), not Error{PROTOCOL, INVALID_MESSAGE}")
                    }
                }
                throw ConformanceFailure("the plugin ended its output before answering the TRUNCATE row")
            }
            let input: [HostMessage] = [.records(try stream.batch(0)), .state(states[0]), .records(changes[0]), .records(changes[1]), .state(states[1])]
            let acks = LockedBox<[StateAck]>([])
            probe.state.step = "writing a CDC stream and waiting for the Summary"
            _ = try await probe.client.write(request, input: Self.sequence(input)) { message in
                switch message {
                case .stateAck(let ack): acks.withLock { $0.append(ack) }
                case .streamStatus, .progress: break
                default: throw ConformanceFailure("\(ConformanceText.name(message)) arrived during a Write (§3.3)")
                }
            }
            try Self.verify(acks.withLock { $0 }, against: states)
            try await probe.closeCleanly(after: "the Write's Summary")
            return "CDC stream \(stream.id): an unchanged value, a delete, a TRUNCATE row; global States 201, 202 acknowledged in order"
        }
    }

    /// `write-postgres-rows` (§5.12): a destination with `postgres_rows` that lists a new stream
    /// of a `bigint` and a `text` column in the CommittedStates of a Write with a pipeline id
    /// takes a batch of it as PostgreSQL rows (UTF-8 text, a NULL, an empty string): a StateAck,
    /// then a Summary counting its 3 rows; in a new session, a batch whose tuple has another
    /// field count than the schema's columns is Error{PROTOCOL, INVALID_MESSAGE}, and the session
    /// continues. Skipped when the destination does not list the stream (its choice, rule 1).
    func writePostgresRows() async throws -> String {
        let stream = PostgresRowsStream()
        let pipeline = "sluice-conformance-\(String(UInt64.random(in: 0...UInt64.max), radix: 16))"
        let request = WriteRequest(configJSON: config, catalog: stream.catalog, sourceName: "plugin-host conformance", pipelineID: pipeline)
        let state = State(id: 301, stream: stream.id, data: Array("conformance postgres rows".utf8))
        let taken = try await target.withPlugin { probe in
            try await probe.handshake()
            guard case .committedStates(let committed) = try await probe.answer(to: .write(request), expecting: "CommittedStates") else {
                throw ConformanceFailure("the Write with a pipeline_id did not begin with CommittedStates (§8.1)")
            }
            let listed = committed.postgresRowsStreams.contains(stream.id)
            if listed {
                try await probe.send(.records(stream.batch))
                try await probe.send(.state(state))
            }
            try await probe.send(.writeEnd)
            var acks: [StateAck] = []
            while let message = try await probe.next("the Write's StateAck and Summary") {
                switch message {
                case .stateAck(let ack): acks.append(ack)
                case .streamStatus, .progress: continue
                case .summary(let summary):
                    guard listed else { return false }
                    try Self.verify(acks, against: [state])
                    let inserted = summary.streams.reduce(0) { $0 + $1.inserted }
                    guard inserted == 3 else {
                        throw ConformanceFailure("the Summary counts \(inserted) inserted rows; 3 PostgreSQL rows were sent in append mode")
                    }
                    try await probe.closeCleanly(after: "the Write's Summary")
                    return true
                case .error(let error):
                    throw ConformanceFailure("a batch of PostgreSQL rows for a stream the destination listed was refused: \(ConformanceText.error(error))")
                default:
                    throw ConformanceFailure("\(ConformanceText.name(message)) arrived during a Write (§3.3)")
                }
            }
            throw ConformanceFailure("the plugin ended its output before the Write's Summary")
        }
        guard taken else {
            throw ConformanceSkip("the destination did not list \(stream.id) (bigint, text) in postgres_rows_streams; which streams it takes is its choice (§5.12)")
        }
        try await target.withPlugin { probe in
            try await probe.handshake()
            try await Self.expectRefused(stream.brokenBatch, of: request, probe: probe,
                                         what: "a tuple of 1 field for 2 columns", accepted: "a tuple of 1 field for a stream of 2 columns")
        }
        return "\(stream.id): 3 PostgreSQL rows acknowledged (StateAck \(state.id)) and counted; a tuple of 1 field for 2 columns → Error{PROTOCOL, INVALID_MESSAGE}; the session continued"
    }

    /// Runs a Write of `pipeline` with `input` in a fresh session and returns its CommittedStates,
    /// which must be its first message.
    private func committedStates(_ pipeline: String, _ stream: ConformanceStream, input: [HostMessage]) async throws -> CommittedStates {
        try await target.withPlugin { probe in
            try await probe.handshake()
            let request = WriteRequest(configJSON: config, catalog: stream.catalog, sourceName: "plugin-host conformance", pipelineID: pipeline)
            let seen = LockedBox<[PluginMessage]>([])
            probe.state.step = "writing with pipeline_id \(pipeline) and waiting for the Summary"
            _ = try await probe.client.write(request, input: Self.sequence(input)) { message in
                switch message {
                case .committedStates, .stateAck, .streamStatus, .progress: seen.withLock { $0.append(message) }
                default: throw ConformanceFailure("\(ConformanceText.name(message)) arrived during a Write (§3.3)")
                }
            }
            try await probe.closeCleanly(after: "the Write's Summary")
            guard case .committedStates(let committed)? = seen.withLock({ $0.first }) else {
                throw ConformanceFailure("the Write with a pipeline_id did not begin with CommittedStates (§8.1)")
            }
            return committed
        }
    }

    private var request: WriteRequest {
        WriteRequest(configJSON: config, catalog: stream.catalog, sourceName: "plugin-host conformance")
    }

    /// One StateAck per State, in order, echoing its id and stream (§4.5).
    private static func verify(_ acks: [StateAck], against states: [State]) throws {
        let sent = states.map { String($0.id) }.joined(separator: ", ")
        let got = acks.map { String($0.id) }.joined(separator: ", ")
        guard acks.map(\.id) == states.map(\.id) else {
            throw ConformanceFailure("States \(sent) were acknowledged as [\(got)] before the Summary; expected each, in order")
        }
        for (ack, state) in zip(acks, states) where ack.stream != state.stream {
            let stream = ack.stream.map { "\($0)" } ?? "no stream"
            throw ConformanceFailure("StateAck \(ack.id) names \(stream), not the State's \(state.stream.map { "\($0)" } ?? "no stream")")
        }
    }

    /// `messages` as the async sequence ``PluginClient/write(_:input:onMessage:)`` sends.
    private static func sequence(_ messages: [HostMessage]) -> AsyncStream<HostMessage> {
        AsyncStream { continuation in
            for message in messages { continuation.yield(message) }
            continuation.finish()
        }
    }
}
