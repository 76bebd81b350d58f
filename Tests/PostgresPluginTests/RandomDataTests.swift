import Foundation
import PostgresClient
import SluiceTestSupport
import Testing

/// Seeded random data with NULLs and extremes, in a wide table of mixed types, through every
/// write path of the real binaries (pipeline with COPY, with multi-row INSERT, upsert, and JSON
/// Lines through `plugin-host read` and `write`): the copy equals the source, compared in SQL as
/// the source types, and keeps each column's type.
@Suite("seeded random data through every path", .serialized, .temporaryFolder)
struct RandomDataTests {
    static let rows = 3000
    static let seed = 0.4242

    /// Every column but `id`, each with how it is compared (json, xml and geometric types have no
    /// equality operator, they compare as text). `%S` is the source schema: a user-defined type's
    /// copy is compared as the source's type (cast through its text).
    static let columns: [(name: String, type: String, compared: String)] = [
        ("i2", "smallint", "%@"), ("i4", "integer", "%@"), ("i8", "bigint", "%@"),
        ("n", "numeric", "%@"), ("n2", "numeric(12,3)", "%@"), ("f4", "real", "%@"), ("f8", "double precision", "%@"),
        ("b", "boolean", "%@"), ("t", "text", "%@"), ("vc", "character varying(20)", "%@"), ("c", "character(5)", "%@"),
        ("by", "bytea", "%@"), ("d", "date", "%@"), ("ts", "timestamp without time zone", "%@"),
        ("tstz", "timestamp with time zone", "%@"), ("tm", "time without time zone", "%@"), ("iv", "interval", "%@"),
        ("u", "uuid", "%@"), ("j", "json", "%@::text"), ("jb", "jsonb", "%@"), ("ia", "integer[]", "%@"),
        ("ta", "text[]", "%@"), ("ip", "inet", "%@"), ("m", "money", "%@"),
        ("tz", "time with time zone", "%@"), ("iym", "interval year to month", "%@"), ("i4r", "int4range", "%@"),
        ("nr", "numrange", "%@"), ("tsr", "tstzrange", "%@"), ("dmr", "datemultirange", "%@"), ("i8mr", "int8multirange", "%@"),
        ("bt", "bit(8)", "%@"), ("vb", "bit varying(20)", "%@"), ("pt", "point", "%@::text"), ("bx", "box", "%@::text"),
        ("ci", "circle", "%@::text"), ("pg", "polygon", "%@::text"), ("tsv", "tsvector", "%@"),
        ("mo", "%S.mood", "%@"), ("pr", "%S.pair", "%@"), ("mos", "%S.mood[]", "%@"), ("prs", "%S.pair[]", "%@"),
        ("pd", "%S.posint", "%@"),
    ]

    /// Columns of what not every server has, each with its random value and its four extremes:
    /// pgvector's types, and xml (a server built with libxml).
    struct OptionalColumns {
        var columns: [(name: String, type: String, compared: String)]
        var random: [String]
        var extremes: [String]
    }

    static let vector = OptionalColumns(
        columns: [("vec", "vector(3)", "%@"), ("hv", "halfvec(2)", "%@"), ("sv", "sparsevec(5)", "%@")],
        random: ["ARRAY[random(), -random(), random() * 1e10]::real[]::vector(3)", "ARRAY[random(), 1]::real[]::halfvec(2)",
                 "('{1:' || random()::real || ',5:' || (-random())::real || '}/5')::sparsevec"],
        extremes: ["'[0,0,0]', '[0,0]', '{}/5'", "'[3.4028235e+38,-3.4028235e+38,1e-45]', '[65504,-65504]', '{1:1,5:-1}/5'",
                   "NULL, NULL, NULL", "'[1,2,3]', '[1,2]', '{2:3}/5'"])

    static let xml = OptionalColumns(
        columns: [("x", "xml", "%@::text")],
        random: ["xmlelement(name item, xmlattributes(md5(random()::text) AS id), 'a & b < c ' || floor(random() * 100))"],
        extremes: ["''", #"'<a b="&amp;">text &lt; ü</a>'"#, "NULL", "'<r/>'"])

    /// The optional groups of columns the PG* server can hold.
    static func optionalGroups(_ connection: PostgresConnection) async -> [OptionalColumns] {
        var groups: [OptionalColumns] = []
        if await ServerFeatures.hasExtension("vector"), (try? await connection.execute("CREATE EXTENSION IF NOT EXISTS vector")) != nil {
            groups.append(vector)
        }
        if (try? await connection.execute("SELECT '<a/>'::xml")) != nil { groups.append(xml) }
        return groups
    }

    /// The user-defined types the table uses, in `%S`.
    static let userTypesSQL = #"""
        CREATE TYPE %S.mood AS ENUM ('sad', 'it''s', 'ünï "q"', 'back\slash', '');
        CREATE TYPE %S.pair AS (n integer, label text);
        CREATE DOMAIN %S.posint AS integer CHECK (VALUE > 0);
        """#

    /// The source table: `rows` seeded random rows (about one value in eight NULL), then rows of extremes.
    static func seedSQL(schema: String, optional: [OptionalColumns]) -> String {
        let table = SQL.quoteQualified(schema: schema, name: "wide"), s = SQL.quoteIdentifier(schema)
        let all = columns + optional.flatMap(\.columns)
        let definitions = all.map { "\(SQL.quoteIdentifier($0.name)) \($0.type.replacingOccurrences(of: "%S", with: s))" }.joined(separator: ", ")
        func maybe(_ expression: String) -> String { "CASE WHEN random() < 0.125 THEN NULL ELSE \(expression) END" }
        let random = [
            maybe("(floor(random() * 65536) - 32768)::smallint"),
            maybe("(floor(random() * 4294967296) - 2147483648)::integer"),
            maybe("(floor((random() - 0.5) * 9.2e18))::bigint"),
            maybe("round(((random() - 0.5) * 10 ^ floor(random() * 40))::numeric, floor(random() * 20)::int)"),
            maybe("round((random() * 1e9)::numeric, 3)"),
            maybe("((random() - 0.5) * 1e30)::real"),
            maybe("(random() - 0.5) * 10 ^ (floor(random() * 600) - 300)"),
            maybe("random() < 0.5"),
            maybe("repeat(chr(32 + floor(random() * 95)::int) || 'é😀' || chr(9) || E'\\\\', floor(random() * 20)::int)"),
            maybe("left(md5(random()::text), floor(random() * 21)::int)"),
            maybe("left(md5(random()::text), floor(random() * 6)::int)"),
            maybe("decode(md5(random()::text) || '00', 'hex')"),
            maybe("date '2000-01-01' + floor((random() - 0.5) * 2000000)::int"),
            maybe("timestamp '2000-01-01' + (random() - 0.5) * interval '2000000 days'"),
            maybe("timestamptz '2000-01-01 00:00:00+00' + (random() - 0.5) * interval '900000 days'"),
            maybe("time '00:00' + random() * interval '24 hours'"),
            maybe("make_interval(floor((random() - 0.5) * 100)::int, floor(random() * 12)::int, 0, floor((random() - 0.5) * 1000)::int, 0, 0, round((random() * 1e6)::numeric, 6)::float8)"),
            maybe("md5(random()::text)::uuid"),
            maybe("json_build_object('k', floor(random() * 100), 'arr', json_build_array(random() < 0.5, NULL, 'x'))"),
            maybe("jsonb_build_object('n', (random() * 1e6)::numeric, 's', md5(random()::text), 'null', 'null'::jsonb)"),
            maybe("ARRAY[floor(random() * 1000)::int, NULL, -2147483648]"),
            maybe("ARRAY[md5(random()::text), '', NULL, 'a,b \"c\"']"),
            maybe("('10.' || floor(random() * 255) || '.' || floor(random() * 255) || '.1/' || (8 + floor(random() * 25)))::inet"),
            maybe("(floor((random() - 0.5) * 1e9) / 100)::numeric::money"),
            maybe("((time '00:00' + random() * interval '24 hours')::text || (CASE WHEN random() < 0.5 THEN '+' ELSE '-' END) || lpad(floor(random() * 16)::text, 2, '0') || ':' || lpad((floor(random() * 4) * 15)::text, 2, '0'))::timetz"),
            maybe("make_interval(floor((random() - 0.5) * 1000)::int, floor(random() * 12)::int)::interval year to month"),
            maybe("CASE floor(random() * 4) WHEN 0 THEN 'empty'::int4range WHEN 1 THEN int4range(NULL, floor(random() * 1000)::int) ELSE int4range(floor(random() * 1000)::int, 1000 + floor(random() * 1000)::int, '[]') END"),
            maybe("numrange(round((random() * 100)::numeric, 4), CASE WHEN random() < 0.3 THEN NULL ELSE round((100 + random() * 100)::numeric, 2) END, '(]')"),
            maybe("tstzrange(timestamptz '2000-01-01 00:00+00' + random() * interval '10000 days', timestamptz '2030-01-01 00:00+00' + random() * interval '10000 days')"),
            maybe("datemultirange(daterange(date '2000-01-01' + floor(random() * 100)::int, date '2000-06-01'), daterange(date '2001-01-01', NULL))"),
            maybe("int8multirange(int8range(floor(random() * 1e12)::bigint, 1000000000000 + floor(random() * 1e12)::bigint), int8range(3000000000000, NULL))"),
            maybe("(floor(random() * 256)::int)::bit(8)"),
            maybe("substring((floor(random() * 1048576)::int)::bit(20)::text, 1, floor(random() * 21)::int)::varbit"),
            maybe("point((random() - 0.5) * 1e6, random())"),
            maybe("box(point(random(), random() * 1e10), point(-random(), -1e-10 * random()))"),
            maybe("circle(point(random() * 100, -random()), random() * 1e5)"),
            maybe("('((' || random() || ',0),(1,' || random() || '),(' || -random() || ',' || (random() * 1e20) || '))')::polygon"),
            maybe("setweight(to_tsvector('simple', md5(random()::text) || ' ' || left(md5(random()::text), 5) || ' ünï'), 'B')"),
            maybe("(enum_range(NULL::\(s).mood))[1 + floor(random() * 5)::int]"),
            maybe("ROW(floor(random() * 100)::int, CASE WHEN random() < 0.2 THEN NULL ELSE md5(random()::text) || ' ,\"()' END)::\(s).pair"),
            maybe("ARRAY[(enum_range(NULL::\(s).mood))[1 + floor(random() * 5)::int], NULL]"),
            maybe("ARRAY[ROW(floor(random() * 10)::int, 'x')::\(s).pair, ROW(NULL, NULL)::\(s).pair, NULL]"),
            maybe("(1 + floor(random() * 1000))::int::\(s).posint"),
        ] + optional.flatMap(\.random).map(maybe)
        let extremes = [
            "-32768, -2147483648, -9223372036854775808, 'NaN', -999999999.999, '-Infinity', '-Infinity', false, '', '', '', '\\x'::bytea, '-infinity', '-infinity', '4713-01-01 00:00:00+00 BC', '00:00', '-178000000 years', '00000000-0000-0000-0000-000000000000', 'null', 'null', '{}', '{}', '::', '-92233720368547758.08'",
            "32767, 2147483647, 9223372036854775807, '1e131071', 999999999.999, 'Infinity', 'Infinity', true, 'NUL-free \\ and \" and ''', 'twenty characters...', 'abcde', '\\xff00'::bytea, 'infinity', 'infinity', '294247-01-10 04:00:54.775806+00', '24:00', '178000000 years', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '[1, 1.0, 1e1, \"dup\", {\"a\": 1, \"a\": 2}]', '{\"deep\": [[[[]]]]}', '{NULL}', '{NULL}', 'ffff::1/128', '92233720368547758.07'",
            "0, 0, 0, '-0.000000000000000000001', 0, '-0', '-0', NULL, ' ', ' ', ' ', NULL, '0001-01-01 BC', '0001-01-01 00:00:00 BC', '2000-02-29 12:00:00.000001+14', '23:59:59.999999', '1 mon -1 day 00:00:00.000001', NULL, '  {\"spaced\" :  true }  ', '[]', '{0}', '{\"\"}', '0.0.0.0/0', '0'",
            "1, 1, 1, '0.1', 0.001, '1.4e-45', '4.9e-324', true, repeat('x', 100000), 'x', 'x', decode(repeat('ab', 50000), 'hex'), '5874897-12-31', '294247-01-10 04:00:54.775806', '1970-01-01 00:00:00+00', '12:34:56.789', '1 second', NULL, '\"\\u0000 escaped\"', '\"\\u00e9\"', NULL, NULL, NULL, NULL",
        ]
        let moreExtremes = [
            #"'00:00:00+15:59', '-178000000 years', 'empty', '(,)', '[-infinity,infinity]', '{}', '{[-9223372036854775808,-9223372036854775807)}', B'00000000', B'', '(-1.7976931348623157e+308,-0)', '(0,0),(0,0)', '<(0,0),0>', '((0,0))', '', 'sad', ROW(NULL, NULL), '{}', '{}', 1"#,
            #"'24:00:00-15:59', '178000000 years', '[-2147483648,2147483647)', '[-1e-20,1e20]', '["4713-01-01 00:00:00+00 BC",infinity)', '{[4713-01-01 BC,5874897-12-31)}', '{(,0),[1,2),[3,)}', B'11111111', B'11111111111111111111', '(1.7976931348623157e+308,5e-324)', '(1e300,1e300),(-1e300,-1e300)', '<(1,2),1e300>', '((0,0),(1e300,0),(0,1e300))', 'a:1A,2B b:16383D é😀 x', '', ROW(2147483647, 'a "q", (p) \ ,'), ARRAY['sad', 'it''s', 'ünï "q"', 'back\slash', '', NULL]::%S.mood[], ARRAY[ROW(1, 'x'), NULL, ROW(NULL, NULL)]::%S.pair[], 2147483647"#,
            #"'12:00+00', '0', NULL, 'empty', '(,)', NULL, '{[0,1)}', NULL, B'1', NULL, NULL, NULL, NULL, NULL, NULL, NULL, '{NULL}', '{NULL}', NULL"#,
            #"'23:59:59.999999+05:30', '1 mon', '[1,2)', '[0.1,0.2)', '[2000-01-01 00:00+00,2000-01-02 00:00+00)', '{[2000-01-01,2000-01-03)}', NULL, B'10101010', NULL, '(1,2)', '(1,2),(3,4)', '<(1,2),3>', '((1,2),(3,4))', 'x', 'it''s', ROW(0, ''), NULL, NULL, 5"#,
        ].map { $0.replacingOccurrences(of: "%S", with: s) }

        let count = rows
        return userTypesSQL.replacingOccurrences(of: "%S", with: s) + """
            CREATE TABLE \(table) (id bigint PRIMARY KEY, \(definitions));
            SELECT setseed(\(seed));
            INSERT INTO \(table) SELECT g, \(random.joined(separator: ", ")) FROM generate_series(1, \(count)) AS g;
            """ + extremes.enumerated().map { index, values in
                "INSERT INTO \(table) VALUES (\(-1 - index), \(([values, moreExtremes[index]] + optional.map { $0.extremes[index] }).joined(separator: ", ")));"
            }.joined(separator: "\n")
    }

    /// Rows of `copy` that differ from `source` (or are missing on either side), by id.
    static func differences(_ connection: PostgresConnection, schema: String, copy: String, optional: [OptionalColumns]) async throws -> [String] {
        let source = SQL.quoteQualified(schema: schema, name: "wide")
        let compared = (columns + optional.flatMap(\.columns)).map { column -> String in
            let s = column.compared.replacingOccurrences(of: "%@", with: "s.\(SQL.quoteIdentifier(column.name))")
            let copied = "d.\(SQL.quoteIdentifier(column.name))"
            let sourceType = column.type.replacingOccurrences(of: "%S", with: SQL.quoteIdentifier(schema))
            let d = column.compared.replacingOccurrences(of: "%@", with: column.type.contains("%S") ? "\(copied)::text::\(sourceType)" : copied)
            return "\(s) IS DISTINCT FROM \(d)"
        }
        let rows = try await connection.execute("""
            SELECT coalesce(s.id, d.id)::text FROM \(source) s FULL JOIN \(copy) d USING (id)
            WHERE s.id IS NULL OR d.id IS NULL OR \(compared.joined(separator: " OR ")) ORDER BY 1 LIMIT 20
            """).rows
        return rows.compactMap { $0.first ?? nil }
    }

    /// Columns whose `format_type` differs between the two tables (a user-defined type's schema aside).
    static func typeDifferences(_ connection: PostgresConnection, source: String, copy: String) async throws -> [[String?]] {
        try await connection.execute("""
            SELECT a.attname, format_type(a.atttypid, a.atttypmod), format_type(b.atttypid, b.atttypmod)
            FROM pg_attribute a JOIN pg_attribute b ON b.attrelid = to_regclass($2) AND b.attname = a.attname
            WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
              AND regexp_replace(format_type(a.atttypid, a.atttypmod), '^[a-z0-9_]+\\.', '')
                  IS DISTINCT FROM regexp_replace(format_type(b.atttypid, b.atttypmod), '^[a-z0-9_]+\\.', '')
            """, [.text(source), .text(copy)]).rows
    }

    @Test("pipelines (COPY, INSERT, upsert) and JSON Lines copy every random and extreme value exactly, keeping each column's type")
    func everyPath() async throws {
        let prefix = "rnd_\(UInt32.random(in: 0...UInt32.max))"
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        let source = "\(prefix)_src"
        let table = SQL.quoteQualified(schema: source, name: "wide")
        let optional = await Self.optionalGroups(connection)
        do {
            _ = try await connection.executeScript("CREATE SCHEMA \(SQL.quoteIdentifier(source));\n" + Self.seedSQL(schema: source, optional: optional))
            let sourceConfig = try HostFixtures.temporaryFile(HostFixtures.serverConfig(extra: "schemas: [\(source)]\nbatch_size: 700\n"))
            let paths: [(name: String, extra: String, mode: String)] = [
                ("copy", "insert_method: copy", "append"), ("insert", "insert_method: insert", "append"), ("upsert", "", "upsert"),
            ]
            for path in paths {
                let target = "\(prefix)_\(path.name)"
                let config = try HostFixtures.temporaryFile(HostFixtures.serverConfig(extra: "schema: \(target)\nmetadata_columns: false\nbatch_size: 500\n\(path.extra)\n"))
                let result = try await HostFixtures.host(["pipeline", "--source", Binaries.postgresPlugin.path, "--source-config", sourceConfig,
                                                          "--destination", Binaries.postgresPlugin.path, "--destination-config", config,
                                                          "--write-mode", path.mode])
                #expect(result.exitCode == 0, "\(path.name): \(result.stderr)")
                let copy = SQL.quoteQualified(schema: target, name: "wide")
                #expect(try await Self.differences(connection, schema: source, copy: copy, optional: optional) == [], "\(path.name): rows that differ")
                #expect(try await Self.typeDifferences(connection, source: table, copy: copy) == [], "\(path.name): column types that differ")
            }

            // JSON Lines: read to a file, then write it.
            let target = "\(prefix)_jsonl"
            let output = FileManager.default.temporaryDirectory.appendingPathComponent("random-\(UUID().uuidString).jsonl").path
            defer { try? FileManager.default.removeItem(atPath: output) }
            let read = try await HostFixtures.host(["read", "--plugin", Binaries.postgresPlugin.path, "--config", sourceConfig, "--output", output])
            #expect(read.exitCode == 0, "\(read.stderr)")
            let discover = try await HostFixtures.host(["discover", "--plugin", Binaries.postgresPlugin.path, "--config", sourceConfig])
            #expect(discover.exitCode == 0, "\(discover.stderr)")
            let catalog = try HostFixtures.temporaryFile(discover.stdout, suffix: ".json")
            let config = try HostFixtures.temporaryFile(HostFixtures.serverConfig(extra: "schema: \(target)\nmetadata_columns: false\n"))
            let write = try await HostFixtures.host(["write", "--plugin", Binaries.postgresPlugin.path, "--config", config, "--catalog", catalog, "--input", output])
            #expect(write.exitCode == 0, "\(write.stderr)")
            let copy = SQL.quoteQualified(schema: target, name: "wide")
            #expect(try await Self.differences(connection, schema: source, copy: copy, optional: optional) == [], "JSON Lines: rows that differ")
            #expect(try await Self.typeDifferences(connection, source: table, copy: copy) == [], "JSON Lines: column types that differ")
        } catch {
            Issue.record(error)
        }
        let schemas = try await connection.execute("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)", [.text(prefix + "_")]).rows
        for row in schemas { if let name = row.first ?? nil { _ = try? await connection.execute("DROP SCHEMA \(SQL.quoteIdentifier(name)) CASCADE") } }
    }
}
