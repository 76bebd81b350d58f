/// When a Read sends a state between batches (`checkpoint_interval`, `checkpoint_bytes`): once
/// either much time has passed or that many bytes of rows were sent since the last state. A
/// state covers every batch sent before it, so the states left out lose nothing: they only
/// make resume points (and a destination's commits) fewer.
struct CheckpointPolicy: Sendable {
    /// Seconds; 0 sends a state after every batch.
    var interval: Double
    /// Bytes of rows (as counted for `batch_size_bytes`); 0 sends a state after every batch.
    var bytes: Int

    static let defaultInterval = 1.0
    static let defaultBytes = 64 << 20

    /// Whether a state follows the batch just sent, `elapsed` seconds and `sentBytes` after the last state.
    func due(elapsed: Double, sentBytes: Int) -> Bool {
        interval == 0 || bytes == 0 || elapsed >= interval || sentBytes >= bytes
    }
}
