import Foundation
import PostgresClient
import SluiceSDK
import SluiceWire
import Testing

/// PROTOCOL.md §5.5: a proto3 writer in another language omits the `child` of a list column
/// whose rows hold no element. The real destination must store those rows as empty arrays,
/// not as NULL and not fail.
@Suite("postgres-plugin destination: list columns without a child")
struct OmittedListChildTests {
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
}
