import SluiceSDK
import SluiceWire

/// The source states of a pipeline between the destinations and the state file (PROTOCOL.md §8):
/// each source `State` is forwarded under a fresh id, and becomes the stream's saved state only
/// once every destination acknowledged that id (an acknowledgement covers the earlier ids too).
final class AckTracker: Sendable {
    private struct Forwarded {
        var id: UInt64
        var state: State
        /// Records forwarded before it, all streams.
        var records: UInt64
    }

    private struct Book {
        var nextID: UInt64
        /// The first id of this run.
        let firstID: UInt64
        /// Forwarded states not yet acknowledged by every destination, in order.
        var waiting: [Forwarded] = []
        /// The highest id each destination acknowledged.
        var acknowledged: [UInt64]
        var latest: [StreamID?: State] = [:]
        var order: [StreamID?] = []
        var committedRecords: UInt64 = 0
        var statesSaved = 0
    }

    private let book: LockedBox<Book>
    private let path: String?
    /// Called, in order and under the tracker's lock, with the id of the newest source state
    /// every destination has acknowledged, each time it advances (ReadAck, PROTOCOL.md §8.2).
    private let onCovered: @Sendable (UInt64) -> Void

    /// Tracks states for `destinations` destinations, saving them to `path` (if any) on top of
    /// the `previous` states; forwarded states get ids from `firstID` on.
    init(path: String?, previous: [State], destinations: Int, firstID: UInt64 = 1,
         onCovered: @escaping @Sendable (UInt64) -> Void = { _ in }) {
        var book = Book(nextID: firstID, firstID: firstID, acknowledged: Array(repeating: firstID - 1, count: destinations))
        for state in previous { Self.keep(state, in: &book) }
        self.book = LockedBox(book)
        self.path = path
        self.onCovered = onCovered
    }

    /// Takes a source state forwarded after `records` records; returns the id to forward it with.
    func forward(_ state: State, afterRecords records: UInt64) -> UInt64 {
        book.withLock { book in
            let id = book.nextID
            book.nextID += 1
            book.waiting.append(Forwarded(id: id, state: state, records: records))
            return id
        }
    }

    /// Records that `destination` acknowledged `id`, and saves the states every destination has
    /// now acknowledged. Throws a protocol violation for an id never forwarded, and an I/O
    /// failure when the state file cannot be written.
    func acknowledge(_ id: UInt64, by destination: Int) throws {
        try book.withLock { book in
            guard id < book.nextID, id >= book.firstID else {
                throw HostError.protocolViolation("StateAck for state \(id), which was never sent")
            }
            book.acknowledged[destination] = max(book.acknowledged[destination], id)
            let everywhere = book.acknowledged.min() ?? 0
            let covered = book.waiting.prefix { $0.id <= everywhere }
            guard let last = covered.last else { return }
            for forwarded in covered { Self.keep(forwarded.state, in: &book) }
            book.committedRecords = last.records
            book.waiting.removeFirst(covered.count)
            if let path {
                try StateFile.save(book.order.compactMap { book.latest[$0] }, to: path)
                book.statesSaved += 1
            }
            onCovered(last.state.id)
        }
    }

    /// Saves the states the run resumes from when a destination's committed state differs from
    /// `saved` (the file's): a destination can commit past the state the host saved before the
    /// host hears it acknowledged, and the file should say where the next run really resumes.
    func saveResumePoints(differingFrom saved: [State]) throws {
        try book.withLock { book in
            guard let path else { return }
            let resumed = book.order.compactMap { book.latest[$0] }
            guard Self.contents(resumed) != Self.contents(saved) else { return }
            try StateFile.save(resumed, to: path)
            book.statesSaved += 1
        }
    }

    /// Each stream's state data, ignoring the ids states are forwarded with.
    private static func contents(_ states: [State]) -> [StreamID?: [UInt8]] {
        Dictionary(states.map { ($0.stream, $0.data) }, uniquingKeysWith: { _, last in last })
    }

    /// Records forwarded before the last state every destination acknowledged.
    var committedRecords: UInt64 { book.withLock { $0.committedRecords } }

    /// The latest state of each stream (and the global one) that every destination acknowledged,
    /// on top of the previous ones: where a retry resumes.
    var savedStates: [State] { book.withLock { book in book.order.compactMap { book.latest[$0] } } }

    /// How many times the state file was written.
    var statesSaved: Int { book.withLock { $0.statesSaved } }

    private static func keep(_ state: State, in book: inout Book) {
        if book.latest.updateValue(state, forKey: state.stream) == nil { book.order.append(state.stream) }
    }
}
