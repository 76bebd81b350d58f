import SluiceWire

/// The messages of one Read, checked as they arrive against §4.4's rules: a StreamSchema
/// before a stream's first RecordBatch, every batch valid for the latest schema (§5.10), State
/// ids increasing, nothing of a stream after its State marked `stream_complete` but Progress and
/// its StreamStatus, StreamStatus STARTED before COMPLETE, and one Summary whose record counts
/// are the rows received.
struct ReadTranscript {
    /// The stream the Read asked for.
    let stream: StreamID
    /// The configured row limit (0 = none).
    let limit: UInt64
    private var schemas: [StreamID: StreamSchema] = [:]
    private var started = false
    private var completed = false
    private var lastStateID: UInt64?
    private var endings = StreamEndings()
    private var rows: UInt64 = 0
    private var batches = 0
    private var states = 0

    init(stream: StreamID, limit: UInt64) {
        self.stream = stream
        self.limit = limit
    }

    /// Takes the call's next message (Log aside); returns the Summary that ends it.
    mutating func take(_ message: PluginMessage) throws -> Summary? {
        switch message {
        case .schema(let schema):
            try requireRequested(schema.stream, "StreamSchema")
            schemas[schema.stream] = schema
        case .records(var batch):
            try requireRequested(batch.stream, "RecordBatch")
            guard let schema = schemas[batch.stream] else {
                throw ConformanceFailure("a RecordBatch of \(batch.stream) came before its StreamSchema (§4.4 rule 1)")
            }
            do {
                try batch.validate(against: schema)
            } catch {
                throw ConformanceFailure("RecordBatch \(batches + 1) does not match its StreamSchema (§5.10): \(error)")
            }
            if let problem = endings.violation(batchOf: batch.stream) { throw ConformanceFailure(problem + " (§4.4 rule 3)") }
            if batch.carriesPostgresRows { throw ConformanceFailure(PostgresRowsRule.notAllowed(batch.stream)) }
            batches += 1
            rows += UInt64(batch.rowCount)
        case .state(let state):
            if let lastStateID, state.id <= lastStateID {
                throw ConformanceFailure("State id \(state.id) follows State id \(lastStateID): ids must increase (§4.4 rule 3)")
            }
            lastStateID = state.id
            if let problem = endings.violation(state) { throw ConformanceFailure(problem + " (§4.4 rule 3)") }
            states += 1
        case .streamStatus(let status):
            try requireRequested(status.stream, "StreamStatus")
            try take(status)
        case .progress:
            break
        case .summary(let summary):
            return summary
        case .error(let error):
            throw ConformanceFailure("the Read failed: \(ConformanceText.error(error))")
        default:
            throw ConformanceFailure("\(message.name) arrived during a Read (§3.3)")
        }
        return nil
    }

    /// Checks the Summary against what arrived; returns a description of the Read.
    func verify(_ summary: Summary) throws -> String {
        guard completed else {
            throw ConformanceFailure("the Read ended without StreamStatus COMPLETE for \(stream) (§4.4 rule 4)")
        }
        guard let counts = summary.streams.first(where: { $0.stream == stream }) else {
            throw ConformanceFailure("the Summary has no counts for \(stream) (§4.4 rule 5)")
        }
        guard counts.records == rows else {
            throw ConformanceFailure("the Summary counts \(counts.records) records for \(stream); \(rows) rows arrived")
        }
        if limit > 0, rows > limit {
            throw ConformanceFailure("\(rows) rows arrived for a limit of \(limit) (ConfiguredStream.limit, §4.4)")
        }
        return "\(stream): \(ConformanceText.count(rows, "row")) in \(ConformanceText.count(batches, "batch", "batches")), "
            + "\(ConformanceText.count(states, "state")), Summary \(ConformanceText.count(counts.records, "record"))"
    }

    private mutating func take(_ status: StreamStatus) throws {
        switch status.status {
        case .started:
            started = true
        case .complete:
            guard started else { throw ConformanceFailure("StreamStatus COMPLETE came before STARTED for \(stream) (§4.4 rule 4)") }
            completed = true
        case .incomplete:
            throw ConformanceFailure("StreamStatus INCOMPLETE for \(stream) in a successful Read: \(status.message)")
        case .unspecified:
            throw ConformanceFailure("a StreamStatus without a status for \(stream)")
        }
    }

    private func requireRequested(_ id: StreamID, _ what: String) throws {
        guard id == stream else {
            throw ConformanceFailure("a \(what) of \(id) arrived; the Read asked only for \(stream)")
        }
    }
}
