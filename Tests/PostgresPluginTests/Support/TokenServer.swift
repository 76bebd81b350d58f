import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `scripts/token-server.py` (a local OAuth token endpoint that verifies service account JWTs
/// and Entra client credentials) on a free port for one test, stopped with ``stop()``. It
/// makes its own service account key, written to ``keyFile`` in the test's ``TemporaryFolder``.
final class TokenServer {
    let process: Process
    let port: Int
    /// The service account key file (mode 0600) whose public half the server verifies with.
    let keyFile: URL
    /// The token every granted request gets.
    let token: String
    /// The service account's email.
    let email: String

    private init(process: Process, port: Int, keyFile: URL, token: String, email: String) {
        self.process = process
        self.port = port
        self.keyFile = keyFile
        self.token = token
        self.email = email
    }

    /// The account's Cloud SQL IAM database user: its email without `.gserviceaccount.com`.
    var databaseUser: String { email.replacingOccurrences(of: ".gserviceaccount.com", with: "") }

    /// The key file's JSON text.
    var keyJSON: String { (try? String(contentsOf: keyFile, encoding: .utf8)) ?? "" }

    /// The key file's JSON object.
    var key: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(keyJSON.utf8)) as? [String: Any]) ?? [:] }

    /// `http://127.0.0.1:PORT`.
    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Starts the server with `arguments` (see the script) for a service account of its own
    /// (tests running at once must not share its database role), and waits for its port, with
    /// `Task.sleep`: never blocking a thread the tests share.
    static func start(token: String = "tok-\(UUID().uuidString.lowercased())", _ arguments: [String] = []) async throws -> TokenServer {
        let email = "sluice-\(UUID().uuidString.prefix(8).lowercased())@sluice-tests.iam.gserviceaccount.com"
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let keyFile = try TemporaryFolder.url("sluice-sa-\(UUID().uuidString).json")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", root.appendingPathComponent("scripts/token-server.py").path,
                             "--port", "0", "--key-file", keyFile.path, "--token", token, "--email", email] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let port = try await ServerPort.read("token-server", process: process, output: output)
        return TokenServer(process: process, port: port, keyFile: keyFile, token: token, email: email)
    }

    /// The server's counters: `requests`, `issued`.
    func stats() async throws -> [String: Int] {
        let (data, _) = try await URLSession.shared.data(from: URL(string: baseURL + "/stats")!)
        return (try JSONSerialization.jsonObject(with: data) as? [String: Int]) ?? [:]
    }

    /// Stops the server (SIGKILL, without waiting: see ``EmbeddingServer/stop()``) and removes
    /// the key file.
    func stop() {
        kill(process.processIdentifier, SIGKILL)
        try? FileManager.default.removeItem(at: keyFile)
    }
}
