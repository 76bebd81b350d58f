import Foundation
import SluiceWire

/// The host's ``SluiceWire/ReadAck``s of one Read, for a source announcing
/// ``SluiceWire/Feature/readAcks`` (PROTOCOL.md §8.2): which of the states it sent every
/// destination has committed.
///
/// Only ids of states this Read sent through ``ReadOutput/checkpoint(_:)`` count, each at most
/// once and in order: an acknowledgement of an unknown id, or of a state older than the latest
/// acknowledged, is ignored, as the protocol asks. A source must not rely on receiving any (a
/// bounded run may end first); it confirms from the states of its next Read instead.
public final class ReadAcknowledgements: @unchecked Sendable {
    private let lock = NSLock()
    private let tracking: Bool
    /// Ids sent and not acknowledged yet, ascending.
    private var pending: [UInt64] = []
    private var pendingStart = 0
    private var latestValue: UInt64?
    private let continuation: AsyncStream<UInt64>.Continuation

    /// Each newly acknowledged state id, newest kept when the consumer lags behind; finishes
    /// when the Read ends. Iterate it from one task only.
    public let updates: AsyncStream<UInt64>

    /// Acknowledgements that count only when `tracking` (the plugin announces the feature).
    init(tracking: Bool) {
        self.tracking = tracking
        (updates, continuation) = AsyncStream.makeStream(of: UInt64.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// The id of the newest state every destination committed, `nil` before the first.
    public var latest: UInt64? { lock.withLock { latestValue } }

    /// Notes that the Read sent a state with `id` (before the frame leaves, so no ack overtakes it).
    func noteSent(_ id: UInt64) {
        guard tracking else { return }
        lock.withLock {
            // Ids increase within a Read; one that does not is the source's bug, never acknowledgeable.
            if let last = pending.last, id <= last { return }
            if let latestValue, id <= latestValue { return }
            pending.append(id)
        }
    }

    /// Takes the host's acknowledgement of `id`; ignored unless `id` is a pending state id.
    func acknowledge(_ id: UInt64) {
        let accepted: Bool = lock.withLock {
            guard tracking, let index = pending[pendingStart...].firstIndex(of: id) else { return false }
            pendingStart = index + 1
            if pendingStart > 1024 && pendingStart * 2 > pending.count {
                pending.removeFirst(pendingStart)
                pendingStart = 0
            }
            latestValue = id
            return true
        }
        if accepted { continuation.yield(id) }
    }

    /// The Read ended: later acknowledgements are out of place.
    func finish() {
        lock.withLock {
            pending = []
            pendingStart = 0
        }
        continuation.finish()
    }
}
