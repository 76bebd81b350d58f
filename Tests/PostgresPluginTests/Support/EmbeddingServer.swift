import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `scripts/embedding-server.py` (an OpenAI-compatible embeddings endpoint) started on a free
/// port for one test, and stopped with ``stop()``.
final class EmbeddingServer {
    let process = Process()
    /// `http://127.0.0.1:PORT/v1`.
    let baseURL: String

    /// Starts the server; `apiKey` is required by it, `failFirst` requests get HTTP 503.
    init(apiKey: String, failFirst: Int = 0) throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("scripts/embedding-server.py")
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, "--port", "0", "--api-key", apiKey, "--fail-first", String(failFirst)]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        // read(2), not FileHandle: Foundation's reads on Linux may wait for more than one line.
        var line = Data()
        var buffer = [UInt8](repeating: 0, count: 256)
        while !line.contains(UInt8(ascii: "\n")) {
            let count = read(output.fileHandleForReading.fileDescriptor, &buffer, buffer.count)
            guard count > 0 else { break }
            line.append(contentsOf: buffer[0..<count])
        }
        let text = String(decoding: line, as: UTF8.self)
        guard let port = text.split(separator: " ").last.flatMap({ Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) else {
            process.terminate()
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "embedding-server did not print its port: \(text)"])
        }
        baseURL = "http://127.0.0.1:\(port)/v1"
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
