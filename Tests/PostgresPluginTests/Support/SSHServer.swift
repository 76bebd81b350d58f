import Foundation

/// A private OpenSSH server (`/usr/sbin/sshd`, as root) on 127.0.0.1 for one test: its own host
/// key, one authorized client key, port forwarding allowed; its log is kept. Its files are in
/// the test's ``TemporaryFolder``.
final class SSHServer: Sendable {
    let directory: URL
    let port: Int
    /// The client key the server accepts (OpenSSH private key text).
    let clientKey: String
    /// The server's public host key, as known_hosts holds it (`ssh-ed25519 AAAA…`).
    let hostKey: String

    private init(directory: URL, port: Int, clientKey: String, hostKey: String) {
        self.directory = directory
        self.port = port
        self.clientKey = clientKey
        self.hostKey = hostKey
    }

    /// Starts a server; waits with `Task.sleep`, never blocking a thread the tests share.
    static func start() async throws -> SSHServer {
        let files = FileManager.default
        let directory = try TemporaryFolder.url("sluice-sshd-\(UUID().uuidString.prefix(8))")
        try files.createDirectory(at: directory, withIntermediateDirectories: true)
        try files.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        for name in ["host_key", "client_key"] {
            _ = try await CommandRun.run(URL(fileURLWithPath: "/usr/bin/ssh-keygen"), ["-q", "-t", "ed25519", "-N", "", "-C", "sluice-test", "-f", directory.appendingPathComponent(name).path])
        }
        let clientKey = try String(contentsOf: directory.appendingPathComponent("client_key"), encoding: .utf8)
        let hostPublic = try String(contentsOf: directory.appendingPathComponent("host_key.pub"), encoding: .utf8)
        let hostKey = hostPublic.split(separator: " ").prefix(2).joined(separator: " ")
        try files.copyItem(at: directory.appendingPathComponent("client_key.pub"), to: directory.appendingPathComponent("authorized_keys"))
        let port = Int.random(in: 20_000...29_999)
        let config = """
            Port \(port)
            ListenAddress 127.0.0.1
            HostKey "\(directory.appendingPathComponent("host_key").path)"
            AuthorizedKeysFile "\(directory.appendingPathComponent("authorized_keys").path)"
            PidFile "\(directory.appendingPathComponent("sshd.pid").path)"
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            UsePAM no
            StrictModes no
            PermitRootLogin prohibit-password
            AllowTcpForwarding yes
            AllowStreamLocalForwarding yes
            LogLevel VERBOSE
            """
        let configPath = directory.appendingPathComponent("sshd_config").path
        try Data(config.utf8).write(to: URL(fileURLWithPath: configPath))
        let server = SSHServer(directory: directory, port: port, clientKey: clientKey, hostKey: hostKey)
        // sshd daemonizes and logs to a file: the test holds no long-running child or pipe.
        _ = try await CommandRun.run(URL(fileURLWithPath: "/usr/sbin/sshd"), ["-f", configPath, "-E", server.logPath])
        let deadline = Date().addingTimeInterval(30)
        while !server.log.contains("Server listening") {
            guard Date() < deadline else { throw CocoaError(.featureUnsupported, userInfo: [NSLocalizedDescriptionKey: "sshd did not start: \(server.log)"]) }
            try await Task.sleep(for: .milliseconds(20))
        }
        return server
    }

    private var logPath: String { directory.appendingPathComponent("sshd.log").path }

    /// What sshd logged so far.
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// The user the tests log in as (sshd runs as root, so root).
    var user: String { "root" }

    func stop() {
        if let text = try? String(contentsOf: directory.appendingPathComponent("sshd.pid"), encoding: .utf8),
           let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
            kill(pid, SIGKILL)
        }
        try? FileManager.default.removeItem(at: directory)
    }
}
