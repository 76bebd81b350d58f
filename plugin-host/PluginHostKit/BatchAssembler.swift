import Foundation
import SluiceSDK
import SluiceWire

/// Turns JSON Lines (`{"_stream": "ns.name", "_op": "delete"|"truncate"?, "_unchanged": [names]?,
/// "column": value, …}`, PROTOCOL.md
/// Appendix A) into the Write input: record batches of at most `batchSize` rows per stream, cut
/// earlier so that each fits the session's maximum frame size, and a State after every
/// `stateEvery` batches whose data names the input line it covers. A row too large for any
/// frame stops the input, naming its line.
///
/// A bad line stops the input: the failure is kept in ``failure``, the Write is cancelled
/// (the destination rolls back what is not acknowledged) and the input ends.
final class BatchAssembler: @unchecked Sendable {
    private let reader: LineReader
    private let client: PluginClient
    /// The session's maximum frame size (`--max-frame-size`, or the default).
    private let maxFrameSize: Int
    private let stateEvery: Int
    private var rows: JSONLinesRowReader
    private var pending: [HostMessage] = []
    private var pendingIndex = 0
    private var batchesSinceState = 0
    private var nextStateID: UInt64 = 1
    private var finished = false
    private let stateLines = LockedBox<[UInt64: Int]>([:])
    private let failureBox = LockedBox<HostFailure?>(nil)

    /// Fails when two streams of `catalog` have the same `_stream` text (`a.b` + `c` and `a` + `b.c`).
    init(catalog: ConfiguredCatalog, reader: LineReader, client: PluginClient, batchSize: Int, stateEvery: Int, maxFrameSize: Int) throws {
        var names = Set<String>()
        for configured in catalog.streams where !names.insert(configured.schema.stream.description).inserted {
            throw HostFailure(ExitCodes.config, "the catalog has two streams written \"\(configured.schema.stream.description)\" in \"_stream\"; JSON Lines cannot tell them apart")
        }
        self.reader = reader
        self.client = client
        self.maxFrameSize = maxFrameSize
        self.stateEvery = stateEvery
        rows = JSONLinesRowReader(catalog: catalog, batchSize: batchSize)
    }

    /// Why the input stopped early, if it did.
    var failure: HostFailure? { failureBox.withLock { $0 } }

    /// The input line covered by the State with `id`.
    func line(coveredBy id: UInt64) -> Int? { stateLines.withLock { $0[id] } }

    /// The next message of the Write input, or nil at its end.
    func next() async throws -> HostMessage? {
        while pendingIndex == pending.count {
            pending.removeAll(keepingCapacity: true)
            pendingIndex = 0
            if finished { return nil }
            do {
                try readUntilBatch()
            } catch let failure as HostFailure {
                failureBox.withLock { $0 = failure }
                finished = true
                try await client.cancel()
                return nil
            }
        }
        defer { pendingIndex += 1 }
        return pending[pendingIndex]
    }

    /// Reads lines until at least one message is pending or the input ended.
    private func readUntilBatch() throws {
        while pending.isEmpty {
            guard let line = try reader.nextLine() else {
                for batch in rows.takeRemaining() { emit(batch, throughLine: reader.lineNumber) }
                finished = true
                return
            }
            let lineNumber = reader.lineNumber
            do throws(JSONLinesRowReader.Problem) {
                let cuts = try rows.append(reader.buffer, line, maxFrameSize: maxFrameSize)
                if let before = cuts.before { emit(before, throughLine: lineNumber - 1) }
                if let after = cuts.after { emit(after, throughLine: lineNumber) }
            } catch {
                throw HostFailure(ExitCodes.config, "input line \(lineNumber): \(error.message)")
            }
        }
    }

    /// Queues `batch`, which holds the input up to line `throughLine`.
    private func emit(_ batch: RecordBatch, throughLine line: Int) {
        pending.append(.records(batch))
        batchesSinceState += 1
        guard batchesSinceState >= stateEvery else { return }
        batchesSinceState = 0
        let id = nextStateID
        nextStateID += 1
        stateLines.withLock { $0[id] = line }
        pending.append(.state(State(id: id, stream: nil, data: Array(#"{"input_line":\#(line)}"#.utf8))))
    }
}

/// The Write input as the SDK takes it: an async sequence pulling from a ``BatchAssembler``,
/// so that the file is read only as fast as the plugin takes batches.
struct WriteInput: AsyncSequence, Sendable {
    typealias Element = HostMessage
    let assembler: BatchAssembler

    func makeAsyncIterator() -> Iterator { Iterator(assembler: assembler) }

    /// Pulls the next message from the assembler.
    struct Iterator: AsyncIteratorProtocol {
        let assembler: BatchAssembler

        mutating func next() async throws -> HostMessage? { try await assembler.next() }
    }
}
