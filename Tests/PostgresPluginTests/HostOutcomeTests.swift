import SluiceTestSupport
import Foundation
import Testing

/// How `plugin-host` commands end, run as processes: one code per connection failure whichever
/// side meets it, interruptions exiting 130, a closed stdout ending quietly, no Swift type
/// names in messages, and `--log-level` alone reaching the plugin's debug lines.
@Suite("plugin-host outcomes: error codes, interruptions, closed output", .temporaryFolder)
struct HostOutcomeTests {
    private let catalog = #"{"streams":[{"namespace":"public","name":"host_outcome","columns":[{"name":"id","type":"int64"}],"primary_key":["id"]}]}"#

    private func sequenceConfig(rows: Int) throws -> String {
        try HostFixtures.temporaryFile(#"{"rows": \#(rows), "batch_size": 1000}"#, suffix: ".json")
    }

    /// Runs `read`, `write` and `pipeline` against a server reached with `config`; returns each one's result.
    private func everyCall(_ config: String) async throws -> [(String, CommandResult)] {
        let plugin = Binaries.postgresPlugin.path
        let catalogPath = try HostFixtures.temporaryFile(catalog, suffix: ".json")
        let read = try await HostFixtures.host(["read", "--plugin", plugin, "--config", config])
        let write = try await CommandRun.run(Binaries.pluginHost, ["write", "--plugin", plugin, "--config", config, "--catalog", catalogPath],
                                             stdin: #"{"_stream":"public.host_outcome","id":1}"# + "\n")
        let pipeline = try await HostFixtures.host(["pipeline", "--source", Binaries.sequencePlugin.path, "--source-config", try sequenceConfig(rows: 10),
                                                    "--destination", plugin, "--destination-config", config, "--retries", "0"])
        return [("read", read), ("write", write), ("pipeline", pipeline)]
    }

    @Test("a wrong password is AUTH_FAILED from the source, the destination and a pipeline alike, and the password is printed nowhere")
    func wrongPassword() async throws {
        let password = "wrong-\(UUID().uuidString)"
        let config = try HostFixtures.temporaryFile(HostFixtures.serverConfig(password: "\"\(password)\""))
        for (command, result) in try await everyCall(config) {
            #expect(result.exitCode == 70, "\(command): \(result.stderr)")
            #expect(result.stderr.contains("AUTH_FAILED"), "\(command): \(result.stderr)")
            #expect(!result.stderr.contains(password) && !result.stdout.contains(password), "\(command)")
        }
    }

    @Test("a refused connection is CONN_FAILED from the source, the destination and a pipeline alike")
    func refused() async throws {
        let config = try HostFixtures.temporaryFile(HostFixtures.serverConfig(port: "1"))
        for (command, result) in try await everyCall(config) {
            #expect(result.exitCode == 70, "\(command): \(result.stderr)")
            #expect(result.stderr.contains("CONN_FAILED"), "\(command): \(result.stderr)")
            #expect(!result.stderr.contains("POSTGRES_ERROR"), "\(command): \(result.stderr)")
        }
    }

    @Test("read into a pipe whose reader closes it (read | head -1) ends quietly with exit 0")
    func closedStdout() async throws {
        let process = Process()
        process.executableURL = Binaries.pluginHost
        process.arguments = ["read", "--plugin", Binaries.sequencePlugin.path, "--config", try sequenceConfig(rows: 50_000_000)]
        let output = Pipe()
        let errors = try StderrFile()
        process.standardOutput = output
        process.standardError = errors.handle
        try process.run()
        // The first line arrives, then the reader goes away.
        var first = Data()
        while !first.contains(UInt8(ascii: "\n")), let chunk = try output.fileHandleForReading.read(upToCount: 4096), !chunk.isEmpty {
            first.append(chunk)
        }
        try output.fileHandleForReading.close()
        let exited = await waitForExit(process, seconds: 60)
        #expect(exited, "plugin-host did not end after its stdout closed")
        let stderr = errors.text()
        #expect(String(decoding: first, as: UTF8.self).hasPrefix(#"{"_stream":"example.numbers""#))
        #expect(process.terminationReason == .exit && process.terminationStatus == 0, "\(process.terminationStatus): \(stderr)")
        #expect(!stderr.contains("Domain") && !stderr.contains("plugin-host:"), "\(stderr)")
    }

    @Test("SIGINT during a read exits 130, with no Swift type name in any message")
    func interruptedRead() async throws {
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("host-outcome-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let (process, stderr) = try start(["read", "--plugin", Binaries.sequencePlugin.path, "--config", try sequenceConfig(rows: 50_000_000),
                                           "--output", outputPath])
        // Interrupt once rows are flowing.
        for _ in 0..<600 {
            let size = (try? FileManager.default.attributesOfItem(atPath: outputPath)[.size] as? NSNumber)?.intValue ?? 0
            if size >= 1_000_000 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        kill(process.processIdentifier, SIGINT)
        #expect(await waitForExit(process, seconds: 60), "plugin-host did not end after SIGINT")
        let text = stderr.text()
        #expect(process.terminationReason == .exit && process.terminationStatus == 130, "\(process.terminationStatus): \(text)")
        #expect(!text.contains("Error()") && !text.contains("Domain"), "\(text)")
    }

    @Test("SIGINT during a write whose input stays open exits 130 without waiting for more input, and without a Swift type name")
    func interruptedWrite() async throws {
        let catalogPath = try HostFixtures.temporaryFile(catalog, suffix: ".json")
        let config = try HostFixtures.temporaryFile(HostFixtures.serverConfig(extra: "schema: host_outcome_write"))
        let (process, stderr, input) = try startWithInput(["write", "--plugin", Binaries.postgresPlugin.path, "--config", config,
                                                           "--catalog", catalogPath, "--batch-size", "10", "--state-every", "1"])
        let rows = (1...100).map { #"{"_stream":"public.host_outcome","id":\#($0)}"# }.joined(separator: "\n") + "\n"
        try input.fileHandleForWriting.write(contentsOf: Data(rows.utf8))
        try await Task.sleep(for: .seconds(3))
        kill(process.processIdentifier, SIGINT)
        // The input stays open: the host stops waiting for it once the cancelled Write ended.
        #expect(await waitForExit(process, seconds: 60), "plugin-host did not end after SIGINT")
        try input.fileHandleForWriting.close()
        let text = stderr.text()
        #expect(process.terminationReason == .exit && process.terminationStatus == 130, "\(process.terminationStatus): \(text)")
        #expect(!text.contains("Error()") && !text.contains("Domain"), "\(text)")
        let connection = try await TestDatabase.connect()
        _ = try? await connection.execute("DROP SCHEMA IF EXISTS host_outcome_write CASCADE")
        connection.close()
    }

    @Test("--log-level debug alone shows the plugin's debug lines")
    func debugLines() async throws {
        let config = try HostFixtures.temporaryFile(HostFixtures.serverConfig())
        let quiet = try await HostFixtures.host(["discover", "--plugin", Binaries.postgresPlugin.path, "--config", config])
        let debug = try await HostFixtures.host(["discover", "--plugin", Binaries.postgresPlugin.path, "--config", config, "--log-level", "debug"])
        #expect(quiet.exitCode == 0 && debug.exitCode == 0, "\(debug.stderr)")
        #expect(!quiet.stderr.contains("[debug]"), "\(quiet.stderr)")
        #expect(debug.stderr.contains("[debug] postgres-plugin: Discover: connecting to"), "\(debug.stderr)")
    }

    @Test("the top-level help lists exit code 130")
    func helpListsInterrupted() async throws {
        let help = try await HostFixtures.host(["--help"])
        #expect(help.stdout.contains("130 interrupted"), "\(help.stdout)")
    }

    // MARK: - Processes

    /// A temporary file that takes a process's stderr (a pipe read by a blocked task would
    /// hold one of the few threads every test shares).
    private struct StderrFile {
        let path: String
        let handle: FileHandle

        init() throws {
            path = try TemporaryFolder.url("host-outcome-\(UUID().uuidString).err").path
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        }

        func text() -> String {
            defer { try? FileManager.default.removeItem(atPath: path) }
            return (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        }
    }

    private func start(_ arguments: [String]) throws -> (Process, StderrFile) {
        let process = Process()
        process.executableURL = Binaries.pluginHost
        process.arguments = arguments
        let errors = try StderrFile()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors.handle
        try process.run()
        return (process, errors)
    }

    private func startWithInput(_ arguments: [String]) throws -> (Process, StderrFile, Pipe) {
        let process = Process()
        process.executableURL = Binaries.pluginHost
        process.arguments = arguments
        let errors = try StderrFile(), input = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors.handle
        try process.run()
        return (process, errors, input)
    }

    /// Whether `process` exited within `seconds`; kills it otherwise.
    private func waitForExit(_ process: Process, seconds: Double) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning, Date() < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        guard !process.isRunning else {
            process.terminate()
            return false
        }
        process.waitUntilExit()
        return true
    }
}
