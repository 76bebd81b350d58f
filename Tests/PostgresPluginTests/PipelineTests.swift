import Foundation
import PostgresClient
import Testing

/// `plugin-host pipeline` with the real binaries: sources read straight into PostgreSQL
/// destinations, states saved only once every destination committed, failures and kills
/// leaving a state file a rerun resumes from without losing or (with upsert) duplicating rows.
@Suite("plugin-host pipeline", .serialized)
struct PipelineTests: PipelineWorkspace {
    /// Schemas created for this test, dropped at the end.
    let prefix = "pipe_\(UInt32.random(in: 0...UInt32.max))"
    let files = FileManager.default.temporaryDirectory.appendingPathComponent("pipeline-\(UUID().uuidString)")

    // MARK: - Fixtures

    private func path(_ name: String) -> String { files.appendingPathComponent(name).path }

    private func sequenceConfig(rows: Int, batch: Int) throws -> String {
        try file("seq-\(rows)-\(batch).json", #"{"rows": \#(rows), "batch_size": \#(batch)}"#)
    }

    private func incrementalCatalog() throws -> String {
        try file("incremental.json", #"{"streams":[{"namespace":"example","name":"numbers","sync_mode":"incremental","cursor":"id"}]}"#)
    }

    /// The arguments of a pipeline from `source` into `destinations` (plugin, config).
    private func arguments(source: (URL, String), destinations: [(URL, String)], _ extra: [String]) -> [String] {
        ["pipeline", "--source", source.0.path, "--source-config", source.1]
            + destinations.flatMap { ["--destination", $0.0.path, "--destination-config", $0.1] } + extra
    }

    /// The JSON summary printed on success.
    private func summary(_ result: CommandResult) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stdout)")
    }

    /// Records read and written per destination of the summary's first stream.
    private func counts(_ result: CommandResult) throws -> (read: Int, written: [Int]) {
        let streams = try #require(try summary(result)["streams"] as? [[String: Any]])
        let first = try #require(streams.first)
        return (try #require(first["read"] as? Int), try #require(first["written"] as? [Int]))
    }

    /// The sequence source's saved state (its last id), or nil without a state file.
    private func savedID(_ statePath: String) throws -> Int? {
        guard let data = FileManager.default.contents(atPath: statePath) else { return nil }
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let states = try #require(root["states"] as? [[String: Any]])
        #expect(states.count == 1)
        return Int(try #require(states.first?["data"] as? String))
    }

    /// `count(*)`, `count(DISTINCT id)`, `min(id)`, `max(id)` of `schema.table` (0s when it is empty).
    private func idStats(_ connection: PostgresConnection, _ schema: String, _ table: String = "numbers") async throws -> [Int] {
        let rows = try await connection.execute(
            "SELECT count(*), count(DISTINCT id), coalesce(min(id), 0), coalesce(max(id), 0) FROM \(SQL.quoteQualified(schema: schema, name: table))").rows
        return try #require(rows.first).map { Int($0 ?? "") ?? -1 }
    }

    // MARK: - Tests

    @Test("sequence → PostgreSQL: every row arrives, the state holds the last id, reruns resume and upsert duplicates nothing")
    func sequenceIntoPostgres() async throws {
        try await withDatabase { connection in
            let target = schema("seq")
            let destination = (Binaries.postgresPlugin, try postgresConfig(target))
            let statePath = path("state.json")
            let catalog = try incrementalCatalog()
            func pipeline(rows: Int, _ extra: [String] = ["--catalog", catalog, "--state", statePath]) async throws -> CommandResult {
                try await run(arguments(source: (Binaries.sequencePlugin, try sequenceConfig(rows: rows, batch: 40)),
                                        destinations: [destination], ["--write-mode", "upsert"] + extra))
            }

            let first = try await pipeline(rows: 250)
            #expect(first.exitCode == 0, "\(first.stderr)")
            #expect(try counts(first) == (250, [250]))
            #expect(try savedID(statePath) == 250)
            #expect(try await idStats(connection, target) == [250, 250, 1, 250])
            #expect(first.stderr.contains("summary example.numbers: 250 read, 250 written to destination"), "\(first.stderr)")

            // More rows at the source: the rerun reads only those after the saved state.
            let second = try await pipeline(rows: 400)
            #expect(second.exitCode == 0, "\(second.stderr)")
            #expect(try counts(second) == (150, [150]))
            #expect(try savedID(statePath) == 400)
            #expect(try await idStats(connection, target) == [400, 400, 1, 400])

            // Nothing new: nothing read, nothing written.
            let third = try await pipeline(rows: 400)
            #expect(third.exitCode == 0, "\(third.stderr)")
            #expect(try counts(third).read == 0)
            #expect(try savedID(statePath) == 400)

            // A full refresh without the state delivers every row again: upsert keeps one of each.
            let full = try await pipeline(rows: 400, [])
            #expect(full.exitCode == 0, "\(full.stderr)")
            #expect(try counts(full) == (400, [400]))
            #expect(try await idStats(connection, target) == [400, 400, 1, 400])
        }
    }

    @Test("PostgreSQL → PostgreSQL: a table is copied into another schema with identical content")
    func postgresIntoPostgres() async throws {
        try await withDatabase { connection in
            let source = schema("src"), target = schema("dst")
            let table = SQL.quoteQualified(schema: source, name: "items")
            _ = try await connection.executeScript("""
                CREATE SCHEMA \(SQL.quoteIdentifier(source));
                CREATE TABLE \(table) (id bigint PRIMARY KEY, name text, amount numeric(12,2), flag boolean, created timestamptz,
                                       day date, payload jsonb, blob bytea, tags text[], ratio double precision);
                INSERT INTO \(table)
                SELECT g, CASE WHEN g % 7 = 0 THEN NULL ELSE 'item ' || g || ' ü' END, (g * 1.25)::numeric(12,2), g % 2 = 0,
                       timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute', date '2000-01-01' + g,
                       jsonb_build_object('n', g, 'even', g % 2 = 0), int8send(g), ARRAY['a' || g, NULL, 'b'], g / 3.0
                FROM generate_series(1, 5000) AS g;
                """)
            let result = try await run(arguments(
                source: (Binaries.postgresPlugin, try postgresConfig(source, "schemas: [\(source)]\nbatch_size: 700\n")),
                destinations: [(Binaries.postgresPlugin, try postgresConfig(target))],
                ["--state", path("state.json")]))
            #expect(result.exitCode == 0, "\(result.stderr)")
            #expect(try counts(result) == (5000, [5000]))
            let copy = SQL.quoteQualified(schema: target, name: "items")
            for (left, right) in [(table, copy), (copy, table)] {
                let difference = try await connection.execute("SELECT count(*) FROM (SELECT * FROM \(left) EXCEPT SELECT * FROM \(right)) AS d").rows
                #expect(difference.first?.first == "0", "rows of \(left) missing from \(right)")
            }
            #expect(try await idStats(connection, target, "items") == [5000, 5000, 1, 5000])
            #expect(FileManager.default.fileExists(atPath: path("state.json")))
        }
    }

    @Test("selected columns without the primary key: append writes them, with no key the batches do not carry")
    func selectedColumnsWithoutKey() async throws {
        try await withDatabase { connection in
            let source = schema("colsrc"), target = schema("coldst")
            let table = SQL.quoteQualified(schema: source, name: "items")
            _ = try await connection.executeScript("""
                CREATE SCHEMA \(SQL.quoteIdentifier(source));
                CREATE TABLE \(table) (id bigint PRIMARY KEY, name text, note text);
                INSERT INTO \(table) SELECT g, 'item ' || g, 'n' FROM generate_series(1, 300) AS g;
                """)
            let catalog = try file("columns.json", #"{"streams":[{"namespace":"\#(source)","name":"items","columns":["name","note"]}]}"#)
            let result = try await run(arguments(
                source: (Binaries.postgresPlugin, try postgresConfig(source, "schemas: [\(source)]\n")),
                destinations: [(Binaries.postgresPlugin, try postgresConfig(target))],
                ["--catalog", catalog, "--write-mode", "append"]))
            #expect(result.exitCode == 0, "\(result.stderr)")
            let copy = SQL.quoteQualified(schema: target, name: "items")
            let rows = try await connection.execute("SELECT count(*), count(DISTINCT name) FROM \(copy)").rows
            #expect(rows.first == ["300", "300"])
            let key = try await connection.execute("""
                SELECT count(*) FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'
                """, [.text(copy)]).rows
            #expect(key.first == ["0"])
        }
    }

    @Test("--max-frame-size 1 MiB: wide rows travel in batches under it; a row no frame holds fails naming it and the option")
    func smallFrames() async throws {
        try await withDatabase { connection in
            let source = schema("framesrc"), target = schema("framedst")
            let table = SQL.quoteQualified(schema: source, name: "wide")
            _ = try await connection.executeScript("""
                CREATE SCHEMA \(SQL.quoteIdentifier(source));
                CREATE TABLE \(table) (id bigint PRIMARY KEY, body text);
                INSERT INTO \(table) SELECT g, repeat(md5(g::text), 6000) FROM generate_series(1, 30) AS g;
                """)
            let sourceConfig = try postgresConfig(source, "schemas: [\(source)]\n")
            let destinations = [(Binaries.postgresPlugin, try postgresConfig(target))]
            let result = try await run(arguments(source: (Binaries.postgresPlugin, sourceConfig), destinations: destinations,
                                                 ["--max-frame-size", "1048576"]))
            #expect(result.exitCode == 0, "\(result.stderr)")
            #expect(try counts(result) == (30, [30]))
            let copy = SQL.quoteQualified(schema: target, name: "wide")
            let difference = try await connection.execute("SELECT count(*) FROM (SELECT * FROM \(table) EXCEPT SELECT * FROM \(copy)) AS d").rows
            #expect(difference.first?.first == "0")

            _ = try await connection.execute("INSERT INTO \(table) VALUES (31, repeat('x', 2000000))")
            let failed = try await run(arguments(source: (Binaries.postgresPlugin, sourceConfig), destinations: destinations,
                                                 ["--max-frame-size", "1048576", "--retries", "0"]))
            #expect(failed.exitCode == 70, "\(failed.stderr)")
            #expect(failed.stderr.contains("ROW_TOO_LARGE"), "\(failed.stderr)")
            #expect(failed.stderr.contains("row with id = 31"), "\(failed.stderr)")
            #expect(failed.stderr.contains("--max-frame-size"), "\(failed.stderr)")
        }
    }

    @Test("two destinations at once: both receive every row, and the summary counts each")
    func twoDestinations() async throws {
        try await withDatabase { connection in
            let first = schema("one"), second = schema("two")
            let statePath = path("state.json")
            let result = try await run(arguments(
                source: (Binaries.sequencePlugin, try sequenceConfig(rows: 3000, batch: 250)),
                destinations: [(Binaries.postgresPlugin, try postgresConfig(first)), (Binaries.postgresPlugin, try postgresConfig(second))],
                ["--catalog", try incrementalCatalog(), "--state", statePath, "--write-mode", "append"]))
            #expect(result.exitCode == 0, "\(result.stderr)")
            #expect(try counts(result) == (3000, [3000, 3000]))
            #expect(try savedID(statePath) == 3000)
            for target in [first, second] {
                #expect(try await idStats(connection, target) == [3000, 3000, 1, 3000])
            }
            let destinations = try #require(try summary(result)["destinations"] as? [[String: Any]])
            #expect(destinations.count == 2)
        }
    }

    @Test("a destination added to a pipeline starts from the beginning, and the one that had committed more is warned about by name: append rows without a key repeat there")
    func destinationAheadIsNamed() async throws {
        try await withDatabase { connection in
            let first = schema("ahead"), second = schema("added")
            let source = (Binaries.sequencePlugin, try sequenceConfig(rows: 500, batch: 100))
            // Without the id column the stream has no key: appended rows cannot be refused as repeats.
            let catalog = try file("unkeyed.json", #"{"streams":[{"namespace":"example","name":"numbers","columns":["label","at"]}]}"#)
            let options = ["--catalog", catalog, "--write-mode", "append", "--name", "grown"]
            let alone = try await run(arguments(source: source, destinations: [(Binaries.postgresPlugin, try postgresConfig(first))], options))
            #expect(alone.exitCode == 0, "\(alone.stderr)")
            let both = try await run(arguments(source: source, destinations: [(Binaries.postgresPlugin, try postgresConfig(first)),
                                                                              (Binaries.postgresPlugin, try postgresConfig(second))], options))
            #expect(both.exitCode == 0, "\(both.stderr)")
            #expect(both.stderr.contains("pipeline: stream example.numbers resumes from an older point than destination 1 committed: destination 1 receives the rows in between again (written with append, they may repeat there)"), "\(both.stderr)")
            #expect(!both.stderr.contains("than destination 2"), "\(both.stderr)")
            func labels(_ schema: String) async throws -> [String?]? {
                try await connection.execute("SELECT count(*), count(DISTINCT label) FROM \(SQL.quoteQualified(schema: schema, name: "numbers"))").rows.first
            }
            #expect(try await labels(second) == ["500", "500"])
            #expect(try await labels(first) == ["1000", "500"], "what the warning says")
        }
    }

    @Test("--pipeline FILE: inline and file configurations, per-destination write modes, paths relative to the file")
    func pipelineFile() async throws {
        try await withDatabase { connection in
            let inline = schema("inline"), referenced = schema("ref")
            _ = try file("incremental.json", #"{"streams":[{"namespace":"example","name":"numbers","sync_mode":"incremental","cursor":"id"}]}"#)
            let referencedConfig = URL(fileURLWithPath: try postgresConfig(referenced)).lastPathComponent
            let pipeline = try file("pipeline.yaml", """
                source:
                  plugin: \(Binaries.sequencePlugin.path)
                  config: {rows: 900, batch_size: 100}
                destinations:
                  - plugin: \(Binaries.postgresPlugin.path)
                    config:
                      host: ${PGHOST:-127.0.0.1}
                      port: ${PGPORT:-5432}
                      user: ${PGUSER:-postgres}
                      password: ${PGPASSWORD:-}
                      database: ${PGDATABASE:-postgres}
                      sslmode: disable
                      schema: \(inline)
                      metadata_columns: false
                    write_mode: upsert
                  - plugin: \(Binaries.postgresPlugin.path)
                    config: \(referencedConfig)
                catalog: incremental.json
                state: state.json
                """)
            let result = try await run(["pipeline", "--pipeline", pipeline])
            #expect(result.exitCode == 0, "\(result.stderr)")
            #expect(try counts(result) == (900, [900, 900]))
            #expect(try savedID(path("state.json")) == 900)
            for target in [inline, referenced] {
                #expect(try await idStats(connection, target) == [900, 900, 1, 900])
            }
            // Again with a new state file: both destinations committed the last state with their
            // rows, so the rerun resumes there and reads nothing again.
            let again = try await run(["pipeline", "--pipeline", pipeline, "--state", path("other-state.json")])
            #expect(again.exitCode == 0, "\(again.stderr)")
            #expect(try counts(again) == (0, [0, 0]))
            #expect(again.stderr.contains("streams resume 1 from the state committed in the destinations"), "\(again.stderr)")
            for target in [inline, referenced] {
                #expect(try await idStats(connection, target) == [900, 900, 1, 900])
            }

            let invalid = try file("invalid.yaml", "source: {plugin: x, extra: 1}\ndestinations: []\n")
            let refused = try await run(["pipeline", "--pipeline", invalid])
            #expect(refused.exitCode == 65)
            #expect(refused.stderr.contains(#"$.source: unknown property "extra""#), "\(refused.stderr)")
            #expect(refused.stderr.contains("$.destinations: expected a non-empty array"), "\(refused.stderr)")
        }
    }

    @Test("a destination that fails mid-way stops the pipeline; the state never passes what every destination committed")
    func failingDestination() async throws {
        try await withDatabase { connection in
            let failing = schema("fails"), healthy = schema("ok")
            // Rows above 120 violate the check: the third batch of 50 fails.
            _ = try await connection.executeScript("""
                CREATE SCHEMA \(SQL.quoteIdentifier(failing));
                CREATE TABLE \(SQL.quoteQualified(schema: failing, name: "numbers"))
                    (id bigint PRIMARY KEY, label text NOT NULL, at timestamptz, CHECK (id <= 120));
                """)
            let statePath = path("state.json")
            let result = try await run(arguments(
                source: (Binaries.sequencePlugin, try sequenceConfig(rows: 2000, batch: 50)),
                destinations: [(Binaries.postgresPlugin, try postgresConfig(healthy)), (Binaries.postgresPlugin, try postgresConfig(failing))],
                ["--catalog", try incrementalCatalog(), "--state", statePath, "--write-mode", "upsert"]))
            #expect(result.exitCode == 70, "\(result.stderr)")
            #expect(result.stderr.contains("destination 2:"), "\(result.stderr)")
            #expect(result.stderr.contains("numbers_id_check"), "\(result.stderr)")
            #expect(result.stdout.isEmpty)
            let saved = try savedID(statePath) ?? 0
            #expect(saved <= 100)
            // Every row the state covers is committed in both destinations.
            for target in [healthy, failing] {
                let stats = try await idStats(connection, target)
                #expect(stats[1] >= saved && stats[2] <= 1, "\(target): \(stats), state \(saved)")
            }
            #expect(try await idStats(connection, failing)[3] <= 120)

            // The host may stop before hearing a destination acknowledge what it committed: a
            // state file older than the destination's committed state (as such a race leaves it).
            try Data(#"{"states":[{"stream":{"namespace":"example","name":"numbers"},"id":1,"data":"50"}]}"#.utf8)
                .write(to: URL(fileURLWithPath: statePath))
            // A rerun into the failing destination resumes after what it committed (100), stops at
            // the same row, and the state file now says where it resumed.
            let rerun = try await run(arguments(
                source: (Binaries.sequencePlugin, try sequenceConfig(rows: 2000, batch: 50)),
                destinations: [(Binaries.postgresPlugin, try postgresConfig(failing))],
                ["--catalog", try incrementalCatalog(), "--state", statePath, "--write-mode", "upsert"]))
            #expect(rerun.exitCode == 70, "\(rerun.stderr)")
            #expect(try savedID(statePath) == 100)
        }
    }

    @Test("a destination that fails before any row moves leaves no state; a plugin that dies exits 71")
    func failuresBeforeData() async throws {
        try await withDatabase { connection in
            let target = schema("conflict")
            // An existing table whose column type the safe migration refuses to change.
            _ = try await connection.executeScript("""
                CREATE SCHEMA \(SQL.quoteIdentifier(target));
                CREATE TABLE \(SQL.quoteQualified(schema: target, name: "numbers")) (id bigint PRIMARY KEY, label integer, at timestamptz);
                """)
            let statePath = path("state.json")
            let refused = try await run(arguments(
                source: (Binaries.sequencePlugin, try sequenceConfig(rows: 500, batch: 50)),
                destinations: [(Binaries.postgresPlugin, try postgresConfig(target))],
                ["--catalog", try incrementalCatalog(), "--state", statePath]))
            #expect(refused.exitCode == 70, "\(refused.stderr)")
            #expect(refused.stderr.contains("destination:"), "\(refused.stderr)")
            #expect(!FileManager.default.fileExists(atPath: statePath))
            #expect(try await idStats(connection, target) == [0, 0, 0, 0])

            let crashed = try await run(arguments(
                source: (Binaries.sequencePlugin, try sequenceConfig(rows: 500, batch: 50)),
                destinations: [(URL(fileURLWithPath: "/bin/false"), try postgresConfig(target))],
                ["--state", statePath]))
            #expect(crashed.exitCode == 71, "\(crashed.stderr)")
            #expect(crashed.stderr.contains("destination:"), "\(crashed.stderr)")
            #expect(!FileManager.default.fileExists(atPath: statePath))

            let badConfig = try await run(arguments(
                source: (Binaries.sequencePlugin, try file("bad.json", #"{"rows": "many"}"#)),
                destinations: [(Binaries.postgresPlugin, try postgresConfig(target))], []))
            #expect(badConfig.exitCode == 65, "\(badConfig.stderr)")
            #expect(badConfig.stderr.contains("source: "), "\(badConfig.stderr)")

            // A source that cannot connect and a destination configuration with an unknown key:
            // the configuration error, found without any connection, is the one reported.
            let unreachable = try file("unreachable.yaml", "host: 127.0.0.1\nport: 1\nuser: nobody\ndatabase: nothing\n")
            let both = try await run(arguments(
                source: (Binaries.postgresPlugin, unreachable),
                destinations: [(Binaries.postgresPlugin, try postgresConfig(target, "no_such_setting: 1\n"))], []))
            #expect(both.exitCode == 65, "\(both.stderr)")
            #expect(both.stderr.contains("destination:") && both.stderr.contains("no_such_setting"), "\(both.stderr)")
        }
    }

    @Test("SIGKILL mid-way, then a rerun with the same state file: with upsert no row is missing or duplicated")
    func killedThenResumed() async throws {
        try await withDatabase { connection in
            let target = schema("killed")
            let statePath = path("state.json")
            let rows = 400_000
            let arguments = arguments(
                source: (Binaries.sequencePlugin, try sequenceConfig(rows: rows, batch: 1000)),
                destinations: [(Binaries.postgresPlugin, try postgresConfig(target))],
                ["--catalog", try incrementalCatalog(), "--state", statePath, "--write-mode", "upsert"])
            let host = try startHost(arguments)
            let saved = try await waitForState(statePath, atLeast: 20_000, while: host)
            #expect(host.isRunning, "the pipeline finished before it could be killed")
            kill(host.processIdentifier, SIGKILL)
            host.waitUntilExit()
            let atKill = try savedID(statePath) ?? 0
            #expect(atKill >= saved && atKill < rows)
            // Give the orphaned destination time to notice the end of its input and roll back.
            try await Task.sleep(nanoseconds: 500_000_000)
            let committed = try await idStats(connection, target)
            #expect(committed[0] >= atKill, "the state \(atKill) is past the \(committed[0]) committed rows")

            let rerun = try await run(arguments)
            #expect(rerun.exitCode == 0, "\(rerun.stderr)")
            // The rerun resumes from the state committed with the rows, at or past the file's.
            #expect(try counts(rerun).read == rows - committed[0])
            #expect(try savedID(statePath) == rows)
            #expect(try await idStats(connection, target) == [rows, rows, 1, rows])
        }
    }

    @Test("append: a rerun whose state file is lost or behind resumes from the state the destination committed with the rows: no row twice")
    func appendResumesFromCommittedState() async throws {
        try await withDatabase { connection in
            let target = schema("once")
            let statePath = path("state.json")
            let catalog = try incrementalCatalog()
            let destination = (Binaries.postgresPlugin, try postgresConfig(target))
            func pipeline(rows: Int) async throws -> CommandResult {
                try await run(arguments(source: (Binaries.sequencePlugin, try sequenceConfig(rows: rows, batch: 40)),
                                        destinations: [destination],
                                        ["--catalog", catalog, "--state", statePath, "--write-mode", "append", "--name", "numbers"]))
            }
            let first = try await pipeline(rows: 250)
            #expect(first.exitCode == 0, "\(first.stderr)")
            #expect(try summary(first)["pipeline_id"] as? String == "numbers")
            // The host dies after the destination committed but before it saved the state: here,
            // the state file is gone altogether.
            try FileManager.default.removeItem(atPath: statePath)
            let second = try await pipeline(rows: 400)
            #expect(second.exitCode == 0, "\(second.stderr)")
            #expect(try counts(second) == (150, [150]))
            let streams = try #require(try summary(second)["streams"] as? [[String: Any]])
            #expect(streams.first?["resumed_from"] as? String == "destination")
            #expect(second.stderr.contains("1 from the state committed in the destinations"), "\(second.stderr)")
            #expect(try await idStats(connection, target) == [400, 400, 1, 400])
            #expect(try savedID(statePath) == 400)
            let stored = try await connection.execute(
                "SELECT stream_namespace, stream_name, table_name, convert_from(state, 'UTF8') FROM \(SQL.quoteQualified(schema: target, name: "_sluice_state"))").rows
            #expect(stored.map { $0.compactMap { $0 } } == [["example", "numbers", "numbers", "400"]])
            // The state table is bookkeeping, not a stream of the schema when it is read in turn.
            let discover = try await run(["discover", "--plugin", Binaries.postgresPlugin.path, "--config", try postgresConfig(target, "schemas: [\(target)]")])
            #expect(discover.exitCode == 0, "\(discover.stderr)")
            #expect(discover.stdout.contains("\"numbers\"") && !discover.stdout.contains("_sluice_state"), "\(discover.stdout)")
        }
    }

    @Test("pipelines with different names keep separate states in one table; a table dropped by the user is read again from the beginning")
    func pipelineIdentityAndFreshTables() async throws {
        try await withDatabase { connection in
            let target = schema("ids")
            let catalog = try incrementalCatalog()
            let destination = (Binaries.postgresPlugin, try postgresConfig(target))
            func pipeline(_ name: String, rows: Int, _ extra: [String] = []) async throws -> CommandResult {
                try await run(arguments(source: (Binaries.sequencePlugin, try sequenceConfig(rows: rows, batch: 40)),
                                        destinations: [destination], ["--catalog", catalog, "--write-mode", "upsert", "--name", name] + extra))
            }
            let a = try await pipeline("a", rows: 100)
            #expect(a.exitCode == 0, "\(a.stderr)")
            #expect(try summary(a)["pipeline_id"] as? String == "a")
            // Another pipeline into the same table does not resume from a's state.
            let b = try await pipeline("b", rows: 100)
            #expect(try counts(b) == (100, [100]), "\(b.stderr)")
            let aAgain = try await pipeline("a", rows: 150)
            #expect(try counts(aAgain) == (50, [50]), "\(aAgain.stderr)")
            #expect(try await idStats(connection, target) == [150, 150, 1, 150])

            // The user drops the table: its states are void, even with a state file that says otherwise.
            let statePath = path("a-state.json")
            try Data(#"{"states":[{"stream":{"namespace":"example","name":"numbers"},"data":"150"}]}"#.utf8).write(to: URL(fileURLWithPath: statePath))
            _ = try await connection.execute("DROP TABLE \(SQL.quoteQualified(schema: target, name: "numbers"))")
            let recreated = try await pipeline("a", rows: 150, ["--state", statePath])
            #expect(recreated.exitCode == 0, "\(recreated.stderr)")
            #expect(try counts(recreated) == (150, [150]))
            #expect(recreated.stderr.contains("is read from the beginning: a destination created its table anew"), "\(recreated.stderr)")
            #expect(try await idStats(connection, target) == [150, 150, 1, 150])
            // b's state for the dropped table is gone too.
            let left = try await connection.execute("SELECT pipeline_id FROM \(SQL.quoteQualified(schema: target, name: "_sluice_state"))").rows
            #expect(left.map { $0.first ?? nil } == ["a"])
        }
    }

    @Test("migrate_mode forced recreating the table of an incremental stream reads the stream again from the beginning, not from its old state")
    func forcedMigrationRestartsTheStream() async throws {
        try await withDatabase { connection in
            let target = schema("forced")
            let statePath = path("state.json")
            let catalog = try incrementalCatalog()
            let config = try postgresConfig(target, "migrate_mode: forced")
            func pipeline() async throws -> CommandResult {
                try await run(arguments(source: (Binaries.sequencePlugin, try sequenceConfig(rows: 300, batch: 40)),
                                        destinations: [(Binaries.postgresPlugin, config)],
                                        ["--catalog", catalog, "--state", statePath, "--write-mode", "append", "--name", "forced"]))
            }
            let first = try await pipeline()
            #expect(first.exitCode == 0, "\(first.stderr)")
            // A column the stream's text cannot safely go into: the next Write drops and recreates the table.
            _ = try await connection.execute("ALTER TABLE \(SQL.quoteQualified(schema: target, name: "numbers")) ALTER COLUMN label TYPE boolean USING false")
            let second = try await pipeline()
            #expect(second.exitCode == 0, "\(second.stderr)")
            #expect(try counts(second) == (300, [300]))
            #expect(try await idStats(connection, target) == [300, 300, 1, 300])
            #expect(try await connection.execute("SELECT count(*) FROM \(SQL.quoteQualified(schema: target, name: "numbers")) WHERE label = 'row 7'").rows == [["1"]])
        }
    }

    @Test("mirror killed mid-sync, then resumed from the state the destination committed: the rows the killed attempt wrote are kept, the stale ones deleted")
    func mirrorResumedAcrossWrites() async throws {
        try await withDatabase { connection in
            let source = schema("msrc"), target = schema("mdst")
            let table = SQL.quoteQualified(schema: source, name: "numbers")
            _ = try await connection.executeScript("""
                CREATE SCHEMA \(SQL.quoteIdentifier(source));
                CREATE TABLE \(table) (id bigint PRIMARY KEY, label text);
                INSERT INTO \(table) SELECT g, 'row ' || g FROM generate_series(1, 150000) AS g;
                """)
            let arguments = arguments(source: (Binaries.postgresPlugin, try postgresConfig(source, "schemas: [\(source)]\nbatch_size: 1000\n")),
                                      destinations: [(Binaries.postgresPlugin, try postgresConfig(target))],
                                      ["--write-mode", "mirror", "--name", "mirrored"])
            let first = try await run(arguments)
            #expect(first.exitCode == 0, "\(first.stderr)")
            let copy = SQL.quoteQualified(schema: target, name: "numbers")
            let before = try #require(try await connection.execute("SELECT max(_sluice_synced_at)::text FROM \(copy)").rows.first?.first ?? nil)
            // Rows leave the source; the next sync is killed once some of it is committed.
            _ = try await connection.execute("DELETE FROM \(table) WHERE id > 120000")
            let host = try startHost(arguments)
            var written = 0
            for _ in 0..<12_000 where host.isRunning && written < 10_000 {
                written = Int(try await connection.execute("SELECT count(*) FROM \(copy) WHERE _sluice_synced_at > $1::timestamptz", [.text(before)])
                    .rows.first?.first.flatMap { $0 } ?? "") ?? 0
                try await Task.sleep(nanoseconds: 5_000_000)
            }
            #expect(host.isRunning, "the sync finished before it could be killed")
            kill(host.processIdentifier, SIGKILL)
            host.waitUntilExit()
            try await Task.sleep(nanoseconds: 500_000_000)
            let rerun = try await run(arguments)
            #expect(rerun.exitCode == 0, "\(rerun.stderr)")
            #expect(try counts(rerun).read < 120_000, "the rerun did not resume")
            #expect(try await idStats(connection, target) == [120_000, 120_000, 1, 120_000])
        }
    }

    @Test("generated and identity columns arrive as plain columns holding the source's values, and a rerun upserts into them")
    func generatedAndIdentityColumns() async throws {
        try await withDatabase { connection in
            let source = schema("gsrc"), target = schema("gdst")
            let table = SQL.quoteQualified(schema: source, name: "lines")
            _ = try await connection.executeScript("""
                CREATE SCHEMA \(SQL.quoteIdentifier(source));
                CREATE TABLE \(table) (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, price numeric(10,2), qty int,
                                        total numeric GENERATED ALWAYS AS (price * qty) STORED);
                INSERT INTO \(table) (price, qty) SELECT g * 1.5, g FROM generate_series(1, 100) AS g;
                """)
            let arguments = arguments(source: (Binaries.postgresPlugin, try postgresConfig(source, "schemas: [\(source)]")),
                                      destinations: [(Binaries.postgresPlugin, try postgresConfig(target))], ["--write-mode", "upsert"])
            for run in 1...2 {
                let result = try await self.run(arguments)
                #expect(result.exitCode == 0, "run \(run): \(result.stderr)")
            }
            let copy = SQL.quoteQualified(schema: target, name: "lines")
            #expect(try await connection.execute("""
                SELECT count(*) FROM \(table) s FULL JOIN \(copy) d USING (id)
                WHERE s.id IS NULL OR d.id IS NULL OR (s.price, s.qty, s.total) IS DISTINCT FROM (d.price, d.qty, d.total)
                """).rows == [["0"]])
            #expect(try await connection.execute("SELECT count(*) FROM \(copy)").rows == [["100"]])
            #expect(try await connection.execute(
                "SELECT count(*) FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND (attgenerated <> '' OR attidentity <> '')",
                [.text(copy)]).rows == [["0"]])
        }
    }

    @Test("SIGTERM cancels every call and exits 130; the state file stays at the last acknowledged point")
    func terminated() async throws {
        try await withDatabase { connection in
            let target = schema("term")
            let statePath = path("state.json")
            let host = try startHost(arguments(
                source: (Binaries.sequencePlugin, try sequenceConfig(rows: 5_000_000, batch: 1000)),
                destinations: [(Binaries.postgresPlugin, try postgresConfig(target))],
                ["--catalog", try incrementalCatalog(), "--state", statePath, "--write-mode", "append"]))
            _ = try await waitForState(statePath, atLeast: 10_000, while: host)
            kill(host.processIdentifier, SIGTERM)
            host.waitUntilExit()
            #expect(host.terminationReason == .exit && host.terminationStatus == 130)
            let saved = try #require(try savedID(statePath))
            // Append: rows after the last acknowledged state were rolled back, so the table ends exactly there.
            #expect(try await idStats(connection, target) == [saved, saved, 1, saved])
        }
    }

    @Test("a source connection lost mid-read fails as retryable; the pipeline retries from the last state every destination committed, and every row lands once")
    func retriedAfterALostConnection() async throws {
        try await withDatabase { connection in
            let source = schema("rsrc"), target = schema("rdst")
            let application = "sluice_\(prefix)"
            let rows = 400_000
            let table = SQL.quoteQualified(schema: source, name: "items")
            _ = try await connection.executeScript("""
                CREATE SCHEMA \(SQL.quoteIdentifier(source));
                CREATE TABLE \(table) (id bigint PRIMARY KEY, name text);
                INSERT INTO \(table) SELECT g, 'item ' || g || repeat('x', 300) FROM generate_series(1, \(rows)) AS g;
                """)
            // Once some rows are committed downstream, kill the source's COPY. The rows are wide
            // (120 MB in all) so that the source cannot have read them all into its bounded
            // buffers by then, however the machine's load delays the destination.
            let killer = Task {
                for _ in 0..<6000 {
                    let committed = try? await connection.execute("SELECT count(*) FROM \(SQL.quoteQualified(schema: target, name: "items"))").rows
                    if let count = Int(committed?.first?.first.flatMap { $0 } ?? ""), count >= 20_000 {
                        let killed = try await connection.execute(
                            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'COPY %'",
                            [.text(application)])
                        if killed.rows.first?.first != "0" { return true }
                    }
                    try await Task.sleep(for: .milliseconds(5))
                }
                return false
            }
            let result = try await run(arguments(
                source: (Binaries.postgresPlugin, try postgresConfig(source, "schemas: [\(source)]\nbatch_size: 1000\ncheckpoint_interval: 0\nconnection_string: application_name=\(application)\n")),
                destinations: [(Binaries.postgresPlugin, try postgresConfig(target))],
                ["--write-mode", "append", "--retry-delay", "0.2"]))
            #expect(try await killer.value, "the source's COPY was never killed")
            #expect(result.exitCode == 0, "\(result.stderr)")
            #expect(result.stderr.contains("retry 1 of 2"), "\(result.stderr)")
            #expect(try summary(result)["attempts"] as? Int == 2)
            // The retry resumed after what was committed instead of starting over.
            #expect(try counts(result).read < rows)
            #expect(try await idStats(connection, target, "items") == [rows, rows, 1, rows])
        }
    }

    /// Starts `plugin-host` with `arguments`, its output discarded.
    private func startHost(_ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = Binaries.pluginHost
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Polls the state file until it holds an id of at least `minimum` (or `process` ended, or 60 s passed).
    private func waitForState(_ statePath: String, atLeast minimum: Int, while process: Process) async throws -> Int {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, process.isRunning {
            if let id = try? savedID(statePath), id >= minimum { return id }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        Issue.record("the state file never reached \(minimum)")
        return 0
    }
}
