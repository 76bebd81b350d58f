import Foundation
import PostgresClient
import SluiceSDK
import SluiceWire
import Testing

/// Values PostgreSQL accepts arrive equal, or the Read fails naming stream, column and row:
/// inheritance, composites, array bounds, timestamps at the protocol's edge, frame sizes,
/// filters, table patterns and keys of selected columns, through the real plugin binary.
@Suite("postgres-plugin source exactness")
struct SourceExactnessTests {
    /// The plugin error a Read of `streams` ends with.
    static func readError(_ streams: [ConfiguredStream], overrides: [String: Any] = [:],
                          client: PluginClient? = nil) async throws -> PluginError {
        do {
            _ = try await SourceHarness.read(streams, overrides: overrides, client: client)
        } catch HostError.plugin(let error) {
            return error
        }
        Issue.record("the read succeeded")
        return PluginError(category: .unspecified, code: "", message: "")
    }

    @Test("an inheritance parent is read without its children's rows, by key, ctid, ranges and cursor; a partitioned table whole")
    func inheritance() async throws {
        try await SourceHarness.withSchema { schema, db in
            let s = SQL.quoteIdentifier(schema)
            _ = try await db.executeScript("""
                CREATE TABLE \(s).parent (id int PRIMARY KEY, at int NOT NULL, pad text);
                CREATE TABLE \(s).child (extra int) INHERITS (\(s).parent);
                CREATE TABLE \(s).grandchild () INHERITS (\(s).child);
                INSERT INTO \(s).parent SELECT g, g, repeat('p', 150) FROM generate_series(1, 30000) g;
                INSERT INTO \(s).child VALUES (30001, 30001, 'c', 1), (5, 5, 'c', 2);
                INSERT INTO \(s).grandchild VALUES (30002, 30002, 'g', 3);
                CREATE TABLE \(s).heap (id int, at int);
                CREATE TABLE \(s).heap_child () INHERITS (\(s).heap);
                INSERT INTO \(s).heap VALUES (1, 1), (2, 2);
                INSERT INTO \(s).heap_child VALUES (3, 3);
                CREATE TABLE \(s).parts (id int, at int, PRIMARY KEY (id)) PARTITION BY RANGE (id);
                CREATE TABLE \(s).parts_low PARTITION OF \(s).parts FOR VALUES FROM (0) TO (10);
                CREATE TABLE \(s).parts_high PARTITION OF \(s).parts FOR VALUES FROM (10) TO (100);
                INSERT INTO \(s).parts SELECT g, g FROM generate_series(1, 20) g;
                """)
            let parentIDs = Array(Int64(1) ... 30000)
            for connections in [1, 2] {
                let result = try await SourceHarness.read(
                    [SourceHarness.stream(schema, "parent", columns: ["id"]), SourceHarness.stream(schema, "child", columns: ["id"]),
                     SourceHarness.stream(schema, "grandchild", columns: ["id"]), SourceHarness.stream(schema, "heap"),
                     SourceHarness.stream(schema, "heap_child"), SourceHarness.stream(schema, "parts")],
                    overrides: ["max_connections": connections, "split_tables": connections > 1])
                #expect(try SourceReadTests.ids(result, "parent").sorted() == parentIDs, "max_connections \(connections)")
                #expect(try SourceReadTests.ids(result, "child").sorted() == [5, 30001])
                #expect(try SourceReadTests.ids(result, "grandchild") == [30002])
                #expect(try SourceReadTests.ids(result, "heap").sorted() == [1, 2])
                #expect(try SourceReadTests.ids(result, "heap_child") == [3])
                #expect(try SourceReadTests.ids(result, "parts").sorted() == Array(1 ... 20))
            }
            // Incremental and filtered reads, and a resume from a checkpoint, see the parent's own rows only.
            let incremental = try await SourceHarness.read(
                [SourceHarness.stream(schema, "parent", columns: ["id"], mode: .incremental, cursor: "at", filter: "id <= 10 OR id > 29990"),
                 SourceHarness.stream(schema, "heap", mode: .incremental, cursor: "at"),
                 SourceHarness.stream(schema, "parts", mode: .incremental, cursor: "at")],
                overrides: ["batch_size": 3])
            #expect(try SourceReadTests.ids(incremental, "parent").sorted() == Array(1 ... 10) + Array(29991 ... 30000))
            #expect(try SourceReadTests.ids(incremental, "heap").sorted() == [1, 2])
            #expect(try SourceReadTests.ids(incremental, "parts").sorted() == Array(1 ... 20))
            let firstParentState = try #require(incremental.states.first { $0.stream?.name == "parent" })
            let resumed = try await SourceHarness.read(
                [SourceHarness.stream(schema, "parent", columns: ["id"], mode: .incremental, cursor: "at", filter: "id <= 10 OR id > 29990")],
                states: [firstParentState])
            #expect(try SourceReadTests.ids(resumed, "parent").sorted() == Array(4 ... 10) + Array(29991 ... 30000))
        }
    }

    @Test("composites keep every field, an all-null composite is a value, and arrays of them keep every element")
    func composites() async throws {
        try await SourceHarness.withSchema { schema, db in
            let s = SQL.quoteIdentifier(schema)
            _ = try await db.executeScript("""
                CREATE TYPE \(s).pair AS (a int, b text);
                CREATE TYPE \(s).nested AS (p \(s).pair, tags text[]);
                CREATE DOMAIN \(s).pairs AS \(s).pair[];
                CREATE TABLE \(s).c (id int PRIMARY KEY, p \(s).pair, ps \(s).pair[], n \(s).nested, dp \(s).pairs);
                INSERT INTO \(s).c VALUES
                  (1, ROW(1, 'x'), ARRAY[(1, 'x'), (2, 'y')]::\(s).pair[], ROW(ROW(1, 'x'), '{a,b}'), ARRAY[(7, 'z')]::\(s).pair[]),
                  (2, ROW(NULL, NULL), ARRAY[ROW(NULL, NULL)::\(s).pair, NULL, (3, 'a "q"')]::\(s).pair[], ROW(NULL, NULL), '{}'),
                  (3, NULL, NULL, NULL, NULL),
                  (4, ROW(5, NULL), '{}', ROW(ROW(NULL, NULL), NULL), ARRAY[NULL]::\(s).pair[]);
                """)
            let result = try await SourceHarness.read([SourceHarness.stream(schema, "c")])
            let rows = try result.rows("c")
            let schemaMessage = try #require(result.schemas.first)
            #expect(schemaMessage.columns.map(\.type.kind) == [.int32, .string, .list, .string, .list])
            #expect(rows.count == 4)
            guard rows.count == 4 else { return }
            #expect(rows[0] == [.int32(1), .string("(1,x)"), .list([.string("(1,x)"), .string("(2,y)")]),
                                .string("(\"(1,x)\",\"{a,b}\")"), .list([.string("(7,z)")])])
            #expect(rows[1] == [.int32(2), .string("(,)"), .list([.string("(,)"), .null, .string("(3,\"a \"\"q\"\"\")")]),
                                .string("(,)"), .list([])])
            #expect(rows[2] == [.int32(3), .null, .null, .null, .null])
            #expect(rows[3] == [.int32(4), .string("(5,)"), .list([]), .string("(\"(,)\",)"), .list([.null])])
            // The server's own rendering of each value, element by element.
            let server = try await db.execute("""
                SELECT format('%s', p), (SELECT string_agg(coalesce(ps[i]::text, 'NULL'), '|' ORDER BY i) FROM generate_subscripts(ps, 1) i)
                FROM \(s).c WHERE id = 2
                """).rows
            // int2vector and oidvector, zero-based by definition, travel as their text.
            _ = try await db.execute("CREATE TABLE \(s).vectors (id int PRIMARY KEY, i int2vector, o oidvector)")
            _ = try await db.execute("INSERT INTO \(s).vectors VALUES (1, '1 2 3', '23 25'), (2, '', NULL)")
            let vectors = try await SourceHarness.read([SourceHarness.stream(schema, "vectors")])
            #expect(try vectors.rows("vectors") == [[.int32(1), .string("1 2 3"), .string("23 25")], [.int32(2), .string(""), .null]])
            #expect(server.first?[0] == "(,)")
            #expect(server.first?[1] == "(,)|NULL|(3,\"a \"\"q\"\"\")")
        }
    }

    @Test("an array whose subscripts do not start at 1, or with several dimensions, fails naming stream, column and row",
          arguments: [("ints", "'[0:2]={1,2,3}'::int[]", "start at 0"), ("ints", "'[-3:-3]={7}'::int[]", "start at -3"),
                      ("nets", "'[2:3]={10.0.0.1,::1}'::inet[]", "start at 2"), ("nets", "'{{10.0.0.1},{::1}}'::inet[]", "2-dimensional"),
                      ("pairs", "'[0:0]={\"(1,x)\"}'", "start at 0"), ("pairs", "'{{\"(1,x)\"}}'", "2-dimensional"),
                      ("stamps", "'[5:5]={2024-01-01 00:00:00}'::timestamp[]", "start at 5")])
    func arrayBounds(column: String, literal: String, expected: String) async throws {
        try await SourceHarness.withSchema { schema, db in
            let s = SQL.quoteIdentifier(schema)
            _ = try await db.executeScript("""
                CREATE TYPE \(s).pair AS (a int, b text);
                CREATE TABLE \(s).a (id int PRIMARY KEY, ints int[], nets inet[], pairs \(s).pair[], stamps timestamp[]);
                INSERT INTO \(s).a (id, \(column)) VALUES (1, NULL), (2, \(literal)), (3, NULL);
                """)
            let error = try await Self.readError([SourceHarness.stream(schema, "a")])
            #expect(error.category == .data)
            #expect(error.code == "UNREPRESENTABLE_VALUE")
            #expect(error.message.contains("stream \(schema).a"), "\(error.message)")
            #expect(error.message.contains("column \"\(column)\""), "\(error.message)")
            #expect(error.message.contains("row with id = 2"), "\(error.message)")
            #expect(error.message.contains(expected), "\(error.message)")
            #expect(error.message.contains("::text"), "\(error.message)")
            // Regular arrays of the same column still read as lists.
            let regular = try await SourceHarness.read([SourceHarness.stream(schema, "a", filter: "id <> 2")])
            #expect(try regular.rows("a").count == 2)
        }
    }

    @Test("timestamps: the last representable microsecond is exact; finite values at the infinity sentinel and beyond fail, never become infinity")
    func timestampEdges() async throws {
        try await SourceHarness.withSchema { schema, db in
            let s = SQL.quoteIdentifier(schema)
            _ = try await db.executeScript("""
                CREATE TABLE \(s).t (id int PRIMARY KEY, ts timestamp, tz timestamptz, d date, tss timestamp[]);
                INSERT INTO \(s).t VALUES
                  (1, '294247-01-10 04:00:54.775806', '294247-01-10 04:00:54.775806+00', '5874897-12-31', '{294247-01-10 04:00:54.775806}'),
                  (2, '4714-11-24 00:00:00 BC', '4714-11-24 00:00:00+00 BC', '4714-11-24 BC', '{4714-11-24 00:00:00 BC}'),
                  (3, 'infinity', '-infinity', 'infinity', '{infinity,-infinity}'),
                  (10, '294247-01-10 04:00:54.775807', NULL, NULL, NULL),
                  (11, '294276-12-31 23:59:59.999999', NULL, NULL, NULL),
                  (12, NULL, '294247-01-10 04:00:54.775807+00', NULL, NULL),
                  (13, NULL, '294276-12-31 23:59:59.999999+00', NULL, NULL),
                  (14, NULL, NULL, NULL, '{2024-01-01, 294250-01-01}');
                """)
            let ok = try await SourceHarness.read([SourceHarness.stream(schema, "t", filter: "id < 10")])
            let rows = try ok.rows("t")
            #expect(rows.count == 3)
            guard rows.count == 3 else { return }
            let last: Int64 = .max - 1, first: Int64 = -210_866_803_200_000_000
            let expected: [[Value]] = [
                [.int32(1), .timestamp(last), .timestamptz(last), .date(2_145_042_905), .list([.timestamp(last)])],
                [.int32(2), .timestamp(first), .timestamptz(first), .date(-2_440_588), .list([.timestamp(first)])],
                [.int32(3), .timestamp(.max), .timestamptz(.min), .date(.max), .list([.timestamp(.max), .timestamp(.min)])],
            ]
            for (got, want) in zip(rows, expected) { #expect(got == want) }
            let server = try await db.execute("""
                SELECT (extract(epoch from ts) * 1000000)::bigint, ('4714-11-24 BC'::date - '1970-01-01'::date) FROM \(s).t WHERE id = 2
                """).rows
            #expect(server.first?[0] == "-210866803200000000")
            #expect(server.first?[1] == "-2440588")
            for (id, column) in [(10, "ts"), (11, "ts"), (12, "tz"), (13, "tz"), (14, "tss")] {
                let error = try await Self.readError([SourceHarness.stream(schema, "t", filter: "id = \(id)")])
                #expect(error.category == .data)
                #expect(error.code == "UNREPRESENTABLE_VALUE", "\(error)")
                #expect(error.message.contains("stream \(schema).t, column \"\(column)\", row with id = \(id)"), "\(error.message)")
                #expect(error.message.contains("::text"), "\(error.message)")
            }
        }
    }

    @Test("infinite intervals (PostgreSQL 17) travel as the protocol's interval sentinels", .needsServerVersion(17))
    func infiniteIntervals() async throws {
        try await SourceHarness.withSchema { schema, db in
            let s = SQL.quoteIdentifier(schema)
            _ = try await db.execute("CREATE TABLE \(s).iv (id int PRIMARY KEY, iv interval)")
            _ = try await db.execute("INSERT INTO \(s).iv VALUES (1, 'infinity'), (2, '-infinity'), (3, '-1 mons 2 days -00:00:00.000001')")
            let read = try await SourceHarness.read([SourceHarness.stream(schema, "iv")])
            #expect(try read.rows("iv").map { $0[1] } == [.interval(months: .max, days: .max, micros: .max),
                                                         .interval(months: .min, days: .min, micros: .min),
                                                         .interval(months: -1, days: 2, micros: -1)])
        }
    }

    @Test("wide rows: batches are cut under the 64 MiB frame whatever batch_size_bytes says")
    func wideRowsDefaultFrame() async throws {
        try await SourceHarness.withSchema { schema, db in
            let s = SQL.quoteIdentifier(schema)
            _ = try await db.executeScript("""
                CREATE TABLE \(s).w (id int PRIMARY KEY, body text);
                INSERT INTO \(s).w SELECT g, repeat(chr(96 + g), 10000000) FROM generate_series(1, 8) g;
                """)
            let result = try await SourceHarness.read([SourceHarness.stream(schema, "w")])
            #expect(result.batches.count >= 2)
            for batch in result.batches {
                #expect(WireCodec.encode(PluginMessage.records(batch)).count <= Int(Hello.defaultMaxFrameSize))
            }
            let rows = try result.rows("w")
            #expect(rows.map { $0[0] } == (1 ... 8).map { .int32(Int32($0)) })
            for (index, row) in rows.enumerated() {
                #expect(row[1] == .string(String(repeating: String(UnicodeScalar(UInt8(97 + index))), count: 10_000_000)))
            }
        }
    }

    @Test("a smaller max_frame_size from Hello is honoured; a row larger than any frame fails naming stream, row and --max-frame-size")
    func smallFrame() async throws {
        try await SourceHarness.withSchema { schema, db in
            let s = SQL.quoteIdentifier(schema)
            _ = try await db.executeScript("""
                CREATE TABLE \(s).w (id int PRIMARY KEY, body text, tags text[]);
                INSERT INTO \(s).w SELECT g, repeat('x', 150000 + g), ARRAY[repeat('t', 20000), NULL] FROM generate_series(1, 40) g;
                INSERT INTO \(s).w VALUES (100, repeat('y', 2000000), NULL);
                CREATE TABLE \(s).heap (body text);
                INSERT INTO \(s).heap SELECT repeat('z', 100) FROM generate_series(1, 5);
                INSERT INTO \(s).heap VALUES (repeat('z', 2000000));
                """)
            let frame = 1 << 20
            func launch() async throws -> PluginClient {
                try await PluginClient.launch(executable: Binaries.postgresPlugin,
                                              hello: Hello(hostName: "source-tests", hostVersion: "1", maxFrameSize: UInt32(frame)))
            }
            let client = try await launch()
            let result = try await SourceHarness.read([SourceHarness.stream(schema, "w", filter: "id < 100")], client: client)
            #expect(try result.rows("w").count == 40)
            #expect(result.batches.count >= 7)
            for batch in result.batches {
                #expect(WireCodec.encode(PluginMessage.records(batch)).count <= frame)
            }
            let error = try await Self.readError([SourceHarness.stream(schema, "w")], client: client)
            #expect(error.code == "ROW_TOO_LARGE", "\(error)")
            #expect(error.message.contains("stream \(schema).w, row with id = 100"), "\(error.message)")
            #expect(error.message.contains("--max-frame-size"), "\(error.message)")
            // Without a key, the row is named by its position.
            let heapError = try await Self.readError([SourceHarness.stream(schema, "heap")], overrides: ["max_connections": 1], client: client)
            #expect(heapError.code == "ROW_TOO_LARGE", "\(heapError)")
            #expect(heapError.message.contains("ctid = (0,6)") || heapError.message.contains("row 6"), "\(heapError.message)")
            await client.close()
        }
    }

    @Test("a filter ending in a -- comment is accepted")
    func filterComment() async throws {
        try await SourceHarness.withSchema { schema, db in
            let s = SQL.quoteIdentifier(schema)
            _ = try await db.executeScript("""
                CREATE TABLE \(s).t (id int PRIMARY KEY, at int);
                INSERT INTO \(s).t SELECT g, g FROM generate_series(1, 100) g;
                """)
            let filter = "id > 90 -- the recent ones"
            let full = try await SourceHarness.read([SourceHarness.stream(schema, "t", filter: filter)])
            #expect(try SourceReadTests.ids(full, "t") == Array(91 ... 100))
            let incremental = try await SourceHarness.read([SourceHarness.stream(schema, "t", mode: .incremental, cursor: "at", filter: filter)])
            #expect(try SourceReadTests.ids(incremental, "t") == Array(91 ... 100))
            // The conditions after the filter (the resume point) still apply.
            let state = try #require(incremental.states.last)
            let resumed = try await SourceHarness.read([SourceHarness.stream(schema, "t", mode: .incremental, cursor: "at", filter: filter)],
                                                       states: [state])
            #expect(try SourceReadTests.ids(resumed, "t") == [])
        }
    }

    @Test("a filter is one condition: it cannot close the parentheses it is placed in; literals and comments holding them are fine")
    func filterStaysInside() async throws {
        try await SourceHarness.withSchema { schema, db in
            let s = SQL.quoteIdentifier(schema)
            _ = try await db.executeScript("""
                CREATE TABLE \(s).t (id int PRIMARY KEY, note text);
                INSERT INTO \(s).t SELECT g, CASE WHEN g = 3 THEN ') OR (' END FROM generate_series(1, 10) g;
                """)
            for filter in ["id = 1) OR (true", "true)) TO STDOUT; SELECT ((1", "(id > 1", "id > 1 /* open", "note = 'x",
                           "id = 1 AND ARRAY[1] = ARRAY[1]]", "id = 1; SELECT 1"] {
                do {
                    _ = try await SourceHarness.read([SourceHarness.stream(schema, "t", filter: filter)])
                    Issue.record("the filter \(filter) was accepted")
                } catch let HostError.plugin(error) {
                    #expect(error.category == .config, "\(filter)")
                    #expect(error.code == "INVALID_FILTER", "\(filter): \(error)")
                }
            }
            let accepted = [
                "note = ') OR ('", "note = E'\\') OR (\\''  OR id = 3", "\"id\" = 3 -- ) OR (", "/* ) /* ( */ */ id = 3",
                "note = $q$) OR ($q$", "note = $$) OR ($$", "(id) = ANY (ARRAY[3, (3)])",
            ]
            for filter in accepted {
                let result = try await SourceHarness.read([SourceHarness.stream(schema, "t", filter: filter)])
                #expect(try SourceReadTests.ids(result, "t") == [3], "\(filter)")
            }
        }
    }

    @Test("tables patterns: double quotes and backslashes select names holding dots, globs or a leading !")
    func tablePatterns() async throws {
        try await SourceHarness.withSchema(".x") { schema, db in
            let s = SQL.quoteIdentifier(schema)
            _ = try await db.executeScript("""
                CREATE TABLE \(s)."dot.ted" (id int); CREATE TABLE \(s)."dotXted" (id int); CREATE TABLE \(s)."!bang" (id int);
                CREATE TABLE \(s)."star*" (id int); CREATE TABLE \(s)."starry" (id int); CREATE TABLE \(s)."q""uote" (id int);
                """)
            let quotedSchema = "\"" + schema + "\""
            func names(_ patterns: [String]) async throws -> Set<String> {
                let catalog = try await SourceHarness.discover(["schemas": [schema], "tables": patterns])
                return Set(catalog.streams.map(\.schema.stream.name))
            }
            let all: Set<String> = ["dot.ted", "dotXted", "!bang", "star*", "starry", "q\"uote"]
            #expect(try await names([]) == all)
            #expect(try await names(["\(quotedSchema).\"dot.ted\""]) == ["dot.ted"])
            #expect(try await names(["dot\\.ted"]) == ["dot.ted"])
            #expect(try await names(["\(quotedSchema).dot?ted"]) == ["dot.ted", "dotXted"])
            #expect(try await names(["\"!bang\""]) == ["!bang"])
            #expect(try await names(["\\!bang", "\"q\"\"uote\""]) == ["!bang", "q\"uote"])
            #expect(try await names(["\"star*\""]) == ["star*"])
            #expect(try await names(["star\\*"]) == ["star*"])
            #expect(try await names(["star*"]) == ["star*", "starry"])
            #expect(try await names(["!\(quotedSchema).\"dot.ted\"", "!\"!bang\""]) == all.subtracting(["dot.ted", "!bang"]))
            #expect(try await names(["\(schema.replacingOccurrences(of: ".", with: "\\.")).*"]) == all)
            do {
                _ = try await names(["*", "a.b.c"])
                Issue.record("an ambiguous pattern was accepted")
            } catch HostError.plugin(let error) {
                #expect(error.category == .config)
                #expect(error.message.contains("tables[1]"), "\(error.message)")
            }
        }
    }

    @Test("selected columns without the primary key: the stream's schema carries no primary key")
    func selectedColumnsWithoutKey() async throws {
        try await SourceHarness.withSchema { schema, db in
            let s = SQL.quoteIdentifier(schema)
            _ = try await db.executeScript("""
                CREATE TABLE \(s).t (id int, tenant int, name text, PRIMARY KEY (tenant, id));
                INSERT INTO \(s).t SELECT g, g % 3, 'n' || g FROM generate_series(1, 10) g;
                """)
            let partial = try await SourceHarness.read([SourceHarness.stream(schema, "t", columns: ["name", "id"])])
            #expect(partial.schemas.first?.primaryKey == [])
            #expect(try partial.rows("t").count == 10)
            let keyed = try await SourceHarness.read([SourceHarness.stream(schema, "t", columns: ["name", "id", "tenant"])])
            #expect(keyed.schemas.first?.primaryKey == ["tenant", "id"])
            let whole = try await SourceHarness.read([SourceHarness.stream(schema, "t")])
            #expect(whole.schemas.first?.primaryKey == ["tenant", "id"])
        }
    }
}
