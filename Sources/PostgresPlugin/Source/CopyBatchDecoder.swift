import SluiceWire

/// Decodes PostgreSQL binary COPY rows into column accumulators, a batch at a time.
///
/// The first `columnCount` fields of each row are the stream's columns; the fields after them
/// are the row's checkpoint key rendered as text, of which only the last row's is kept.
final class CopyBatchDecoder {
    private static let signature: [UInt8] = [0x50, 0x47, 0x43, 0x4F, 0x50, 0x59, 0x0A, 0xFF, 0x0D, 0x0A, 0x00]
    private var accumulators: [ColumnAccumulator]
    private let keyFields: Int
    private var headerSeen = false
    private var keyRanges: [Range<Int>?]
    /// Rows and field bytes decoded into the batch being built.
    private(set) var rows = 0
    private(set) var bytes = 0
    /// The checkpoint key of the last row decoded, as text (nil elements for SQL nulls).
    private(set) var lastKey: [String?] = []
    /// True once the COPY trailer was read.
    private(set) var ended = false

    init(decodings: [FieldDecoding], keyFields: Int) {
        accumulators = decodings.map { ColumnAccumulator(decoding: $0) }
        self.keyFields = keyFields
        keyRanges = Array(repeating: nil, count: keyFields)
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
        let columnCount = columns.count, expected = columnCount + keyFields
        var rowCount = rows, byteCount = bytes
        var lastKeyRanges = keyRanges
        var decodedAny = false
        while index + 2 <= chunk.count, rowCount < maxRows, byteCount < maxBytes {
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
                        try columns[field].append(chunk, index, length)
                    }
                } else {
                    lastKeyRanges[field - columnCount] = length < 0 ? nil : index ..< index + length
                }
                if length > 0 {
                    index += length
                    byteCount += length
                }
            }
            rowCount += 1
            decodedAny = true
        }
        rows = rowCount
        bytes = byteCount
        keyRanges = lastKeyRanges
        if decodedAny && keyFields > 0 {
            lastKey = lastKeyRanges.map { range in range.map { String(decoding: chunk[$0], as: UTF8.self) } }
        }
        return index
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
