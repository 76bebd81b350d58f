import SluiceWire

/// Where a checkpoint key value is in a COPY row: its field, and how it reads as text
/// (`nil`: the field is text already; an integer decoding: a binary integer column).
struct KeyField: Sendable, Hashable {
    var field: Int
    var integer: FieldDecoding?
}

/// Decodes PostgreSQL binary COPY rows into column accumulators, a batch at a time.
///
/// The first `columnCount` fields of each row are the stream's columns; `extraFields` fields
/// after them carry key values rendered as text. Only the last row's checkpoint key is kept,
/// read again from that row once a chunk is decoded.
///
/// A batch never outgrows `maxFrameSize` once encoded: a row that would take it over is taken
/// back out and left for the next batch, and a row too large for any batch fails the read.
///
/// With `postgresRows`, the rows are not decoded: each row's column fields are kept as the
/// PostgreSQL binary COPY tuple they came in (its key fields dropped), and the batch carries
/// them as ``RecordBatch/postgresRows`` (PROTOCOL.md §5.12).
final class CopyBatchDecoder {
    /// Bytes of a RecordBatch message that are not column values: the stream's names, the row
    /// count, and per column vector its field tags and lengths.
    static func envelopeBytes(vectors: Int) -> Int { 1024 + 96 * vectors }

    private static let signature: [UInt8] = [0x50, 0x47, 0x43, 0x4F, 0x50, 0x59, 0x0A, 0xFF, 0x0D, 0x0A, 0x00]
    private var accumulators: [ColumnAccumulator]
    private let columnCount: Int
    private let extraFields: Int
    private let keyFields: [KeyField]
    private var headerSeen = false
    /// Rows and field bytes decoded into the batch being built.
    private(set) var rows = 0
    private(set) var bytes = 0
    /// The checkpoint key of the last row decoded, as text (nil elements for SQL nulls).
    private(set) var lastKey: [String?] = []
    /// True once the COPY trailer was read.
    private(set) var ended = false
    /// Encoded bytes of the batch's values (an upper bound), and the most a batch may hold.
    private(set) var encodedBytes = 0
    private let maxEncodedBytes: Int
    /// What a batch needs besides its values: ``envelopeBytes(vectors:)`` for these columns.
    private let envelope: Int
    /// True when the next row did not fit the batch: send it before decoding on.
    private(set) var full = false
    /// The rows as tuples of their column fields, when they travel as PostgreSQL rows.
    private let postgresRows: Bool
    private var tuples: [UInt8] = []

    init(decodings: [FieldDecoding], extraFields: Int, keyFields: [KeyField], maxFrameSize: Int, postgresRows: Bool = false) {
        self.postgresRows = postgresRows
        accumulators = postgresRows ? [] : decodings.map { ColumnAccumulator(decoding: $0) }
        columnCount = decodings.count
        self.extraFields = extraFields
        self.keyFields = keyFields
        let vectors = decodings.reduce(0) { count, decoding in
            if case .array = decoding { return count + 2 }
            return count + 1
        }
        envelope = Self.envelopeBytes(vectors: vectors)
        maxEncodedBytes = maxFrameSize - envelope
    }

    /// Decodes whole rows of `chunk` from `position` until the batch holds `maxRows` rows or
    /// `maxBytes` bytes, or the chunk ends; returns where it stopped. A chunk that ends inside
    /// a row (libpq hands over whole rows) is a format error.
    func decode(_ chunk: [UInt8], from position: Int, maxRows: Int, maxBytes: Int) throws(CopyFormatError) -> Int {
        var index = position
        if !headerSeen {
            guard chunk.count >= index + 19, Array(chunk[index ..< index + 11]) == Self.signature else {
                throw CopyFormatError(message: "missing binary COPY signature")
            }
            let extensionLength = Int(BigEndian.u32(chunk, index + 15))
            guard chunk.count >= index + 19 + extensionLength else { throw CopyFormatError(message: "COPY header extension cut short") }
            index += 19 + extensionLength
            headerSeen = true
        }
        if postgresRows { return try keepTuples(chunk, from: index, maxRows: maxRows, maxBytes: maxBytes) }
        // Work on locals: no runtime exclusivity checks on the per-field path, and through a
        // mutable span, no uniqueness check of the array at each field either.
        var owned: [ColumnAccumulator] = []
        swap(&owned, &accumulators)
        defer { swap(&owned, &accumulators) }
        var columns = owned.mutableSpan
        let expected = columnCount + extraFields
        var rowCount = rows, byteCount = bytes, encoded = encodedBytes
        var lastRow = -1
        while index + 2 <= chunk.count, rowCount < maxRows, byteCount < maxBytes, !full {
            let rowStart = index
            let fields = Int(Int16(bitPattern: BigEndian.u16(chunk, index)))
            index += 2
            if fields == -1 {
                ended = true
                break
            }
            guard fields == expected else {
                throw CopyFormatError(message: "row has \(fields) fields, expected \(expected)")
            }
            var rowBytes = 0, rowEncoded = 0
            for field in 0 ..< fields {
                guard index + 4 <= chunk.count else { throw CopyFormatError(message: "row cut short") }
                let length = Int(Int32(bitPattern: BigEndian.u32(chunk, index)))
                index += 4
                guard index + max(length, 0) <= chunk.count else { throw CopyFormatError(message: "field cut short") }
                if field < columnCount {
                    if length < 0 {
                        rowEncoded += columns[field].appendNull()
                    } else {
                        do {
                            rowEncoded += try columns[field].append(chunk, index, length)
                        } catch {
                            throw located(error, field: field, row: rowCount, rowStart: rowStart, chunk: chunk)
                        }
                    }
                }
                if length > 0 {
                    index += length
                    rowBytes += length
                }
            }
            if encoded + rowEncoded > maxEncodedBytes {
                guard rowEncoded <= maxEncodedBytes, rowCount > 0 else {
                    let error = CopyFormatError(message: "", rowTooLarge: rowEncoded + envelope)
                    throw located(error, field: nil, row: rowCount, rowStart: rowStart, chunk: chunk)
                }
                // Leave the row for the next batch.
                for column in 0 ..< columns.count { columns[column].truncate(to: rowCount) }
                index = rowStart
                full = true
                break
            }
            encoded += rowEncoded
            byteCount += rowBytes
            rowCount += 1
            lastRow = rowStart
        }
        // A chunk holds whole rows: a lone byte left over is a row cut short, never a wait.
        if index == chunk.count - 1, !ended, !full, rowCount < maxRows, byteCount < maxBytes {
            throw CopyFormatError(message: "row cut short")
        }
        rows = rowCount
        bytes = byteCount
        encodedBytes = encoded
        if lastRow >= 0 && !keyFields.isEmpty { lastKey = key(ofRowAt: lastRow, in: chunk) ?? lastKey }
        return index
    }

    /// ``decode(_:from:maxRows:maxBytes:)`` for rows kept as tuples: each row's layout is checked
    /// and its column fields copied after a field count of `columnCount`.
    private func keepTuples(_ chunk: [UInt8], from position: Int, maxRows: Int, maxBytes: Int) throws(CopyFormatError) -> Int {
        var index = position
        let expected = columnCount + extraFields
        var lastRow = -1
        while index + 2 <= chunk.count, rows < maxRows, bytes < maxBytes, !full {
            let rowStart = index
            let fields = Int(Int16(bitPattern: BigEndian.u16(chunk, index)))
            index += 2
            if fields == -1 {
                ended = true
                break
            }
            guard fields == expected else { throw CopyFormatError(message: "row has \(fields) fields, expected \(expected)") }
            var rowBytes = 0, columnsEnd = index
            for field in 0 ..< fields {
                if field == columnCount { columnsEnd = index }
                guard index + 4 <= chunk.count else { throw CopyFormatError(message: "row cut short") }
                let length = Int(Int32(bitPattern: BigEndian.u32(chunk, index)))
                index += 4
                guard index + max(length, 0) <= chunk.count else { throw CopyFormatError(message: "field cut short") }
                if length > 0 {
                    index += length
                    rowBytes += length
                }
            }
            if extraFields == 0 { columnsEnd = index }
            let tupleBytes = 2 + columnsEnd - (rowStart + 2)
            if encodedBytes + tupleBytes > maxEncodedBytes {
                guard tupleBytes <= maxEncodedBytes, rows > 0 else {
                    throw located(CopyFormatError(message: "", rowTooLarge: tupleBytes + envelope), field: nil, row: rows, rowStart: rowStart, chunk: chunk)
                }
                index = rowStart
                full = true
                break
            }
            tuples.append(UInt8(truncatingIfNeeded: columnCount >> 8))
            tuples.append(UInt8(truncatingIfNeeded: columnCount))
            tuples.append(contentsOf: chunk[rowStart + 2 ..< columnsEnd])
            encodedBytes += tupleBytes
            bytes += rowBytes
            rows += 1
            lastRow = rowStart
        }
        if index == chunk.count - 1, !ended, !full, rows < maxRows, bytes < maxBytes {
            throw CopyFormatError(message: "row cut short")
        }
        if lastRow >= 0 && !keyFields.isEmpty { lastKey = key(ofRowAt: lastRow, in: chunk) ?? lastKey }
        return index
    }

    /// `error` with where it happened: the column, the row's index in the batch, and its key.
    private func located(_ error: CopyFormatError, field: Int?, row: Int, rowStart: Int, chunk: [UInt8]) -> CopyFormatError {
        var located = error
        located.field = field
        located.row = row
        located.key = keyFields.isEmpty ? nil : key(ofRowAt: rowStart, in: chunk)
        return located
    }

    /// The checkpoint key of the row starting at `start`, as text; nil if the row is cut short.
    private func key(ofRowAt start: Int, in chunk: [UInt8]) -> [String?]? {
        var ranges: [Range<Int>?] = []
        var index = start + 2
        for _ in 0 ..< columnCount + extraFields {
            guard index + 4 <= chunk.count else { return nil }
            let length = Int(Int32(bitPattern: BigEndian.u32(chunk, index)))
            index += 4
            guard index + max(length, 0) <= chunk.count else { return nil }
            ranges.append(length < 0 ? nil : index ..< index + length)
            index += max(length, 0)
        }
        var key: [String?] = []
        for field in keyFields {
            guard let range = ranges[field.field] else {
                key.append(nil)
                continue
            }
            switch field.integer {
            case .int16? where range.count == 2: key.append(String(Int16(bitPattern: BigEndian.u16(chunk, range.lowerBound))))
            case .int32? where range.count == 4: key.append(String(Int32(bitPattern: BigEndian.u32(chunk, range.lowerBound))))
            case .int64? where range.count == 8: key.append(String(Int64(bitPattern: BigEndian.u64(chunk, range.lowerBound))))
            case nil: key.append(String(decoding: chunk[range], as: UTF8.self))
            default: return nil
            }
        }
        return key
    }

    /// The rows decoded since the last batch, as a batch of `stream`; starts the next batch.
    func takeBatch(stream: StreamID) -> RecordBatch {
        if postgresRows {
            let batch = RecordBatch(stream: stream, rowCount: rows, columns: [], postgresRows: tuples)
            tuples = []
            tuples.reserveCapacity(batch.postgresRows.count)
            rows = 0
            bytes = 0
            encodedBytes = 0
            full = false
            return batch
        }
        var columns: [ColumnVector] = []
        columns.reserveCapacity(accumulators.count)
        for index in accumulators.indices { columns.append(accumulators[index].finish()) }
        let batch = RecordBatch(stream: stream, rowCount: rows, columns: columns)
        rows = 0
        bytes = 0
        encodedBytes = 0
        full = false
        return batch
    }
}
