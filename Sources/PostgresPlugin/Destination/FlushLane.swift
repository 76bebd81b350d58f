import PostgresClient

/// One of the Write's connections (`max_connections`): the streams assigned to it are flushed
/// on it in order, one transaction at a time, while other lanes flush other streams.
final class FlushLane {
    /// Opened at the lane's first flush (lane 0's at the start of the call).
    var connection: PostgresConnection?
    /// The flush whose transaction runs now; nothing else uses the connection meanwhile.
    var inFlight: InFlight?
    /// Staging tables that exist on `connection`.
    var stagingReady: Set<String> = []
    /// Cancels the transaction tasks when the Write is cancelled.
    let cancellation: FlushCancellation

    /// A started flush, with what the session records once it commits.
    struct InFlight {
        var flush: Flush
        var buffer: StreamBuffer
        var bytes: Int
        var task: Task<FlushResult, any Error>
    }

    init(connection: PostgresConnection? = nil, cancellation: FlushCancellation) {
        self.connection = connection
        self.cancellation = cancellation
    }

    /// Starts `flush`'s transaction on `connection` as the lane's flush in flight.
    func start(_ flush: Flush, buffer: StreamBuffer, bytes: Int, on connection: PostgresConnection) {
        inFlight = InFlight(flush: flush, buffer: buffer, bytes: bytes, task: transaction(flush, on: connection))
    }

    /// Starts `flush`'s transaction on `connection` without waiting for it.
    func transaction(_ flush: Flush, on connection: PostgresConnection) -> Task<FlushResult, any Error> {
        let ready = stagingReady.contains(flush.plan.staging)
        return cancellation.start(lane: ObjectIdentifier(self)) { try await flush.run(on: connection, stagingReady: ready) }
    }
}
