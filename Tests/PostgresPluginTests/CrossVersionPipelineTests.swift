import Foundation
import PostgresClient
import SluiceTestSupport
import Testing

/// `plugin-host pipeline` between PostgreSQL 15 (over verified TLS, `scripts/pg15-server.sh`)
/// and the PG* server (the embedded PostgreSQL 18), both ways: a table of many types goes from
/// 15 to 18 and back to 15, and each copy holds the same values as the original, compared in SQL.
@Suite("PostgreSQL 15 ↔ 18 pipelines", .serialized, .enabled(if: PG15Server.isConfigured, PG15Server.skipReason), .temporaryFolder)
struct CrossVersionPipelineTests {
    private let prefix = "xver_\(UInt32.random(in: 0...UInt32.max))"

    /// The columns compared, as text, in a fixed time zone.
    private static let columns = "id, flag, small, big, amount, real_value, label, blob, day, wall, instant, span, ident, doc, numbers, words"

    private static let seed = """
        CREATE TABLE %@.items (
          id bigint PRIMARY KEY, flag boolean, small smallint, big bigint, amount numeric, real_value double precision,
          label text, blob bytea, day date, wall timestamp, instant timestamptz, span interval, ident uuid, doc jsonb,
          numbers integer[], words text[]);
        INSERT INTO %@.items VALUES
          (1, true, -32768, 9223372036854775807, 12345678901234567890.123456789, 0.1, 'héllo "quoted"' || E'\\n\\ttab', '\\x0001ff',
           '2024-02-29', '1999-12-31 23:59:59.999999', '2024-01-31 12:34:56.123456+05:30', '1 year 2 mons -3 days 04:05:06.5',
           '00112233-4455-6677-8899-aabbccddeeff', '{"a": [1, 2.5, {"b": null}]}', '{1,NULL,3}', '{"a",NULL,""}'),
          (2, false, 32767, -9223372036854775808, 'NaN', '-Infinity', '', '', 'infinity', '-infinity', 'infinity', '0',
           'ffffffff-ffff-ffff-ffff-ffffffffffff', '"just a string"', '{}', '{}'),
          (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'null', NULL, NULL),
          (4, true, 0, 0, '-0.000001', 1e308, repeat('x', 10000), decode(repeat('ff', 1000), 'hex'), '0044-03-15 BC',
           '2000-01-01 00:00:00', '1970-01-01 00:00:00+00', '-178000000 years', '00000000-0000-0000-0000-000000000000', '[]', '{-2147483648,2147483647}', '{"∑"}');
        """

    private func file(_ text: String, suffix: String = ".yaml") throws -> String {
        try HostFixtures.temporaryFile(text, suffix: suffix)
    }

    /// A postgres-plugin configuration for PostgreSQL 15 over verify-full TLS, on `schema`.
    private func pg15Config(_ schema: String) throws -> String {
        try file("""
            host: localhost
            port: \(PG15Server.port)
            user: postgres
            password: ${SLUICE_PG15_PASSWORD}
            database: postgres
            sslmode: verify-full
            sslrootcert: \(PG15Server.tlsFile("ca.crt"))
            schema: \(schema)
            schemas: [\(schema)]
            metadata_columns: false
            """)
    }

    /// A postgres-plugin configuration for the PG* server, on `schema`.
    private func pg18Config(_ schema: String) throws -> String {
        try file(HostFixtures.serverConfig(extra: "schema: \(schema)\nschemas: [\(schema)]\nmetadata_columns: false"))
    }

    private func pipeline(source: String, destination: String) async throws {
        let result = try await CommandRun.run(Binaries.pluginHost, [
            "pipeline", "--source", Binaries.postgresPlugin.path, "--source-config", source,
            "--destination", Binaries.postgresPlugin.path, "--destination-config", destination,
        ], timeout: 180)
        #expect(result.exitCode == 0, "\(result.stderr)")
        // Every column is of a built-in type: the rows travel as the source server's binary COPY
        // tuples, which the other version's server parses (PROTOCOL.md §5.12).
        #expect(result.stderr.contains("stream \(schemaOf(source)).items may travel as PostgreSQL rows"), "\(result.stderr)")
    }

    /// The schema a configuration file written by this suite reads (its `schemas:` line).
    private func schemaOf(_ path: String) -> String {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").first { $0.hasPrefix("schemas: [") } ?? ""
        return String(line.dropFirst("schemas: [".count).dropLast())
    }

    /// The rows of `schema.items`, every column as text (UTC, ISO dates).
    private func rows(_ connection: PostgresConnection, _ schema: String) async throws -> [[String?]] {
        _ = try await connection.execute("SET TimeZone = 'UTC'")
        _ = try await connection.execute("SET DateStyle = 'ISO, YMD'")
        _ = try await connection.execute("SET IntervalStyle = 'postgres'")
        let columns = Self.columns.split(separator: ",").map { "\($0.trimmingCharacters(in: .whitespaces))::text" }.joined(separator: ", ")
        return try await connection.execute("SELECT \(columns) FROM \(SQL.quoteIdentifier(schema)).items ORDER BY id").rows
    }

    @Test("a table goes from PostgreSQL 15 to 18 and back to 15 unchanged")
    func bothWays() async throws {
        let pg15 = try await PG15Server.connect()
        defer { pg15.close() }
        let pg18 = try await TestDatabase.connect()
        defer { pg18.close() }
        #expect(pg15.serverVersionNumber / 10000 == 15)
        try #require(pg18.serverVersionNumber / 10000 != 15, "the PG* server must be another version than PostgreSQL 15")

        let original = "\(prefix)_a", copy = "\(prefix)_b", back = "\(prefix)_c"
        let quoted = SQL.quoteIdentifier(original)
        _ = try await pg15.executeScript("CREATE SCHEMA \(quoted);" + Self.seed.replacingOccurrences(of: "%@", with: quoted))
        do {
            try await pipeline(source: try pg15Config(original), destination: try pg18Config(copy))
            try await pipeline(source: try pg18Config(copy), destination: try pg15Config(back))
            let expected = try await rows(pg15, original)
            #expect(expected.count == 4)
            #expect(try await rows(pg18, copy) == expected)
            #expect(try await rows(pg15, back) == expected)
        } catch {
            Issue.record(error)
        }
        for schema in [original, back] { _ = try? await pg15.execute("DROP SCHEMA IF EXISTS \(SQL.quoteIdentifier(schema)) CASCADE") }
        _ = try? await pg18.execute("DROP SCHEMA IF EXISTS \(SQL.quoteIdentifier(copy)) CASCADE")
    }
}
