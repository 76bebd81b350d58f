import Foundation
import PostgresClient
import Testing

/// Hosts reject a source that breaks the protocol (PROTOCOL.md §4.4, §5.10): `read`, `pipeline`
/// and `conformance` against `misbehaving-plugin`, which sends a batch that does not match its
/// schema, or a batch before any schema.
@Suite struct HostProtocolViolationTests {
    func config(_ fault: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("misbehaving-\(fault)-\(UUID().uuidString.prefix(6)).json")
        try Data(#"{"fault": "\#(fault)"}"#.utf8).write(to: url)
        return url.path
    }

    func host(_ arguments: [String]) async throws -> CommandResult {
        try await CommandRun.run(Binaries.pluginHost, arguments, timeout: 60)
    }

    @Test(arguments: [("invalid-batch", "invalid RecordBatch of fixture.numbers"),
                      ("batch-before-schema", "a RecordBatch of fixture.numbers came before its StreamSchema")])
    func readRejectsTheBatch(fault: String, reason: String) async throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("misbehaving-\(UUID().uuidString.prefix(6)).jsonl").path
        let result = try await host(["read", "--plugin", Binaries.misbehavingPlugin.path, "--config", try config(fault), "--output", output])
        #expect(result.exitCode == 71, "\(result.stderr)")
        #expect(result.stderr.contains("protocol violation by the plugin"), "\(result.stderr)")
        #expect(result.stderr.contains(reason), "\(result.stderr)")
    }

    @Test func pipelineStopsAtTheInvalidBatchAndBlamesTheSource() async throws {
        let connection = try await TestDatabase.connect()
        defer { connection.close() }
        let schema = "viol_\(UUID().uuidString.prefix(8).lowercased())"
        let destination = FileManager.default.temporaryDirectory.appendingPathComponent("\(schema).yaml")
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

    @Test func conformanceFailsTheReadCheck() async throws {
        let result = try await host(["conformance", "--plugin", Binaries.misbehavingPlugin.path, "--config", try config("invalid-batch")])
        #expect(result.exitCode == 1, "\(result.stdout)\(result.stderr)")
        let read = result.stdout.split(separator: "\n").first { $0.contains(" read: ") }
        #expect(read?.hasPrefix("✘") == true, "\(result.stdout)")
    }
}
