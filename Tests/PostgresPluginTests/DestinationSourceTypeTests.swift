import Foundation
import PostgresClient
import SluiceTestSupport
import SluiceSDK
import SluiceWire
import Testing

/// PostgreSQL → PostgreSQL keeps the source's column types, modifiers and extension types
/// included, and every value.
@Suite(.temporaryFolder) struct DestinationSourceTypeTests {
    static let columns = """
        id integer PRIMARY KEY, c_char character(5), c_varchar varchar(7), c_qchar "char", c_name name,
        c_ts timestamp(3), c_tstz timestamptz(0), c_time time(2), c_timetz timetz(1),
        c_iym interval year to month, c_ids interval day to second(3), c_money money, c_bit bit(4), c_varbit varbit(8),
        c_num numeric(5,-2), c_num_list numeric(6,2)[], c_json json, c_jsonb jsonb, c_inets inet[], c_ts_list timestamp(3)[],
        c_citext citext, c_hstore hstore, c_vec vector(3), c_halfvec halfvec(2), c_sparse sparsevec(5)
        """
    static let values = """
        (1, 'ab', 'abc', 'x', 'a name', '2024-02-29 12:34:56.789', '2024-02-29 12:34:56+02', '23:59:59.99', '01:02:03.4+05:30',
         '1 year 2 mons', '3 days 04:05:06.789', 12.34, B'1010', B'101', 12300, '{1.50,NULL,-2.25}', '{"b":1, "a" : 2, "b":3}',
         '{"b":1,"a":2}', '{10.0.0.1/8,::1}', '{"2024-01-01 00:00:00.123",NULL}', 'MiXeD', 'a=>1, b=>NULL', '[1,2.5,-3]',
         '[1.5,2]', '{1:0.5,5:2}/5'),
        (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
         NULL, NULL, NULL, NULL, NULL)
        """

    private static func run(_ arguments: [String]) async throws -> CommandResult {
        try await CommandRun.run(Binaries.pluginHost, arguments, timeout: 120)
    }

    @Test(.needsPGVector, arguments: ["copy", "insert"])
    func postgresTypesArriveAsTheyAre(method: String) async throws {
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        for name in ["citext", "hstore", "vector"] {
            _ = try? await connection.execute("CREATE EXTENSION IF NOT EXISTS \(name)")
        }
        let prefix = "srctypes_\(UInt32.random(in: 0...UInt32.max))"
        let source = prefix + "_src", target = prefix + "_dst"
        do {
            try await copy(connection, source: source, target: target, method: method)
        } catch {
            _ = try? await connection.executeScript("DROP SCHEMA IF EXISTS \(source) CASCADE; DROP SCHEMA IF EXISTS \(target) CASCADE")
            throw error
        }
        _ = try await connection.executeScript("DROP SCHEMA IF EXISTS \(source) CASCADE; DROP SCHEMA IF EXISTS \(target) CASCADE")
    }

    private func copy(_ connection: PostgresConnection, source: String, target: String, method: String) async throws {
        _ = try await connection.executeScript("""
            CREATE SCHEMA \(source);
            CREATE TABLE \(source).kinds (\(Self.columns));
            INSERT INTO \(source).kinds VALUES \(Self.values);
            """)
        let sourceConfig = try HostFixtures.temporaryFile(HostFixtures.serverConfig(extra: "schema: \(source)\nschemas: [\(source)]\n"))
        let targetConfig = try HostFixtures.temporaryFile(HostFixtures.serverConfig(extra: "schema: \(target)\nmetadata_columns: false\ninsert_method: \(method)\n"))
        let result = try await Self.run(["pipeline", "--source", Binaries.postgresPlugin.path, "--source-config", sourceConfig,
                                         "--destination", Binaries.postgresPlugin.path, "--destination-config", targetConfig])
        #expect(result.exitCode == 0, "\(result.stderr)")

        let typesQuery = { (schema: String) in
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a WHERE a.attrelid = '\(schema).kinds'::regclass AND a.attnum > 0 ORDER BY a.attnum"
        }
        let sourceTypes = try await connection.execute(typesQuery(source)).rows
        #expect(sourceTypes.count == 25)
        #expect(try await connection.execute(typesQuery(target)).rows == sourceTypes)
        let rowsQuery = { (schema: String) in "SELECT k::text FROM \(schema).kinds k ORDER BY id" }
        let sourceRows = try await connection.execute(rowsQuery(source)).rows
        #expect(try await connection.execute(rowsQuery(target)).rows == sourceRows)
    }

    @Test func anExtensionTypeTheDatabaseLacksFailsBeforeAnyDataOrBecomesTextWhenAsked() async throws {
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        let database = "sluice_noext_\(UInt32.random(in: 0...UInt32.max))"
        _ = try await connection.execute("CREATE DATABASE \(database)")
        do {
            let stream = DestinationHarness.schema("extended", [
                Column(name: "id", type: LogicalType(.int32)),
                Column(name: "email", type: LogicalType(.string), sourceType: "citext"),
                Column(name: "embedding", type: .list(of: .string), sourceType: "vector(3)[]"),
            ])
            let batch = try DestinationHarness.batch(stream, [[.int32(1), .string("MiXeD"), .list([.string("[1,2,3]")])]])
            do {
                _ = try await DestinationHarness.write(DestinationHarness.config(schema: "public", ["database": database]),
                                                       streams: [ConfiguredStream(schema: stream)], [.schema(stream), batch])
                Issue.record("a column of a missing extension's type was written")
            } catch HostError.plugin(let error) {
                #expect(error.code == "EXTENSION_TYPE_MISSING")
                #expect(error.category == .config)
                #expect(error.message.contains("column \"email\""), "\(error.message)")
                #expect(error.message.contains("missing_extension_types"))
            }
            let outcome = try await DestinationHarness.write(DestinationHarness.config(schema: "public", ["database": database, "missing_extension_types": "text"]),
                                                             streams: [ConfiguredStream(schema: stream)], [.schema(stream), batch])
            #expect(outcome.stream("extended")?.inserted == 1)
        } catch {
            _ = try? await connection.execute("DROP DATABASE IF EXISTS \(database) WITH (FORCE)")
            throw error
        }
        _ = try await connection.execute("DROP DATABASE IF EXISTS \(database) WITH (FORCE)")
    }
}

/// Tables made before source types were kept take the kept types without a migration.
@Suite struct DestinationSourceTypeMigrationTests {
    @Test func existingColumnsThatHoldEveryValueAreKept() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let table = SQL.quoteQualified(schema: schema, name: "older")
            _ = try await connection.executeScript("""
                CREATE SCHEMA \(SQL.quoteIdentifier(schema));
                CREATE TABLE \(table) (id integer, at timestamp without time zone, span interval, price numeric, code character varying(5),
                                       label text, amounts numeric[], doc jsonb);
                """)
            let stream = DestinationHarness.schema("older", [
                Column(name: "id", type: LogicalType(.int32), sourceType: "integer"),
                Column(name: "at", type: LogicalType(.timestamp), sourceType: "timestamp(3) without time zone"),
                Column(name: "span", type: LogicalType(.interval), sourceType: "interval year to month"),
                Column(name: "price", type: LogicalType(.decimal), sourceType: "money"),
                Column(name: "code", type: LogicalType(.string, maxLength: 5), sourceType: "character(5)"),
                Column(name: "label", type: LogicalType(.string), sourceType: "name"),
                Column(name: "amounts", type: .list(of: .decimal), sourceType: "numeric(6,2)[]"),
            ])
            let outcome = try await DestinationHarness.write(DestinationHarness.config(schema: schema, ["metadata_columns": false]),
                                                             streams: [ConfiguredStream(schema: stream)],
                                                             [.schema(stream), try DestinationHarness.batch(stream, [
                                                                 [.int32(1), .timestamp(1_000), .interval(months: 14, days: 0, micros: 0), .decimal("12.34"),
                                                                  .string("ab   "), .string("n"), .list([.decimal("1.50")])],
                                                             ])])
            #expect(outcome.stream("older")?.inserted == 1)
            #expect(try await DestinationHarness.rows(connection, "SELECT at::text, span::text, price::text, code, label, amounts::text FROM \(table)")
                    == [["1970-01-01 00:00:00.001", "1 year 2 mons", "12.34", "ab   ", "n", "{1.50}"]])

            let json = DestinationHarness.schema("older", [Column(name: "doc", type: LogicalType(.json), sourceType: "json")])
            do {
                _ = try await DestinationHarness.write(DestinationHarness.config(schema: schema), streams: [ConfiguredStream(schema: json)], [.schema(json)])
                Issue.record("json was written into jsonb")
            } catch HostError.plugin(let error) {
                #expect(error.code == "MIGRATION_REFUSED")
                #expect(error.message.contains("column \"doc\": type jsonb cannot hold json"), "\(error.message)")
            }
        }
    }
}
