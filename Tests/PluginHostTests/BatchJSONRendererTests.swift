import Testing
import SluiceTestSupport
import SluiceWire
@testable import PluginHostKit

/// `read`'s JSON Lines a column at a time against a row at a time: random batches of every
/// kind (NULLs, extremes, escapes, empty values, lists) render to the same bytes.
@Suite("JSON Lines output: a column at a time equals a row at a time")
struct BatchJSONRendererTests {
    private static let kinds: [TypeKind] = [.bool, .int16, .int32, .int64, .float32, .float64, .decimal, .string, .bytes,
                                            .date, .time, .timetz, .timestamp, .timestamptz, .interval, .uuid, .json, .list]

    /// Random text; `plain`: none of it needs an escape in JSON (a column of it is copied whole).
    private static func text(_ random: inout SplitMix64, plain: Bool = false) -> [UInt8] {
        let pieces = (plain ? ["a", "b", " ", "/", "é", "€", "😀", "{", "\u{7F}"] : ["a", "b", " ", "\"", "\\", "\n", "\t", "/", "é", "€", "😀", "{", "\u{0}", "\u{1}", "\u{1F}", "\u{7F}"])
            .map { Array($0.utf8) }
        let length = [0, 1, 5, Int.random(in: 0 ... 40, using: &random)].randomElement(using: &random)!
        return (0 ..< length).flatMap { _ in pieces.randomElement(using: &random)! }
    }

    /// A random validity bitmap of `rows` rows (no bits past the last row).
    private static func bitmap(_ rows: Int, _ random: inout SplitMix64) -> [UInt8] {
        var bits = (0 ..< (rows + 7) / 8).map { _ in UInt8.random(in: 0 ... 255, using: &random) }
        if rows & 7 != 0 { bits[bits.count - 1] &= UInt8(1 << (rows & 7)) - 1 }
        return bits
    }

    private static func vector(_ kind: TypeKind, rows: Int, nulls: Bool, plain: Bool, random: inout SplitMix64) -> ColumnVector {
        var vector = ColumnVector()
        if nulls { vector.validity = bitmap(rows, &random) }
        func int64() -> Int64 {
            [Int64.max, .min, .min + 1, 0, -1, 946_684_800_000_000, Int64.random(in: -1 << 55 ... 1 << 55, using: &random)].randomElement(using: &random)!
        }
        func int32() -> Int32 { [Int32.max, .min, 0, -1, Int32.random(in: -3_000_000 ... 3_000_000, using: &random)].randomElement(using: &random)! }
        switch kind {
        case .unspecified: break // not a column's kind (validation refuses it)
        case .bool: vector.bools = (0 ..< rows).map { _ in Bool.random(using: &random) }
        case .int16: vector.int32s = (0 ..< rows).map { _ in Int32(Int16.random(in: .min ... .max, using: &random)) }
        case .int32, .date: vector.int32s = (0 ..< rows).map { _ in int32() }
        case .int64, .timestamp, .timestamptz: vector.int64s = (0 ..< rows).map { _ in int64() }
        case .time: vector.int64s = (0 ..< rows).map { _ in [0, 86_400_000_000, Int64.random(in: 0 ... 86_400_000_000, using: &random)].randomElement(using: &random)! }
        case .timetz:
            vector.int64s = (0 ..< rows).map { _ in Int64.random(in: 0 ... 86_400_000_000, using: &random) }
            vector.int32s = (0 ..< rows).map { _ in Int32.random(in: -57_600 ... 57_600, using: &random) }
        case .interval:
            vector.int32s = (0 ..< rows).map { _ in int32() }
            vector.intervalDays = (0 ..< rows).map { _ in int32() }
            vector.int64s = (0 ..< rows).map { _ in int64() }
        case .float32: vector.float32s = (0 ..< rows).map { _ in [Float.nan, .infinity, -0.0, .leastNonzeroMagnitude, Float.random(in: -1e30 ... 1e30, using: &random)].randomElement(using: &random)! }
        case .float64: vector.float64s = (0 ..< rows).map { _ in [Double.nan, -.infinity, -0.0, .greatestFiniteMagnitude, Double.random(in: -1e300 ... 1e300, using: &random)].randomElement(using: &random)! }
        case .uuid: vector.data = (0 ..< rows * 16).map { _ in UInt8.random(in: 0 ... 255, using: &random) }
        case .decimal, .string, .bytes, .json:
            vector.offsets = [0]
            for _ in 0 ..< rows {
                vector.data += kind == .decimal ? Array(["0", "-12.50", "NaN", "Infinity", "123456789012345678901234567890.000001"].randomElement(using: &random)!.utf8)
                                                : text(&random, plain: plain)
                vector.offsets.append(UInt32(vector.data.count))
            }
        case .list:
            vector.offsets = [0]
            var elements = ColumnVector(offsets: [0])
            var count = 0
            for _ in 0 ..< rows {
                for _ in 0 ..< Int.random(in: 0 ... 4, using: &random) {
                    elements.data += text(&random)
                    elements.offsets.append(UInt32(elements.data.count))
                    count += 1
                }
                vector.offsets.append(UInt32(count))
            }
            if nulls { elements.validity = bitmap(count, &random) }
            vector.child = elements
        }
        return vector
    }

    @Test("every kind, with and without NULLs, text with and without escapes, in batches of 0 to 300 rows")
    func sameBytes() throws {
        var random = SplitMix64(state: 0x5EED)
        var rendered = 0
        for round in 0 ..< 60 {
            let rows = [0, 1, 7, Int.random(in: 1 ... 300, using: &random)][round % 4]
            let kinds = (0 ..< Int.random(in: 1 ... 6, using: &random)).map { _ in Self.kinds.randomElement(using: &random)! } + [Self.kinds[round % Self.kinds.count]]
            let columns = kinds.enumerated().map { index, kind in
                Column(name: "c\(index) \"\(kind)\"", type: kind == .list ? LogicalType(.list, elementKind: .string) : LogicalType(kind))
            }
            let schema = StreamSchema(stream: StreamID(namespace: "ns", name: "t\(round)"), columns: columns)
            var batch = RecordBatch(stream: schema.stream, rowCount: rows,
                                    columns: kinds.map { Self.vector($0, rows: rows, nulls: round % 3 != 0, plain: round % 2 == 0, random: &random) })
            try batch.validate(against: schema)
            let renderer = BatchJSONRenderer(schema: schema)
            var byColumns: [UInt8] = [9], byRows: [UInt8] = [9]
            renderer.renderByColumns(batch, to: &byColumns)
            renderer.renderByRows(batch, to: &byRows)
            #expect(byColumns == byRows, "round \(round): \(kinds), \(rows) rows")
            rendered += byRows.count
        }
        #expect(rendered > 100_000)
    }

    @Test("a batch with operations or unchanged columns goes row by row and keeps them")
    func changesGoRowByRow() {
        let schema = StreamSchema(stream: StreamID(name: "t"), columns: [Column(name: "id", type: LogicalType(.int64))])
        let batch = RecordBatch(stream: schema.stream, rowCount: 2, columns: [ColumnVector(int64s: [1, 2])],
                                operations: [RowOperation.upsert.rawValue, RowOperation.delete.rawValue])
        var out: [UInt8] = []
        BatchJSONRenderer(schema: schema).render(batch, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == "{\"_stream\":\"t\",\"id\":1}\n{\"_stream\":\"t\",\"_op\":\"delete\",\"id\":2}\n")
    }
}
