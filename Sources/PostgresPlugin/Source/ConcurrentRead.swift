import PostgresClient
import SluiceWire

/// Reads several streams on several connections that share one snapshot, as `pg_dump -j` and
/// pgcopydb do: each connection takes the next range of a stream already open, else opens the
/// next stream (its schema, its ranges), so small streams are read side by side and a large one
/// by every connection at once. A stream ends (its final state, COMPLETE) once its last range is
/// read; streams open in catalog order.
struct ConcurrentRead {
    let readers: [StreamReader]
    /// Every connection in the read's snapshot, the first the one its transaction began on.
    let connections: [PostgresConnection]

    /// Reads every stream; returns their counts in the order of `readers`. The first failure
    /// cancels the other connections' statements and is thrown, mapped to its stream; every
    /// stream a failure or a cancellation stopped is reported INCOMPLETE.
    func run() async throws -> [StreamSummary] {
        let schedule = ReadSchedule(streams: readers.count)
        let connections = connections
        return try await withThrowingTaskGroup(of: [(Int, StreamSummary)].self) { group in
            for connection in connections {
                group.addTask { try await work(on: connection, schedule: schedule) }
            }
            var summaries = [StreamSummary?](repeating: nil, count: readers.count)
            var failure: (any Error)?
            while let result = await group.nextResult() {
                switch result {
                case .success(let finished):
                    for (index, summary) in finished { summaries[index] = summary }
                case .failure(let error):
                    // The first is the cause: the others fail once cancelled because of it.
                    guard failure == nil else { continue }
                    failure = error
                    await schedule.stop()
                    group.cancelAll()
                    for connection in connections { connection.cancel() }
                }
            }
            if let failure { throw failure }
            return summaries.compactMap { $0 }
        }
    }

    /// One connection's loop: opens and reads what the schedule hands it; returns the streams it
    /// ended.
    private func work(on connection: PostgresConnection, schedule: ReadSchedule) async throws -> [(Int, StreamSummary)] {
        var finished: [(Int, StreamSummary)] = []
        while let next = await schedule.next() {
            let reader = readers[next.stream]
            do {
                try Task.checkCancellation()
                switch next.work {
                case .open:
                    let (sink, segments) = try await reader.open(on: connection, connections: connections.count)
                    if await schedule.opened(next.stream, sink: sink, segments: segments) {
                        finished.append((next.stream, try await reader.close(sink)))
                    }
                case .segment(let segment, let sink):
                    try await reader.readSegment(connection, segment: segment, sink: sink)
                    if await schedule.segmentDone(next.stream) {
                        finished.append((next.stream, try await reader.close(sink)))
                    }
                }
            } catch {
                let mapped = PluginErrors.map(error, stream: reader.plan.stream, otherCode: "READ_FAILED")
                try? await reader.output.status(StreamStatus(stream: reader.plan.stream, status: .incomplete,
                                                             message: PluginErrors.incompleteRead(mapped)))
                throw mapped
            }
        }
        return finished
    }
}

/// What each connection of a ``ConcurrentRead`` does next: a range of an open stream first (in
/// the order they were opened), else the next stream to open; a connection with neither waits
/// while a stream is being opened, since it may bring ranges.
actor ReadSchedule {
    /// A connection's next piece of work, for stream `stream`.
    struct Next {
        enum Work {
            case open
            case segment(Segment, BatchSink)
        }

        var stream: Int
        var work: Work
    }

    private let streams: Int
    private var nextStream = 0
    private var opening = 0
    private var pending: [(stream: Int, segment: Segment, sink: BatchSink)] = []
    private var unread: [Int: Int] = [:]
    private var waiting: [CheckedContinuation<Void, Never>] = []
    private var stopped = false

    init(streams: Int) { self.streams = streams }

    /// The next piece of work; nil once there is none left (or the read stopped).
    func next() async -> Next? {
        while !stopped {
            if !pending.isEmpty {
                let first = pending.removeFirst()
                return Next(stream: first.stream, work: .segment(first.segment, first.sink))
            }
            if nextStream < streams {
                nextStream += 1
                opening += 1
                return Next(stream: nextStream - 1, work: .open)
            }
            guard opening > 0 else { return nil }
            await withCheckedContinuation { waiting.append($0) }
        }
        return nil
    }

    /// Records the ranges of stream `stream`, just opened; true when it has none left to read
    /// (a resumed stream whose ranges were all read), so the caller ends it.
    func opened(_ stream: Int, sink: BatchSink, segments: [Segment]) -> Bool {
        opening -= 1
        pending += segments.map { (stream, $0, sink) }
        unread[stream] = segments.count
        wake()
        return segments.isEmpty
    }

    /// Records a range of stream `stream` as read; true when it was the stream's last.
    func segmentDone(_ stream: Int) -> Bool {
        let left = (unread[stream] ?? 1) - 1
        unread[stream] = left
        return left == 0
    }

    /// Hands out nothing more (a connection failed).
    func stop() {
        stopped = true
        wake()
    }

    private func wake() {
        let resumed = waiting
        waiting.removeAll()
        for continuation in resumed { continuation.resume() }
    }
}
