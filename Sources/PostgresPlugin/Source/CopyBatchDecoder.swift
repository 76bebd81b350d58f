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
final class CopyBatchDecoder {
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

    init(decodings: [FieldDecoding], extraFields: Int, keyFields: [KeyField]) {
        accumulators = decodings.map { ColumnAccumulator(decoding: $0) }
        columnCount = decodings.count
        self.extraFields = extraFields
        self.keyFields = keyFields
    }

    /// Decodes whole rows of `chunk` from `position` until the batch holds `maxRows` rows or
    /// `maxBytes` bytes, or the chunk ends; returns where it stopped.
    func decode(_ chunk: [UInt8], from position: Int, maxRows: Int, maxBytes: Int) throws(CopyFormatError) -> Int {
        var index = position
        if !headerSeen {
            guard chunk.count >= index + 19, Array(chunk[index ..< index + 11]) == Self.signature else {
                throw CopyFormatError(message: "missing binary COPY signature")
            }
            let extensionLength = Int(BigEndian.u32(chunk, index + 15))
            index += 19 + extensionLength
            headerSeen = true
        }
        // Work on locals: no runtime exclusivity checks on the per-field path.
        var columns: [ColumnAccumulator] = []
        swap(&columns, &accumulators)
        defer { swap(&columns, &accumulators) }
        let expected = columnCount + extraFields
        var rowCount = rows, byteCount = bytes
        var lastRow = -1
        while index + 2 <= chunk.count, rowCount < maxRows, byteCount < maxBytes {
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
            for field in 0 ..< fields {
                guard index + 4 <= chunk.count else { throw CopyFormatError(message: "row cut short") }
                let length = Int(Int32(bitPattern: BigEndian.u32(chunk, index)))
                index += 4
                guard index + max(length, 0) <= chunk.count else { throw CopyFormatError(message: "field cut short") }
                if field < columnCount {
                    if length < 0 {
                        columns[field].appendNull()
                    } else {
                        do {
                            try columns[field].append(chunk, index, length)
                        } catch {
                            var located = error
                            located.field = field
                            throw located
                        }
                    }
                }
                if length > 0 {
                    index += length
                    byteCount += length
                }
            }
            rowCount += 1
            lastRow = rowStart
        }
        rows = rowCount
        bytes = byteCount
        if lastRow >= 0 && !keyFields.isEmpty { lastKey = key(ofRowAt: lastRow, in: chunk) }
        return index
    }

    /// The checkpoint key of the (whole, already checked) row starting at `start`, as text.
    private func key(ofRowAt start: Int, in chunk: [UInt8]) -> [String?] {
        var ranges: [Range<Int>?] = []
        var index = start + 2
        for _ in 0 ..< columnCount + extraFields {
            let length = Int(Int32(bitPattern: BigEndian.u32(chunk, index)))
            index += 4
            ranges.append(length < 0 ? nil : index ..< index + length)
            index += max(length, 0)
        }
        return keyFields.map { key in
            guard let range = ranges[key.field] else { return nil }
            switch key.integer {
            case .int16?: return String(Int16(bitPattern: BigEndian.u16(chunk, range.lowerBound)))
            case .int32?: return String(Int32(bitPattern: BigEndian.u32(chunk, range.lowerBound)))
            case .int64?: return String(Int64(bitPattern: BigEndian.u64(chunk, range.lowerBound)))
            default: return String(decoding: chunk[range], as: UTF8.self)
            }
        }
    }

    /// The rows decoded since the last batch, as a batch of `stream`; starts the next batch.
    func takeBatch(stream: StreamID) -> RecordBatch {
        var columns: [ColumnVector] = []
        columns.reserveCapacity(accumulators.count)
        for index in accumulators.indices { columns.append(accumulators[index].finish()) }
        let batch = RecordBatch(stream: stream, rowCount: rows, columns: columns)
        rows = 0
        bytes = 0
        return batch
    }
}
