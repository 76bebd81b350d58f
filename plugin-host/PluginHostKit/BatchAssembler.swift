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
    private let batchSize: Int
    /// The session's maximum frame size (`--max-frame-size`, or the default).
    private let maxFrameSize: Int
    /// The largest batch that fits a frame: the frame less the HostMessage tag and length.
    private var maxBatchBytes: Int { maxFrameSize - 16 }
    private let stateEvery: Int
    private var streams: [StreamRows]
    /// Each stream's key: its `key_columns`, else its primary key.
    private let keys: [[String]]
    private let streamIndex: [String: Int]
    private var row: [Value] = []
    /// Rows parsed so far, and for each column of the current stream the row that last set it.
    private var rowsAssembled = 0
    private var columnSeen: [Int] = []
    private var pending: [HostMessage] = []
    private var pendingIndex = 0
    private var batchesSinceState = 0
    private var nextStateID: UInt64 = 1
    private var finished = false
    private let stateLines = LockedValue<[UInt64: Int]>([:])
    private let failureBox = LockedValue<HostFailure?>(nil)

    /// Fails when two streams of `catalog` have the same `_stream` text (`a.b` + `c` and `a` + `b.c`).
    init(catalog: ConfiguredCatalog, reader: LineReader, client: PluginClient, batchSize: Int, stateEvery: Int, maxFrameSize: Int) throws {
        var names = Set<String>()
        for configured in catalog.streams where !names.insert(configured.schema.stream.description).inserted {
            throw HostFailure(ExitCodes.config, "the catalog has two streams written \"\(configured.schema.stream.description)\" in \"_stream\"; JSON Lines cannot tell them apart")
        }
        self.reader = reader
        self.client = client
        self.batchSize = batchSize
        self.maxFrameSize = maxFrameSize
        self.stateEvery = stateEvery
        streams = catalog.streams.map { StreamRows(schema: $0.schema, capacity: min(batchSize, 65536)) }
        keys = catalog.streams.map { $0.keyColumns.isEmpty ? $0.schema.primaryKey : $0.keyColumns }
        streamIndex = Dictionary(uniqueKeysWithValues: catalog.streams.enumerated().map { ($0.element.schema.stream.description, $0.offset) })
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
                for index in streams.indices where streams[index].count > 0 { emitBatch(index, throughLine: reader.lineNumber) }
                finished = true
                return
            }
            if reader.buffer[line].allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            let index = try appendRow(line)
            if streams[index].count >= batchSize { emitBatch(index, throughLine: reader.lineNumber) }
        }
    }

    /// Queues the rows of stream `index`, which hold the input up to line `throughLine`.
    private func emitBatch(_ index: Int, throughLine line: Int) {
        pending.append(.records(streams[index].takeBatch()))
        batchesSinceState += 1
        guard batchesSinceState >= stateEvery else { return }
        batchesSinceState = 0
        let id = nextStateID
        nextStateID += 1
        stateLines.withLock { $0[id] = line }
        pending.append(.state(State(id: id, stream: nil, data: Array(#"{"input_line":\#(line)}"#.utf8))))
    }

    /// Parses one line into the rows of its stream; returns the stream's index.
    private func appendRow(_ range: Range<Int>) throws -> Int {
        let lineNumber = reader.lineNumber
        func bad(_ message: String) -> HostFailure {
            HostFailure(ExitCodes.config, "input line \(lineNumber): \(message)")
        }
        let object: [(key: String, value: JSONValue)]
        do {
            guard let members = try JSONParser.parse(reader.buffer, range: range).objectMembers else {
                throw bad("expected a JSON object")
            }
            object = members
        } catch let error as JSONParseError {
            throw bad("invalid JSON: \(error)")
        }
        guard let streamName = object.first(where: { $0.key == JSONLinesKeys.stream })?.value.stringValue else {
            throw bad("missing \"_stream\" (the stream's \"namespace.name\")")
        }
        guard let index = streamIndex[streamName] else {
            throw bad("stream \"\(streamName)\" is not in the catalog")
        }
        var operation = RowOperation.upsert
        var unchanged: [Int] = []
        let columns = streams[index].columnIndex
        let names = streams[index].columnNames
        let width = names.count
        if row.count == width {
            for position in row.indices { row[position] = .null }
        } else {
            row = [Value](repeating: .null, count: width)
        }
        // Duplicate keys, found without hashing each: a column's by the row it was last set in
        // (a key names one column, or is one of the three metadata keys).
        rowsAssembled += 1
        if columnSeen.count < width { columnSeen = [Int](repeating: 0, count: width) }
        var metadataSeen: (stream: Bool, operation: Bool, unchanged: Bool) = (false, false, false)
        func once(_ seen: inout Bool, _ key: String) throws {
            if seen { throw bad("\"\(key)\" appears twice") }
            seen = true
        }
        for (position, member) in object.enumerated() {
            let column: Int
            if member.key.utf8.first != UInt8(ascii: "_") {
                // A plain column's key is its name, mostly at its own position (as `read` writes them).
                let guess = position - 1
                guard let found = guess >= 0 && guess < width && names[guess] == member.key ? guess : columns[member.key] else {
                    throw bad("stream \(streamName) has no column \"\(member.key)\"")
                }
                column = found
            } else {
                switch member.key {
                case JSONLinesKeys.stream:
                    try once(&metadataSeen.stream, member.key)
                    continue
                case JSONLinesKeys.operation:
                    try once(&metadataSeen.operation, member.key)
                    switch member.value.stringValue {
                    case "delete": operation = .delete
                    case "upsert": operation = .upsert
                    case "truncate": operation = .truncate
                    default: throw bad("\"_op\" must be \"upsert\", \"delete\" or \"truncate\"")
                    }
                    continue
                case JSONLinesKeys.unchanged:
                    try once(&metadataSeen.unchanged, member.key)
                    guard let unchangedNames = member.value.arrayElements?.map(\.stringValue), !unchangedNames.contains(nil) else {
                        throw bad("\"_unchanged\" must be an array of column names")
                    }
                    for case let name? in unchangedNames {
                        guard let column = columns[name] else { throw bad("\"_unchanged\": stream \(streamName) has no column \"\(name)\"") }
                        guard !unchanged.contains(column) else { throw bad("\"_unchanged\" names \"\(name)\" twice") }
                        unchanged.append(column)
                    }
                    continue
                default:
                    guard let name = JSONLinesKeys.column(forKey: member.key), let found = columns[name] else {
                        throw bad("stream \(streamName) has no column \"\(member.key)\"")
                    }
                    column = found
                }
            }
            guard columnSeen[column] != rowsAssembled else { throw bad("\"\(member.key)\" appears twice") }
            columnSeen[column] = rowsAssembled
            do {
                row[column] = try ValueFromJSON.value(member.value, type: streams[index].schema.columns[column].type)
            } catch {
                throw bad("column \"\(names[column])\": \(error.message)")
            }
        }
        if let problem = StreamRows.changeProblem(row, operation: operation, unchanged: unchanged, schema: streams[index].schema, key: keys[index]) {
            throw bad(problem)
        }
        let bytes = StreamRows.encodedBytes(of: row)
        guard streams[index].overheadBytes + bytes <= maxBatchBytes else {
            throw bad("the row needs up to \(streams[index].overheadBytes + bytes) bytes encoded, over the maximum frame size of \(maxFrameSize) bytes; raise --max-frame-size")
        }
        if streams[index].count > 0, streams[index].overheadBytes + streams[index].valueBytes + bytes > maxBatchBytes {
            emitBatch(index, throughLine: lineNumber - 1)
        }
        do {
            try streams[index].append(row, operation: operation, unchanged: unchanged, bytes: bytes)
        } catch {
            throw bad(error.message)
        }
        return index
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
