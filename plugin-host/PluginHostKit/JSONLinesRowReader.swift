import SluiceWire

/// Reads JSON Lines rows (`{"_stream": "ns.name", "_op": "delete"|"truncate"?, "_unchanged":
/// [names]?, "column": value, …}`, PROTOCOL.md Appendix A) into the rows of their streams, in
/// two steps so that a batch can be cut before a row that would overflow its frame:
/// ``prepare(_:_:maxBatchBytes:)`` finds the row's stream and an upper bound of its encoded
/// size, ``commit(_:)`` appends it.
///
/// Rows as `read` writes them (`_stream` first, then columns, no `_op` or `_unchanged`) take a
/// fast path: one scan of the bytes (``JSONLineScanner``), then each value straight into its
/// column (``ColumnTokenReader``). Every other row, and every line the scan refuses, is parsed
/// into ``JSONValue``s, which also gives the refused line's message. Both paths read values by
/// ``ValueFromJSON``'s rules.
struct JSONLinesRowReader {
    /// Why a row is refused (the caller names its line).
    struct Problem: Error {
        var message: String
    }

    private(set) var streams: [StreamRows]
    /// Each stream's key: its `key_columns`, else its primary key.
    private let keys: [[String]]
    private let streamIndex: [String: Int]
    /// Each stream's `_stream` text and its columns' member names, as UTF-8.
    private let streamNames: [[UInt8]]
    private let memberNames: [[[UInt8]]]
    /// Each stream's columns' types.
    private let columnTypes: [[LogicalType]]
    /// Whether rows take the fast path (tests turn it off to compare both).
    private let fastPath: Bool

    private var scanner = JSONLineScanner()
    private var prepared = Prepared.nothing
    /// For the fast path: each member's column (the first member, `_stream`, left out).
    private var memberColumns: [Int] = []
    /// Rows prepared so far, and for each column the row that last set it (duplicate keys are
    /// found without hashing).
    private var rowsPrepared = 0
    private var columnSeen: [Int] = []
    private var lastStream = 0
    /// The most rows a batch holds.
    private let batchSize: Int

    private enum Prepared {
        case nothing
        case scanned(stream: Int, bytes: Int)
        case parsed(stream: Int, row: [Value], operation: RowOperation, unchanged: [Int], bytes: Int)
    }

    private static let streamMember = Array(JSONLinesKeys.stream.utf8)

    /// Reads rows of the streams of `catalog`, into batches of up to `batchSize` rows.
    init(catalog: ConfiguredCatalog, batchSize: Int, fastPath: Bool = true) {
        self.batchSize = batchSize
        streams = catalog.streams.map { StreamRows(schema: $0.schema, capacity: min(batchSize, 65536)) }
        keys = catalog.streams.map { $0.keyColumns.isEmpty ? $0.schema.primaryKey : $0.keyColumns }
        streamIndex = Dictionary(catalog.streams.enumerated().map { ($0.element.schema.stream.description, $0.offset) }) { first, _ in first }
        streamNames = catalog.streams.map { Array($0.schema.stream.description.utf8) }
        memberNames = catalog.streams.map { $0.schema.columns.map { Array(JSONLinesKeys.key(forColumn: $0.name).utf8) } }
        columnTypes = catalog.streams.map { $0.schema.columns.map(\.type) }
        self.fastPath = fastPath
    }

    /// Reads the row in `bytes[range]`; returns its stream and an upper bound of the bytes it
    /// adds to a batch (``StreamRows/encodedBytes(of:)``). A fast-path row whose bound would
    /// not fit `maxBatchBytes` is parsed instead, for its exact size.
    mutating func prepare(_ bytes: [UInt8], _ range: Range<Int>, maxBatchBytes: Int) throws(Problem) -> (stream: Int, bytes: Int) {
        if fastPath, let (stream, bound) = scan(bytes, range), streams[stream].overheadBytes + bound <= maxBatchBytes {
            prepared = .scanned(stream: stream, bytes: bound)
            return (stream, bound)
        }
        let (stream, row, operation, unchanged) = try parse(bytes, range)
        let size = StreamRows.encodedBytes(of: row)
        prepared = .parsed(stream: stream, row: row, operation: operation, unchanged: unchanged, bytes: size)
        return (stream, size)
    }

    /// Appends the row last prepared to its stream's rows; `bytes` are the ones ``prepare`` read.
    mutating func commit(_ bytes: [UInt8]) throws(Problem) {
        defer { prepared = .nothing }
        switch prepared {
        case .nothing:
            return
        case .parsed(let stream, let row, let operation, let unchanged, let size):
            do {
                try streams[stream].append(row, operation: operation, unchanged: unchanged, bytes: size)
            } catch {
                throw Problem(message: error.message)
            }
        case .scanned(let stream, let size):
            var failed = 0
            do throws(ValueFromJSON.Mismatch) {
                try Self.appendScanned(bytes, members: scanner.members, elements: scanner.elements, columns: memberColumns,
                                       seen: columnSeen, row: rowsPrepared, types: columnTypes[stream], size: size,
                                       failed: &failed, to: &streams[stream])
            } catch {
                throw Problem(message: "column \"\(streams[stream].columnNames[failed])\": \(error.message)")
            }
        }
    }

    /// Appends a scanned row (its `members` after `_stream` in `columns`, every column whose
    /// `seen` is not `row` a null) to `rows`; `failed` is the column being read.
    private static func appendScanned(_ line: [UInt8], members: [JSONLineScanner.Member], elements: [JSONLineScanner.Token],
                                      columns: [Int], seen: [Int], row: Int, types: [LogicalType], size: Int,
                                      failed: inout Int, to rows: inout StreamRows) throws(ValueFromJSON.Mismatch) {
        try rows.appendUpsert(bytes: size) { (builders: inout [ColumnBuilder]) throws(ValueFromJSON.Mismatch) in
            for offset in columns.indices {
                failed = columns[offset]
                try ColumnTokenReader.append(members[offset + 1].value, of: line, elements: elements, to: &builders[failed], type: types[failed])
            }
            for column in seen.indices where seen[column] != row { builders[column].appendNull() }
        }
    }

    /// The batches reading one line cuts (``append(_:_:maxFrameSize:)``).
    struct Cuts {
        /// The stream's rows before the line, which would not fit one frame with it.
        var before: RecordBatch?
        /// The stream's rows up to and with the line, once they are `batchSize` rows.
        var after: RecordBatch?
    }

    /// Reads the row in `bytes[range]` into its stream's rows (``prepare(_:_:maxBatchBytes:)``
    /// then ``commit(_:)``), cutting the stream's rows into batches where a frame of
    /// `maxFrameSize` bytes or `batchSize` rows ends. A blank line (spaces and tabs) is skipped;
    /// a row that fits no frame is refused.
    mutating func append(_ bytes: [UInt8], _ range: Range<Int>, maxFrameSize: Int) throws(Problem) -> Cuts {
        guard bytes[range].contains(where: { $0 != 0x20 && $0 != 0x09 }) else { return Cuts() }
        let maxBatchBytes = maxFrameSize - 16 // the frame less the HostMessage tag and length
        let (index, size) = try prepare(bytes, range, maxBatchBytes: maxBatchBytes)
        let overhead = streams[index].overheadBytes
        guard overhead + size <= maxBatchBytes else {
            throw Problem(message: "the row needs up to \(overhead + size) bytes encoded, over the maximum frame size of \(maxFrameSize) bytes; raise --max-frame-size")
        }
        var cuts = Cuts()
        if streams[index].count > 0, overhead + streams[index].valueBytes + size > maxBatchBytes { cuts.before = takeBatch(index) }
        try commit(bytes)
        if streams[index].count >= batchSize { cuts.after = takeBatch(index) }
        return cuts
    }

    /// The rows of every stream not yet cut, as batches (at the end of the input).
    mutating func takeRemaining() -> [RecordBatch] {
        streams.indices.filter { streams[$0].count > 0 }.map { takeBatch($0) }
    }

    /// Removes the rows of stream `index` as a batch.
    mutating func takeBatch(_ index: Int) -> RecordBatch { streams[index].takeBatch() }

    // MARK: - Fast path

    /// The stream and bound of a row as `read` writes it; nil for any other row.
    private mutating func scan(_ bytes: [UInt8], _ range: Range<Int>) -> (stream: Int, bytes: Int)? {
        rowsPrepared += 1
        let span = bytes.span
        guard scanner.scan(bytes, range) else { return nil }
        // Local copies (one retain each), read through spans (none per member).
        let memberArray = scanner.members, elements = scanner.elements
        let members = memberArray.span
        guard members.count > 0, !members[0].key.escaped, Self.same(span, members[0].key.content, Self.streamMember),
              members[0].value.kind == .string, !members[0].value.escaped else { return nil }
        if !Self.same(span, members[0].value.content, streamNames[lastStream]) {
            guard let found = streamIndex[String(decoding: bytes[members[0].value.content], as: UTF8.self)] else { return nil }
            lastStream = found
        }
        let stream = lastStream
        let nameArray = memberNames[stream], typeArray = columnTypes[stream]
        let names = nameArray.span, types = typeArray.span
        if columnSeen.count < names.count { columnSeen = [Int](repeating: 0, count: names.count) }
        memberColumns.removeAll(keepingCapacity: true)
        var bound = 1
        for position in 1 ..< members.count {
            let member = members[position]
            guard !member.key.escaped else { return nil }
            let key = member.key.content
            // A column's member is mostly at its own position (as `read` writes them).
            let guess = position - 1
            var column = guess < names.count && Self.same(span, key, names[guess]) ? guess : nil
            if column == nil, names.count <= 64 {
                for candidate in 0 ..< names.count where Self.same(span, key, names[candidate]) {
                    column = candidate
                    break
                }
            }
            guard let column, columnSeen[column] != rowsPrepared,
                  let valueBound = ColumnTokenReader.encodedBound(member.value, of: span, elements: elements, type: types[column])
            else { return nil }
            columnSeen[column] = rowsPrepared
            memberColumns.append(column)
            bound += valueBound
        }
        // Each column left out is a null.
        return (stream, bound + (names.count - memberColumns.count) * 17)
    }

    /// Whether `bytes[range]` holds exactly the bytes of `name` (faster than the generic
    /// `elementsEqual`, and no slice of the line retained).
    private static func same(_ bytes: Span<UInt8>, _ range: Range<Int>, _ name: [UInt8]) -> Bool {
        guard range.count == name.count else { return false }
        var index = range.lowerBound
        for byte in name {
            guard bytes[index] == byte else { return false }
            index += 1
        }
        return true
    }

    // MARK: - Any row

    /// The row in `bytes[range]` parsed into values, or the problem that refuses it.
    private mutating func parse(_ bytes: [UInt8], _ range: Range<Int>) throws(Problem) -> (stream: Int, row: [Value], operation: RowOperation, unchanged: [Int]) {
        rowsPrepared += 1
        let parsed: JSONValue
        do {
            parsed = try JSONParser.parse(bytes, range: range)
        } catch {
            throw Problem(message: "invalid JSON: \(error)")
        }
        guard let object = parsed.objectMembers else { throw Problem(message: "expected a JSON object") }
        guard let streamName = object.first(where: { $0.key == JSONLinesKeys.stream })?.value.stringValue else {
            throw Problem(message: "missing \"_stream\" (the stream's \"namespace.name\")")
        }
        guard let index = streamIndex[streamName] else {
            throw Problem(message: "stream \"\(streamName)\" is not in the catalog")
        }
        var operation = RowOperation.upsert
        var unchanged: [Int] = []
        let columns = streams[index].columnIndex
        let names = streams[index].columnNames
        var row = [Value](repeating: .null, count: names.count)
        if columnSeen.count < names.count { columnSeen = [Int](repeating: 0, count: names.count) }
        var metadataSeen: (stream: Bool, operation: Bool, unchanged: Bool) = (false, false, false)
        func once(_ seen: inout Bool, _ key: String) throws(Problem) {
            if seen { throw Problem(message: "\"\(key)\" appears twice") }
            seen = true
        }
        for (position, member) in object.enumerated() {
            let column: Int
            if member.key.utf8.first != UInt8(ascii: "_") {
                let guess = position - 1
                guard let found = guess >= 0 && guess < names.count && names[guess] == member.key ? guess : columns[member.key] else {
                    throw Problem(message: "stream \(streamName) has no column \"\(member.key)\"")
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
                    default: throw Problem(message: "\"_op\" must be \"upsert\", \"delete\" or \"truncate\"")
                    }
                    continue
                case JSONLinesKeys.unchanged:
                    try once(&metadataSeen.unchanged, member.key)
                    guard let unchangedNames = member.value.arrayElements?.map(\.stringValue), !unchangedNames.contains(nil) else {
                        throw Problem(message: "\"_unchanged\" must be an array of column names")
                    }
                    for case let name? in unchangedNames {
                        guard let column = columns[name] else { throw Problem(message: "\"_unchanged\": stream \(streamName) has no column \"\(name)\"") }
                        guard !unchanged.contains(column) else { throw Problem(message: "\"_unchanged\" names \"\(name)\" twice") }
                        unchanged.append(column)
                    }
                    continue
                default:
                    guard let name = JSONLinesKeys.column(forKey: member.key), let found = columns[name] else {
                        throw Problem(message: "stream \(streamName) has no column \"\(member.key)\"")
                    }
                    column = found
                }
            }
            guard columnSeen[column] != rowsPrepared else { throw Problem(message: "\"\(member.key)\" appears twice") }
            columnSeen[column] = rowsPrepared
            do {
                row[column] = try ValueFromJSON.value(member.value, type: streams[index].schema.columns[column].type)
            } catch {
                throw Problem(message: "column \"\(names[column])\": \(error.message)")
            }
        }
        if let problem = StreamRows.changeProblem(row, operation: operation, unchanged: unchanged, schema: streams[index].schema, key: keys[index]) {
            throw Problem(message: problem)
        }
        return (index, row, operation, unchanged)
    }
}
