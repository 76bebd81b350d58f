import Testing
import SluiceTestSupport
import SluiceWire
@testable import PostgresPlugin

/// The column-at-a-time COPY encoder against the row-at-a-time one it stands in for: for every
/// kind, random vectors (NULLs, extremes, NUL bytes, empty values) give the same bytes, the
/// same field ends, the same NUL count, and the same failure on the same row.
@Suite("Binary COPY: a column at a time equals a row at a time")
struct ColumnFieldEncoderTests {
    private static func vector(_ kind: TypeKind, rows: Int, nulls: Bool, nulBytes: Bool = true, random: inout SplitMix64) -> ColumnVector {
        var vector = ColumnVector()
        if nulls {
            vector.validity = (0 ..< (rows + 7) / 8).map { _ in UInt8.random(in: 0 ... 255, using: &random) }
        }
        func int64() -> Int64 {
            [Int64.max, .min, .min + 1, 0, -1, FieldEncoder.epochMicros, Int64.random(in: -1 << 50 ... 1 << 50, using: &random)].randomElement(using: &random)!
        }
        switch kind {
        case .bool: vector.bools = (0 ..< rows).map { _ in Bool.random(using: &random) }
        case .int16, .int32: vector.int32s = (0 ..< rows).map { _ in Int32.random(in: .min ... .max, using: &random) }
        case .date:
            vector.int32s = (0 ..< rows).map { _ in [Int32.max, .min, .min + 1, 0, Int32.random(in: -1_000_000 ... 1_000_000, using: &random)].randomElement(using: &random)! }
        case .int64, .time, .timestamp, .timestamptz: vector.int64s = (0 ..< rows).map { _ in int64() }
        case .float32: vector.float32s = (0 ..< rows).map { _ in [Float.nan, .infinity, -0.0, Float.random(in: -1e30 ... 1e30, using: &random)].randomElement(using: &random)! }
        case .float64: vector.float64s = (0 ..< rows).map { _ in [Double.nan, -.infinity, .leastNonzeroMagnitude, Double.random(in: -1e300 ... 1e300, using: &random)].randomElement(using: &random)! }
        case .uuid: vector.data = (0 ..< rows * 16).map { _ in UInt8.random(in: 0 ... 255, using: &random) }
        case .list:
            vector.offsets = [0]
            var elements = ColumnVector(offsets: [0])
            var present: [Bool] = []
            for _ in 0 ..< rows {
                for _ in 0 ..< [0, 1, 3, Int.random(in: 0 ... 12, using: &random)].randomElement(using: &random)! {
                    let length = Int.random(in: 0 ... 20, using: &random)
                    elements.data += (0 ..< length).map { _ in nulBytes && Int.random(in: 0 ..< 100, using: &random) == 0 ? 0 : UInt8.random(in: 0x20 ... 0x7E, using: &random) }
                    elements.offsets.append(UInt32(elements.data.count))
                    present.append(Int.random(in: 0 ..< 6, using: &random) != 0)
                }
                vector.offsets.append(UInt32(present.count))
            }
            if nulls, present.contains(false) {
                var bitmap = [UInt8](repeating: 0, count: (present.count + 7) / 8)
                for (index, isPresent) in present.enumerated() where isPresent {
                    bitmap[index >> 3] |= UInt8(1) << UInt8(index & 7)
                }
                elements.validity = bitmap
            }
            vector.child = elements
        case .decimal:
            vector.offsets = [0]
            for _ in 0 ..< rows {
                let integer = String(UInt64.random(in: 0 ... .max, using: &random) >> UInt64.random(in: 0 ... 63, using: &random))
                let fraction = String(repeating: "0", count: Int.random(in: 0 ... 3, using: &random)) + String(Int.random(in: 0 ... 99_999, using: &random))
                let text = ["NaN", "Infinity", "-Infinity", "0", "-0.000", "12..5", integer, "-" + integer + "." + fraction, "0." + fraction]
                    .randomElement(using: &random)!
                vector.data += Array(text.utf8)
                vector.offsets.append(UInt32(vector.data.count))
            }
        case .string, .unspecified, .json, .bytes:
            vector.offsets = [0]
            for _ in 0 ..< rows {
                let length = [0, 1, 7, Int.random(in: 0 ... 300, using: &random)].randomElement(using: &random)!
                // Mostly text; now and then a NUL byte, unless the column has none (which takes
                // the encoder's framed path).
                vector.data += (0 ..< length).map { _ in nulBytes && Int.random(in: 0 ..< 200, using: &random) == 0 ? 0 : UInt8.random(in: 0x20 ... 0x7E, using: &random) }
                vector.offsets.append(UInt32(vector.data.count))
            }
        default: break
        }
        return vector
    }

    private struct Outcome: Equatable {
        var bytes: [UInt8]
        var ends: [Int]
        var stripped: UInt64
        var failure: String?
    }

    private static func byColumn(_ vector: ColumnVector, rows: Int, type: LogicalType, plainJSON: Bool, failOnNul: Bool) -> Outcome {
        var encoder = FieldEncoder(capacity: 0, failOnNul: failOnNul)
        var ends: [Int] = []
        do {
            try encoder.column(vector, rows: rows, type: type, plainJSON: plainJSON, ends: &ends)
        } catch {
            return Outcome(bytes: [], ends: [], stripped: 0, failure: "row \(error.row): \(error.reason)")
        }
        return Outcome(bytes: encoder.out.bytes, ends: ends, stripped: encoder.nulBytesStripped)
    }

    private static func byRow(_ vector: ColumnVector, rows: Int, type: LogicalType, plainJSON: Bool, failOnNul: Bool) -> Outcome {
        var encoder = FieldEncoder(capacity: 0, failOnNul: failOnNul)
        let reader = VectorReader(vector)
        var ends: [Int] = []
        for row in 0 ..< rows {
            do {
                try encoder.field(reader, row: row, type: type, plainJSON: plainJSON)
            } catch {
                return Outcome(bytes: [], ends: [], stripped: 0, failure: "row \(row): \(error.reason)")
            }
            ends.append(encoder.out.bytes.count)
        }
        return Outcome(bytes: encoder.out.bytes, ends: ends, stripped: encoder.nulBytesStripped)
    }

    @Test("every kind with its own loop, with and without NULLs, NUL bytes stripped or failing",
          arguments: [TypeKind.bool, .int16, .int32, .int64, .float32, .float64, .date, .time, .timestamp, .timestamptz,
                      .uuid, .string, .unspecified, .json, .bytes, .decimal, .list])
    func sameBytes(kind: TypeKind) {
        var random = SplitMix64(state: UInt64(kind.rawValue) &* 7919)
        var failures = 0
        for round in 0 ..< 40 {
            let rows = [0, 1, 9, Int.random(in: 1 ... 400, using: &random)][round % 4]
            let vector = Self.vector(kind, rows: rows, nulls: round % 3 != 0, nulBytes: round % 5 < 3, random: &random)
            for plainJSON in kind == .json ? [false, true] : [false] {
                for failOnNul in [false, true] {
                    let type = kind == .list ? LogicalType(.list, elementKind: round % 2 == 0 ? .string : .unspecified) : LogicalType(kind)
                    let expected = Self.byRow(vector, rows: rows, type: type, plainJSON: plainJSON, failOnNul: failOnNul)
                    let actual = Self.byColumn(vector, rows: rows, type: type, plainJSON: plainJSON, failOnNul: failOnNul)
                    #expect(actual == expected, "\(kind) round \(round), \(rows) rows, plainJSON \(plainJSON), failOnNul \(failOnNul)")
                    if expected.failure != nil { failures += 1 }
                }
            }
        }
        // The generator makes out-of-range timestamps and dates, and NUL bytes in text: the
        // failing paths were compared too.
        if [.date, .timestamp, .timestamptz, .string, .json, .decimal, .list].contains(kind) { #expect(failures > 0) }
    }

    @Test("kinds without a loop of their own go row by row with the same result")
    func rowByRowKinds() {
        var vector = ColumnVector(validity: [0b101], int32s: [3600, 0, -7200], int64s: [1, 0, 86_399_999_999])
        vector.intervalDays = [1, 0, -3]
        for kind in [TypeKind.timetz, .interval] {
            let type = LogicalType(kind)
            #expect(Self.byColumn(vector, rows: 3, type: type, plainJSON: false, failOnNul: false)
                    == Self.byRow(vector, rows: 3, type: type, plainJSON: false, failOnNul: false))
        }
        let decimals = ColumnVector(data: Array("12.50-0.001NaN".utf8), offsets: [0, 5, 11, 14])
        #expect(Self.byColumn(decimals, rows: 3, type: LogicalType(.decimal), plainJSON: false, failOnNul: false)
                == Self.byRow(decimals, rows: 3, type: LogicalType(.decimal), plainJSON: false, failOnNul: false))
    }
}

/// Whole batches through ``CopyEncoder``: rows built from columns equal rows built one at a
/// time, with the metadata fields and, for staging, the sequence, delete and unchanged fields.
@Suite("Binary COPY rows: a column at a time equals a row at a time")
struct CopyEncoderRowsTests {
    private static func plan(cdc: Bool, metadata: Bool) -> WritePlan {
        let columns: [(String, LogicalType, String)] = [
            ("id", LogicalType(.int64), "bigint"), ("name", LogicalType(.string), "text"), ("amount", LogicalType(.decimal), "numeric"),
            ("doc", LogicalType(.json), "jsonb"), ("at", LogicalType(.timestamptz), "timestamptz"), ("ok", LogicalType(.bool), "boolean"),
            ("tags", LogicalType(.list, elementKind: .string), "text[]"),
        ]
        let stream = StreamID(namespace: "public", name: "mixed")
        var plan = WritePlan(stream: stream, schema: StreamSchema(stream: stream, columns: columns.map { Column(name: $0.0, type: $0.1) }, primaryKey: ["id"]),
                             mode: .upsert, key: ["id"], schemaName: "public", table: "mixed", writeTable: "mixed",
                             columns: columns.map { WriteColumn(name: $0.0, type: $0.1, targetType: $0.2, encodedType: $0.2) },
                             hasSyncedAt: metadata, raw: false, hasSource: metadata, staging: "stage")
        plan.cdc = cdc
        return plan
    }

    private static func batch(rows: Int) -> RecordBatch {
        var tags = ColumnVector(offsets: [0])
        var names = ColumnVector(offsets: [0]), amounts = ColumnVector(offsets: [0]), docs = ColumnVector(offsets: [0])
        var children = ColumnVector(offsets: [0])
        for row in 0 ..< rows {
            names.data += Array("name \(row)".utf8); names.offsets.append(UInt32(names.data.count))
            amounts.data += Array("\(row).\(row % 100)".utf8); amounts.offsets.append(UInt32(amounts.data.count))
            docs.data += Array(#"{"row": \#(row)}"#.utf8); docs.offsets.append(UInt32(docs.data.count))
            for element in 0 ..< row % 3 {
                children.data += Array("t\(element)".utf8); children.offsets.append(UInt32(children.data.count))
            }
            tags.offsets.append(UInt32(children.offsets.count - 1))
        }
        tags.child = children
        let validity = (0 ..< (rows + 7) / 8).map { UInt8(truncatingIfNeeded: 0xB7 &+ $0) }
        names.validity = validity
        return RecordBatch(stream: StreamID(namespace: "public", name: "mixed"), rowCount: rows, columns: [
            ColumnVector(int64s: (0 ..< rows).map { Int64($0) * 1_000_003 }), names, amounts, docs,
            ColumnVector(validity: validity, int64s: (0 ..< rows).map { Int64($0) * 86_400_000_000 }),
            ColumnVector(bools: (0 ..< rows).map { $0 % 2 == 0 }), tags,
        ])
    }

    @Test("staging or not, CDC or not, with metadata columns or not", arguments: [false, true], [false, true])
    func sameRows(staging: Bool, cdc: Bool) throws {
        for metadata in [false, true] {
            let plan = Self.plan(cdc: cdc, metadata: metadata)
            let batch = Self.batch(rows: 257)
            func encoder() -> CopyEncoder {
                CopyEncoder(plan: plan, staging: staging, syncedAtMicros: 1_700_000_000_000_000, sourceName: "src", failOnNul: false, capacity: 0)
            }
            var byColumns = encoder(), byRows = encoder()
            var columnSequence: Int64 = 5, rowSequence: Int64 = 5
            try byColumns.append(batch, sequence: &columnSequence)
            try byColumns.append(batch, sequence: &columnSequence)
            try byRows.appendByRows(batch, sequence: &rowSequence, origins: nil, flushVectors: [])
            try byRows.appendByRows(batch, sequence: &rowSequence, origins: nil, flushVectors: [])
            #expect(columnSequence == rowSequence)
            #expect(byColumns.take() == byRows.take(), "staging \(staging), cdc \(cdc), metadata \(metadata)")
        }
    }

    @Test("a value that can't be written names its column and row")
    func failureNamesColumnAndRow() {
        let plan = Self.plan(cdc: false, metadata: true)
        var batch = Self.batch(rows: 20)
        batch.columns[4].validity = []
        batch.columns[4].int64s[13] = .min + 1
        var encoder = CopyEncoder(plan: plan, staging: false, syncedAtMicros: 0, sourceName: "src", failOnNul: false, capacity: 0)
        var sequence: Int64 = 0
        #expect {
            try encoder.append(batch, sequence: &sequence)
        } throws: { error in
            guard let error = error as? RowError else { return false }
            return error.column == "at" && error.row == 13 && error.reason.contains("beyond PostgreSQL's range")
        }
    }
}
