import Foundation
import PostgresClient
import SluiceTestSupport
import Testing

/// Hosts reject a source that breaks the protocol (PROTOCOL.md §4.4, §5.10): `read`, `pipeline`
/// and `conformance` against `misbehaving-plugin`, which sends a batch that does not match its
/// schema, or a batch before any schema.
@Suite(.temporaryFolder) struct HostProtocolViolationTests {
    func config(_ fault: String) throws -> String {
        let url = try TemporaryFolder.url("misbehaving-\(fault)-\(UUID().uuidString.prefix(6)).json")
        try Data(#"{"fault": "\#(fault)"}"#.utf8).write(to: url)
        return url.path
    }

    func host(_ arguments: [String]) async throws -> CommandResult {
        try await CommandRun.run(Binaries.pluginHost, arguments, timeout: 60)
    }

    @Test(arguments: [("invalid-batch", "invalid RecordBatch of fixture.numbers"),
                      ("batch-before-schema", "a RecordBatch of fixture.numbers came before its StreamSchema"),
                      ("after-last-state", "a RecordBatch of fixture.numbers came after its State marked stream_complete"),
                      ("postgres-rows", "a RecordBatch of fixture.numbers carries PostgreSQL rows, which the Read did not allow for it")])
    func readRejectsTheBatch(fault: String, reason: String) async throws {
        let output = try TemporaryFolder.url("misbehaving-\(UUID().uuidString.prefix(6)).jsonl").path
        let result = try await host(["read", "--plugin", Binaries.misbehavingPlugin.path, "--config", try config(fault), "--output", output])
        #expect(result.exitCode == 71, "\(result.stderr)")
        #expect(result.stderr.contains("protocol violation by the plugin"), "\(result.stderr)")
        #expect(result.stderr.contains(reason), "\(result.stderr)")
    }

    @Test func pipelineStopsAtTheInvalidBatchAndBlamesTheSource() async throws {
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        let schema = "viol_\(UUID().uuidString.prefix(8).lowercased())"
        let destination = try TemporaryFolder.url("\(schema).yaml")
        try Data(HostFixtures.serverConfig(extra: "schema: \(schema)\n").utf8).write(to: destination)
        let result = try await host(["pipeline", "--source", Binaries.misbehavingPlugin.path, "--source-config", try config("invalid-batch"),
                                     "--destination", Binaries.postgresPlugin.path, "--destination-config", destination.path,
                                     "--write-mode", "append", "--retries", "0"])
        #expect(result.exitCode == 71, "\(result.stderr)")
        #expect(result.stderr.contains("source: protocol violation by the plugin: invalid RecordBatch of fixture.numbers"), "\(result.stderr)")
        // The invalid batch never reached the destination: at most the 10 rows before it. The
        // cancelled Write may even have stopped before its table was created.
        let table = "\(SQL.quoteIdentifier(schema)).numbers"
        let exists = try await connection.execute("SELECT to_regclass($1) IS NOT NULL", [.text(table)]).rows.first?.first == "t"
        let count = exists ? try await connection.execute("SELECT count(*) FROM \(table)").rows.first?.first ?? nil : "0"
        #expect(count == "0" || count == "10", "\(String(describing: count))")
        _ = try? await connection.execute("DROP SCHEMA IF EXISTS \(SQL.quoteIdentifier(schema)) CASCADE")
    }

    @Test("a read --output killed after a stream's last state (marked stream_complete) and before its COMPLETE is continued without that stream: every row once")
    func continuedReadKeepsAStreamWholeAtItsLastState() async throws {
        let output = try TemporaryFolder.url("last-state-\(UUID().uuidString.prefix(6)).jsonl").path
        let state = try TemporaryFolder.url("last-state-\(UUID().uuidString.prefix(6)).json").path
        let arguments = ["read", "--plugin", Binaries.misbehavingPlugin.path, "--config", try config("dies-after-last-state"),
                         "--output", output, "--state", state]
        let first = try await host(arguments)
        #expect(first.exitCode != 0, "\(first.stderr)")
        let saved = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: state))) as? [String: Any]
        let complete = (saved?["output"] as? [String: Any])?["complete_streams"] as? [[String: Any]]
        #expect(complete?.compactMap { $0["name"] as? String } == ["numbers"], "\(String(describing: saved))")
        // The same fault again: a read that started the stream again would write its rows twice and fail.
        let second = try await host(arguments)
        #expect(second.exitCode == 0, "\(second.stderr)")
        #expect(second.stderr.contains("already holds every stream whole"), "\(second.stderr)")
        let ids = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n").map { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["id"] as? Int
        }
        #expect(ids == Array(1...10), "\(ids)")
    }

    @Test("pipeline: a batch of PostgreSQL rows the Read did not allow (a source without the feature) stops it, blaming the source")
    func pipelineRefusesPostgresRowsItDidNotAllow() async throws {
        let schema = "rows_\(UUID().uuidString.prefix(8).lowercased())"
        let destination = try TemporaryFolder.url("\(schema).yaml")
        try Data(HostFixtures.serverConfig(extra: "schema: \(schema)\n").utf8).write(to: destination)
        let result = try await host(["pipeline", "--source", Binaries.misbehavingPlugin.path, "--source-config", try config("postgres-rows"),
                                     "--destination", Binaries.postgresPlugin.path, "--destination-config", destination.path,
                                     "--write-mode", "append", "--retries", "0"])
        #expect(result.exitCode == 71, "\(result.stderr)")
        #expect(result.stderr.contains("source: protocol violation by the plugin: a RecordBatch of fixture.numbers carries PostgreSQL rows"), "\(result.stderr)")
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        _ = try? await connection.execute("DROP SCHEMA IF EXISTS \(SQL.quoteIdentifier(schema)) CASCADE")
    }

    @Test func conformanceFailsTheReadCheck() async throws {
        let result = try await host(["conformance", "--plugin", Binaries.misbehavingPlugin.path, "--config", try config("invalid-batch")])
        #expect(result.exitCode == 1, "\(result.stdout)\(result.stderr)")
        let read = result.stdout.split(separator: "\n").first { $0.contains(" read: ") }
        #expect(read?.hasPrefix("✘") == true, "\(result.stdout)")
    }
}

/// `plugin-host pipeline` with streams read by change data capture (PROTOCOL.md §8.2).
@Suite(.temporaryFolder) struct PipelineChangeCaptureTests {
    func host(_ arguments: [String]) async throws -> CommandResult {
        try await CommandRun.run(Binaries.pluginHost, arguments, timeout: 120)
    }

    func file(_ name: String, _ text: String) throws -> String {
        let url = try TemporaryFolder.url("\(UUID().uuidString.prefix(8))-\(name)")
        try Data(text.utf8).write(to: url)
        return url.path
    }

    @Test("a cdc stream is applied (TRUNCATE included) with upsert, its global states committed, and each one every destination committed goes back to the source as a ReadAck")
    func readAcksReachTheSource() async throws {
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        let schema = "cdc_\(UUID().uuidString.prefix(8).lowercased())"
        let destination = try file("dst.yaml", HostFixtures.serverConfig(extra: "schema: \(schema)\n"))
        let arguments = ["pipeline", "--source", Binaries.misbehavingPlugin.path, "--source-config", try file("src.json", #"{"fault": "cdc"}"#),
                         "--destination", Binaries.postgresPlugin.path, "--destination-config", destination,
                         "--catalog", try file("catalog.json", #"{"streams": [{"namespace": "fixture", "name": "numbers", "sync_mode": "cdc"}]}"#),
                         "--name", "cdc-test", "--retries", "0"]
        let result = try await host(arguments + ["--follow"])
        #expect(result.exitCode == 0, "\(result.stderr)")
        #expect(result.stderr.contains("ReadAck 2"), "\(result.stderr)")
        #expect(result.stderr.contains("following"), "--follow sets the source's follow setting: \(result.stderr)")
        let rows = try await connection.execute("SELECT id FROM \(SQL.quoteIdentifier(schema)).numbers ORDER BY id").rows
        #expect(rows == [["20"], ["21"]])
        let state = try await connection.execute("SELECT stream_name, convert_from(state, 'UTF8') FROM \(SQL.quoteIdentifier(schema))._sluice_state WHERE pipeline_id = 'cdc-test'").rows
        #expect(state == [["", "lsn 2"]])
        // The next run resumes from the global state the destination committed.
        let again = try await host(arguments)
        #expect(again.exitCode == 0, "\(again.stderr)")
        #expect(again.stderr.contains("resuming from lsn 2"), "\(again.stderr)")
        _ = try? await connection.execute("DROP SCHEMA IF EXISTS \(SQL.quoteIdentifier(schema)) CASCADE")
    }

    @Test("a cdc stream is refused from a source that does not list the mode, and with a write mode other than upsert")
    func refusals() async throws {
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        let schema = "cdc_\(UUID().uuidString.prefix(8).lowercased())"
        _ = try await connection.execute("CREATE SCHEMA \(schema)")
        _ = try await connection.execute("CREATE TABLE \(schema).t (id int PRIMARY KEY)")
        let destination = try file("dst.yaml", HostFixtures.serverConfig(extra: "schema: \(schema)_dst\n"))
        let catalog = try file("catalog.json", #"{"streams": [{"namespace": "example", "name": "numbers", "sync_mode": "cdc"}]}"#)
        let fromSequence = try await host(["pipeline", "--source", Binaries.sequencePlugin.path, "--source-config", try file("seq.json", "{}"),
                                           "--destination", Binaries.postgresPlugin.path, "--destination-config", destination,
                                           "--catalog", catalog, "--retries", "0"])
        #expect(fromSequence.exitCode == 65, "\(fromSequence.stderr)")
        #expect(fromSequence.stderr.contains("does not read with cdc"), "\(fromSequence.stderr)")
        let following = try await host(["pipeline", "--source", Binaries.sequencePlugin.path, "--source-config", try file("seq.json", "{}"),
                                        "--destination", Binaries.postgresPlugin.path, "--destination-config", destination, "--follow", "--retries", "0"])
        #expect(following.exitCode == 65, "\(following.stderr)")
        #expect(following.stderr.contains("--follow: the source has no follow setting"), "\(following.stderr)")
        let appended = try await host(["pipeline", "--source", Binaries.misbehavingPlugin.path, "--source-config", try file("src.json", #"{"fault": "cdc"}"#),
                                       "--destination", Binaries.postgresPlugin.path, "--destination-config", destination,
                                       "--catalog", try file("catalog.json", #"{"streams": [{"namespace": "fixture", "name": "numbers", "sync_mode": "cdc", "write_mode": "append"}]}"#),
                                       "--retries", "0"])
        #expect(appended.exitCode == 65, "\(appended.stderr)")
        #expect(appended.stderr.contains("must be written with upsert, not append"), "\(appended.stderr)")
        _ = try? await connection.execute("DROP SCHEMA IF EXISTS \(schema) CASCADE")
    }

    @Test("read writes a cdc source's rows as JSON Lines (TRUNCATE included) and acknowledges each saved state; write applies them, and unchanged values, with a cdc catalog")
    func jsonLines() async throws {
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        let schema = "cdc_\(UUID().uuidString.prefix(8).lowercased())"
        let output = try file("out.jsonl", "")
        let state = try file("state.json", "")
        try FileManager.default.removeItem(atPath: state)
        let read = try await host(["read", "--plugin", Binaries.misbehavingPlugin.path, "--config", try file("src.json", #"{"fault": "cdc"}"#),
                                   "--catalog", try file("catalog.json", #"{"streams": [{"namespace": "fixture", "name": "numbers", "sync_mode": "cdc"}]}"#),
                                   "--state", state, "--output", output])
        #expect(read.exitCode == 0, "\(read.stderr)")
        #expect(read.stderr.contains("ReadAck 2"), "\(read.stderr)")
        let lines = try String(contentsOfFile: output, encoding: .utf8)
        #expect(lines.contains(#"{"_stream":"fixture.numbers","_op":"truncate","id":null}"#), "\(lines)")

        let destination = try file("dst.yaml", HostFixtures.serverConfig(extra: "schema: \(schema)\n"))
        let numbers = try file("numbers.json", #"{"streams": [{"namespace": "fixture", "name": "numbers", "columns": [{"name": "id", "type": "int64", "nullable": false}], "primary_key": ["id"], "sync_mode": "cdc"}]}"#)
        let written = try await host(["write", "--plugin", Binaries.postgresPlugin.path, "--config", destination, "--catalog", numbers, "--input", output])
        #expect(written.exitCode == 0, "\(written.stderr)")
        let rows = try await connection.execute("SELECT id FROM \(SQL.quoteIdentifier(schema)).numbers ORDER BY id").rows
        #expect(rows == [["20"], ["21"]])

        let docs = try file("docs.json", #"{"streams": [{"name": "docs", "columns": [{"name": "id", "type": "int64", "nullable": false}, {"name": "body", "type": "string"}], "primary_key": ["id"], "sync_mode": "cdc"}]}"#)
        for input in [#"{"_stream":"docs","id":1,"body":"kept"}"#, #"{"_stream":"docs","_unchanged":["body"],"id":1}"#] {
            let result = try await host(["write", "--plugin", Binaries.postgresPlugin.path, "--config", destination, "--catalog", docs,
                                         "--input", try file("docs.jsonl", input + "\n")])
            #expect(result.exitCode == 0, "\(result.stderr)")
        }
        let body = try await connection.execute("SELECT body FROM \(SQL.quoteIdentifier(schema)).docs").rows
        #expect(body == [["kept"]])
        _ = try? await connection.execute("DROP SCHEMA IF EXISTS \(SQL.quoteIdentifier(schema)) CASCADE")
    }
}
