import Foundation
import PostgresClient
import SluiceTestSupport
import Testing

/// `plugin-host conformance` run as a process: against the SDK's example source, the
/// PostgreSQL plugin on the test server, and scripts that do not speak the protocol.
@Suite("plugin-host conformance", .temporaryFolder)
struct PluginHostConformanceTests {
    /// Every check, in the order they run.
    private static let checks = [
        "command-line", "handshake", "version-mismatch", "hello-first", "bad-frame-flags", "close", "spec",
        "check-invalid-config", "check", "write-input-between-calls", "cancel-between-calls", "read-ack-between-calls",
        "unsupported-call", "resources", "plan-write", "sigterm", "discover", "read", "read-cancel", "write", "write-invalid-batch", "write-committed-states",
        "write-cdc", "write-postgres-rows",
    ]
    private static let destinationChecks: Set = ["plan-write", "write", "write-invalid-batch", "write-committed-states", "write-cdc",
                                                 "write-postgres-rows"]
    /// Checks for features a source may lack (the example source lacks them).
    private static let featureChecks: Set = ["read-ack-between-calls"]

    /// Runs `plugin-host conformance` with `arguments` and returns its output; records an
    /// issue when it has not ended after 120 s (a hang, far beyond any `--timeout` used here).
    private func conformance(_ arguments: [String]) async throws -> CommandResult {
        let result = try await CommandRun.run(Binaries.pluginHost, ["conformance"] + arguments, timeout: 120)
        #expect(!result.timedOut, "plugin-host conformance hung")
        return result
    }

    /// The `--json` report's object.
    private func report(_ result: CommandResult) throws -> [String: Any] {
        let object = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return try #require(object, "stdout is not a JSON object: \(result.stdout)\nstderr: \(result.stderr)")
    }

    /// Each check's `result` and `detail`, by name.
    private func outcomes(_ report: [String: Any]) -> [String: (result: String, detail: String)] {
        var outcomes: [String: (result: String, detail: String)] = [:]
        for check in report["checks"] as? [[String: Any]] ?? [] {
            if let name = check["name"] as? String {
                outcomes[name] = (check["result"] as? String ?? "", check["detail"] as? String ?? "")
            }
        }
        return outcomes
    }

    /// An executable shell script with `body` in a new temporary file.
    private func script(_ body: String) throws -> String {
        let path = try HostFixtures.temporaryFile("#!/bin/sh\n\(body)\n", suffix: ".sh")
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return path
    }

    private var sequenceConfig: String {
        get throws { try HostFixtures.temporaryFile(#"{"rows": 5000, "batch_size": 100}"#, suffix: ".json") }
    }

    @Test("the example source passes every source check; the destination checks are skipped")
    func sequencePlugin() async throws {
        let result = try await conformance(["--plugin", Binaries.sequencePlugin.path, "--config", try sequenceConfig])
        #expect(result.exitCode == 0, "\(result.stdout)\n\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == Self.checks.count + 1, "\(result.stdout)")
        for (line, name) in zip(lines, Self.checks) {
            if Self.destinationChecks.contains(name) {
                #expect(line == "- \(name): skipped (the plugin lacks the destination role)")
            } else if Self.featureChecks.contains(name) {
                #expect(line == "- \(name): skipped (the plugin does not announce the read_acks feature)")
            } else {
                #expect(line.hasPrefix("✔ \(name): "), "\(line)")
            }
        }
        #expect(lines.contains { $0.hasPrefix("✔ read: example.numbers: 5000 rows in 50 batches") }, "\(result.stdout)")
        #expect(lines.contains { $0.hasPrefix("✔ unsupported-call: Write") }, "\(result.stdout)")
        #expect(lines.contains { $0.hasPrefix("✔ resources: Resources without the feature → Error{CONFIG, UNSUPPORTED_CALL}") }, "\(result.stdout)")
        #expect(lines.last == "24 checks: 17 passed, 0 failed, 7 skipped")
    }

    @Test("--json prints one document whose counts match its checks")
    func jsonReport() async throws {
        let result = try await conformance(["--plugin", Binaries.sequencePlugin.path, "--json"])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let report = try report(result)
        #expect(report["plugin"] as? String == Binaries.sequencePlugin.path)
        let checks = try #require(report["checks"] as? [[String: Any]])
        #expect(checks.compactMap { $0["name"] as? String } == Self.checks)
        for outcome in ["passed", "failed", "skipped"] {
            #expect(report[outcome] as? Int == checks.filter { $0["result"] as? String == outcome }.count, "\(outcome)")
        }
        let outcomes = outcomes(report)
        for name in ["check", "discover", "read", "read-cancel"] {
            #expect(outcomes[name]?.result == "skipped" && outcomes[name]?.detail == "needs --config", "\(name)")
        }
        #expect(report["failed"] as? Int == 0)
    }

    @Test("the PostgreSQL plugin passes every check, --write included, and the write check's rows land in its table")
    func postgresPlugin() async throws {
        let schema = "conformance_\(UInt32.random(in: 0...UInt32.max))"
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        let outcome: Result<Void, any Error>
        do {
            try await postgresPluginBody(schema: schema, connection: connection)
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        _ = try? await connection.execute("DROP SCHEMA IF EXISTS \(SQL.quoteIdentifier(schema)) CASCADE")
        try outcome.get()
    }

    private func postgresPluginBody(schema: String, connection: PostgresConnection) async throws {
        // A table of its own to read, so that tables other tests create and drop are not read.
        _ = try await connection.execute("CREATE SCHEMA \(SQL.quoteIdentifier(schema))")
        let table = SQL.quoteQualified(schema: schema, name: "source_rows")
        _ = try await connection.execute("CREATE TABLE \(table) (id bigint PRIMARY KEY, label text, at timestamptz)")
        _ = try await connection.execute("INSERT INTO \(table) SELECT i, 'row ' || i, now() FROM generate_series(1, 2500) AS i")
        let config = try HostFixtures.temporaryFile(HostFixtures.serverConfig(extra: "schema: \(schema)\nschemas: [\(schema)]\n"))

        let result = try await conformance(["--plugin", Binaries.postgresPlugin.path, "--config", config, "--write", "--json"])
        #expect(result.exitCode == 0, "\(result.stdout)\n\(result.stderr)")
        let report = try report(result)
        #expect(report["failed"] as? Int == 0, "\(result.stdout)")
        let outcomes = outcomes(report)
        #expect(outcomes["unsupported-call"]?.result == "skipped")
        // Passed once the source announces read_acks; skipped until then.
        #expect(outcomes["read-ack-between-calls"]?.result != "failed", "\(outcomes["read-ack-between-calls"]?.detail ?? "missing")")
        for name in Self.checks where name != "unsupported-call" && !Self.featureChecks.contains(name) {
            #expect(outcomes[name]?.result == "passed", "\(name): \(outcomes[name]?.detail ?? "missing")")
        }
        #expect(outcomes["read"]?.detail.hasPrefix("\(schema).source_rows: 2500 rows") == true, "\(outcomes["read"]?.detail ?? "")")

        // The write check's table holds its 12 rows, write-committed-states' its 4, write-cdc's
        // the one inserted after its TRUNCATE row, write-postgres-rows' its 3 as they were sent.
        let written = try await connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name LIKE 'sluice_conformance_%'",
            [.text(schema)])
        var counts: [String] = []
        for name in written.rows.compactMap({ $0.first ?? nil }) {
            counts.append((try await connection.execute("SELECT count(*) FROM \(SQL.quoteQualified(schema: schema, name: name))").rows.first?.first ?? nil) ?? "")
        }
        #expect(counts.sorted() == ["1", "12", "3", "4"])
        let rows = try await connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name LIKE 'sluice\\_conformance\\_rows\\_%'",
            [.text(schema)]).rows.compactMap { $0.first ?? nil }
        let rowsTable = SQL.quoteQualified(schema: schema, name: try #require(rows.first))
        #expect(try await connection.execute("SELECT id::text, note FROM \(rowsTable) ORDER BY id").rows == [["1", "hé"], ["2", nil], ["3", ""]])
    }

    @Test("a script that prints text instead of frames fails the handshake with a readable reason, promptly")
    func textOnStdout() async throws {
        let plugin = try script("echo 'starting up' >&2\necho 'hello, I am not a plugin'")
        // A session time limit far beyond the hang bound: the failure must come from the
        // plugin's output and exit, never from waiting out the limit.
        let result = try await conformance(["--plugin", plugin, "--json", "--timeout", "3600"])
        #expect(result.exitCode == 1, "\(result.stdout)\n\(result.stderr)")
        let outcomes = outcomes(try report(result))
        let handshake = try #require(outcomes["handshake"])
        #expect(handshake.result == "failed")
        #expect(handshake.detail.contains("UNSUPPORTED_FRAME_FLAGS"), "\(handshake.detail)")
        #expect(handshake.detail.contains("exited with code 0"), "\(handshake.detail)")
        #expect(handshake.detail.contains("starting up"), "\(handshake.detail)")
        #expect(outcomes["version-mismatch"]?.result == "skipped")
    }

    @Test("a plugin that never answers fails the handshake by timeout and the command returns promptly")
    func neverAnswers() async throws {
        // Sleeps far beyond the hang bound: the command ends only if it kills the plugin.
        let plugin = try script("exec sleep 3600")
        let result = try await conformance(["--plugin", plugin, "--timeout", "2"])
        #expect(result.exitCode == 1, "\(result.stdout)\n\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("✘ handshake: timed out after 2 s waiting for HelloReply (the plugin was killed)"), "\(result.stdout)")
        #expect(lines.contains("✘ command-line: `--version` did not exit within 2 s (it was killed)"), "\(result.stdout)")
        #expect(lines.last == "24 checks: 0 passed, 2 failed, 22 skipped")
    }

    @Test("a missing configuration file exits 65 before any check runs")
    func missingConfig() async throws {
        let result = try await conformance(["--plugin", Binaries.sequencePlugin.path, "--config", "/nonexistent/conformance.yaml"])
        #expect(result.exitCode == 65)
        #expect(result.stderr.contains("/nonexistent/conformance.yaml"), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }
}
