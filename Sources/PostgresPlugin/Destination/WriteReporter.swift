import SluiceSDK
import SluiceWire

/// Tells the host how a Write goes: StreamStatus started when a stream's first schema or rows
/// arrive, Progress (rows and bytes committed) at most about once a second per stream, and at
/// the end a last Progress and complete, or incomplete with the failure.
final class WriteReporter {
    /// The shortest time between two Progress messages of one stream.
    static let interval: Duration = .seconds(1)

    private let output: WriteOutput
    private var started: [StreamID] = []
    private var lastProgress: [StreamID: ContinuousClock.Instant] = [:]

    init(output: WriteOutput) { self.output = output }

    /// Reports `stream` started, once.
    func started(_ stream: StreamID) async throws {
        guard !started.contains(stream) else { return }
        started.append(stream)
        lastProgress[stream] = .now
        try await output.status(StreamStatus(stream: stream, status: .started))
    }

    /// After a flush of `buffer` committed: Progress when the stream's last one is a second old.
    func committed(_ buffer: StreamBuffer) async throws {
        let now = ContinuousClock.now
        if let last = lastProgress[buffer.plan.stream], now - last < Self.interval { return }
        lastProgress[buffer.plan.stream] = now
        try await output.progress(progress(buffer))
    }

    /// The end of a successful Write: a last Progress and complete for every started stream.
    func complete(_ buffers: [StreamBuffer]) async throws {
        for buffer in buffers where started.contains(buffer.plan.stream) {
            try await output.progress(progress(buffer))
            try await output.status(StreamStatus(stream: buffer.plan.stream, status: .complete))
        }
    }

    /// A failed Write: every started stream is incomplete (best effort; the error follows).
    func incomplete(_ error: any Error) async {
        let reason = error is CancellationError ? "the write was cancelled; what was not committed is rolled back"
                                                : PluginErrors.describe(error)
        for stream in started {
            try? await output.status(StreamStatus(stream: stream, status: .incomplete, message: reason))
        }
    }

    private func progress(_ buffer: StreamBuffer) -> StreamProgress {
        StreamProgress(stream: buffer.plan.stream, records: UInt64(buffer.committedRows), bytes: buffer.committedBytes)
    }
}
