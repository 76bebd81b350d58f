/// A bounded hand-off of COPY chunks from the connection reading them to the task decoding
/// them, so the server keeps streaming while a batch is decoded and sent. One producer, one
/// consumer; the producer waits while `capacity` chunks are queued.
actor ChunkQueue {
    private let capacity: Int
    private var chunks: [[UInt8]] = []
    private var ended = false
    private var failure: Error?
    private var closed = false
    private var consumer: CheckedContinuation<Void, Never>?
    private var producer: CheckedContinuation<Void, Never>?

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Queues `chunk`, waiting for room; throws once the consumer stopped or the task is cancelled.
    func push(_ chunk: [UInt8]) async throws {
        try Task.checkCancellation()
        while chunks.count >= capacity && !closed {
            await withCheckedContinuation { producer = $0 }
        }
        if closed { throw CancellationError() }
        chunks.append(chunk)
        consumer?.resume()
        consumer = nil
    }

    /// No more chunks: the COPY ended, or failed with `error`.
    func finish(_ error: Error?) {
        ended = true
        failure = error
        consumer?.resume()
        consumer = nil
    }

    /// The next chunk; nil after the last one; throws the producer's failure.
    func next() async throws -> [UInt8]? {
        while chunks.isEmpty && !ended {
            await withCheckedContinuation { consumer = $0 }
        }
        if !chunks.isEmpty {
            let chunk = chunks.removeFirst()
            producer?.resume()
            producer = nil
            return chunk
        }
        if let failure { throw failure }
        return nil
    }

    /// The consumer stopped: a waiting or later `push` throws.
    func close() {
        closed = true
        producer?.resume()
        producer = nil
    }
}
