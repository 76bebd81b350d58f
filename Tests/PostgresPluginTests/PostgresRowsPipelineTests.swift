import Foundation
import PostgresClient
import Testing

/// `plugin-host pipeline` from PostgreSQL to PostgreSQL with streams that travel as PostgreSQL
/// rows (PROTOCOL.md §5.12): negotiated per stream, and every value arrives equal.
@Suite("plugin-host pipeline: PostgreSQL rows", .serialized)
struct PostgresRowsPipelineTests: PipelineWorkspace {
    let prefix = "pgrows_\(UInt32.random(in: 0...UInt32.max))"
    let files = FileManager.default.temporaryDirectory.appendingPathComponent("pgrows-\(UUID().uuidString)")

    /// The columns compared, `json` as its text (it has no equality).
    static let columns = "id, name, amount, score, active, created_at, payload, tags, j::text, d, iv, u, b, n, v, grid"

    /// A pipeline from `source` into `target`; `onePass`: tables read with the default
    /// `resumable_read_min_bytes` (small ones in one pass), else every one resumably.
    func pipeline(_ source: String, _ target: String, _ extra: [String], onePass: Bool = false,
                  destinationSettings: String = "") async throws -> CommandResult {
        let sourceConfig = HostFixtures.serverConfig(resumableReadMinBytes: onePass ? 256 << 20 : 0, extra: "schemas: [\(source)]\n")
        let destinationConfig = try file("dst-\(target).yaml", HostFixtures.serverConfig(extra: "schema: \(target)\n" + destinationSettings))
        return try await run(["pipeline", "--source", Binaries.postgresPlugin.path, "--source-config", try file("src-\(source).yaml", sourceConfig),
                              "--destination", Binaries.postgresPlugin.path, "--destination-config", destinationConfig] + extra)
    }

    /// Rows of `left` not in `right`, counting repeats.
    func missing(_ connection: PostgresConnection, _ left: String, from right: String) async throws -> String? {
        try await connection.execute("SELECT count(*) FROM (SELECT \(Self.columns) FROM \(left) EXCEPT ALL SELECT \(Self.columns) FROM \(right)) AS d").rows.first?.first ?? nil
    }

    @Test("append: values of every built-in kind arrive equal as PostgreSQL rows, into a new table and again into it as it is (metadata fields after each tuple)")
    func appendArrivesEqual() async throws {
        try await withDatabase { connection in
            let source = schema("src"), target = schema("dst")
            let s = SQL.quoteIdentifier(source)
            _ = try await connection.executeScript("""
                CREATE SCHEMA \(s);
                CREATE TABLE \(s).keyed (id bigint PRIMARY KEY, name text, amount numeric(12,2), score double precision, active boolean,
                  created_at timestamptz, payload jsonb, tags text[], j json, d date, iv interval, u uuid, b bytea, n numeric, v varchar(10), grid int[]);
                INSERT INTO \(s).keyed SELECT g, CASE WHEN g % 9 = 0 THEN NULL ELSE 'n' || g || E'\\t\\\\ ✓' END, g / 7.0, g * 1.5e-300, g % 2 = 0,
                  '2026-01-01 00:00:00+00'::timestamptz + g * interval '1.000001 s', jsonb_build_object('k', g, 'deep', jsonb_build_array(g, null)),
                  ARRAY['a', NULL, ''], '{"a": 1,  "a": 2.50}', date '2020-01-01' + g, interval '1 mon 2 days 3 h' * g, md5(g::text)::uuid,
                  '\\x00ff'::bytea, CASE g % 4 WHEN 0 THEN 'NaN'::numeric WHEN 1 THEN 'Infinity' ELSE 12345678901234567890.123456789 END,
                  'x' || (g % 100), CASE WHEN g % 5 = 0 THEN ARRAY[[1, 2], [3, NULL]] ELSE '[0:1]={7,8}' END
                FROM generate_series(1, 3000) g;
                INSERT INTO \(s).keyed (id) VALUES (0);
                CREATE TABLE \(s).loose AS SELECT * FROM \(s).keyed;
                """)
            let first = try await pipeline(source, target, ["--write-mode", "append", "--name", "rows-1"])
            #expect(first.exitCode == 0, "\(first.stderr)")
            #expect(first.stderr.contains("may travel as PostgreSQL rows"), "\(first.stderr)")
            let t = SQL.quoteIdentifier(target)
            for table in ["keyed", "loose"] {
                #expect(try await missing(connection, "\(s).\(table)", from: "\(t).\(table)") == "0", "\(table)")
                #expect(try await missing(connection, "\(t).\(table)", from: "\(s).\(table)") == "0", "\(table)")
            }
            // Again into the tables as they are, the one without a key (its rows are appended twice).
            let catalog = try file("loose.json", #"{"streams": [{"namespace": "\#(source)", "name": "loose"}]}"#)
            let second = try await pipeline(source, target, ["--write-mode", "append", "--name", "rows-2", "--catalog", catalog])
            #expect(second.exitCode == 0, "\(second.stderr)")
            #expect(second.stderr.contains("stream \(source).loose may travel as PostgreSQL rows"), "\(second.stderr)")
            let twice = "(SELECT * FROM \(s).loose UNION ALL SELECT * FROM \(s).loose) AS twice"
            #expect(try await missing(connection, twice, from: "\(t).loose") == "0")
            #expect(try await missing(connection, "\(t).loose", from: twice) == "0")
            let metadata = try await connection.execute("SELECT count(*), count(_sluice_synced_at), count(DISTINCT _sluice_synced_at), count(_sluice_source) FROM \(t).loose").rows
            #expect(metadata.first == ["6002", "6002", "2", "6002"])
        }
    }

    @Test("per stream: a destination column of another type than the source's keeps a stream to column vectors; upsert into a table as it is stages PostgreSQL rows")
    func negotiatedPerStream() async throws {
        try await withDatabase { connection in
            let source = schema("nsrc"), target = schema("ndst")
            let s = SQL.quoteIdentifier(source), t = SQL.quoteIdentifier(target)
            _ = try await connection.executeScript("""
                CREATE SCHEMA \(s);
                CREATE TABLE \(s).same (id int PRIMARY KEY, score varchar(10));
                CREATE TABLE \(s).other (id int PRIMARY KEY, score varchar(10));
                INSERT INTO \(s).same SELECT g, (g / 3.0)::varchar(10) FROM generate_series(1, 500) g;
                INSERT INTO \(s).other SELECT g, (g / 3.0)::varchar(10) FROM generate_series(1, 500) g;
                CREATE SCHEMA \(t);
                CREATE TABLE \(t).other (id int PRIMARY KEY, score text);
                """)
            let append = try await pipeline(source, target, ["--write-mode", "append", "--name", "per-stream"])
            #expect(append.exitCode == 0, "\(append.stderr)")
            #expect(append.stderr.contains("stream \(source).same may travel as PostgreSQL rows"), "\(append.stderr)")
            #expect(!append.stderr.contains("\(source).other may travel"), "\(append.stderr)")
            for table in ["same", "other"] {
                let rows = try await connection.execute("SELECT count(*) FROM (SELECT id, score::text FROM \(s).\(table) EXCEPT SELECT id, score FROM \(t).\(table)) AS d").rows
                #expect(rows.first == ["0"], "\(table)")
                #expect(try await connection.execute("SELECT count(*) FROM \(t).\(table)").rows.first == ["500"], "\(table)")
            }
            // Upsert into the tables as they are: staged, each tuple with its sequence and delete flag.
            _ = try await connection.executeScript("""
                UPDATE \(s).same SET score = 'u' || id WHERE id % 3 = 0;
                INSERT INTO \(s).same VALUES (501, NULL), (502, '');
                """)
            let upsert = try await pipeline(source, target, ["--write-mode", "upsert", "--name", "per-stream-upsert"])
            #expect(upsert.exitCode == 0, "\(upsert.stderr)")
            #expect(upsert.stderr.contains("stream \(source).same may travel as PostgreSQL rows"), "\(upsert.stderr)")
            let same = "SELECT id, score FROM \(s).same EXCEPT SELECT id, score FROM \(t).same UNION ALL (SELECT id, score FROM \(t).same EXCEPT SELECT id, score FROM \(s).same)"
            #expect(try await connection.execute("SELECT count(*) FROM (\(same)) AS d").rows.first == ["0"])
            #expect(try await connection.execute("SELECT count(*) FROM \(t).same").rows.first == ["502"])
        }
    }

    @Test("postgres_rows: false keeps every stream to column vectors; a small table read in one pass travels as PostgreSQL rows by default; both arrive equal")
    func turnedOffAndOnePass() async throws {
        try await withDatabase { connection in
            let source = schema("osrc"), rows = schema("orows"), vectors = schema("ovec")
            let s = SQL.quoteIdentifier(source)
            _ = try await connection.executeScript("""
                CREATE SCHEMA \(s);
                CREATE TABLE \(s).t (id bigint PRIMARY KEY, name text, amount numeric, at timestamptz, tags text[]) WITH (fillfactor = 100);
                INSERT INTO \(s).t SELECT g, 'n' || g, g / 7.0, '2026-01-01 00:00:00+00'::timestamptz + g * interval '1 s', ARRAY['a', NULL]
                FROM generate_series(1, 2000) g;
                UPDATE \(s).t SET name = 'moved ' || id WHERE id <= 300;
                """)
            let byDefault = try await pipeline(source, rows, ["--name", "one-pass"], onePass: true)
            #expect(byDefault.exitCode == 0, "\(byDefault.stderr)")
            #expect(byDefault.stderr.contains("stream \(source).t may travel as PostgreSQL rows"), "\(byDefault.stderr)")
            let off = try await pipeline(source, vectors, ["--name", "vectors"], onePass: true, destinationSettings: "postgres_rows: false\n")
            #expect(off.exitCode == 0, "\(off.stderr)")
            #expect(!off.stderr.contains("may travel as PostgreSQL rows"), "\(off.stderr)")
            let columns = "id, name, amount, at, tags"
            for target in [rows, vectors] {
                let t = SQL.quoteIdentifier(target)
                let differ = "(SELECT \(columns) FROM \(s).t EXCEPT ALL SELECT \(columns) FROM \(t).t) UNION ALL (SELECT \(columns) FROM \(t).t EXCEPT ALL SELECT \(columns) FROM \(s).t)"
                #expect(try await connection.execute("SELECT count(*) FROM (\(differ)) AS d").rows.first == ["0"], "\(target)")
                #expect(try await connection.execute("SELECT count(*) FROM \(t).t").rows.first == ["2000"], "\(target)")
                // Rows in physical order: the key was built after the load, and it holds.
                #expect(try await connection.execute("SELECT count(*) FROM pg_index WHERE indrelid = '\(t).t'::regclass AND indisprimary").rows.first == ["1"])
            }
        }
    }
}
