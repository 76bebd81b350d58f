import Foundation
import PostgresClient
import SluiceSDK
import SluiceWire
import Testing

/// Batches as a writer in another language may send them, into the real destination.
@Suite("postgres-plugin destination: batches from other writers")
struct ForeignWriterTests {
    /// PROTOCOL.md §5.5: a proto3 writer omits the `child` of a list column whose rows hold no
    /// element. The destination must store those rows as empty arrays, not as NULL, not fail.
    @Test(arguments: ["copy", "insert"])
    func emptyListsWithoutChild(method: String) async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let stream = DestinationHarness.schema("lists", [
                Column(name: "id", type: LogicalType(.int64), nullable: false),
                Column(name: "words", type: .list(of: .string)),
                Column(name: "numbers", type: .list(of: .int32)),
            ], primaryKey: ["id"])
            // Rows 1 and 3 are empty lists, row 2 is NULL; no vector has a child, so the
            // encoded columns carry no `child` field, exactly as such a writer sends them.
            let empty = ColumnVector(validity: [0b101], offsets: [0, 0, 0, 0])
            let batch = RecordBatch(stream: stream.stream, rowCount: 3, columns: [ColumnVector(int64s: [1, 2, 3]), empty, empty])
            guard case .records(let decoded) = try WireCodec.decodeHostMessage(WireCodec.encode(HostMessage.records(batch))) else {
                Issue.record("expected a record batch"); return
            }
            #expect(decoded.columns[1].child == nil)
            let outcome = try await DestinationHarness.write(DestinationHarness.config(schema: schema, ["insert_method": method]),
                                                             streams: [ConfiguredStream(schema: stream, writeMode: .append)],
                                                             [.schema(stream), .records(batch)])
            #expect(outcome.stream("lists")?.inserted == 3)
            let rows = try await DestinationHarness.rows(connection,
                "SELECT id::text, words::text, numbers::text FROM \(SQL.quoteIdentifier(schema)).lists ORDER BY id")
            #expect(rows == [["1", "{}", "{}"], ["2", nil, nil], ["3", "{}", "{}"]])
        }
    }

    /// PROTOCOL.md §5.10: text that is not UTF-8 is refused as INVALID_MESSAGE naming the
    /// column and row, before anything is written.
    @Test func textThatIsNotUTF8() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let stream = DestinationHarness.items
            let batch = RecordBatch(stream: stream.stream, rowCount: 2,
                                    columns: [ColumnVector(int64s: [1, 2]), ColumnVector(data: Array("ok".utf8) + [0xC3, 0x28], offsets: [0, 2, 4])])
            do {
                _ = try await DestinationHarness.write(DestinationHarness.config(schema: schema),
                                                       streams: [ConfiguredStream(schema: stream, writeMode: .append)],
                                                       [.schema(stream), .records(batch)])
                Issue.record("the write should have failed")
            } catch HostError.plugin(let error) {
                #expect(error.category == .protocol && error.code == "INVALID_MESSAGE", "\(error)")
                #expect(error.message.contains(#"column "name" (string): row 1 is not valid UTF-8"#), "\(error)")
            }
            let exists = try await connection.execute("SELECT to_regclass($1) IS NOT NULL", [.text("\(schema).items")])
            if exists.rows.first?.first == "t" {
                let count = try await connection.execute("SELECT count(*) FROM \(SQL.quoteIdentifier(schema)).items")
                #expect(count.rows.first?.first == "0")
            }
        }
    }
}
