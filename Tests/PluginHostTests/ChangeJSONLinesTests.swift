import Testing
import SluiceWire
@testable import PluginHostKit

@Suite("plugin-host JSON Lines: TRUNCATE rows and unchanged values (PROTOCOL.md Appendix A)")
struct ChangeJSONLinesTests {
    static let schema = StreamSchema(stream: StreamID(namespace: "s", name: "docs"), columns: [
        Column(name: "id", type: LogicalType(.int64), nullable: false),
        Column(name: "body", type: LogicalType(.string)),
        Column(name: "_unchanged", type: LogicalType(.string)),
    ], primaryKey: ["id"])

    @Test("read writes _op truncate and _unchanged; a column named _unchanged is escaped")
    func render() throws {
        var batch = try RecordBatch(schema: Self.schema, rows: [
            [.int64(1), .null, .string("x")], [.null, .null, .null], [.int64(2), .string("b"), .null],
        ])
        batch.operations = [RowOperation.upsert.rawValue, RowOperation.truncate.rawValue, RowOperation.upsert.rawValue]
        batch.columns[1].unchanged = [0b001]
        try batch.validate(against: Self.schema)
        var out: [UInt8] = []
        BatchJSONRenderer(schema: Self.schema).render(batch, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == """
            {"_stream":"s.docs","_unchanged":["body"],"id":1,"body":null,"__unchanged":"x"}
            {"_stream":"s.docs","_op":"truncate","id":null,"body":null,"__unchanged":null}
            {"_stream":"s.docs","id":2,"body":"b","__unchanged":null}

            """)
        #expect(JSONLinesKeys.column(forKey: "_unchanged") == nil)
        #expect(JSONLinesKeys.column(forKey: "__unchanged") == "_unchanged")
    }

    @Test("write reads them back into the same batch")
    func roundTrip() throws {
        var rows = StreamRows(schema: Self.schema, capacity: 4)
        try rows.append([.int64(1), .null, .string("x")], operation: .upsert, unchanged: [1], bytes: 0)
        try rows.append([.null, .null, .null], operation: .truncate, bytes: 0)
        var batch = rows.takeBatch()
        try batch.validate(against: Self.schema)
        #expect(batch.columns[1].isUnchanged(0))
        #expect(!batch.columns[1].isUnchanged(1))
        #expect(batch.operations == [RowOperation.upsert.rawValue, RowOperation.truncate.rawValue])
        #expect(rows.takeBatch().columns[1].unchanged.isEmpty, "the next batch starts without unchanged values")
    }

    @Test("write refuses lines that break the CDC rules, naming the rule")
    func lineRules() {
        func problem(_ row: [Value], _ operation: RowOperation, _ unchanged: [Int]) -> String? {
            StreamRows.changeProblem(row, operation: operation, unchanged: unchanged, schema: Self.schema, key: ["id"])
        }
        #expect(problem([.int64(1), .null, .null], .upsert, [1]) == nil)
        #expect(problem([.null, .null, .null], .truncate, []) == nil)
        #expect(problem([.int64(1), .null, .null], .truncate, []) == "a \"truncate\" row holds no values")
        #expect(problem([.int64(1), .null, .null], .delete, [1]) == "only an upsert row can leave values unchanged")
        #expect(problem([.null, .null, .null], .upsert, [0])?.contains("names the key column \"id\"") == true)
        #expect(problem([.int64(1), .string("v"), .null], .upsert, [1]) == "column \"body\" is listed in \"_unchanged\" but has a value")
    }
}

