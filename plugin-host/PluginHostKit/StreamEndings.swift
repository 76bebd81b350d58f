import SluiceWire

/// Checks the rule of a State marked `stream_complete` (PROTOCOL.md §4.4 rule 3): only on a
/// stream's state, and nothing of the stream but Progress and its StreamStatus after it.
struct StreamEndings {
    private var ended: Set<StreamID> = []

    /// What is wrong with `state` arriving now, if anything; records a stream's last state.
    mutating func violation(_ state: State) -> String? {
        guard let stream = state.stream else {
            return state.streamComplete ? "a global State is marked stream_complete (only a stream's State may be)" : nil
        }
        if ended.contains(stream) { return "a State of \(stream) came after its State marked stream_complete" }
        if state.streamComplete { ended.insert(stream) }
        return nil
    }

    /// What is wrong with a RecordBatch of `stream` arriving now, if anything.
    func violation(batchOf stream: StreamID) -> String? {
        ended.contains(stream) ? "a RecordBatch of \(stream) came after its State marked stream_complete" : nil
    }
}
