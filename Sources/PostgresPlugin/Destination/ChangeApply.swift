import SluiceWire

/// What applying a CDC stream (PROTOCOL.md §5.9, §8.2) needs besides the upsert path: a keyed
/// write mode, and the rows of a batch after a TRUNCATE row.
enum ChangeApply {
    /// Fails (CONFIG) unless the CDC stream is written with upsert and without embeddings.
    static func check(_ stream: StreamID, mode: WriteMode, embedded: Bool) throws {
        guard mode == .upsert else {
            throw PluginError(category: .config, code: "CDC_WRITE_MODE",
                              message: "stream \(stream) is read with cdc (changes by key), so it must be written with upsert",
                              stream: stream)
        }
        if embedded {
            throw PluginError(category: .config, code: "CDC_EMBEDDINGS",
                              message: "stream \(stream) is read with cdc, which embeddings do not support yet: remove its embeddings entry",
                              stream: stream)
        }
    }

    /// Rows `start..<rowCount` of a validated `batch`, as a batch of their own.
    static func rows(of batch: RecordBatch, from start: Int) -> RecordBatch {
        let count = batch.rowCount - start
        return RecordBatch(stream: batch.stream, rowCount: count, columns: batch.columns.map { suffix($0, from: start, count: count) },
                           operations: batch.operations.isEmpty ? [] : Array(batch.operations[start...]))
    }

    private static func suffix(_ vector: ColumnVector, from start: Int, count: Int) -> ColumnVector {
        var out = ColumnVector(validity: bits(vector.validity, from: start, count: count),
                               bools: tail(vector.bools, start), int32s: tail(vector.int32s, start), int64s: tail(vector.int64s, start),
                               float32s: tail(vector.float32s, start), float64s: tail(vector.float64s, start),
                               intervalDays: tail(vector.intervalDays, start), unchanged: bits(vector.unchanged, from: start, count: count))
        if let child = vector.child {
            let first = Int(vector.offsets[start])
            out.offsets = vector.offsets[start...].map { $0 - UInt32(first) }
            out.child = suffix(child, from: first, count: Int(vector.offsets[vector.offsets.count - 1]) - first)
        } else if !vector.offsets.isEmpty {
            let first = vector.offsets[start]
            out.offsets = vector.offsets[start...].map { $0 - first }
            out.data = Array(vector.data[Int(first)...])
        } else if !vector.data.isEmpty {
            let width = vector.data.count / max(1, start + count)
            out.data = Array(vector.data[(start * width)...])
        }
        return out
    }

    private static func tail<T>(_ values: [T], _ start: Int) -> [T] {
        values.isEmpty ? [] : Array(values[start...])
    }

    /// Bits `start..<start+count` of an LSB-first bitmap; empty stays empty.
    private static func bits(_ bitmap: [UInt8], from start: Int, count: Int) -> [UInt8] {
        guard !bitmap.isEmpty else { return [] }
        var out = [UInt8](repeating: 0, count: (count + 7) / 8)
        for row in 0..<count where bitmap[(start + row) >> 3] & (1 << UInt8((start + row) & 7)) != 0 {
            out[row >> 3] |= 1 << UInt8(row & 7)
        }
        return out
    }
}
