import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `scripts/embedding-server.py` (an OpenAI-compatible embeddings endpoint) started on a free
/// port for one test, and stopped with ``stop()``.
final class EmbeddingServer {
    let process: Process
    /// `http://127.0.0.1:PORT/v1`.
    let baseURL: String

    private init(process: Process, baseURL: String) {
        self.process = process
        self.baseURL = baseURL
    }

    /// Starts the server (`apiKey` required by it, `failFirst` requests answered with HTTP 503)
    /// and waits for its port, with `Task.sleep`: never blocking a thread the tests share.
    static func start(apiKey: String, failFirst: Int = 0) async throws -> EmbeddingServer {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("scripts/embedding-server.py")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, "--port", "0", "--api-key", apiKey, "--fail-first", String(failFirst)]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let port = try await ServerPort.read("embedding-server", process: process, output: output)
        return EmbeddingServer(process: process, baseURL: "http://127.0.0.1:\(port)/v1")
    }

    /// The server's counters: `requests`, `inputs`, `failed`.
    func stats() async throws -> [String: Int] {
        let (data, _) = try await URLSession.shared.data(from: URL(string: baseURL.replacingOccurrences(of: "/v1", with: "/stats"))!)
        return (try JSONSerialization.jsonObject(with: data) as? [String: Int]) ?? [:]
    }

    /// The vector of `text`, as pgvector's text form.
    func vector(_ text: String, apiKey: String, dimensions: Int) async throws -> String {
        var request = URLRequest(url: URL(string: baseURL + "/embeddings")!)
        request.httpMethod = "POST"
        request.setValue("Bearer \(apiKey)", forHTTPHeaderField: "Authorization")
        request.httpBody = try JSONSerialization.data(withJSONObject: ["model": "test", "input": [text], "dimensions": dimensions])
        let (data, _) = try await URLSession.shared.data(for: request)
        let root = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        let item = (root?["data"] as? [[String: Any]])?.first
        let numbers = (item?["embedding"] as? [Any])?.compactMap { ($0 as? NSNumber)?.doubleValue } ?? []
        return "[" + numbers.map { "\($0)" }.joined(separator: ",") + "]"
    }

    /// Stops the server without waiting for it (waiting would block a thread of the
    /// concurrency pool, which the tests need). SIGKILL: children of the test process inherit
    /// SIGTERM blocked.
    func stop() {
        kill(process.processIdentifier, SIGKILL)
    }
}
