import Foundation
import PostgresClient
import SluiceTestSupport
import Testing

/// Operating pipelines with the real binaries: unreadable streams named (or refused with
/// `--strict`), one run at a time per state file and pipeline file, the `state` verbs, and
/// `${VAR}` numbers in a pipeline file's inline configuration.
@Suite("plugin-host pipeline operations", .serialized)
struct PipelineOperationsTests: PipelineWorkspace {
    let prefix = "ops_\(UInt32.random(in: 0...UInt32.max))"
    let files = FileManager.default.temporaryDirectory.appendingPathComponent("ops-\(UUID().uuidString)")

    private func path(_ name: String) -> String { files.appendingPathComponent(name).path }

    private func summary(_ result: CommandResult) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stdout)\n\(result.stderr)")
    }

    @Test("a table the source's role cannot read is skipped by name with its GRANT, in stderr and the summary; --strict and strict: true refuse it")
    func unreadableStreams() async throws {
        let role = "\(prefix)_reader"
        var failure: (any Error)?
        do {
            try await unreadableStreams(role: role)
        } catch {
            failure = error
        }
        // The schemas (and with them the role's grants) are gone: the role can be dropped.
        let connection = try await TestDatabase.connect()
        _ = try? await connection.execute("DROP ROLE IF EXISTS \(role)")
        connection.close()
        if let failure { throw failure }
    }

    private func unreadableStreams(role: String) async throws {
        try await withDatabase { connection in
            let source = schema("src"), target = schema("dst")
            let s = SQL.quoteIdentifier(source)
            _ = try await connection.executeScript("""
                CREATE SCHEMA \(s);
                CREATE ROLE \(role) LOGIN PASSWORD 'reader-pw';
                GRANT USAGE ON SCHEMA \(s) TO \(role);
                CREATE TABLE \(s).open (id int PRIMARY KEY); CREATE TABLE \(s).closed (id int PRIMARY KEY);
                INSERT INTO \(s).open VALUES (1), (2);
                GRANT SELECT ON \(s).open TO \(role);
                """)
            let sourceConfig = try file("source.yaml", HostFixtures.serverConfig(password: "reader-pw", extra: "user: \(role)\nschemas: [\(source)]\n")
                .replacingOccurrences(of: "user: ${PGUSER:-postgres}\n", with: ""))
            let arguments = ["pipeline", "--source", Binaries.postgresPlugin.path, "--source-config", sourceConfig,
                             "--destination", Binaries.postgresPlugin.path, "--destination-config", try postgresConfig(target)]
            let grant = "GRANT SELECT ON \(SQL.quoteQualified(schema: source, name: "closed")) TO \(SQL.quoteIdentifier(role));"

            let result = try await run(arguments)
            #expect(result.exitCode == 0, "\(result.stderr)")
            #expect(result.stderr.contains("pipeline: skipping stream \(source).closed: not readable by the source's role; to read it: \(grant)"), "\(result.stderr)")
            #expect(result.stderr.contains("summary: skipped stream \(source).closed"), "\(result.stderr)")
            let skipped = try #require(try summary(result)["skipped"] as? [[String: Any]])
            #expect(skipped.count == 1)
            #expect(skipped.first?["stream"] as? String == "\(source).closed")
            #expect(skipped.first?["remedy"] as? String == grant)

            let strict = try await run(arguments + ["--strict"])
            #expect(strict.exitCode == 65, "\(strict.stderr)")
            #expect(strict.stderr.contains("stream \(source).closed: not readable by the source's role; to read it: \(grant)"), "\(strict.stderr)")

            let pipelineFile = try file("strict.yaml", """
                source: {plugin: \(Binaries.postgresPlugin.path), config: \(sourceConfig)}
                destinations: [{plugin: \(Binaries.postgresPlugin.path), config: \(try postgresConfig(target))}]
                strict: true
                """)
            let fromFile = try await run(["pipeline", "--pipeline", pipelineFile])
            #expect(fromFile.exitCode == 65, "\(fromFile.stderr)")
            #expect(fromFile.stderr.contains("pipeline is strict"), "\(fromFile.stderr)")
        }
    }

    @Test("a second run on the same state file, or the same pipeline file, exits 75 at once saying it is already running")
    func oneRunAtATime() async throws {
        try await withDatabase { _ in
            let statePath = path("state.json")
            let sequence = try file("seq.json", #"{"rows": 100000000, "batch_size": 1000}"#)
            let pipelineFile = try file("slow.yaml", """
                source: {plugin: \(Binaries.sequencePlugin.path), config: \(sequence)}
                destinations: [{plugin: \(Binaries.postgresPlugin.path), config: \(try postgresConfig(schema("lock")))}]
                state: \(statePath)
                """)
            let first = Process()
            first.executableURL = Binaries.pluginHost
            first.arguments = ["pipeline", "--pipeline", pipelineFile]
            first.standardOutput = FileHandle.nullDevice
            first.standardError = FileHandle.nullDevice
            try first.run()
            defer {
                if first.isRunning { kill(first.processIdentifier, SIGKILL) }
                first.waitUntilExit()
            }
            // The first run holds its locks once its lock file carries its pid.
            let deadline = Date().addingTimeInterval(60)
            while (try? String(contentsOfFile: statePath + ".lock", encoding: .utf8))?.contains("\(first.processIdentifier)") != true {
                #expect(Date() < deadline, "the first run never took its lock")
                if Date() >= deadline { return }
                try await Task.sleep(for: .milliseconds(50))
            }
            let byFile = try await run(["pipeline", "--pipeline", pipelineFile])
            #expect(byFile.exitCode == 75, "\(byFile.stderr)")
            #expect(byFile.stderr.contains("already running"), "\(byFile.stderr)")
            let otherPipeline = try file("other.yaml", try String(contentsOfFile: pipelineFile, encoding: .utf8))
            let byState = try await run(["pipeline", "--pipeline", otherPipeline])
            #expect(byState.exitCode == 75, "\(byState.stderr)")
            #expect(byState.stderr.contains("already running: another run holds the state file \(statePath) (pid \(first.processIdentifier))"), "\(byState.stderr)")
            let read = try await run(["read", "--plugin", Binaries.sequencePlugin.path, "--config", sequence, "--state", statePath])
            #expect(read.exitCode == 75, "\(read.stderr)")
            let clear = try await run(["state", "clear", "--state", statePath])
            #expect(clear.exitCode == 75, "\(clear.stderr)")
            kill(first.processIdentifier, SIGKILL)
            first.waitUntilExit()
            // The kernel released the dead run's lock: the state file is usable again.
            let after = try await run(["state", "clear", "--state", statePath])
            #expect(after.exitCode == 0, "\(after.stderr)")
        }
    }

    @Test("state list, show, set and clear edit a state file; a read resumes from what set wrote")
    func stateVerbs() async throws {
        try await withDatabase { _ in
            let statePath = path("state.json")
            let sequence = try file("seq.json", #"{"rows": 300, "batch_size": 50}"#)
            let catalog = try file("catalog.json", #"{"streams":[{"namespace":"example","name":"numbers","sync_mode":"incremental","cursor":"id"}]}"#)
            let first = try await run(["read", "--plugin", Binaries.sequencePlugin.path, "--config", sequence, "--catalog", catalog,
                                       "--state", statePath, "--output", path("rows.jsonl")])
            #expect(first.exitCode == 0, "\(first.stderr)")

            let list = try await run(["state", "list", "--state", statePath])
            #expect(list.exitCode == 0, "\(list.stderr)")
            #expect(list.stdout.hasPrefix("example.numbers\tid "), "\(list.stdout)")
            #expect(list.stdout.hasSuffix("\t300\n"), "\(list.stdout)")
            let show = try await run(["state", "show", "--state", statePath, "--stream", "numbers"])
            #expect(show.stdout == "300\n", "\(show.stdout)")

            let set = try await run(["state", "set", "--state", statePath, "--stream", "example.numbers", "--data", "250"])
            #expect(set.exitCode == 0, "\(set.stderr)")
            #expect(try await run(["state", "show", "--state", statePath, "--stream", "example.numbers"]).stdout == "250\n")
            let whole = try await run(["state", "show", "--state", statePath])
            let root = try #require(try JSONSerialization.jsonObject(with: Data(whole.stdout.utf8)) as? [String: Any])
            #expect((root["states"] as? [[String: Any]])?.first?["data"] as? String == "250")

            // A read resumes after what set wrote: ids 251…300.
            let resumed = try await run(["read", "--plugin", Binaries.sequencePlugin.path, "--config", sequence, "--catalog", catalog,
                                         "--state", statePath, "--output", path("rows2.jsonl")])
            #expect(resumed.exitCode == 0, "\(resumed.stderr)")
            let lines = try String(contentsOfFile: path("rows2.jsonl"), encoding: .utf8).split(separator: "\n")
            #expect(lines.count == 50)

            let unknown = try await run(["state", "show", "--state", statePath, "--stream", "nope"])
            #expect(unknown.exitCode == 65)
            #expect(unknown.stderr.contains("has no state for stream nope (it has: example.numbers)"), "\(unknown.stderr)")
            let clear = try await run(["state", "clear", "--state", statePath, "--stream", "example.numbers"])
            #expect(clear.exitCode == 0, "\(clear.stderr)")
            #expect(try await run(["state", "list", "--state", statePath]).stdout.isEmpty)
        }
    }

    @Test("port: ${VAR} in a pipeline file's inline configs, quoted in flow style and unquoted in block style, is a number")
    func environmentPort() async throws {
        try await withDatabase { connection in
            let target = schema("port")
            let port = ProcessInfo.processInfo.environment["PGPORT"] ?? "5432"
            let sequence = try file("seq.json", #"{"rows": 10, "batch_size": 5}"#)
            let connectionLines = HostFixtures.serverConfig(port: "${WH_PGPORT}", extra: "schema: \(target)")
                .split(separator: "\n").filter { !$0.hasPrefix("#") }.map { "      " + $0 }.joined(separator: "\n")
            let pipelineFile = try file("port.yaml", """
                source: {plugin: \(Binaries.sequencePlugin.path), config: \(sequence)}
                destinations:
                  - plugin: \(Binaries.postgresPlugin.path)
                    config:
                \(connectionLines)
                  - plugin: \(Binaries.postgresPlugin.path)
                    config: {host: "${PGHOST:-127.0.0.1}", port: "${WH_PGPORT}", user: "${PGUSER:-postgres}", password: "${PGPASSWORD:-}", database: "${PGDATABASE:-postgres}", sslmode: disable, schema: \(target)_flow}
                """)
            let result = try await CommandRun.run(Binaries.pluginHost, ["pipeline", "--pipeline", pipelineFile], environment: ["WH_PGPORT": port], timeout: 120)
            #expect(result.exitCode == 0, "\(result.stderr)")
            for schema in [target, "\(target)_flow"] {
                let rows = try await connection.execute("SELECT count(*) FROM \(SQL.quoteQualified(schema: schema, name: "numbers"))").rows
                #expect(rows.first == ["10"])
            }
        }
    }

    @Test("YAML and JSON errors carry line and column: a pipeline file's syntax and keys, a catalog's JSON, a configuration's values")
    func positions() async throws {
        try await withDatabase { _ in
            let sequence = try file("seq.json", #"{"rows": 10}"#)
            let broken = try file("broken.yaml", "source: {plugin: x\ndestinations: []\n")
            let syntax = try await run(["pipeline", "--pipeline", broken])
            #expect(syntax.exitCode == 65)
            #expect(syntax.stderr.contains("is not valid YAML or JSON: "), "\(syntax.stderr)")
            #expect(syntax.stderr.contains("at line 2, column 13"), "\(syntax.stderr)")

            let unquoted = try file("unquoted.yaml", """
                source: {plugin: x, config: {port: ${WH_PGPORT}}}
                destinations: []
                """)
            let hint = try await run(["pipeline", "--pipeline", unquoted])
            #expect(hint.exitCode == 65)
            #expect(hint.stderr.contains("at line 1, column") && hint.stderr.contains("a ${VAR} reference must be quoted"), "\(hint.stderr)")

            let unknown = try file("unknown.yaml", """
                source: {plugin: \(Binaries.sequencePlugin.path), config: \(sequence)}
                destinations: [{plugin: \(Binaries.postgresPlugin.path)}]
                stat: state.json
                """)
            let key = try await run(["pipeline", "--pipeline", unknown])
            #expect(key.exitCode == 65)
            #expect(key.stderr.contains(#"$: unknown property "stat""#) && key.stderr.contains("(line 3, column 1)"), "\(key.stderr)")

            let catalog = try file("catalog.json", "{\"streams\": [\n  {\"name\": \"numbers\",}\n]}")
            let json = try await run(["read", "--plugin", Binaries.sequencePlugin.path, "--config", sequence, "--catalog", catalog])
            #expect(json.exitCode == 65)
            #expect(json.stderr.contains("is not valid JSON: expected a string key at line 2, column 22"), "\(json.stderr)")

            let config = try file("config.yaml", "rows: 10\nbatch_size: many\n")
            let value = try await run(["read", "--plugin", Binaries.sequencePlugin.path, "--config", config])
            #expect(value.exitCode == 65)
            #expect(value.stderr.contains("$.batch_size: expected integer, got string (line 2, column 13)"), "\(value.stderr)")
        }
    }

    @Test("per-stream settings in the pipeline file: an incremental upsert stream by name, full-refresh replace streams by glob with selected columns; bad globs refused with their paths")
    func perStreamGlobs() async throws {
        try await withDatabase { connection in
            let source = schema("globsrc"), target = schema("globdst")
            let s = SQL.quoteIdentifier(source)
            _ = try await connection.executeScript("""
                CREATE SCHEMA \(s);
                CREATE TABLE \(s).orders (id bigint PRIMARY KEY, v int);
                CREATE TABLE \(s).log_1 (id int PRIMARY KEY, v int);
                CREATE TABLE \(s).log_2 (id int PRIMARY KEY, v int);
                CREATE TABLE \(s).other (id int PRIMARY KEY);
                INSERT INTO \(s).orders SELECT g, g FROM generate_series(1, 10) g;
                INSERT INTO \(s).log_1 SELECT g, g FROM generate_series(1, 5) g;
                INSERT INTO \(s).log_2 SELECT g, g FROM generate_series(1, 5) g;
                """)
            func pipelineFile(_ name: String, _ streams: String) throws -> String {
                try file(name, """
                    source: {plugin: \(Binaries.postgresPlugin.path), config: \(try postgresConfig(source, "schemas: [\(source)]"))}
                    destinations: [{plugin: \(Binaries.postgresPlugin.path), config: \(try postgresConfig(target))}]
                    catalog:
                      streams:
                    \(streams)
                    state: state.json
                    """)
            }
            let pipeline = try pipelineFile("globs.yaml", """
                    - {name: orders, sync_mode: incremental, cursor: id, write_mode: upsert}
                    - {match: "\(source).log_*", write_mode: replace, columns: [id]}
                """)
            let first = try await run(["pipeline", "--pipeline", pipeline])
            #expect(first.exitCode == 0, "\(first.stderr)")
            let read = { (result: CommandResult) throws -> [String: Int] in
                let streams = try #require(try summary(result)["streams"] as? [[String: Any]])
                return Dictionary(uniqueKeysWithValues: streams.map { ($0["stream"] as? String ?? "", $0["read"] as? Int ?? -1) })
            }
            #expect(try read(first) == ["\(source).orders": 10, "\(source).log_1": 5, "\(source).log_2": 5])

            _ = try await connection.executeScript("""
                INSERT INTO \(s).orders SELECT g, g FROM generate_series(11, 15) g;
                DELETE FROM \(s).log_1 WHERE id > 2;
                """)
            let second = try await run(["pipeline", "--pipeline", pipeline])
            #expect(second.exitCode == 0, "\(second.stderr)")
            #expect(try read(second) == ["\(source).orders": 5, "\(source).log_1": 2, "\(source).log_2": 5])
            let tables = try await connection.execute("""
                SELECT table_name, (SELECT count(*) FROM information_schema.columns c WHERE c.table_schema = t.table_schema AND c.table_name = t.table_name)
                FROM information_schema.tables t WHERE table_schema = $1 AND table_name <> '_sluice_state' ORDER BY 1
                """, [.text(target)]).rows
            #expect(tables == [["log_1", "1"], ["log_2", "1"], ["orders", "2"]])
            let counts = try await connection.execute("""
                SELECT (SELECT count(*) FROM \(SQL.quoteIdentifier(target)).orders), (SELECT count(*) FROM \(SQL.quoteIdentifier(target)).log_1)
                """).rows
            #expect(counts == [["15", "2"]])

            let nothing = try await run(["pipeline", "--pipeline", try pipelineFile("nothing.yaml", """
                    - {match: "nope_*"}
                    - {match: "log_*", name: log_1}
                """)])
            #expect(nothing.exitCode == 65, "\(nothing.stderr)")
            #expect(nothing.stderr.contains("$.catalog.streams[0].match: matches no stream"), "\(nothing.stderr)")
            #expect(nothing.stderr.contains("$.catalog.streams[1]: give either match or name"), "\(nothing.stderr)")
        }
    }

    @Test("check --pipeline checks every plugin in its role, inline configurations included: a wrong password fails its destination only (66); an invalid inline configuration is named (65)")
    func checkPipeline() async throws {
        try await withDatabase { _ in
            let inline = { (password: String, extra: String) in
                "{host: \"${PGHOST:-127.0.0.1}\", port: \"${PGPORT:-5432}\", user: \"${PGUSER:-postgres}\", password: \(password), database: \"${PGDATABASE:-postgres}\", sslmode: disable\(extra)}"
            }
            let good = try file("good.yaml", """
                source: {plugin: \(Binaries.postgresPlugin.path), config: \(inline("\"${PGPASSWORD:-}\"", ""))}
                destinations:
                  - {plugin: \(Binaries.postgresPlugin.path), config: \(inline("\"${PGPASSWORD:-}\"", ", schema: \(schema("chk"))"))}
                  - {plugin: \(Binaries.postgresPlugin.path), config: \(inline("not-the-password", ""))}
                """)
            let result = try await run(["check", "--pipeline", good])
            #expect(result.exitCode == 66, "\(result.stderr)")
            let json = try summary(result)
            #expect(json["passed"] as? Bool == false)
            let plugins = try #require(json["plugins"] as? [[String: Any]])
            #expect(plugins.map { $0["label"] as? String } == ["source", "destination 1", "destination 2"])
            #expect(plugins.map { $0["passed"] as? Bool } == [true, true, false])
            let checks = try #require(plugins[2]["checks"] as? [[String: Any]])
            #expect(checks.contains { $0["code"] as? String == "AUTH_FAILED" }, "\(checks)")
            #expect((plugins[0]["checks"] as? [[String: Any]])?.contains { $0["name"] as? String == "source_privileges" } == true)
            #expect(!result.stdout.contains("not-the-password"))

            let invalid = try file("invalid.yaml", """
                source: {plugin: \(Binaries.postgresPlugin.path), config: {host: localhost, sslmode: sometimes}}
                destinations: [{plugin: \(Binaries.postgresPlugin.path), config: \(inline("\"${PGPASSWORD:-}\"", ""))}]
                """)
            let refused = try await run(["check", "--pipeline", invalid])
            #expect(refused.exitCode == 65, "\(refused.stderr)")
            let entries = try #require(try summary(refused)["plugins"] as? [[String: Any]])
            #expect((entries[0]["error"] as? String)?.contains("$.sslmode: must be one of") == true, "\(entries)")
            #expect(entries[1]["passed"] as? Bool == true)
        }
    }

    @Test("a source's error is printed once: the stream's INCOMPLETE line points to it instead of repeating it (pipeline and read)")
    func sourceErrorPrintedOnce() async throws {
        try await withDatabase { connection in
            let source = schema("errsrc"), target = schema("errdst")
            let s = SQL.quoteIdentifier(source)
            _ = try await connection.executeScript("""
                CREATE SCHEMA \(s);
                CREATE TABLE \(s).items (id int PRIMARY KEY);
                INSERT INTO \(s).items SELECT generate_series(1, 10);
                """)
            // The filter passes PREPARE and fails when the read reaches id 3.
            let sourceConfig = try postgresConfig(source, "schemas: [\(source)]")
            let pipeline = try file("failing.yaml", """
                source: {plugin: \(Binaries.postgresPlugin.path), config: \(sourceConfig)}
                destinations: [{plugin: \(Binaries.postgresPlugin.path), config: \(try postgresConfig(target))}]
                catalog:
                  streams:
                    - {name: items, filter: "1 / (id - 3) IS NOT NULL"}
                """)
            let piped = try await run(["pipeline", "--pipeline", pipeline, "--retries", "0"])
            #expect(piped.exitCode == 70, "\(piped.stderr)")
            #expect(piped.stderr.components(separatedBy: "division by zero").count == 2, "\(piped.stderr)")
            #expect(piped.stderr.contains("source stream \(source).items: INCOMPLETE (the plugin's error follows)"), "\(piped.stderr)")
            #expect(piped.stderr.contains("plugin-host: source: the plugin reported an error (stream \(source).items): "), "\(piped.stderr)")

            let catalog = try file("failing-read.json", """
                {"streams": [{"namespace": "\(source)", "name": "items", "filter": "1 / (id - 3) IS NOT NULL"}]}
                """)
            let read = try await run(["read", "--plugin", Binaries.postgresPlugin.path, "--config", sourceConfig, "--catalog", catalog,
                                      "--output", path("failing.jsonl")])
            #expect(read.exitCode == 70, "\(read.stderr)")
            #expect(read.stderr.components(separatedBy: "division by zero").count == 2, "\(read.stderr)")
            #expect(read.stderr.contains("stream \(source).items: INCOMPLETE (the plugin's error follows)"), "\(read.stderr)")

            // A destination that fails reports every stream it started INCOMPLETE with its
            // error's text, one after the other: each line points to the error, said once.
            let t = SQL.quoteIdentifier(target)
            _ = try await connection.executeScript("""
                CREATE TABLE \(s).others (id int PRIMARY KEY);
                INSERT INTO \(s).others SELECT generate_series(1, 10);
                CREATE SCHEMA IF NOT EXISTS \(t);
                CREATE TABLE \(t).others (id int PRIMARY KEY CONSTRAINT small_ids CHECK (id < 5));
                """)
            let refusing = try file("refusing.yaml", """
                source: {plugin: \(Binaries.postgresPlugin.path), config: \(sourceConfig)}
                destinations: [{plugin: \(Binaries.postgresPlugin.path), config: \(try postgresConfig(target))}]
                """)
            let refused = try await run(["pipeline", "--pipeline", refusing, "--retries", "0"])
            #expect(refused.exitCode == 70, "\(refused.stderr)")
            #expect(refused.stderr.components(separatedBy: "small_ids").count == 2, "\(refused.stderr)")
            for stream in ["items", "others"] {
                #expect(refused.stderr.contains("destination stream \(source).\(stream): INCOMPLETE (the plugin's error follows)"), "\(refused.stderr)")
            }
        }
    }

    @Test("pipeline --dry-run prints the plan (streams, sync and write modes, keys, resume points, skipped streams, each destination's target table, action and DDL) and changes nothing; a refused table fails it")
    func dryRun() async throws {
        try await withDatabase { connection in
            let source = schema("drysrc"), target = schema("drydst")
            let s = SQL.quoteIdentifier(source)
            _ = try await connection.executeScript("""
                CREATE SCHEMA \(s);
                CREATE TABLE \(s).orders (id bigint PRIMARY KEY, v int);
                CREATE TABLE \(s).log_1 (id int, v int);
                """)
            let statePath = path("state.json")
            let pipeline = try file("dry.yaml", """
                source: {plugin: \(Binaries.postgresPlugin.path), config: \(try postgresConfig(source, "schemas: [\(source)]"))}
                destinations: [{plugin: \(Binaries.postgresPlugin.path), config: \(try file("dst.yaml", HostFixtures.serverConfig(extra: "schema: \(target)\n")))}]
                catalog:
                  streams:
                    - {name: orders, sync_mode: incremental, cursor: id, write_mode: upsert}
                    - {match: "log_*", write_mode: replace, key_columns: [id]}
                state: \(statePath)
                """)
            let result = try await run(["pipeline", "--pipeline", pipeline, "--dry-run"])
            #expect(result.exitCode == 0, "\(result.stderr)")
            let plan = try summary(result)
            #expect(plan["dry_run"] as? Bool == true)
            let streams = try #require(plan["streams"] as? [[String: Any]])
            #expect(streams.map { $0["stream"] as? String } == ["\(source).orders", "\(source).log_1"])
            #expect(streams.map { $0["sync_mode"] as? String } == ["incremental", "full_refresh"])
            #expect(streams[0]["cursor"] as? String == "id")
            #expect(streams.map { $0["resume_from"] as? String } == ["beginning", "beginning"])
            let writes = streams.compactMap { ($0["destinations"] as? [[String: Any]])?.first }
            #expect(writes.map { $0["write_mode"] as? String } == ["upsert", "replace"])
            #expect(writes.map { $0["key_columns"] as? [String] } == [["id"], ["id"]])
            #expect(result.stderr.contains("plan \(source).orders: incremental on id, from beginning; destination: upsert by (id)"), "\(result.stderr)")
            // The destination says where each stream lands and what its Write would run.
            #expect(writes.map { $0["target"] as? String } == ["\(target).orders", "\(target).log_1"])
            #expect(writes.map { $0["table_action"] as? String } == ["create", "create"])
            #expect((writes[0]["statements"] as? [String])?.contains { $0.contains("CREATE TABLE") } == true, "\(writes[0])")
            #expect((writes[0]["statements"] as? [String])?.first?.hasPrefix("CREATE SCHEMA") == true, "\(writes[0])")
            // The primary key and the metadata columns come after the rows; the plan lists their DDL last.
            let quoted = "\(SQL.quoteIdentifier(target)).\"orders\""
            let last = (writes[0]["statements"] as? [String] ?? []).suffix(5)
            #expect(zip(last, [
                "ALTER TABLE \(quoted) ADD COLUMN \"_sluice_synced_at\" timestamp with time zone DEFAULT ",
                "ALTER TABLE \(quoted) ALTER COLUMN \"_sluice_synced_at\" DROP DEFAULT",
                "ALTER TABLE \(quoted) ADD PRIMARY KEY (\"id\")",
                "COMMENT ON TABLE \(quoted) IS NULL",
                "ALTER TABLE \(quoted) RESET (autovacuum_enabled, toast.autovacuum_enabled)",
            ]).allSatisfy { $0.hasPrefix($1) } && last.count == 5, "\(writes[0])")
            #expect(result.stderr.contains("destination: upsert by (id) into \(target).orders (create, "), "\(result.stderr)")
            // Nothing was created, not even the destination schema or the state file.
            #expect(try await connection.execute("SELECT count(*) FROM pg_namespace WHERE nspname = $1", [.text(target)]).rows == [["0"]])
            #expect(!FileManager.default.fileExists(atPath: statePath))

            // An existing table missing a column is migrated; one whose column cannot take the
            // stream's values is refused, and the dry run fails as the run would. Neither changes.
            let t = SQL.quoteIdentifier(target)
            _ = try await connection.executeScript("CREATE SCHEMA \(t); CREATE TABLE \(t).orders (id bigint PRIMARY KEY)")
            let migrating = try await run(["pipeline", "--pipeline", pipeline, "--dry-run"])
            #expect(migrating.exitCode == 0, "\(migrating.stderr)")
            let migration = try #require(((try summary(migrating))["streams"] as? [[String: Any]])?.first?["destinations"] as? [[String: Any]]).first
            #expect(migration?["table_action"] as? String == "migrate", "\(String(describing: migration))")
            #expect((migration?["statements"] as? [String])?.contains { $0.contains("ADD COLUMN") } == true, "\(String(describing: migration))")
            // The schema exists now: the Write would not run its statement, so the plan does not list it.
            #expect((migration?["statements"] as? [String])?.contains { $0.contains("CREATE SCHEMA") } == false, "\(String(describing: migration))")
            #expect(try await connection.execute("SELECT count(*) FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'orders'",
                                                 [.text(target)]).rows == [["1"]])
            _ = try await connection.executeScript("ALTER TABLE \(t).orders ADD COLUMN v point")
            let refusing = try await run(["pipeline", "--pipeline", pipeline, "--dry-run"])
            #expect(refusing.exitCode == 65, "\(refusing.stderr)")
            #expect(refusing.stderr.contains("would be refused before any data moves") && refusing.stderr.contains("\(target).orders"), "\(refusing.stderr)")
        }
    }
}
