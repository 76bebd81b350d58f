import Testing
import SluiceWire
@testable import PostgresPlugin

/// Whether a flush's keys are proven distinct: rising keys without hashing, any order with
/// it, and never when a key repeats or is null.
@Suite("Distinct keys in a flush")
struct DistinctKeysTests {
    private static func plan(_ kind: TypeKind) -> WritePlan {
        let stream = StreamID(name: "t")
        let columns = [Column(name: "name", type: LogicalType(.string)), Column(name: "id", type: LogicalType(kind))]
        return WritePlan(stream: stream, schema: StreamSchema(stream: stream, columns: columns, primaryKey: ["id"]),
                         mode: .upsert, key: ["id"], schemaName: "public", table: "t", writeTable: "t",
                         columns: columns.map { WriteColumn(name: $0.name, type: $0.type, targetType: "bigint", encodedType: "bigint") },
                         hasSyncedAt: false, raw: false, hasSource: false, staging: "stage")
    }

    private static func batches(_ keys: [[Int64]], kind: TypeKind, validity: [UInt8] = []) -> [RecordBatch] {
        keys.map { keys in
            let names = ColumnVector(data: [], offsets: [UInt32](repeating: 0, count: keys.count + 1))
            let ids = kind == .int64 ? ColumnVector(validity: validity, int64s: keys) : ColumnVector(validity: validity, int32s: keys.map { Int32($0) })
            return RecordBatch(stream: StreamID(name: "t"), rowCount: keys.count, columns: [names, ids])
        }
    }

    private static func proven(_ keys: [[Int64]], _ kind: TypeKind = .int64, validity: [UInt8] = []) -> Bool {
        DistinctKeys.check(plan: plan(kind), batches: batches(keys, kind: kind, validity: validity), rows: keys.joined().count).proven
    }

    @Test("rising keys, across batches too", arguments: [TypeKind.int64, .int32])
    func rising(kind: TypeKind) {
        #expect(Self.proven([[1, 2, 5], [6, 100]], kind))
        #expect(Self.proven([[-3, 0, 7]], kind))
        #expect(Self.proven([[]], kind))
    }

    @Test("keys in any order, distinct or not", arguments: [TypeKind.int64, .int32])
    func anyOrder(kind: TypeKind) {
        #expect(Self.proven([[5, 1, 9], [2, 3]], kind))
        #expect(Self.proven([[1, 2], [0]], kind))
        #expect(!Self.proven([[1, 2, 2]], kind))
        #expect(!Self.proven([[1, 2], [2, 3]], kind))
        #expect(!Self.proven([[3, 1, 3]], kind))
    }

    /// A batch of uuid keys, each given by its last byte (the others zero but the first, `high`).
    private static func uuids(_ keys: [[UInt8]], high: UInt8 = 0) -> [RecordBatch] {
        keys.map { keys in
            let names = ColumnVector(data: [], offsets: [UInt32](repeating: 0, count: keys.count + 1))
            let ids = ColumnVector(data: keys.flatMap { [high] + [UInt8](repeating: 0, count: 14) + [$0] })
            return RecordBatch(stream: StreamID(name: "t"), rowCount: keys.count, columns: [names, ids])
        }
    }

    @Test("uuid keys: rising (byte by byte, as PostgreSQL orders them), in any order, or repeated")
    func uuidKeys() {
        let plan = Self.plan(.uuid)
        #expect(DistinctKeys.check(plan: plan, batches: Self.uuids([[1, 2], [200]]), rows: 3).rising != nil)
        #expect(DistinctKeys.check(plan: plan, batches: Self.uuids([[2, 1]]), rows: 2).rising == nil)
        #expect(DistinctKeys.check(plan: plan, batches: Self.uuids([[2, 1], [3]]), rows: 3).proven)
        #expect(!DistinctKeys.check(plan: plan, batches: Self.uuids([[2, 1], [2]]), rows: 3).proven)
        // The first byte weighs most: 0x80… sorts after 0x01…, as in PostgreSQL (unsigned bytes).
        let low = DistinctKeys.check(plan: plan, batches: Self.uuids([[9]], high: 0x01), rows: 1).rising!
        let high = DistinctKeys.check(plan: plan, batches: Self.uuids([[1]], high: 0x80), rows: 1).rising!
        #expect(low.upperBound < high.lowerBound)
        // Integers keep their order through the key's sign flip.
        #expect(DistinctKeys.Key(-5) < DistinctKeys.Key(3) && DistinctKeys.Key(.min) < DistinctKeys.Key(.max))
    }

    @Test("a null key is never proven distinct")
    func nullKey() {
        #expect(!Self.proven([[1, 2, 3]], validity: [0b101]))
        #expect(Self.proven([[1, 2, 3]], validity: [0b111]))
    }

    /// A batch of PostgreSQL rows (PROTOCOL.md §5.12) with the plan's two columns: a NULL name
    /// and the bigint key (nil: NULL).
    private static func postgresRows(_ keys: [Int64?]) -> RecordBatch {
        var bytes: [UInt8] = []
        for key in keys {
            bytes += [0, 2, 255, 255, 255, 255]
            if let key {
                bytes += [0, 0, 0, 8] + (0 ..< 8).map { UInt8(truncatingIfNeeded: UInt64(bitPattern: key) >> UInt64(56 - 8 * $0)) }
            } else {
                bytes += [255, 255, 255, 255]
            }
        }
        return RecordBatch(stream: StreamID(name: "t"), rowCount: keys.count, columns: [], postgresRows: bytes)
    }

    @Test("keys read from PostgreSQL rows: rising, in any order, repeated, NULL")
    func postgresRowKeys() {
        let plan = Self.plan(.int64)
        let rising = DistinctKeys.check(plan: plan, batches: [Self.postgresRows([-2, 5]), Self.postgresRows([9])], rows: 3)
        #expect(rising.proven && rising.rising == DistinctKeys.Key(-2)...DistinctKeys.Key(9))
        let shuffled = DistinctKeys.check(plan: plan, batches: [Self.postgresRows([5, -2, 9])], rows: 3)
        #expect(shuffled.proven && shuffled.rising == nil)
        #expect(!DistinctKeys.check(plan: plan, batches: [Self.postgresRows([5, 7]), Self.postgresRows([5])], rows: 3).proven)
        #expect(!DistinctKeys.check(plan: plan, batches: [Self.postgresRows([5, nil, 7])], rows: 3).proven)
    }
}
