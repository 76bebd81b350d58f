import Foundation
import Testing
import SluiceSDK
import SluiceWire

/// The SDK's example plugin as a real process: what a plugin author gets for free.
@Suite("SDK example plugin over the real protocol")
struct SequencePluginTests {
    @Test("plugin-host reads it to JSON Lines; its stray print goes to stderr, never into the frames")
    func readThroughHost() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("seq-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("config.json"), output = dir.appendingPathComponent("rows.jsonl")
        try Data(#"{"rows": 250, "batch_size": 100}"#.utf8).write(to: config)
        let result = try await CommandRun.run(Binaries.pluginHost, [
            "read", "--plugin", Binaries.sequencePlugin.path, "--config", config.path, "--output", output.path, "--verbose",
        ])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let lines = try String(contentsOf: output, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 250)
        #expect(lines.first?.contains(#""label":"row 1""#) == true)
        #expect(result.stderr.contains("sequence-plugin: reading from id 1"))
    }

    @Test("SIGTERM during a Read: the call answers CANCELLED and the plugin exits 130")
    func sigterm() async throws {
        let client = try await PluginClient.launch(executable: Binaries.sequencePlugin,
                                                   hello: Hello(hostName: "tests", hostVersion: "1"))
        let stream = ConfiguredStream(schema: StreamSchema(stream: StreamID(namespace: "example", name: "numbers"), columns: []))
        try await client.startRead(ReadRequest(configJSON: #"{"rows": 100000000, "batch_size": 1000}"#,
                                               catalog: ConfiguredCatalog(streams: [stream])))
        var batches = 0
        var outcome: HostError?
        do {
            while let message = try await client.nextCallMessage() {
                if case .records = message {
                    batches += 1
                    if batches == 3 { client.process.send(signal: SIGTERM) }
                }
                if case .summary = message { break }
            }
        } catch {
            outcome = error
        }
        guard case .plugin(let error)? = outcome else { Issue.record("expected a CANCELLED error, got \(String(describing: outcome))"); return }
        #expect(error.category == .cancelled)
        #expect(await client.process.waitForExit() == .exited(130))
    }

    @Test("a Cancel sent once the call has ended (a Read's Summary, a GetSpec's reply) brings no SIGTERM: the session goes on and ends with exit 0")
    func cancelAfterTheCallEnded() async throws {
        let client = try await PluginClient.launch(executable: Binaries.sequencePlugin,
                                                   hello: Hello(hostName: "tests", hostVersion: "1"))
        let stream = ConfiguredStream(schema: StreamSchema(stream: StreamID(namespace: "example", name: "numbers"), columns: []))
        try await client.startRead(ReadRequest(configJSON: #"{"rows": 50}"#, catalog: ConfiguredCatalog(streams: [stream])))
        while try await client.nextCallMessage() != nil {}
        // `endAfter` far shorter than any call takes to end: a client that counted the Read as running
        // would signal. `signalAfter` (the Cancel not written) is generous: writing a frame may wait
        // for a core on a busy machine.
        try await client.cancel(signalAfter: 30, endAfter: 0.1)
        try await Task.sleep(for: .milliseconds(500))
        _ = try await client.spec()
        try await client.cancel(signalAfter: 30, endAfter: 0.1)
        try await Task.sleep(for: .milliseconds(500))
        _ = try await client.spec()
        #expect(await client.close() == .exited(0))
    }

    @Test("incremental read resumes after the state it is given")
    func incremental() async throws {
        let client = try await PluginClient.launch(executable: Binaries.sequencePlugin,
                                                   hello: Hello(hostName: "tests", hostVersion: "1"))
        let stream = ConfiguredStream(schema: StreamSchema(stream: StreamID(namespace: "example", name: "numbers"), columns: []),
                                      syncMode: .incremental, cursorField: "id")
        let state = State(id: 1, stream: StreamID(namespace: "example", name: "numbers"), data: Array("40".utf8))
        try await client.startRead(ReadRequest(configJSON: #"{"rows": 50}"#, catalog: ConfiguredCatalog(streams: [stream]), states: [state]))
        var ids: [Value] = []
        var schema: StreamSchema?
        while let message = try await client.nextCallMessage() {
            switch message {
            case .schema(let s): schema = s
            case .records(let batch): ids += batch.rows(schema: try #require(schema)).map { $0[0] }
            case .summary: break
            default: continue
            }
            if case .summary = message { break }
        }
        #expect(ids == (41...50).map { .int64($0) })
        #expect(await client.close() == .exited(0))
    }
}
