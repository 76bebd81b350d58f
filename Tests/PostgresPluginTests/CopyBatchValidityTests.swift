import Testing
import SluiceWire
@testable import PostgresPlugin

/// The validity bitmap the source's COPY decoder builds: empty while every row holds a value,
/// one bit per row from the first null on (made up for the rows before it), right after rows are
/// taken back out of a full batch.
@Suite("Binary COPY decoding: validity bitmaps")
struct CopyBatchValidityTests {
    private static let header: [UInt8] = Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]

    /// A COPY of one bigint column: `nil` rows are NULL.
    private static func chunk(_ values: [Int64?]) -> [UInt8] {
        var bytes = header
        for value in values {
            bytes += [0, 1]
            if let value {
                bytes += [0, 0, 0, 8]
                bytes += (0 ..< 8).reversed().map { UInt8(truncatingIfNeeded: UInt64(bitPattern: value) >> UInt64($0 * 8)) }
            } else {
                bytes += [0xFF, 0xFF, 0xFF, 0xFF]
            }
        }
        return bytes + [0xFF, 0xFF]
    }

    private static func decode(_ values: [Int64?], maxRows: Int = 1000, maxFrameSize: Int = 1 << 20) throws -> [RecordBatch] {
        let decoder = CopyBatchDecoder(decodings: [.int64], extraFields: 0, keyFields: [], maxFrameSize: maxFrameSize)
        let bytes = chunk(values)
        var position = 0, batches: [RecordBatch] = []
        while position < bytes.count, !decoder.ended {
            position = try decoder.decode(bytes, from: position, maxRows: maxRows, maxBytes: 1 << 30)
            if decoder.full || decoder.rows >= maxRows { batches.append(decoder.takeBatch(stream: StreamID(name: "t"))) }
        }
        if decoder.rows > 0 { batches.append(decoder.takeBatch(stream: StreamID(name: "t"))) }
        return batches
    }

    /// Whether each row of `batches` holds a value, as the vectors say.
    private static func present(_ batches: [RecordBatch]) -> [Bool] {
        batches.flatMap { batch in (0 ..< batch.rowCount).map { batch.columns[0].isValid($0) } }
    }

    @Test("the first null at any position, nulls after it, and none at all", arguments: [0, 1, 7, 8, 9, 15, 16, 17, 40])
    func firstNull(at position: Int) throws {
        var values: [Int64?] = (0 ..< 41).map { Int64($0) }
        values[position] = nil
        if position + 3 < values.count { values[position + 3] = nil }
        let batches = try Self.decode(values)
        #expect(Self.present(batches) == values.map { $0 != nil })
        #expect(batches[0].columns[0].validity.count == (values.count + 7) / 8)
        #expect(batches[0].columns[0].int64s.enumerated().allSatisfy { values[$0.offset] == nil || $0.element == Int64($0.offset) })
        #expect(try Self.decode((0 ..< 20).map { Int64($0) })[0].columns[0].validity.isEmpty, "no nulls: no bitmap")
    }

    @Test("batches cut by row count keep each row's validity, with and without nulls in each batch")
    func acrossBatches() throws {
        var values: [Int64?] = (0 ..< 50).map { Int64($0) }
        for index in [3, 12, 13, 31] { values[index] = nil }
        for maxRows in [1, 7, 8, 10, 16] {
            let batches = try Self.decode(values, maxRows: maxRows)
            #expect(Self.present(batches) == values.map { $0 != nil }, "batches of \(maxRows)")
            for batch in batches where batch.columns[0].validity.isEmpty {
                #expect((0 ..< batch.rowCount).allSatisfy { batch.columns[0].isValid($0) })
            }
        }
    }

    @Test("a row taken back out of a full frame leaves the kept rows' validity right")
    func rowsTakenBack() throws {
        var values: [Int64?] = (0 ..< 30).map { Int64($0) }
        for index in [5, 6, 17] { values[index] = nil }
        // Room for five values per frame: the sixth row is decoded, then taken back out.
        let frame = CopyBatchDecoder.envelopeBytes(vectors: 1) + 5 * ColumnAccumulator.fixedBytes
        let batches = try Self.decode(values, maxFrameSize: frame)
        #expect(batches.count == 6 && batches.allSatisfy { $0.rowCount == 5 })
        #expect(Self.present(batches) == values.map { $0 != nil })
        #expect(batches[0].columns[0].validity.isEmpty, "the null taken back with row 5 leaves no bitmap")
    }
}
