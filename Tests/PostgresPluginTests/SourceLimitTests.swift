import Foundation
import PostgresClient
import SluiceSDK
import SluiceWire
import Testing

/// A `limit` PostgreSQL cannot take (2^63 and above) is a configuration error, from the host
/// and from the source alike.
@Suite("source limit beyond bigint", .temporaryFolder)
struct SourceLimitTests {
    @Test("the PostgreSQL source answers a limit of 2^63 or more sent directly with CONFIG, not SYSTEM")
    func sourceRefuses() async throws {
        try await SourceHarness.withSchema { schema, db in
            _ = try await db.execute("CREATE TABLE \(SQL.quoteIdentifier(schema)).t (id int)")
            for limit in [UInt64(Int64.max) + 1, UInt64.max] {
                do {
                    _ = try await SourceHarness.read([SourceHarness.stream(schema, "t", limit: limit)])
                    Issue.record("the read succeeded")
                } catch let HostError.plugin(error) {
                    #expect(error.category == .config, "\(error)")
                    #expect(error.code == "INVALID_LIMIT")
                    #expect(error.message.contains("limit \(limit)"), "\(error.message)")
                }
            }
        }
    }

    @Test("plugin-host refuses a catalog limit of 2^63 as a configuration error naming its path")
    func hostRefuses() async throws {
        try await SourceHarness.withSchema { schema, db in
            _ = try await db.execute("CREATE TABLE \(SQL.quoteIdentifier(schema)).t (id int)")
            let config = try HostFixtures.temporaryFile(HostFixtures.serverConfig())
            let catalog = try HostFixtures.temporaryFile(#"{"streams": [{"namespace": "\#(schema)", "name": "t", "limit": 9223372036854775808}]}"#,
                                                         suffix: ".json")
            defer {
                try? FileManager.default.removeItem(atPath: config)
                try? FileManager.default.removeItem(atPath: catalog)
            }
            let result = try await HostFixtures.host(["read", "--plugin", Binaries.postgresPlugin.path, "--config", config, "--catalog", catalog])
            #expect(result.exitCode == 65, "\(result.stderr)")
            #expect(result.stderr.contains("$.streams[0].limit"), "\(result.stderr)")
        }
    }
}

/// A list whose elements are lists never becomes a column: the real destination refuses the
/// Write as a protocol error (PROTOCOL.md §5.5) and creates no table.
@Suite("destination: list of lists")
struct ListOfListDestinationTests {
    @Test("a Write whose catalog has a list-of-list column fails with PROTOCOL/INVALID_MESSAGE and no table")
    func refused() async throws {
        try await DestinationHarness.withSchema { schema, db in
            let stream = DestinationHarness.schema("matrix", [
                Column(name: "id", type: LogicalType(.int64), nullable: false),
                Column(name: "cells", type: LogicalType(.list, elementKind: .list)),
            ], primaryKey: ["id"])
            do {
                _ = try await DestinationHarness.write(DestinationHarness.config(schema: schema),
                                                       streams: [ConfiguredStream(schema: stream, writeMode: .append)], [])
                Issue.record("the write succeeded")
            } catch let HostError.plugin(error) {
                #expect(error.category == .protocol, "\(error)")
                #expect(error.code == "INVALID_MESSAGE")
                #expect(error.message.contains("one-dimensional"), "\(error.message)")
            } catch let HostError.pluginCrashed(status, _) {
                // The plugin answered and ended the session (a protocol error, §7.3) before
                // the host had sent WriteEnd: the host sees the exit first.
                #expect(status == .exited(2))
            }
            let tables = try await DestinationHarness.rows(db, "SELECT count(*) FROM pg_tables WHERE schemaname = '\(schema)'")
            #expect(tables == [["0"]])
        }
    }
}
