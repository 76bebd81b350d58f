import SluiceSDK
import SluiceWire

/// Tells a source announcing `read_acks` which of its states every destination committed
/// (PROTOCOL.md §8.2): ``AckTracker`` reports each advance, the relay sends it as a ReadAck,
/// in increasing order, the newest only when several wait, until the Read ends.
final class ReadAckRelay: Sendable {
    private let updates: AsyncStream<UInt64>
    private let continuation: AsyncStream<UInt64>.Continuation

    init() {
        (updates, continuation) = AsyncStream.makeStream(of: UInt64.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// The source state `id` is committed by every destination.
    func covered(_ id: UInt64) { continuation.yield(id) }

    /// The Read ended: later acknowledgements are not sent (the source confirms them from the
    /// states of its next Read).
    func finish() { continuation.finish() }

    /// Sends the ReadAcks to `source` until ``finish()``. A failed send is left to the Read,
    /// which reports the source's failure.
    func run(to source: PluginClient) async {
        var last: UInt64?
        for await id in updates where last.map({ id > $0 }) ?? true {
            last = id
            try? await source.send(.readAck(ReadAck(stateID: id)))
        }
    }
}
