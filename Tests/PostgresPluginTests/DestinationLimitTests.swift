import Foundation
import PostgresClient
import SluiceSDK
import SluiceWire
import Testing

/// PostgreSQL's 1600 columns and the names of the columns the destination adds: clear
/// configuration errors before any data moves, and `metadata_columns: false` to make room.
@Suite struct DestinationLimitTests {
    static func wide(_ count: Int) -> StreamSchema {
        DestinationHarness.schema("wide", (0..<count).map { Column(name: "c\($0)", type: LogicalType(.int32), nullable: $0 != 0) }, primaryKey: ["c0"])
    }

    static func configError(_ config: String, _ stream: StreamSchema, _ messages: [HostMessage] = []) async throws -> PluginError? {
        do {
            _ = try await DestinationHarness.write(config, streams: [ConfiguredStream(schema: stream)], [.schema(stream)] + messages)
            return nil
        } catch HostError.plugin(let error) {
            return error
        }
    }

    @Test func sixteenHundredColumnsFitWithoutMetadataColumns() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let stream = Self.wide(1600)
            let row = (0..<1600).map { Value.int32(Int32($0)) }
            let tooWide = try await Self.configError(DestinationHarness.config(schema: schema, ["write_mode": "append"]), stream, [try DestinationHarness.batch(stream, [row])])
            #expect(tooWide?.code == "TOO_MANY_COLUMNS")
            #expect(tooWide?.category == .config)
            #expect(tooWide?.message.contains("1602 columns") == true, "\(tooWide?.message ?? "")")
            #expect(tooWide?.message.contains("metadata_columns") == true)
            #expect(try await DestinationHarness.rows(connection, "SELECT to_regclass('\(schema).wide') IS NULL") == [["t"]])

            let outcome = try await DestinationHarness.write(DestinationHarness.config(schema: schema, ["metadata_columns": false, "write_mode": "append"]),
                                                             streams: [ConfiguredStream(schema: stream)], [.schema(stream), try DestinationHarness.batch(stream, [row])])
            #expect(outcome.stream("wide")?.inserted == 1)
            #expect(try await DestinationHarness.rows(connection, "SELECT count(*), sum(c1599) FROM \(schema).wide") == [["1", "1599"]])

            let staged = try await Self.configError(DestinationHarness.config(schema: schema, ["metadata_columns": false, "write_mode": "upsert"]), stream)
            #expect(staged?.code == "TOO_MANY_COLUMNS")
            #expect(staged?.message.contains("staging table") == true, "\(staged?.message ?? "")")

            let deletes = try await Self.configError(DestinationHarness.config(schema: schema, ["metadata_columns": false, "write_mode": "append"]), stream,
                                                     [try DestinationHarness.batch(stream, [row], operations: [.delete])])
            #expect(deletes?.code == "TOO_MANY_COLUMNS")
        }
    }

    @Test func aColumnNamedLikeAMetadataColumnIsAConfigErrorOrWrittenWhenMetadataIsOff() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let stream = DestinationHarness.schema("named", [
                Column(name: "id", type: LogicalType(.int32), nullable: false),
                Column(name: "_sluice_synced_at", type: LogicalType(.string)),
                Column(name: "_sluice_source", type: LogicalType(.string)),
            ], primaryKey: ["id"])
            let batch = try DestinationHarness.batch(stream, [[.int32(1), .string("mine"), .string("also mine")]])
            let refused = try await Self.configError(DestinationHarness.config(schema: schema), stream, [batch])
            #expect(refused?.code == "RESERVED_COLUMN_NAME")
            #expect(refused?.message.contains("column \"_sluice_synced_at\"") == true)
            #expect(refused?.message.contains("metadata_columns") == true)
            let mirror = try await Self.configError(DestinationHarness.config(schema: schema, ["metadata_columns": false, "write_mode": "mirror"]), stream, [batch])
            #expect(mirror?.code == "RESERVED_COLUMN_NAME")
            #expect(mirror?.message.contains("mirror needs") == true)

            for mode in ["append", "upsert"] {
                let outcome = try await DestinationHarness.write(DestinationHarness.config(schema: schema, ["metadata_columns": false, "write_mode": mode]),
                                                                 streams: [ConfiguredStream(schema: stream)], [.schema(stream), batch])
                #expect(outcome.stream("named")?.inserted == (mode == "append" ? 1 : 0))
            }
            #expect(try await DestinationHarness.rows(connection, "SELECT id, _sluice_synced_at, _sluice_source FROM \(schema).named") == [["1", "mine", "also mine"]])

            let staging = DestinationHarness.schema("staged", [Column(name: "id", type: LogicalType(.int32)), Column(name: "_sluice_seq", type: LogicalType(.int64))])
            let reserved = try await Self.configError(DestinationHarness.config(schema: schema), staging)
            #expect(reserved?.code == "RESERVED_COLUMN_NAME")
            #expect(reserved?.message.contains("staging") == true)
        }
    }

    @Test func aStreamNamedLikeTheStateTableIsAConfigError() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let stream = DestinationHarness.schema("_sluice_state", [Column(name: "id", type: LogicalType(.int32), nullable: false)], primaryKey: ["id"])
            let refused = try await Self.configError(DestinationHarness.config(schema: schema), stream,
                                                     [try DestinationHarness.batch(stream, [[.int32(1)]])])
            #expect(refused?.code == "RESERVED_TABLE_NAME")
            #expect(refused?.category == .config)
            #expect(try await DestinationHarness.rows(connection, "SELECT to_regclass('\(schema)._sluice_state') IS NULL") == [["t"]])
        }
    }
}
