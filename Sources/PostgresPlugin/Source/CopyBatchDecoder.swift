import SluiceWire

/// Decodes PostgreSQL binary COPY rows into column accumulators, a batch at a time.
///
/// The first `columnCount` fields of each row are the stream's columns; the fields after them
/// are the row's checkpoint key rendered as text, of which only the last row's is kept.
final class CopyBatchDecoder {
    private static let signature: [UInt8] = [0x50, 0x47, 0x43, 0x4F, 0x50, 0x59, 0x0A, 0xFF, 0x0D, 0x0A, 0x00]
    private let accumulators: [ColumnAccumulator]
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
        let columnCount = accumulators.count
        var decodedAny = false
        while index + 2 <= chunk.count, rows < maxRows, bytes < maxBytes {
            let fields = Int(Int16(bitPattern: BigEndian.u16(chunk, index)))
            index += 2
            if fields == -1 {
                ended = true
                break
            }
            guard fields == columnCount + keyFields else {
                throw CopyFormatError(message: "row has \(fields) fields, expected \(columnCount + keyFields)")
            }
            for field in 0 ..< fields {
                guard index + 4 <= chunk.count else { throw CopyFormatError(message: "row cut short") }
                let length = Int(Int32(bitPattern: BigEndian.u32(chunk, index)))
                index += 4
                guard index + max(length, 0) <= chunk.count else { throw CopyFormatError(message: "field cut short") }
                if field < columnCount {
                    if length < 0 {
                        accumulators[field].appendNull()
                    } else {
                        try accumulators[field].append(chunk, index, length)
                    }
                } else {
                    keyRanges[field - columnCount] = length < 0 ? nil : index ..< index + length
                }
                if length > 0 {
                    index += length
                    bytes += length
                }
            }
            rows += 1
            decodedAny = true
        }
        if decodedAny && keyFields > 0 {
            lastKey = keyRanges.map { range in range.map { String(decoding: chunk[$0], as: UTF8.self) } }
        }
        return index
    }

    /// The rows decoded since the last batch, as a batch of `stream`; starts the next batch.
    func takeBatch(stream: StreamID) -> RecordBatch {
        let batch = RecordBatch(stream: stream, rowCount: rows, columns: accumulators.map { $0.finish() })
        rows = 0
        bytes = 0
        return batch
    }
}
