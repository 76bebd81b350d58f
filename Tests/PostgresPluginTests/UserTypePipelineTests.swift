import Foundation
import PostgresClient
import SluiceSDK
import SluiceWire
import Testing

/// PostgreSQL → PostgreSQL recreates the source's enums, domains and composite types in the
/// destination schema (PROTOCOL.md §5.8), through `plugin-host pipeline` and through JSON Lines
/// (`discover`, `read`, then `write --catalog`), and every value arrives equal as the source type.
@Suite("user-defined types", .serialized)
struct UserTypePipelineTests: PipelineWorkspace {
    let prefix = "utypes_\(UInt32.random(in: 0...UInt32.max))"
    let files = FileManager.default.temporaryDirectory.appendingPathComponent("utypes-\(UUID().uuidString)")

    static let columns = ["mood", "moods", "n", "ns", "st", "nn", "p", "ps", "nest", "nests", "ms", "j", "np"]

    /// A source schema with enums (quotes, unicode, a backslash in labels), domains (CHECK, NOT
    /// NULL, over an array of the enum, over json, over a composite), composites (nested, with
    /// arrays of enums) and arrays of each; NULLs, all-NULL composites, NULL elements.
    private func seed(_ connection: PostgresConnection) async throws -> String {
        let source = schema("src")
        let s = SQL.quoteIdentifier(source)
        _ = try await connection.executeScript("""
            CREATE SCHEMA \(s);
            CREATE TYPE \(s)."Mood" AS ENUM ('sad', 'it''s ok', 'ünïcödé "q"', 'back\\slash', 'happy', '');
            CREATE DOMAIN \(s).posint AS integer CONSTRAINT positive CHECK (VALUE > 0);
            CREATE DOMAIN \(s).short_text AS character varying(10) CHECK (VALUE <> '') CHECK (length(VALUE) < 9);
            CREATE DOMAIN \(s).nn_text AS text NOT NULL;
            CREATE TYPE \(s).pair AS (n integer, label text);
            CREATE TYPE \(s).nested AS (p \(s).pair, moods \(s)."Mood"[], d \(s).posint, at timestamp(3));
            CREATE DOMAIN \(s).moods AS \(s)."Mood"[];
            CREATE DOMAIN \(s).doc AS json;
            CREATE DOMAIN \(s).named_pair AS \(s).pair CHECK ((VALUE).n >= 0);
            CREATE TABLE \(s).t (id int PRIMARY KEY, mood \(s)."Mood", moods \(s)."Mood"[], n \(s).posint, ns \(s).posint[],
                                 st \(s).short_text, nn \(s).nn_text, p \(s).pair, ps \(s).pair[], nest \(s).nested,
                                 nests \(s).nested[], ms \(s).moods, j \(s).doc, np \(s).named_pair);
            INSERT INTO \(s).t VALUES
              (1, 'it''s ok', ARRAY['sad', NULL, 'ünïcödé "q"', 'back\\slash', '']::\(s)."Mood"[], 7, '{1,NULL,3}', 'abc', 'x',
               ROW(1, 'a "quoted", (paren) \\ text'), ARRAY[ROW(1,'x'), ROW(NULL,NULL), NULL, ROW(2,'')]::\(s).pair[],
               ROW(ROW(5, NULL), ARRAY['happy', NULL]::\(s)."Mood"[], 9, '2024-01-02 03:04:05.678'),
               ARRAY[ROW(ROW(NULL,NULL), '{}', NULL, NULL)::\(s).nested, NULL], '{sad,happy}',
               '{"b": 1, "a" : [1, 2.50], "b": null}', ROW(3, 'three')),
              (2, NULL, NULL, NULL, NULL, NULL, '', ROW(NULL, NULL), '{}', ROW(NULL, NULL, NULL, NULL), '{}', '{}', 'null', NULL),
              (3, '', '{}', NULL, '{}', NULL, 'y', NULL, NULL, NULL, NULL, NULL, NULL, ROW(0, NULL));
            """)
        return source
    }

    /// The columns' types with the schema name taken out, as `format_type` spells them.
    private func types(_ connection: PostgresConnection, _ schema: String) async throws -> [[String?]] {
        try await connection.execute("""
            SELECT a.attname, replace(format_type(a.atttypid, a.atttypmod), $2 || '.', ''), t.typtype
            FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
            WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum
            """, [.text(SQL.quoteQualified(schema: schema, name: "t")), .text(schema)]).rows
    }

    /// Checks `target.t` against `source.t`: the same types, and per column every value
    /// `IS NOT DISTINCT FROM` the source's, compared as the source's type; the rows' text too
    /// (which tells a NULL composite from one whose fields are all NULL).
    private func expectSame(_ connection: PostgresConnection, _ source: String, _ target: String) async throws {
        let sourceTypes = try await types(connection, source)
        #expect(sourceTypes.count == Self.columns.count + 1)
        #expect(try await types(connection, target) == sourceTypes)
        let s = SQL.quoteIdentifier(source), d = SQL.quoteIdentifier(target)
        for column in Self.columns {
            let type = try #require(try await connection.execute(
                "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = '\(s).t'::regclass AND attname = $1",
                [.text(column)]).rows.first?.first ?? nil)
            // json has no equality: its text is its value.
            let (left, right) = column == "j" ? ("a.j::text", "b.j::text") : ("a.\(column)", "b.\(column)::text::\(type)")
            let differing = try await connection.execute("""
                SELECT count(*) FROM \(s).t a FULL JOIN \(d).t b USING (id)
                WHERE \(left) IS DISTINCT FROM \(right) OR a.id IS NULL OR b.id IS NULL
                """).rows
            #expect(differing == [["0"]], "column \(column)")
        }
        let text = { (schema: String) in "SELECT t::text FROM \(schema).t t ORDER BY id" }
        #expect(try await connection.execute(text(d)).rows == connection.execute(text(s)).rows)
    }

    @Test("a pipeline recreates enums, domains and composites, dependencies first; every write path; a rerun keeps them")
    func pipeline() async throws {
        try await withDatabase { connection in
            let source = try await seed(connection)
            for (name, extra, mode) in [("copy", "insert_method: copy", "upsert"), ("insert", "insert_method: insert", "append"),
                                        ("auto", "", "append"), ("replace", "", "replace")] {
                let target = schema(name)
                let arguments = ["pipeline", "--source", Binaries.postgresPlugin.path,
                                 "--source-config", try postgresConfig(source, "schemas: [\(source)]"),
                                 "--destination", Binaries.postgresPlugin.path, "--destination-config", try postgresConfig(target, extra),
                                 "--write-mode", mode]
                let first = try await run(arguments)
                #expect(first.exitCode == 0, "\(name): \(first.stderr)")
                try await expectSame(connection, source, target)
                // The types exist now: a second run checks and uses them.
                if mode == "append" { _ = try await connection.execute("TRUNCATE \(SQL.quoteQualified(schema: target, name: "t"))") }
                let second = try await run(arguments)
                #expect(second.exitCode == 0, "\(name): \(second.stderr)")
                try await expectSame(connection, source, target)
            }
            // The domain's constraints hold in the destination.
            let target = SQL.quoteIdentifier(schema("copy"))
            for bad in ["n = 0", "st = ''", "nn = NULL", "np = ROW(-1, 'x')"] {
                do {
                    _ = try await connection.execute("UPDATE \(target).t SET \(bad) WHERE id = 1")
                    Issue.record("\(bad) was accepted")
                } catch let error as PostgresError {
                    #expect(error.sqlState == "23514" || error.sqlState == "23502", "\(bad): \(error)")
                }
            }
            #expect(try await connection.execute("SELECT enum_range(NULL::\(target).\"Mood\")::text").rows
                    == connection.execute("SELECT enum_range(NULL::\(SQL.quoteIdentifier(source)).\"Mood\")::text").rows)
        }
    }

    @Test("JSON Lines: discover's catalog carries the definitions, read then write recreates them and the values")
    func jsonLines() async throws {
        try await withDatabase { connection in
            let source = try await seed(connection), target = schema("jsonl")
            let sourceConfig = try postgresConfig(source, "schemas: [\(source)]")
            let discover = try await run(["discover", "--plugin", Binaries.postgresPlugin.path, "--config", sourceConfig])
            #expect(discover.exitCode == 0, "\(discover.stderr)")
            var root = try #require(try JSONSerialization.jsonObject(with: Data(discover.stdout.utf8)) as? [String: Any])
            var streams = try #require(root["streams"] as? [[String: Any]])
            var columns = try #require(streams.first?["columns"] as? [[String: Any]])
            let mood = try #require(columns.first { $0["name"] as? String == "mood" })
            let reference = try #require(mood["user_type"] as? [String: Any])
            #expect(reference["namespace"] as? String == source && reference["name"] as? String == "Mood" && reference["array"] as? Bool == false)
            let moodTypes = try #require(mood["user_types"] as? [[String: Any]])
            #expect(moodTypes.first?["labels"] as? [String] == ["sad", "it's ok", "ünïcödé \"q\"", "back\\slash", "happy", ""])
            let catalog = try file("catalog.json", discover.stdout)
            let rows = files.appendingPathComponent("rows.jsonl").path
            let read = try await run(["read", "--plugin", Binaries.postgresPlugin.path, "--config", sourceConfig, "--output", rows])
            #expect(read.exitCode == 0, "\(read.stderr)")
            let write = try await run(["write", "--plugin", Binaries.postgresPlugin.path, "--config", try postgresConfig(target),
                                       "--catalog", catalog, "--input", rows])
            #expect(write.exitCode == 0, "\(write.stderr)")
            try await expectSame(connection, source, target)

            // A catalog whose reference names no definition is refused.
            let index = try #require(columns.firstIndex { $0["name"] as? String == "p" })
            var definitions = try #require(columns[index]["user_types"] as? [[String: Any]])
            definitions[definitions.count - 1]["name"] = "pear"
            columns[index]["user_types"] = definitions
            streams[0]["columns"] = columns
            root["streams"] = streams
            let broken = String(decoding: try JSONSerialization.data(withJSONObject: root), as: UTF8.self)
            let refused = try await run(["write", "--plugin", Binaries.postgresPlugin.path, "--config", try postgresConfig(schema("broken")),
                                         "--catalog", try file("broken.json", broken), "--input", rows])
            #expect(refused.exitCode == 70, "\(refused.stderr)")
            #expect(refused.stderr.contains("pair is referenced but not defined"), "\(refused.stderr)")
        }
    }

    @Test("an incompatible type already in the destination fails naming it and the difference; user_types: text stores text")
    func conflicts() async throws {
        try await withDatabase { connection in
            let source = try await seed(connection)
            let sourceConfig = try postgresConfig(source, "schemas: [\(source)]")
            func pipeline(_ target: String, _ extra: String = "") async throws -> CommandResult {
                try await run(["pipeline", "--source", Binaries.postgresPlugin.path, "--source-config", sourceConfig,
                               "--destination", Binaries.postgresPlugin.path, "--destination-config", try postgresConfig(target, extra)])
            }
            let cases: [(String, String)] = [
                ("CREATE TYPE %.\"Mood\" AS ENUM ('sad', 'happy')", "lacks the labels E'it''s ok'"),
                ("CREATE TYPE %.\"Mood\" AS ENUM ('happy', 'sad', 'it''s ok', 'ünïcödé \"q\"', 'back\\slash', '')", "orders the labels differently"),
                ("CREATE TYPE %.pair AS (n bigint, label text)", "has other fields (n bigint, label text)"),
                ("CREATE DOMAIN %.posint AS integer", "has other CHECK constraints (none)"),
                ("CREATE TYPE %.posint AS ENUM ('x')", "is not a domain"),
            ]
            for (index, (ddl, difference)) in cases.enumerated() {
                let target = schema("conflict\(index)")
                _ = try await connection.executeScript("CREATE SCHEMA \(target); " + ddl.replacingOccurrences(of: "%", with: target))
                let result = try await pipeline(target)
                #expect(result.exitCode == 70, "\(ddl): \(result.stderr)")
                #expect(result.stderr.contains("USER_TYPE_CONFLICT"), "\(ddl): \(result.stderr)")
                #expect(result.stderr.contains(difference), "\(ddl): \(result.stderr)")
                #expect(try await connection.execute("SELECT to_regclass('\(target).t')").rows == [[nil]])
            }
            // A superset of the labels in the same order is compatible.
            let wider = schema("wider")
            _ = try await connection.executeScript("""
                CREATE SCHEMA \(wider);
                CREATE TYPE \(wider)."Mood" AS ENUM ('sad', 'meh', 'it''s ok', 'ünïcödé "q"', 'back\\slash', 'happy', '', 'extra');
                """)
            let widerRun = try await pipeline(wider)
            #expect(widerRun.exitCode == 0, "\(widerRun.stderr)")
            #expect(try await connection.execute("SELECT count(*) FROM \(wider).t t JOIN \(SQL.quoteIdentifier(source)).t s USING (id) WHERE t.mood::text IS NOT DISTINCT FROM s.mood::text").rows == [["3"]])

            let plain = schema("plain")
            let result = try await pipeline(plain, "user_types: text")
            #expect(result.exitCode == 0, "\(result.stderr)")
            #expect(try await types(connection, plain).map { $0[1] ?? "" } == [
                "integer", "text", "text[]", "integer", "integer[]", "character varying(10)", "text", "text", "text[]", "text",
                "text[]", "text[]", "json", "text",
            ])
            #expect(try await connection.execute("SELECT count(*) FROM pg_type WHERE typnamespace = '\(plain)'::regnamespace AND typtype IN ('e', 'd')").rows == [["0"]])
            // Those columns hold every value: a later run that recreates types keeps them.
            let again = try await pipeline(plain)
            #expect(again.exitCode == 0, "\(again.stderr)")
            #expect(try await types(connection, plain).map { $0[1] ?? "" }[1] == "text")
            #expect(try await connection.execute("SELECT count(*) FROM \(plain).t t JOIN \(SQL.quoteIdentifier(source)).t s USING (id) WHERE t.p IS NOT DISTINCT FROM s.p::text").rows == [["3"]])
        }
    }

    @Test("definitions that are not what PostgreSQL prints are refused before any data moves, and never run as SQL")
    func hostileDefinitions() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let victim = SQL.quoteQualified(schema: schema, name: "victim")
            _ = try await connection.executeScript("CREATE SCHEMA \(SQL.quoteIdentifier(schema)); CREATE TABLE \(victim) (id int)")
            let definitions: [(UserType, String)] = [
                (UserType(namespace: "s", name: "d", kind: .domain, base: TypeReference(builtin: "integer"),
                          checks: [DomainCheck(name: "c", definition: "CHECK (true)); DROP TABLE \(victim); --")]), "INVALID_MESSAGE"),
                (UserType(namespace: "s", name: "d", kind: .domain, base: TypeReference(builtin: "integer"),
                          checks: [DomainCheck(name: "c", definition: "NOT NULL")]), "INVALID_MESSAGE"),
                (UserType(namespace: "s", name: "d", kind: .domain, base: TypeReference(builtin: "integer; DROP TABLE \(victim)")), "USER_TYPE_UNAVAILABLE"),
                (UserType(namespace: "s", name: "d", kind: .composite, fields: [
                    CompositeField(name: "f", type: TypeReference(builtin: "integer) ; DROP TABLE \(victim); CREATE TYPE x AS (y int")),
                ]), "USER_TYPE_UNAVAILABLE"),
                (UserType(namespace: "s", name: "d", kind: .unspecified), "INVALID_MESSAGE"),
                (UserType(namespace: "s", name: "d", kind: .domain, base: TypeReference(builtin: "integer"),
                          checks: [DomainCheck(name: "c", definition: "CHECK (sluice_no_such_function(VALUE))")]), "USER_TYPE_FAILED"),
                (UserType(namespace: "s", name: "d", kind: .composite, fields: [
                    CompositeField(name: "self", type: .user(namespace: "s", name: "d")),
                ]), "INVALID_MESSAGE"),
            ]
            for (definition, code) in definitions {
                let stream = DestinationHarness.schema("typed", [
                    Column(name: "id", type: LogicalType(.int32)),
                    Column(name: "v", type: LogicalType(.string), sourceType: "s.d", userType: .user(namespace: "s", name: "d"), userTypes: [definition]),
                ])
                do {
                    _ = try await DestinationHarness.write(DestinationHarness.config(schema: schema), streams: [ConfiguredStream(schema: stream)],
                                                           [.schema(stream)])
                    Issue.record("\(definition) was accepted")
                } catch HostError.plugin(let error) {
                    #expect(error.code == code, "\(definition): \(error)")
                    #expect(error.message.contains("column \"v\""), "\(error.message)")
                }
            }
            #expect(try await connection.execute("SELECT to_regclass('\(victim)') IS NOT NULL, to_regclass('\(SQL.quoteQualified(schema: schema, name: "typed"))') IS NULL").rows
                    == [["t", "t"]])
        }
    }

    @Test("a raw-layout table keeps records as jsonb and creates no type", .needsServerVersion(16))
    func rawLayoutCreatesNoType() async throws {
        try await DestinationHarness.withSchema { schema, connection in
            let mood = UserType(namespace: "s", name: "mood", kind: .enumeration, labels: ["sad", "happy"])
            let stream = DestinationHarness.schema("raw_typed", [
                Column(name: "id", type: LogicalType(.int32)),
                Column(name: "m", type: LogicalType(.string), sourceType: "s.mood", userType: .user(namespace: "s", name: "mood"), userTypes: [mood]),
            ])
            let batch = try DestinationHarness.batch(stream, [[.int32(1), .string("happy")]])
            let outcome = try await DestinationHarness.write(DestinationHarness.config(schema: schema, ["table_layout": "raw"]),
                                                             streams: [ConfiguredStream(schema: stream)], [.schema(stream), batch])
            #expect(outcome.stream("raw_typed")?.inserted == 1)
            #expect(try await connection.execute("SELECT to_regtype($1)", [.text(SQL.quoteQualified(schema: schema, name: "mood"))]).rows == [[nil]])
            #expect(try await connection.execute("SELECT _sluice_data->>'m' FROM \(SQL.quoteQualified(schema: schema, name: "raw_typed"))").rows == [["happy"]])
        }
    }
}
