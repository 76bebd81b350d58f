import Foundation
import PostgresClient
import Testing

/// The files `plugin-host` reads for a pipeline (catalogs, pipeline file, state file) and the
/// `write` command: every key honoured or rejected with its path; per-stream write settings;
/// mirror never deleting rows a partial read did not send. Real binaries, real server.
@Suite("plugin-host catalogs and write settings", .serialized)
struct PipelineCatalogTests: PipelineWorkspace {
    let prefix = "pcat_\(UInt32.random(in: 0...UInt32.max))"
    let files = FileManager.default.temporaryDirectory.appendingPathComponent("pipeline-catalog-\(UUID().uuidString)")

    private func rows(_ connection: PostgresConnection, _ query: String) async throws -> [[String?]] {
        try await connection.execute(query).rows
    }

    /// A source schema with `items` (id primary key, name) and `events` (no key: n, s), 50 rows each.
    private func seedSource(_ connection: PostgresConnection) async throws -> String {
        let source = schema("src")
        _ = try await connection.executeScript("""
            CREATE SCHEMA \(source);
            CREATE TABLE \(source).items (id bigint PRIMARY KEY, name text);
            CREATE TABLE \(source).events (n int NOT NULL, s text);
            INSERT INTO \(source).items SELECT g, 'item ' || g FROM generate_series(1, 50) g;
            INSERT INTO \(source).events SELECT g, 'event ' || g FROM generate_series(1, 50) g;
            """)
        return source
    }

    @Test("a catalog key the host does not know (sync_mod) is rejected with its path; nothing is written")
    func unknownCatalogKeys() async throws {
        try await withDatabase { connection in
            let source = try await seedSource(connection), target = schema("typo")
            let catalog = try file("typo.json", #"{"streams":[{"name":"items","write_mode":"upsert"},{"name":"events","sync_mod":"incremental"}],"stream":1}"#)
            let result = try await run(["pipeline", "--source", Binaries.postgresPlugin.path, "--source-config", try postgresConfig(source, "schemas: [\(source)]"),
                                        "--destination", Binaries.postgresPlugin.path, "--destination-config", try postgresConfig(target),
                                        "--catalog", catalog])
            #expect(result.exitCode == 65, "\(result.stderr)")
            #expect(result.stderr.contains("$.streams[1].sync_mod: unknown key"), "\(result.stderr)")
            #expect(result.stderr.contains("$.stream: unknown key"), "\(result.stderr)")
            #expect(try await rows(connection, "SELECT count(*) FROM pg_namespace WHERE nspname = '\(target)'") == [["0"]])

            // `plugin-host read` takes no write settings.
            let read = try await run(["read", "--plugin", Binaries.postgresPlugin.path, "--config", try postgresConfig(source, "schemas: [\(source)]"),
                                      "--catalog", try file("read.json", #"{"streams":[{"name":"items","key_columns":["id"]}]}"#)])
            #expect(read.exitCode == 65, "\(read.stderr)")
            #expect(read.stderr.contains("$.streams[0].key_columns: unknown key"), "\(read.stderr)")
        }
    }

    @Test("per-stream write_mode and key_columns of the catalog win over --write-mode: two runs, no error, no duplicates")
    func perStreamWriteSettings() async throws {
        try await withDatabase { connection in
            let source = try await seedSource(connection), target = schema("dst")
            let catalog = try file("streams.json", """
                {"streams": [{"name": "items", "write_mode": "upsert"},
                             {"name": "events", "write_mode": "upsert", "key_columns": ["n"], "columns": ["n", "s"]}]}
                """)
            let arguments = ["pipeline", "--source", Binaries.postgresPlugin.path, "--source-config", try postgresConfig(source, "schemas: [\(source)]"),
                             "--destination", Binaries.postgresPlugin.path, "--destination-config", try postgresConfig(target),
                             "--catalog", catalog, "--write-mode", "append"]
            for _ in 0..<2 {
                let result = try await run(arguments)
                #expect(result.exitCode == 0, "\(result.stderr)")
            }
            for table in ["items", "events"] {
                #expect(try await rows(connection, "SELECT count(*) FROM \(target).\(table)") == [["50"]])
            }
            // A key column that is not selected is refused.
            let wrong = try file("wrong.json", #"{"streams": [{"name": "events", "key_columns": ["s"], "columns": ["n"]}]}"#)
            let refused = try await run(Array(arguments.dropLast(4)) + ["--catalog", wrong])
            #expect(refused.exitCode == 65, "\(refused.stderr)")
            #expect(refused.stderr.contains(#"$.streams[0].key_columns: "s" is not a selected column"#), "\(refused.stderr)")
        }
    }

    @Test("the pipeline file's inline catalog: per-stream cursor, write mode and key columns; unknown keys rejected")
    func pipelineFileCatalog() async throws {
        try await withDatabase { connection in
            let source = try await seedSource(connection), target = schema("file")
            let pipeline = try file("pipeline.yaml", """
                source: {plugin: \(Binaries.postgresPlugin.path), config: \(try postgresConfig(source, "schemas: [\(source)]"))}
                destinations:
                  - {plugin: \(Binaries.postgresPlugin.path), config: \(try postgresConfig(target)), write_mode: append}
                catalog:
                  streams:
                    - {name: items, sync_mode: incremental, cursor: id}
                    - {name: events, write_mode: upsert, key_columns: [n]}
                state: state.json
                """)
            let first = try await run(["pipeline", "--pipeline", pipeline])
            #expect(first.exitCode == 0, "\(first.stderr)")
            _ = try await connection.execute("INSERT INTO \(source).items SELECT g, 'item ' || g FROM generate_series(51, 60) g")
            let second = try await run(["pipeline", "--pipeline", pipeline])
            #expect(second.exitCode == 0, "\(second.stderr)")
            // items: appended incrementally (10 new rows read the second time); events: upserted by n.
            #expect(try await rows(connection, "SELECT count(*), count(DISTINCT id) FROM \(target).items") == [["60", "60"]])
            #expect(try await rows(connection, "SELECT count(*) FROM \(target).events") == [["50"]])

            let typo = try file("typo.yaml", """
                source: {plugin: \(Binaries.postgresPlugin.path), config: \(try postgresConfig(source, "schemas: [\(source)]"))}
                destinations: [{plugin: \(Binaries.postgresPlugin.path), config: \(try postgresConfig(target))}]
                catalog: {streams: [{name: items, sync_mod: incremental}]}
                """)
            let refused = try await run(["pipeline", "--pipeline", typo])
            #expect(refused.exitCode == 65, "\(refused.stderr)")
            #expect(refused.stderr.contains("$.catalog.streams[0].sync_mod: unknown key"), "\(refused.stderr)")
        }
    }

    /// The sequence plugin's 95 rows piped into a fresh schema whose destination's own write mode
    /// is `mode`; returns the schema, that pipeline's arguments and a catalog reading 5 rows.
    private func numbersWithPreview(_ connection: PostgresConnection, mode: String) async throws -> (String, [String], String) {
        let target = schema(mode)
        let sequence = try file("seq.json", #"{"rows": 95, "batch_size": 10}"#)
        let full = ["pipeline", "--source", Binaries.sequencePlugin.path, "--source-config", sequence,
                    "--destination", Binaries.postgresPlugin.path, "--destination-config", try postgresConfig(target, "write_mode: \(mode)")]
        let first = try await run(full)
        #expect(first.exitCode == 0, "\(first.stderr)")
        #expect(try await rows(connection, "SELECT count(*) FROM \(target).numbers") == [["95"]])
        let preview = try file("preview.json", #"{"streams": [{"namespace": "example", "name": "numbers", "limit": 5}]}"#)
        return (target, full, preview)
    }

    @Test("mirror with a limit: refused up front when the host knows the mode; the destination's own mirror deletes nothing")
    func mirrorWithLimit() async throws {
        try await withDatabase { connection in
            let (target, full, preview) = try await numbersWithPreview(connection, mode: "mirror")
            let refused = try await run(full + ["--catalog", preview, "--write-mode", "mirror"])
            #expect(refused.exitCode == 65, "\(refused.stderr)")
            #expect(refused.stderr.contains("stream example.numbers is read with a limit of 5 rows, so mirror would delete"), "\(refused.stderr)")

            let kept = try await run(full + ["--catalog", preview])
            #expect(kept.exitCode == 0, "\(kept.stderr)")
            #expect(kept.stderr.contains("mirror kept the rows this sync did not write"), "\(kept.stderr)")
            #expect(try await rows(connection, "SELECT count(*) FROM \(target).numbers") == [["95"]])
        }
    }

    @Test("replace on a partial read: refused up front when the host knows the mode, by the destination when replace is its own default; the table keeps its rows")
    func replaceWithPartialRead() async throws {
        try await withDatabase { connection in
            let (target, full, preview) = try await numbersWithPreview(connection, mode: "replace")
            let refused = try await run(full + ["--catalog", preview, "--write-mode", "replace"])
            #expect(refused.exitCode == 65, "\(refused.stderr)")
            #expect(refused.stderr.contains("stream example.numbers is read with a limit of 5 rows, so replace would keep only the rows the read sends"),
                    "\(refused.stderr)")

            let byDestination = try await run(full + ["--catalog", preview])
            #expect(byDestination.exitCode == 70, "\(byDestination.stderr)")
            #expect(byDestination.stderr.contains("REPLACE_PARTIAL_READ"), "\(byDestination.stderr)")
            #expect(try await rows(connection, "SELECT count(*) FROM \(target).numbers") == [["95"]])

            let source = try await seedSource(connection)
            let incremental = try await run([
                "pipeline", "--source", Binaries.postgresPlugin.path, "--source-config", try postgresConfig(source, "schemas: [\(source)]"),
                "--destination", Binaries.postgresPlugin.path, "--destination-config", try postgresConfig(target),
                "--catalog", try file("items.json", #"{"streams": [{"name": "items", "sync_mode": "incremental", "cursor": "id"}]}"#),
                "--write-mode", "replace",
            ])
            #expect(incremental.exitCode == 65, "\(incremental.stderr)")
            #expect(incremental.stderr.contains("stream \(source).items is read incrementally, so replace would keep only the rows the read sends"),
                    "\(incremental.stderr)")
            #expect(try await rows(connection, "SELECT to_regclass('\(target).items') IS NULL") == [["t"]])
        }
    }

    @Test("read --output with --state: a read that failed part-way is continued by the next one, whose file ends with every row once (two tables read side by side, the smaller one complete before the failure)")
    func readContinuesItsOutput() async throws {
        try await withDatabase { connection in
            let source = schema("cont")
            _ = try await connection.executeScript("""
                CREATE SCHEMA \(source);
                CREATE TABLE \(source).a (id bigint PRIMARY KEY, v int[]);
                CREATE TABLE \(source).b (id bigint PRIMARY KEY, v int[]);
                INSERT INTO \(source).a SELECT g, ARRAY[g] FROM generate_series(1, 1000) g;
                INSERT INTO \(source).b SELECT g, ARRAY[g] FROM generate_series(1, 6000) g;
                UPDATE \(source).b SET v = '{{1,2},{3,4}}' WHERE id = 4500;
                """)
            let config = try postgresConfig(source, "schemas: [\(source)]\nbatch_size: 500\ncheckpoint_interval: 0\nmax_connections: 2")
            let output = try file("rows.jsonl", "rows of an earlier, finished read\n")
            let state = files.appendingPathComponent("state.json").path
            let arguments = ["read", "--plugin", Binaries.postgresPlugin.path, "--config", config, "--state", state, "--output", output]
            // A 2-dimensional array stops the read at b's row 4500, after states of both tables and
            // (almost always) after a is complete: the next read must not read a again.
            let failed = try await run(arguments)
            #expect(failed.exitCode == 70, "\(failed.stderr)")
            #expect(failed.stderr.contains("UNREPRESENTABLE_VALUE"), "\(failed.stderr)")
            #expect(try String(contentsOfFile: state, encoding: .utf8).contains("\"output\""))

            // Only read continues that output: a pipeline refuses the state file, naming the key.
            let pipeline = try await run(["pipeline", "--source", Binaries.postgresPlugin.path, "--source-config", config,
                                          "--destination", Binaries.postgresPlugin.path, "--destination-config", try postgresConfig(schema("contdst")),
                                          "--state", state])
            #expect(pipeline.exitCode == 65, "\(pipeline.stderr)")
            #expect(pipeline.stderr.contains("$.output: the position of an unfinished plugin-host read --output"), "\(pipeline.stderr)")

            _ = try await connection.execute("UPDATE \(source).b SET v = '{4500}' WHERE id = 4500")
            let finished = try await run(arguments)
            #expect(finished.exitCode == 0, "\(finished.stderr)")
            var seen: [String: Int] = [:]
            for line in try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n") {
                let row = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
                seen["\(row["_stream"] ?? "") \(row["id"] ?? "")", default: 0] += 1
            }
            #expect(seen.count == 7_000)
            let repeated = seen.filter { $0.value != 1 }.map(\.key).sorted()
            #expect(repeated.count == 0, "rows written more than once, e.g. \(repeated.prefix(3))")
            // Finished: the next read starts a new file.
            #expect(!(try String(contentsOfFile: state, encoding: .utf8)).contains("\"output\""))
        }
    }

    @Test("a mirrored stream is never resumed part-way from a state the host saved: it is read from the start, so the rows before it are not deleted as stale")
    func mirrorIsReadFromTheStart() async throws {
        try await withDatabase { connection in
            let source = try await seedSource(connection), target = schema("resume")
            let arguments = ["pipeline", "--source", Binaries.postgresPlugin.path, "--source-config", try postgresConfig(source, "schemas: [\(source)]"),
                             "--destination", Binaries.postgresPlugin.path, "--destination-config", try postgresConfig(target),
                             "--catalog", try file("items.json", #"{"streams": [{"name": "items"}]}"#), "--write-mode", "mirror"]
            let first = try await run(arguments)
            #expect(first.exitCode == 0, "\(first.stderr)")
            // A state saved part-way through an earlier full refresh (after id 20), and none
            // committed in the destination (as with a destination without committed states).
            _ = try await connection.execute("DELETE FROM \(target)._sluice_state")
            let data = #"{\"v\":2,\"mode\":\"full_refresh\",\"key_columns\":[\"id\"],\"key\":[\"20\"]}"#
            let state = try file("mid.json", #"{"states": [{"stream": {"namespace": "\#(source)", "name": "items"}, "id": 1, "data": "\#(data)"}]}"#)
            let resumed = try await run(arguments + ["--state", state])
            #expect(resumed.exitCode == 0, "\(resumed.stderr)")
            #expect(resumed.stderr.contains("is written with mirror, so it is read from the start"), "\(resumed.stderr)")
            #expect(try await rows(connection, "SELECT count(*), min(id), max(id) FROM \(target).items") == [["50", "1", "50"]])
        }
    }

    @Test("write catalogs and state files: unknown keys are rejected with their paths")
    func writeCatalogAndStateFileKeys() async throws {
        try await withDatabase { connection in
            let target = schema("w")
            let catalog = try file("write.json", """
                {"streams": [{"name": "t", "kind": "table", "write_mod": "upsert",
                              "columns": [{"name": "id", "type": "int64", "nulable": false}]}]}
                """)
            let write = try await run(["write", "--plugin", Binaries.postgresPlugin.path, "--config", try postgresConfig(target),
                                       "--catalog", catalog, "--input", try file("empty.jsonl", "")])
            #expect(write.exitCode == 65, "\(write.stderr)")
            #expect(write.stderr.contains("$.streams[0].write_mod: unknown key"), "\(write.stderr)")
            #expect(write.stderr.contains("$.streams[0].columns[0].nulable: unknown key"), "\(write.stderr)")

            let state = try file("state.json", #"{"states": [{"stream": {"name": "numbers", "namespce": "x"}, "id": 1, "data": "5", "extra": true}]}"#)
            let read = try await run(["read", "--plugin", Binaries.sequencePlugin.path, "--config", try file("s.json", #"{"rows": 5}"#), "--state", state])
            #expect(read.exitCode == 65, "\(read.stderr)")
            #expect(read.stderr.contains("$.states[0].extra: unknown key"), "\(read.stderr)")
            #expect(read.stderr.contains("$.states[0].stream.namespce: unknown key"), "\(read.stderr)")
        }
    }
}
