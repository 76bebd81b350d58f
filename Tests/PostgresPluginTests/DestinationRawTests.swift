import Foundation
import PostgresClient
import SluiceSDK
import SluiceWire
@testable import PostgresPlugin
import Testing

/// `table_layout: raw`: each record as one exact jsonb object.
@Suite struct DestinationRawTests {
    static let longName = String(repeating: "field_", count: 12)

    static let stream = DestinationHarness.schema("rawish", [
        Column(name: "id", type: LogicalType(.int64), nullable: false),
        Column(name: "big", type: LogicalType(.int64)),
        Column(name: "dec", type: LogicalType(.decimal)),
        Column(name: "nan", type: LogicalType(.float64)),
        Column(name: "at", type: LogicalType(.timestamptz)),
        Column(name: "forever", type: LogicalType(.timestamp)),
        Column(name: "bin", type: LogicalType(.bytes)),
        Column(name: "tags", type: .list(of: .string)),
        Column(name: "doc", type: LogicalType(.json)),
        Column(name: "Mixed \"Name\"", type: LogicalType(.string)),
        Column(name: longName, type: LogicalType(.bool)),
    ], primaryKey: ["id"])

    @Test(.needsServerVersion(16)) func recordsAreExactJSONObjects() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let digits = "1" + String(repeating: "0", count: 300) + ".000000000000000000001"
            let rows: [[Value]] = [
                [.int64(1), .int64(.max), .decimal(digits), .float64(.nan), .timestamptz(1_500_000_000_123_456), .timestamp(.max),
                 .bytes([0, 255]), .list([.string("a\"b"), .null]), .json(#"{"k":[1,2.50]}"#), .string("héllo 😀\u{0}"), .bool(true)],
                [.int64(2), .null, .null, .null, .null, .null, .null, .null, .null, .null, .null],
                [.int64(1), .null, .null, .null, .null, .null, .null, .null, .null, .null, .null],
            ]
            let outcome = try await DestinationHarness.write(DestinationHarness.config(schema: schema, ["table_layout": "raw"]),
                                                             streams: [ConfiguredStream(schema: Self.stream, writeMode: .append)],
                                                             [.schema(Self.stream), try DestinationHarness.batch(Self.stream, rows, operations: [.upsert, .upsert, .delete])])
            #expect(outcome.stream("rawish")?.inserted == 3)
            #expect(outcome.stream("rawish")?.nulBytesStripped == 1)
            let check = try await DestinationHarness.rows(connection, """
                SELECT d->'id', d->'big', (d->>'dec') = $$\(digits)$$, jsonb_typeof(d->'dec'), d->'nan', d->'at', d->'forever', d->'bin', d->'tags', d->'doc',
                       d->'Mixed "Name"', d->'\(Self.longName)', _sluice_deleted, _sluice_emitted_at IS NOT NULL, _sluice_source
                FROM (SELECT _sluice_data AS d, * FROM \(schema).rawish) r ORDER BY d->'id', _sluice_deleted
                """)
            #expect(check.count == 3)
            #expect(check.first == ["1", "9223372036854775807", "t", "number", #""NaN""#, #""2017-07-14T02:40:00.123456+00:00""#, #""infinity""#,
                                    #""\\x00ff""#, #"["a\"b", null]"#, #"{"k": [1, 2.50]}"#, #""héllo 😀""#, "true", "f", "t", "tests"])
            #expect(check.dropFirst().first == ["1", "null", nil, "null", "null", "null", "null", "null", "null", "null", "null", "null", "t", "t", "tests"])
            #expect(check.last?.prefix(3) == ["2", "null", nil])
            let columns = try await DestinationHarness.rows(connection,
                "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a WHERE a.attrelid = '\(schema).rawish'::regclass AND a.attnum > 0 ORDER BY a.attnum")
            #expect(columns == [["_sluice_raw_id", "uuid"], ["_sluice_emitted_at", "timestamp with time zone"], ["_sluice_data", "jsonb"],
                                ["_sluice_deleted", "boolean"], ["_sluice_source", "text"]])
            // A second sync appends to the same table.
            _ = try await DestinationHarness.write(DestinationHarness.config(schema: schema, ["table_layout": "raw"]),
                                                   streams: [ConfiguredStream(schema: Self.stream, writeMode: .append)],
                                                   [.schema(Self.stream), try DestinationHarness.batch(Self.stream, [rows[1]])])
            #expect(try await DestinationHarness.rows(connection, "SELECT count(*), count(DISTINCT _sluice_raw_id) FROM \(schema).rawish") == [["4", "4"]])
        }
    }

    @Test(.needsServerVersion(16)) func replaceSwapsInANewRawTable() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let config = DestinationHarness.config(schema: schema, ["table_layout": "raw", "write_mode": "replace", "metadata_columns": false])
            let nulls = Array(repeating: Value.null, count: Self.stream.columns.count - 1)
            for ids in [[1, 2, 3], [7]] {
                _ = try await DestinationHarness.write(config, streams: [ConfiguredStream(schema: Self.stream)],
                                                       [.schema(Self.stream), try DestinationHarness.batch(Self.stream, ids.map { [.int64(Int64($0))] + nulls })])
            }
            #expect(try await DestinationHarness.rows(connection, "SELECT _sluice_data->>'id' FROM \(schema).rawish") == [["7"]])
        }
    }

    @Test(.needsServerVersion(16)) func keyedModesAndTypedTablesAreRefused() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            do {
                _ = try await DestinationHarness.write(DestinationHarness.config(schema: schema, ["table_layout": "raw"]),
                                                       streams: [ConfiguredStream(schema: Self.stream, writeMode: .upsert)], [.schema(Self.stream)])
                Issue.record("raw upsert was accepted")
            } catch HostError.plugin(let error) {
                #expect(error.code == "RAW_LAYOUT_MODE")
            }
            _ = try await DestinationHarness.write(DestinationHarness.config(schema: schema), streams: [ConfiguredStream(schema: Self.stream)], [.schema(Self.stream)])
            do {
                _ = try await DestinationHarness.write(DestinationHarness.config(schema: schema, ["table_layout": "raw"]),
                                                       streams: [ConfiguredStream(schema: Self.stream)], [.schema(Self.stream)])
                Issue.record("raw rows were written into a typed table")
            } catch HostError.plugin(let error) {
                #expect(error.code == "MIGRATION_REFUSED")
                #expect(error.message.contains("not a raw-layout table"))
            }
        }
    }

    /// JSON_OBJECT came with PostgreSQL 16: an older server is refused before any data moves.
    @Test func olderServersAreRefusedUpFront() throws {
        #expect(performing: { try RawLayout.requireSupport(serverVersion: 150_018) }, throws: { error in
            let error = try #require(error as? PluginError)
            return error.code == "RAW_LAYOUT_UNSUPPORTED" && error.category == .config && error.message.contains("version 15.18")
        })
        try RawLayout.requireSupport(serverVersion: 160_000)
        try RawLayout.requireSupport(serverVersion: 180_001)
    }
}
