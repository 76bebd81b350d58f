/// The rows of a batch carried as PostgreSQL binary COPY tuples (``RecordBatch/postgresRows``,
/// PROTOCOL.md §5.12): each an int16 field count, then per field an int32 length (-1: NULL) and
/// that many bytes.
public enum PostgresRows {
    /// Walks the tuples of `bytes`, each of which must have `fields` fields that end inside
    /// `bytes`, calling `body` with the range of each tuple's fields (after its count); returns
    /// how many tuples there are. Throws ``ProtocolError/Code/invalidMessage`` naming the first
    /// tuple (zero-based) that breaks the layout.
    @inlinable
    public static func walk(_ bytes: [UInt8], fields: Int, _ body: (Range<Int>) throws(ProtocolError) -> Void) throws(ProtocolError) -> Int {
        // Each count and length is one (bounds-checked) load of the raw bytes, not two or four.
        let raw = bytes.span.bytes
        let end = bytes.count
        var index = 0, tuples = 0
        while index < end {
            guard index + 2 <= end else { throw problem(tuples, "is cut short in its field count") }
            let count = Int(Int16(bitPattern: UInt16(bigEndian: raw.unsafeLoadUnaligned(fromByteOffset: index, as: UInt16.self))))
            guard count == fields else { throw problem(tuples, "has \(count) fields; the schema has \(fields) columns") }
            index += 2
            let start = index
            for _ in 0 ..< count {
                guard index + 4 <= end else { throw problem(tuples, "is cut short in a field's length") }
                let length = Int(Int32(bitPattern: UInt32(bigEndian: raw.unsafeLoadUnaligned(fromByteOffset: index, as: UInt32.self))))
                index += 4
                guard length != -1 else { continue }
                guard length >= 0, length <= end - index else { throw problem(tuples, "has a field length \(length) past the rows' bytes") }
                index += length
            }
            try body(start ..< index)
            tuples += 1
        }
        return tuples
    }

    @usableFromInline
    static func problem(_ tuple: Int, _ text: String) -> ProtocolError {
        ProtocolError(.invalidMessage, "PostgreSQL row \(tuple) \(text)")
    }
}

extension RecordBatch {
    /// A batch of PostgreSQL rows: no column vectors nor operations, and `rowCount` tuples of
    /// `columnCount` fields laid out as ``PostgresRows`` says (their values are the receiving
    /// server's to check).
    func validatePostgresRows(columnCount: Int) throws(ProtocolError) {
        guard columns.isEmpty, operations.isEmpty else {
            throw ProtocolError(.invalidMessage, "the batch for \(stream) carries PostgreSQL rows and also column vectors or row operations")
        }
        let tuples = try PostgresRows.walk(postgresRows, fields: columnCount) { _ throws(ProtocolError) in }
        guard tuples == rowCount else {
            throw ProtocolError(.invalidMessage, "the batch for \(stream) holds \(tuples) PostgreSQL rows; its row count says \(rowCount)")
        }
    }
}
