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
        // read(2) without blocking, not FileHandle: Foundation's reads on Linux may wait for
        // more than one line.
        let descriptor = output.fileHandleForReading.fileDescriptor
        _ = fcntl(descriptor, F_SETFL, O_NONBLOCK)
        var line = Data()
        var buffer = [UInt8](repeating: 0, count: 256)
        let deadline = Date().addingTimeInterval(30)
        while !line.contains(UInt8(ascii: "\n")), Date() < deadline {
            let count = read(descriptor, &buffer, buffer.count)
            if count > 0 {
                line.append(contentsOf: buffer[0..<count])
            } else if count == 0 {
                break
            } else {
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        let text = String(decoding: line, as: UTF8.self)
        guard let port = text.split(separator: " ").last.flatMap({ Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) else {
            kill(process.processIdentifier, SIGKILL)
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "embedding-server did not print its port: \(text)"])
        }
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
