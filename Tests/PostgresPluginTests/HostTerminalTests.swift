import Foundation
import PostgresClient
import Testing

/// What a terminal and a machine see of `plugin-host`, run as processes: the live display and
/// the summary table through a pseudo-terminal (`script`), JSON log lines with
/// `--log-format json`, and `--summary FILE` on success and on failure.
@Suite("plugin-host on a terminal and for machines", .serialized, .temporaryFolder)
struct HostTerminalTests: PipelineWorkspace {
    let prefix = "hterm_\(UInt32.random(in: 0...UInt32.max))"
    let files = FileManager.default.temporaryDirectory.appendingPathComponent("host-terminal-\(UUID().uuidString)")

    /// A source schema with `items` (`rows` rows, analyzed so Discover estimates them).
    private func sourceTable(_ connection: PostgresConnection, rows: Int) async throws -> String {
        let source = schema("src")
        _ = try await connection.executeScript("""
            CREATE SCHEMA \(SQL.quoteIdentifier(source));
            CREATE TABLE \(SQL.quoteQualified(schema: source, name: "items")) (id bigint PRIMARY KEY, name text);
            INSERT INTO \(SQL.quoteQualified(schema: source, name: "items")) SELECT g, 'item ' || g FROM generate_series(1, \(rows)) AS g;
            ANALYZE \(SQL.quoteQualified(schema: source, name: "items"));
            """)
        return source
    }

    private func catalog(_ source: String) throws -> String {
        try file("catalog.json", #"{"streams":[{"namespace":"\#(source)","name":"items"}]}"#)
    }

    private func pipeline(_ source: String, destination: String, _ extra: [String]) throws -> [String] {
        ["pipeline", "--source", Binaries.postgresPlugin.path, "--source-config", try postgresConfig(source),
         "--destination", Binaries.postgresPlugin.path, "--destination-config", destination, "--catalog", try catalog(source)] + extra
    }

    private func json(_ path: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "\(String(decoding: data, as: UTF8.self))")
    }

    @Test("on a terminal: a live display redrawn in place (rows, rows/s, % of the estimate, ETA, totals) and a summary table instead of JSON; the JSON goes to --summary")
    func terminal() async throws {
        try await withDatabase { connection in
            let source = try await sourceTable(connection, rows: 300_000)
            let summary = files.appendingPathComponent("summary.json").path
            let arguments = [Binaries.pluginHost.path] + (try pipeline(source, destination: try postgresConfig(schema("dst")), ["--summary", summary]))
            // `script` runs the command on a pseudo-terminal (stdin, stdout and stderr) and copies what it shows.
            let command = arguments.map { "'\($0)'" }.joined(separator: " ")
            let result = try await CommandRun.run(URL(fileURLWithPath: "/usr/bin/script"), ["-qec", command, "/dev/null"], timeout: 180)
            let screen = result.stdout
            #expect(result.exitCode == 0, "\(screen)")
            #expect(screen.contains("\u{1B}[2F\u{1B}[J"), "the display is not redrawn in place: \(screen.suffix(2000))")
            #expect(screen.contains("rows/s") && screen.contains("total ") && screen.contains("done in"), "\(screen.suffix(2000))")
            #expect(screen.contains("%") && screen.contains("ETA "), "no share of the estimate or ETA: \(screen.suffix(2000))")
            #expect(screen.contains("written (destination)") && screen.contains("300,000"), "no summary table: \(screen.suffix(2000))")
            #expect(!screen.contains("\"pipeline_id\""), "the JSON was printed on the terminal")
            let written = try json(summary)
            #expect(written["status"] as? String == "succeeded")
            #expect(written["records_read"] as? Int == 300_000)
        }
    }

    @Test("off a terminal: periodic plain lines and the JSON summary on stdout, as before")
    func notTerminal() async throws {
        try await withDatabase { connection in
            let source = try await sourceTable(connection, rows: 1_000)
            let result = try await run(try pipeline(source, destination: try postgresConfig(schema("dst")), []))
            #expect(result.exitCode == 0, "\(result.stderr)")
            #expect(!result.stderr.contains("\u{1B}["), "\(result.stderr)")
            #expect(result.stderr.contains("summary \(source).items: 1000 read"), "\(result.stderr)")
            let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
            #expect(object?["status"] as? String == "succeeded", "\(result.stdout)")
        }
    }

    @Test("--log-format json: every stderr line is one object (time, level, plugin, stream, message, fields), plugin debug lines included")
    func jsonLogs() async throws {
        try await withDatabase { connection in
            let source = try await sourceTable(connection, rows: 1_000)
            let result = try await run(try pipeline(source, destination: try postgresConfig(schema("dst")), ["--log-format", "json", "--log-level", "debug"]))
            #expect(result.exitCode == 0, "\(result.stderr)")
            let lines = result.stderr.split(separator: "\n")
            #expect(!lines.isEmpty)
            var objects: [[String: Any]] = []
            for line in lines {
                let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                let parsed = try #require(object, "not a JSON object: \(line)")
                #expect(Set(parsed.keys) == ["time", "level", "plugin", "stream", "message", "fields"], "\(line)")
                objects.append(parsed)
            }
            #expect(objects.contains { $0["level"] as? String == "debug" && $0["plugin"] as? String == "postgres-plugin" }, "\(result.stderr)")
            #expect(objects.contains { $0["stream"] as? String == "\(source).items" && ($0["fields"] as? [String: Any])?["status"] as? String == "complete" },
                    "\(result.stderr)")
            #expect(objects.allSatisfy { ($0["time"] as? String)?.hasSuffix("Z") == true })
        }
    }

    @Test("--log-format json on a failing read: the error is a level error object, and the password appears nowhere")
    func jsonLogsOnFailure() async throws {
        let password = "wrong-\(UUID().uuidString)"
        let config = try HostFixtures.temporaryFile(HostFixtures.serverConfig(password: "\"\(password)\""))
        let result = try await HostFixtures.host(["read", "--plugin", Binaries.postgresPlugin.path, "--config", config, "--log-format", "json"])
        #expect(result.exitCode == 70)
        let last = try #require(result.stderr.split(separator: "\n").last)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any], "\(result.stderr)")
        #expect(object["level"] as? String == "error")
        #expect((object["message"] as? String)?.hasPrefix("the plugin reported an error: AUTH_FAILED") == true, "\(last)")
        #expect(!result.stderr.contains(password))
    }

    @Test("--summary on failure: a pipeline whose destination refuses the password says failed, the exit code, the error and that nothing was committed")
    func failureSummary() async throws {
        try await withDatabase { connection in
            let source = try await sourceTable(connection, rows: 100)
            let summary = files.appendingPathComponent("failed.json").path
            let destination = try file("bad.yaml", HostFixtures.serverConfig(password: "\"wrong-password\""))
            let result = try await run(try pipeline(source, destination: destination, ["--summary", summary, "--retries", "0"]))
            #expect(result.exitCode == 70, "\(result.stderr)")
            let written = try json(summary)
            #expect(written["status"] as? String == "failed")
            #expect(written["exit_code"] as? Int == 70)
            #expect((written["error"] as? String)?.contains("AUTH_FAILED") == true, "\(written)")
            #expect(written["records_committed"] as? Int == 0)
        }
    }

    @Test("--summary on a failed write: what the destination committed before the bad input line, and the error")
    func writeFailureSummary() async throws {
        try await withDatabase { _ in
            let summary = files.appendingPathComponent("write.json").path
            let catalog = try file("write-catalog.json", #"{"streams":[{"namespace":"public","name":"items","columns":[{"name":"id","type":"int64"}],"primary_key":["id"]}]}"#)
            let rows = (1...50).map { #"{"_stream":"public.items","id":\#($0)}"# } + ["not json"]
            let result = try await CommandRun.run(Binaries.pluginHost, [
                "write", "--plugin", Binaries.postgresPlugin.path, "--config", try postgresConfig(schema("wdst")), "--catalog", catalog,
                "--summary", summary, "--batch-size", "10", "--state-every", "1",
            ], stdin: rows.joined(separator: "\n") + "\n", timeout: 120)
            #expect(result.exitCode == 65, "\(result.stderr)")
            let written = try json(summary)
            #expect(written["status"] as? String == "failed")
            #expect(written["exit_code"] as? Int == 65)
            #expect((written["error"] as? String)?.contains("line 51") == true, "\(written)")
            #expect(written.keys.contains("last_acknowledged_state") && written.keys.contains("streams_committed"), "\(written)")
        }
    }

    @Test("--summary when interrupted: status interrupted, exit code 130, and the records every destination committed")
    func interruptedSummary() async throws {
        try await withDatabase { _ in
            let summary = files.appendingPathComponent("interrupted.json").path
            let state = files.appendingPathComponent("state.json").path
            let host = Process()
            host.executableURL = Binaries.pluginHost
            host.arguments = ["pipeline", "--source", Binaries.sequencePlugin.path,
                              "--source-config", try file("seq.json", #"{"rows": 50000000, "batch_size": 1000}"#),
                              "--destination", Binaries.postgresPlugin.path, "--destination-config", try postgresConfig(schema("idst")),
                              "--catalog", try file("seq-catalog.json", #"{"streams":[{"namespace":"example","name":"numbers","sync_mode":"incremental","cursor":"id"}]}"#),
                              "--state", state, "--summary", summary, "--write-mode", "append"]
            host.standardOutput = FileHandle.nullDevice
            host.standardError = FileHandle.nullDevice
            try host.run()
            // Interrupt once a state was saved, i.e. once the destination committed rows.
            let deadline = Date().addingTimeInterval(60)
            while host.isRunning, Date() < deadline, !FileManager.default.fileExists(atPath: state) {
                try await Task.sleep(for: .milliseconds(20))
            }
            kill(host.processIdentifier, SIGTERM)
            let exitDeadline = Date().addingTimeInterval(60)
            while host.isRunning, Date() < exitDeadline { try await Task.sleep(for: .milliseconds(50)) }
            if host.isRunning { host.terminate() }
            host.waitUntilExit()
            #expect(host.terminationReason == .exit && host.terminationStatus == 130)
            let written = try json(summary)
            #expect(written["status"] as? String == "interrupted", "\(written)")
            #expect(written["exit_code"] as? Int == 130)
            #expect((written["records_committed"] as? Int ?? 0) > 0, "\(written)")
            #expect((written["states_saved"] as? Int ?? 0) > 0, "\(written)")
        }
    }

    @Test("--log-format json on a command without a plugin (state show): the failure is one JSON object")
    func jsonLogsWithoutPlugin() async throws {
        let state = try HostFixtures.temporaryFile("{not json", suffix: ".json")
        let result = try await HostFixtures.host(["state", "show", "--state", state, "--log-format", "json"])
        #expect(result.exitCode == 65, "\(result.stderr)")
        let line = try #require(result.stderr.split(separator: "\n").first)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(result.stderr)")
        #expect(object["level"] as? String == "error")
        #expect((object["message"] as? String)?.contains(state) == true, "\(line)")
    }
}
