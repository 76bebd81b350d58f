import Foundation
import PostgresClient
import SluiceTestSupport
import Testing

/// `plugin-host write` then `plugin-host read` through `postgres-plugin`: every logical type's
/// JSON Lines form survives the trip to PostgreSQL and back unchanged.
@Suite("plugin-host write and read round trip", .temporaryFolder)
struct PluginHostRoundTripTests {
    /// Columns of every logical type, in the write catalog's form.
    private static let columns: [(name: String, type: String)] = [
        ("id", "int64"), ("flag", "bool"), ("small", "int16"), ("medium", "int32"), ("big", "int64"),
        ("single", "float32"), ("double", "float64"), ("amount", "decimal"), ("label", "string"), ("blob", "bytes"),
        ("day", "date"), ("clock", "time"), ("clock_tz", "timetz"), ("wall", "timestamp"), ("instant", "timestamptz"),
        ("span", "interval"), ("ident", "uuid"), ("doc", "json"), ("numbers", "list<int32>"), ("words", "list<string>"),
        ("docs", "list<json>"), ("_op", "string"), ("__stream", "string"),
    ]

    /// Rows in the canonical form `read` prints, so that reading them back gives the same text.
    private static let rows = [
        #"{"id":1,"flag":true,"small":-32768,"medium":2147483647,"big":9223372036854775807,"single":1.5,"double":0.1,"amount":"12345678901234567890.123456789","label":"héllo \"quoted\"\n\ttab","blob":"AAEC/w==","day":"-4712-01-01","clock":"24:00:00.000000","clock_tz":"12:34:56.000000+05:30","wall":"-0044-03-15T12:00:00.000000","instant":"2024-01-31T12:34:56.123456Z","span":{"months":14,"days":-3,"micros":14706500000},"ident":"00112233-4455-6677-8899-aabbccddeeff","doc":"{\"a\": [1, 2.5, {\"b\": null}]}","numbers":[1,null,3],"words":["a",null,""],"docs":["null",null,"{\"k\": \"v\"}"],"__op":"not an op","___stream":"x"}"#,
        #"{"id":2,"flag":false,"small":32767,"medium":-2147483648,"big":-9223372036854775808,"single":"NaN","double":"-Infinity","amount":"NaN","label":"","blob":"","day":"infinity","clock":"00:00:00.000000","clock_tz":"00:00:00.000000-08:00","wall":"infinity","instant":"-infinity","span":{"months":0,"days":0,"micros":0},"ident":"ffffffff-ffff-ffff-ffff-ffffffffffff","doc":"\"just a string\"","numbers":[],"words":[],"docs":[],"__op":"","___stream":""}"#,
        #"{"id":3,"flag":null,"small":null,"medium":null,"big":null,"single":null,"double":null,"amount":null,"label":null,"blob":null,"day":null,"clock":null,"clock_tz":null,"wall":null,"instant":null,"span":null,"ident":null,"doc":null,"numbers":null,"words":null,"docs":null,"__op":null,"___stream":null}"#,
        #"{"id":4,"flag":null,"small":null,"medium":null,"big":null,"single":null,"double":null,"amount":null,"label":null,"blob":null,"day":null,"clock":null,"clock_tz":null,"wall":null,"instant":null,"span":null,"ident":null,"doc":"null","numbers":null,"words":null,"docs":["null"],"__op":null,"___stream":null}"#,
    ]

    private let schema = "host_rt_\(UInt32.random(in: 0...UInt32.max))"

    private var config: String {
        HostFixtures.serverConfig(extra: "schema: \(schema)\nschemas: [\(schema)]\nmetadata_columns: false\n")
    }

    private func writeCatalog() throws -> String {
        let columns = Self.columns.map { #"{"name":"\#($0.name)","type":"\#($0.type)","nullable":\#($0.name != "id")}"# }
        return try HostFixtures.temporaryFile(#"""
            {"streams":[{"namespace":"\#(schema)","name":"all_types","columns":[\#(columns.joined(separator: ","))],
              "primary_key":["id"],"write_mode":"upsert"}]}
            """#, suffix: ".json")
    }

    private func input(_ lines: [String]) throws -> String {
        try HostFixtures.temporaryFile(lines.map { #"{"_stream":"\#(schema).all_types","# + $0.dropFirst() }.joined(separator: "\n") + "\n",
                                       suffix: ".jsonl")
    }

    /// Rows read back, by id, without `_stream`.
    private func readBack(configPath: String) async throws -> [Int: NSDictionary] {
        let output = try TemporaryFolder.url("plugin-host-\(UUID().uuidString).jsonl").path
        let catalog = try HostFixtures.temporaryFile(#"{"streams":[{"namespace":"\#(schema)","name":"all_types"}]}"#, suffix: ".json")
        let read = try await HostFixtures.host(["read", "--plugin", Binaries.postgresPlugin.path, "--config", configPath,
                                                "--catalog", catalog, "--output", output])
        #expect(read.exitCode == 0, "\(read.stderr)")
        #expect(read.stderr.contains("summary \(schema).all_types"), "\(read.stderr)")
        var rows: [Int: NSDictionary] = [:]
        for line in try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n") {
            var object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(object.removeValue(forKey: "_stream") as? String == "\(schema).all_types")
            rows[try #require(object["id"] as? Int)] = object as NSDictionary
        }
        return rows
    }

    /// Runs `body`, then drops the test schema (and its `_copy`) whatever happened.
    private func withSchema(_ body: () async throws -> Void) async throws {
        let outcome: Result<Void, any Error>
        do {
            try await body()
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        if let connection = try? await TestDatabase.connect() {
            _ = try? await connection.execute("DROP SCHEMA IF EXISTS \(SQL.quoteIdentifier(schema)), \(SQL.quoteIdentifier(schema + "_copy")) CASCADE")
            connection.close()
        }
        try outcome.get()
    }

    @Test("every logical type written as JSON Lines reads back identically; _op delete removes a row")
    func roundTrip() async throws {
        try await withSchema { try await roundTripBody() }
    }

    private func roundTripBody() async throws {
        let configPath = try HostFixtures.temporaryFile(config)
        let catalog = try writeCatalog()
        let write = try await HostFixtures.host(["write", "--plugin", Binaries.postgresPlugin.path, "--config", configPath,
                                                 "--catalog", catalog, "--input", try input(Self.rows), "--batch-size", "2", "--state-every", "1"])
        #expect(write.exitCode == 0, "\(write.stderr)")
        #expect(write.stderr.contains("acknowledged state 1 (input through line 2)"), "\(write.stderr)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(write.stdout.utf8)) as? [String: Any])
        #expect((summary["streams"] as? [[String: Any]])?.first?["records"] as? Int == 4, "\(write.stdout)")

        let rows = try await readBack(configPath: configPath)
        #expect(rows.count == 4)
        for (index, line) in Self.rows.enumerated() {
            let expected = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? NSDictionary)
            #expect(rows[index + 1] == expected, "row \(index + 1): read \(String(describing: rows[index + 1]))")
        }

        try await statesAreKept(configPath: configPath)

        let delete = try await HostFixtures.host(["write", "--plugin", Binaries.postgresPlugin.path, "--config", configPath,
                                                  "--catalog", catalog, "--input", try input([#"{"_op":"delete","id":3}"#])])
        #expect(delete.exitCode == 0, "\(delete.stderr)")
        #expect(try await readBack(configPath: configPath).keys.sorted() == [1, 2, 4])
    }

    /// `read --state` saves the source's latest state per stream, and a later read takes it back.
    private func statesAreKept(configPath: String) async throws {
        let statePath = try TemporaryFolder.url("plugin-host-\(UUID().uuidString).json").path
        for _ in 0..<2 {
            let read = try await HostFixtures.host(["read", "--plugin", Binaries.postgresPlugin.path, "--config", configPath,
                                                    "--state", statePath, "--output", "/dev/null"])
            #expect(read.exitCode == 0, "\(read.stderr)")
            let nullType = try FileManager.default.attributesOfItem(atPath: "/dev/null")[.type] as? FileAttributeType
            #expect(nullType == .typeCharacterSpecial, "writing to /dev/null must not replace the device")
            let saved = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: statePath))) as? [String: Any])
            let states = try #require(saved["states"] as? [[String: Any]])
            let stream = try #require(states.first?["stream"] as? [String: Any])
            #expect(stream["namespace"] as? String == schema && stream["name"] as? String == "all_types")
            #expect(states.first?["data"] is String)
        }
    }

    @Test("read then write, PostgreSQL to PostgreSQL: a JSON null in json, jsonb and jsonb[] stays distinct from SQL NULL")
    func jsonNullIsNotSQLNull() async throws {
        try await withSchema { try await jsonNullBody() }
    }

    private func jsonNullBody() async throws {
        let copy = schema + "_copy"
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        let source = SQL.quoteQualified(schema: schema, name: "docs")
        _ = try await connection.executeScript("""
            CREATE SCHEMA \(SQL.quoteIdentifier(schema));
            CREATE TABLE \(source) (id int PRIMARY KEY, j json, jb jsonb, jbs jsonb[]);
            INSERT INTO \(source) VALUES
              (1, 'null', 'null', ARRAY['null'::jsonb, NULL]),
              (2, NULL, NULL, NULL),
              (3, '{"b": 1,   "a": [1,2]}', '"null"', '{}'),
              (4, '[null]', '{"k": null}', ARRAY[NULL, 'null', '{}']::jsonb[]);
            """)
        let sourceConfig = try HostFixtures.temporaryFile(HostFixtures.serverConfig(extra: "schemas: [\(schema)]\n"))
        let output = try TemporaryFolder.url("plugin-host-\(UUID().uuidString).jsonl").path
        let read = try await HostFixtures.host(["read", "--plugin", Binaries.postgresPlugin.path, "--config", sourceConfig, "--output", output])
        #expect(read.exitCode == 0, "\(read.stderr)")
        let lines = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n").map(String.init).sorted()
        #expect(lines == [
            #"{"_stream":"\#(schema).docs","id":1,"j":"null","jb":"null","jbs":["null",null]}"#,
            #"{"_stream":"\#(schema).docs","id":2,"j":null,"jb":null,"jbs":null}"#,
            #"{"_stream":"\#(schema).docs","id":3,"j":"{\"b\": 1,   \"a\": [1,2]}","jb":"\"null\"","jbs":[]}"#,
            #"{"_stream":"\#(schema).docs","id":4,"j":"[null]","jb":"{\"k\": null}","jbs":[null,"null","{}"]}"#,
        ])

        let discover = try await HostFixtures.host(["discover", "--plugin", Binaries.postgresPlugin.path, "--config", sourceConfig])
        #expect(discover.exitCode == 0, "\(discover.stderr)")
        let catalog = try HostFixtures.temporaryFile(discover.stdout, suffix: ".json")
        let destinationConfig = try HostFixtures.temporaryFile(HostFixtures.serverConfig(extra: "schema: \(copy)\nmetadata_columns: false\n"))
        let write = try await HostFixtures.host(["write", "--plugin", Binaries.postgresPlugin.path, "--config", destinationConfig,
                                                 "--catalog", catalog, "--input", output])
        #expect(write.exitCode == 0, "\(write.stderr)")
        // Compared as the source types: json has no equality, so as jsonb, which keeps null apart from NULL.
        let differences = try await connection.execute("""
            SELECT s.id FROM \(source) s FULL JOIN \(SQL.quoteQualified(schema: copy, name: "docs")) d USING (id)
            WHERE s.j::jsonb IS DISTINCT FROM d.j::jsonb OR (s.j IS NULL) <> (d.j IS NULL)
               OR s.jb IS DISTINCT FROM d.jb OR s.jbs IS DISTINCT FROM d.jbs OR s.id IS NULL OR d.id IS NULL
            """)
        #expect(differences.rows.isEmpty, "rows that differ: \(differences.rows)")
        let nulls = try await connection.execute("""
            SELECT id, j IS NULL, jb IS NULL, jbs IS NULL, jbs[1] IS NULL FROM \(SQL.quoteQualified(schema: copy, name: "docs")) ORDER BY id
            """)
        #expect(nulls.rows == [["1", "f", "f", "f", "f"], ["2", "t", "t", "t", "t"], ["3", "f", "f", "f", "t"], ["4", "f", "f", "f", "t"]])
    }

    @Test("write reads numbers exactly (no detour through a double) or refuses them; malformed members stop the input")
    func inputIsExactOrLoud() async throws {
        try await withSchema { try await inputIsExactOrLoudBody() }
    }

    private func inputIsExactOrLoudBody() async throws {
        let configPath = try HostFixtures.temporaryFile(config)
        let catalog = try writeCatalog()
        // 2^53 + 1 is not a double; 1 + 2^-24 + ε rounds up as a float32, but to 1 through a double.
        let good = #"{"id":5,"big":9007199254740993.0,"small":"1e3","single":1.0000000596046447753906250001,"span":{"micros":"2","days":1,"months":3}}"#
        let write = try await HostFixtures.host(["write", "--plugin", Binaries.postgresPlugin.path, "--config", configPath,
                                                 "--catalog", catalog, "--input", try input([good])])
        #expect(write.exitCode == 0, "\(write.stderr)")
        let row = try #require(try await readBack(configPath: configPath)[5])
        #expect(row["big"] as? Int == 9_007_199_254_740_993)
        #expect(row["small"] as? Int == 1000)
        #expect((row["single"] as? NSNumber)?.floatValue == Float(bitPattern: 0x3F80_0001))
        #expect(row["span"] as? NSDictionary == ["months": 3, "days": 1, "micros": 2] as NSDictionary)

        let refused: [(String, String)] = [
            (#"{"id":6,"big":1.5}"#, #"column "big": 1.5 is not an integer"#),
            (#"{"id":6,"single":1e39}"#, #"column "single": 1e39 is out of range for a float32"#),
            (#"{"id":6,"double":1e-400}"#, #"column "double": 1e-400 is out of range for a float64"#),
            (#"{"id":6,"label":"a","label":"b"}"#, #""label" appears twice"#),
            (#"{"id":6,"label":"\ud800"}"#, "unpaired UTF-16 surrogate"),
            (#"{"id":6,"span":{"months":1,"days":2,"micros":3,"hours":4}}"#, #"an interval has no part "hours""#),
            (#"{"id":6,"_op":"upsert","_op":"delete"}"#, #""_op" appears twice"#),
            (#"{"id":6,"id":7}"#, #""id" appears twice"#),
            (#"{"id":6,"_stream":"x"}"#, #""_stream" appears twice"#),
            (#"{"id":6,"_unchanged":[],"_unchanged":[]}"#, #""_unchanged" appears twice"#),
        ]
        for (line, reason) in refused {
            let result = try await HostFixtures.host(["write", "--plugin", Binaries.postgresPlugin.path, "--config", configPath,
                                                      "--catalog", catalog, "--input", try input([line])])
            #expect(result.exitCode == 65, "\(line): \(result.stderr)")
            #expect(result.stderr.contains("input line 1: "), "\(line): \(result.stderr)")
            #expect(result.stderr.contains(reason), "\(line): \(result.stderr)")
        }
        #expect(try await readBack(configPath: configPath).keys.sorted() == [5])
    }

    @Test("read prints delete rows with \"_op\":\"delete\", and write turns them back into deletes")
    func deleteRowsRoundTrip() async throws {
        try await withSchema { try await deleteRowsBody() }
    }

    private func deleteRowsBody() async throws {
        let sourceConfig = try HostFixtures.temporaryFile(#"{"fault": "deletes"}"#, suffix: ".json")
        let output = try TemporaryFolder.url("plugin-host-\(UUID().uuidString).jsonl").path
        let read = try await HostFixtures.host(["read", "--plugin", Binaries.misbehavingPlugin.path, "--config", sourceConfig, "--output", output])
        #expect(read.exitCode == 0, "\(read.stderr)")
        let lines = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.count == 12)
        #expect(lines.suffix(2) == [#"{"_stream":"fixture.numbers","_op":"delete","id":3}"#, #"{"_stream":"fixture.numbers","_op":"delete","id":4}"#])

        let discover = try await HostFixtures.host(["discover", "--plugin", Binaries.misbehavingPlugin.path, "--config", sourceConfig])
        #expect(discover.exitCode == 0, "\(discover.stderr)")
        let destination = try HostFixtures.temporaryFile(HostFixtures.serverConfig(extra: "schema: \(schema)\nmetadata_columns: false\nwrite_mode: upsert\n"))
        let write = try await HostFixtures.host(["write", "--plugin", Binaries.postgresPlugin.path, "--config", destination,
                                                 "--catalog", try HostFixtures.temporaryFile(discover.stdout, suffix: ".json"), "--input", output])
        #expect(write.exitCode == 0, "\(write.stderr)")
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        let ids = try await connection.execute("SELECT string_agg(id::text, ',' ORDER BY id) FROM \(SQL.quoteQualified(schema: schema, name: "numbers"))")
        #expect(ids.rows == [["1,2,5,6,7,8,9,10"]])
    }

    @Test("write cuts batches under --max-frame-size, and a row too large for any frame stops the input naming its line")
    func batchesFitTheFrame() async throws {
        try await withSchema { try await batchesFitTheFrameBody() }
    }

    private func batchesFitTheFrameBody() async throws {
        let configPath = try HostFixtures.temporaryFile(config)
        let catalog = try writeCatalog()
        // 8 KB labels: the default --batch-size would put all 6 rows in one 48 KB batch. (The
        // plugin's spec alone needs about 20 KB, so the frame cannot be much smaller.)
        let label = String(repeating: "é", count: 4000)
        let lines = (1...6).map { #"{"id":\#($0),"label":"\#(label)"}"# }
        let write = try await HostFixtures.host(["write", "--plugin", Binaries.postgresPlugin.path, "--config", configPath, "--catalog", catalog,
                                                 "--input", try input(lines), "--max-frame-size", "32768", "--state-every", "1"])
        #expect(write.exitCode == 0, "\(write.stderr)")
        #expect(write.stderr.contains("input through line 3"), "\(write.stderr)")
        let rows = try await readBack(configPath: configPath)
        #expect(rows.keys.sorted() == [1, 2, 3, 4, 5, 6])
        #expect(rows.values.allSatisfy { $0["label"] as? String == label })

        let huge = #"{"id":7,"label":"\#(String(repeating: "x", count: 40000))"}"#
        let refused = try await HostFixtures.host(["write", "--plugin", Binaries.postgresPlugin.path, "--config", configPath, "--catalog", catalog,
                                                   "--input", try input([lines[0], huge]), "--max-frame-size", "32768"])
        #expect(refused.exitCode == 65, "\(refused.stderr)")
        #expect(refused.stderr.contains("input line 2: the row needs up to"), "\(refused.stderr)")
        #expect(refused.stderr.contains("over the maximum frame size of 32768 bytes; raise --max-frame-size"), "\(refused.stderr)")
    }

    @Test("write refuses a catalog whose streams cannot be told apart in _stream")
    func ambiguousStreams() async throws {
        let catalog = try HostFixtures.temporaryFile(#"""
            {"streams":[{"namespace":"a","name":"b.c","columns":[{"name":"id","type":"int64"}]},
                        {"namespace":"a.b","name":"c","columns":[{"name":"id","type":"int64"}]}]}
            """#, suffix: ".json")
        let write = try await HostFixtures.host(["write", "--plugin", Binaries.postgresPlugin.path, "--config", try HostFixtures.temporaryFile(config),
                                                 "--catalog", catalog, "--input", try HostFixtures.temporaryFile(#"{"_stream":"a.b.c","id":1}"#, suffix: ".jsonl")])
        #expect(write.exitCode == 65, "\(write.stderr)")
        #expect(write.stderr.contains(#"the catalog has two streams written "a.b.c" in "_stream""#), "\(write.stderr)")
    }

    @Test("a bad input line exits 65 naming the line, and the cancelled write commits nothing")
    func badInput() async throws {
        try await withSchema { try await badInputBody() }
    }

    private func badInputBody() async throws {
        let configPath = try HostFixtures.temporaryFile(config)
        let lines = [Self.rows[0], Self.rows[1], #"{"id":4,"day":"2024-02-30"}"#]
        let write = try await HostFixtures.host(["write", "--plugin", Binaries.postgresPlugin.path, "--config", configPath,
                                                 "--catalog", try writeCatalog(), "--input", try input(lines)])
        #expect(write.exitCode == 65)
        #expect(write.stderr.contains(#"input line 3: column "day": "2024-02-30" is not a date"#), "\(write.stderr)")
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        let exists = try await connection.execute("SELECT to_regclass($1) IS NOT NULL", [.text("\(schema).all_types")])
        if exists.rows.first?.first == "t" {
            let count = try await connection.execute("SELECT count(*) FROM \(SQL.quoteQualified(schema: schema, name: "all_types"))")
            #expect(count.rows.first?.first == "0")
        }
    }
}
