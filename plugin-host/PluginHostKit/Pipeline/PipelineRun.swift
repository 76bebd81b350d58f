import Foundation
import SluiceSDK
import SluiceWire

/// The data path of a pipeline: the source's Read forwarded message by message into every
/// destination's Write, while each destination's replies (acknowledgements, summary) are read
/// concurrently. Nothing is buffered beyond the message in flight: each send is awaited, so the
/// slowest destination sets the pace.
struct PipelineRun: Sendable {
    let source: PluginSession
    let destinations: [PluginSession]
    let control: PipelineControl
    let acks: AckTracker
    /// For a source announcing `read_acks`: where acknowledged states go back to it.
    var readAcks: ReadAckRelay?

    /// How the calls ended.
    struct Outcome: Sendable {
        /// The source's Summary, when its Read succeeded.
        var source: Summary?
        /// Each destination's Summary, when its Write succeeded.
        var destinations: [Summary?]
        /// Records forwarded per stream, in the order the streams appeared.
        var forwarded: [(stream: StreamID, records: UInt64)]
    }

    private enum Finished: Sendable {
        case source(Summary?, [(stream: StreamID, records: UInt64)])
        case destination(Int, Summary?)
        case readAcks
    }

    /// The Writes, started: which are running, and what each destination reported committed
    /// (nil when it cannot report: no `committed_states` feature, or no pipeline id).
    struct StartedWrites: Sendable {
        var writing: [Bool]
        var committed: [CommittedStates?]
    }

    /// Starts every Write and reads each destination's ``CommittedStates`` (PROTOCOL.md §8.1).
    static func startWrites(_ writes: [WriteRequest], destinations: [PluginSession], control: PipelineControl) async -> StartedWrites {
        var started = StartedWrites(writing: Array(repeating: false, count: destinations.count),
                                    committed: Array(repeating: nil, count: destinations.count))
        for (index, destination) in destinations.enumerated() where !control.isStopped {
            let client = destination.client
            do {
                try await client.startWrite(writes[index])
                started.writing[index] = true
                guard !writes[index].pipelineID.isEmpty, client.helloReply.capabilities.has(Feature.committedStates) else { continue }
                guard case .committedStates(let committed)? = try await client.nextCallMessage() else {
                    throw HostError.protocolViolation("a destination announcing \(Feature.committedStates) did not begin the Write with CommittedStates")
                }
                started.committed[index] = committed
            } catch {
                // An Error from the plugin ended its Write.
                if case HostError.plugin = error { started.writing[index] = false }
                control.fail(error, origin: destination.launch.label, stderr: client.process.stderr)
            }
        }
        return started
    }

    /// Runs the Read into the started Writes, to their ends.
    func run(read: ReadRequest, writing: [Bool]) async -> Outcome {
        var outcome = Outcome(source: nil, destinations: Array(repeating: nil, count: destinations.count), forwarded: [])
        let started = writing
        await withTaskGroup(of: Finished.self) { group in
            for index in destinations.indices where started[index] {
                group.addTask { .destination(index, await drain(index)) }
            }
            if let readAcks {
                let client = source.client
                group.addTask {
                    await readAcks.run(to: client)
                    return .readAcks
                }
            }
            group.addTask {
                let (summary, forwarded) = await forward(read, writing: started)
                readAcks?.finish()
                return .source(summary, forwarded)
            }
            for await finished in group {
                switch finished {
                case .source(let summary, let forwarded):
                    outcome.source = summary
                    outcome.forwarded = forwarded
                case .destination(let index, let summary):
                    outcome.destinations[index] = summary
                case .readAcks:
                    continue
                }
            }
        }
        return outcome
    }

    // MARK: - Source to destinations

    /// Runs the Read, forwarding its schemas, batches and states; then ends every Write.
    private func forward(_ request: ReadRequest, writing: [Bool]) async -> (Summary?, [(stream: StreamID, records: UInt64)]) {
        var accepting = writing
        var counts = StreamCounts()
        var summary: Summary?
        if !control.isStopped {
            do {
                try await source.client.startRead(request)
                let postgresRows = Set(request.catalog.streams.filter(\.postgresRows).map(\.schema.stream))
                summary = await pump(&accepting, &counts, postgresRows: postgresRows)
            } catch {
                control.fail(error, origin: source.launch.label, stderr: source.client.process.stderr)
            }
        }
        await endWrites(writing)
        return (summary, counts.ordered)
    }

    /// Handles the Read's messages up to its final one; returns the Summary if it succeeded.
    /// `postgresRows`: the streams whose batches may carry PostgreSQL rows (PROTOCOL.md §5.12).
    private func pump(_ accepting: inout [Bool], _ counts: inout StreamCounts, postgresRows: Set<StreamID>) async -> Summary? {
        let report = ProgressReport()
        var progress = PipelineProgress()
        var schemas: [StreamID: StreamSchema] = [:]
        var endings = StreamEndings()
        do {
            while let received = try await source.client.nextReceivedCallMessage() {
                switch received.message {
                case .schema(let schema):
                    schemas[schema.stream] = schema
                    await broadcast(.schema(schema), &accepting)
                case .records(var batch):
                    guard let schema = schemas[batch.stream] else {
                        violation("a RecordBatch of \(batch.stream) came before its StreamSchema")
                        continue
                    }
                    if let problem = endings.violation(batchOf: batch.stream) {
                        violation(problem)
                        continue
                    }
                    if batch.carriesPostgresRows, !postgresRows.contains(batch.stream) {
                        violation(PostgresRowsRule.notAllowed(batch.stream))
                        continue
                    }
                    // PROTOCOL.md §5.10: a host reading a source rejects a batch that does not match.
                    do {
                        try batch.validate(against: schema)
                    } catch {
                        violation("invalid RecordBatch of \(batch.stream): \(error)")
                        continue
                    }
                    counts.add(batch.rowCount, to: batch.stream)
                    // The bytes just validated go on as they came; encoded again only when laid out otherwise.
                    await broadcast(.records(batch), encoded: received.forwardingPayload, &accepting)
                    if let board = Diagnostics.board {
                        board.add(batch.stream, records: UInt64(batch.rowCount))
                        board.committed(acks.committedRecords)
                    } else {
                        progress.tick(read: counts.total, committed: acks.committedRecords)
                    }
                case .state(let state):
                    if let problem = endings.violation(state) {
                        violation(problem)
                        continue
                    }
                    guard !control.isStopped else { continue }
                    let id = acks.forward(state, afterRecords: counts.total)
                    await broadcast(.state(State(id: id, stream: state.stream, data: state.data)), &accepting)
                case .streamStatus(let status):
                    report.status(status, from: source.launch.label)
                case .progress(let update):
                    // A CDC source's lag: the same slot behind every stream, shown once.
                    guard update.lagBytes > 0 else { continue }
                    if let board = Diagnostics.board {
                        board.sourceLag(update.lagBytes)
                    } else {
                        progress.sourceLag = update.lagBytes
                        progress.tick(read: counts.total, committed: acks.committedRecords)
                    }
                case .summary(let summary):
                    report.settle()
                    return summary
                case let message:
                    violation("unexpected \(message.name) during a Read")
                }
            }
            report.settle()
            violation("the Read ended without a Summary")
        } catch {
            report.settle(failure: error)
            control.fail(error, origin: source.launch.label, stderr: source.client.process.stderr)
        }
        return nil
    }

    /// A source message out of place: the pipeline stops, and the rest of the Read is drained.
    private func violation(_ reason: String) {
        control.fail(HostError.protocolViolation(reason), origin: source.launch.label, stderr: source.client.process.stderr)
    }

    /// Sends `message` to every destination still accepting input, concurrently (encoded once,
    /// or already `encoded`), and waits for every send. Nothing is sent once the pipeline
    /// stopped; a destination whose send fails is reported and sent nothing more.
    private func broadcast(_ message: HostMessage, encoded: FramePayload? = nil, _ accepting: inout [Bool]) async {
        guard !control.isStopped else { return }
        let targets = destinations.indices.filter { accepting[$0] }
        let payload = encoded ?? FramePayload(WireCodec.encode(message)), name = message.name
        if targets.count == 1, let index = targets.first {
            if let error = await send(payload, name, to: index) { refuse(index, error, &accepting) }
            return
        }
        let failures = await withTaskGroup(of: (Int, HostError?).self) { group in
            for index in targets { group.addTask { (index, await send(payload, name, to: index)) } }
            var failures: [(Int, HostError)] = []
            for await (index, error) in group { if let error { failures.append((index, error)) } }
            return failures
        }
        for (index, error) in failures { refuse(index, error, &accepting) }
    }

    private func send(_ payload: FramePayload, _ name: String, to index: Int) async -> HostError? {
        do {
            try await destinations[index].client.send(encoded: payload, name: name)
            return nil
        } catch {
            return error
        }
    }

    private func refuse(_ index: Int, _ error: HostError, _ accepting: inout [Bool]) {
        accepting[index] = false
        control.fail(error, origin: destinations[index].launch.label, stderr: destinations[index].client.process.stderr)
    }

    /// Closes every Write's input: WriteEnd, preceded by Cancel when the pipeline stopped (the
    /// destinations then roll back what they have not committed).
    private func endWrites(_ writing: [Bool]) async {
        for index in destinations.indices where writing[index] {
            let client = destinations[index].client
            if control.isStopped {
                try? await client.cancel()
                try? await client.send(.writeEnd)
            } else {
                do {
                    try await client.send(.writeEnd)
                } catch {
                    control.fail(error, origin: destinations[index].launch.label, stderr: client.process.stderr)
                }
            }
        }
    }

    // MARK: - Destination replies

    /// Reads one destination's replies up to its final message; returns its Summary if the
    /// Write succeeded. Acknowledgements may advance the state file.
    private func drain(_ index: Int) async -> Summary? {
        let destination = destinations[index]
        let report = ProgressReport()
        do {
            while let message = try await destination.client.nextCallMessage() {
                switch message {
                case .stateAck(let ack):
                    try acks.acknowledge(ack.id, by: index)
                case .streamStatus(let status):
                    report.status(status, from: destination.launch.label)
                case .progress:
                    continue
                case .summary(let summary):
                    report.settle()
                    return summary
                default:
                    throw HostError.protocolViolation("unexpected \(message.name) during a Write")
                }
            }
            throw HostError.protocolViolation("the Write ended without a Summary")
        } catch let failure as HostFailure {
            // The state file could not be written: the host itself failed.
            report.settle()
            control.fail(failure, origin: nil, stderr: nil)
        } catch {
            report.settle(failure: error)
            control.fail(error, origin: destination.launch.label, stderr: destination.client.process.stderr)
        }
        return nil
    }
}

/// Records forwarded per stream, in the order the streams first appeared.
private struct StreamCounts {
    private var index: [StreamID: Int] = [:]
    private(set) var ordered: [(stream: StreamID, records: UInt64)] = []
    private(set) var total: UInt64 = 0

    mutating func add(_ rows: Int, to stream: StreamID) {
        let position: Int
        if let known = index[stream] {
            position = known
        } else {
            position = ordered.count
            index[stream] = position
            ordered.append((stream, 0))
        }
        ordered[position].records += UInt64(rows)
        total += UInt64(rows)
    }
}

/// The pipeline's progress line on stderr, at most once every two seconds.
private struct PipelineProgress {
    private let started = Date()
    private var lastPrint = Date()
    /// The change log a CDC source holds back, once it reported it.
    var sourceLag: UInt64?

    mutating func tick(read: UInt64, committed: UInt64) {
        let now = Date()
        guard now.timeIntervalSince(lastPrint) >= 2 else { return }
        lastPrint = now
        let rate = Double(read) / max(now.timeIntervalSince(started), 0.001)
        var fields: [(String, JSONValue)] = [("records_read", .integer(read)), ("records_per_second", .number(String(format: "%.0f", rate))),
                                             ("records_committed", .integer(committed))]
        var line = String(format: "progress: %llu records read (%.0f records/s), %llu committed by every destination", read, rate, committed)
        if let sourceLag {
            line += ", source lag \(ProgressReport.bytes(sourceLag))"
            fields.append(("source_lag_bytes", .integer(sourceLag)))
        }
        Diagnostics.line(line, fields: fields)
    }
}
