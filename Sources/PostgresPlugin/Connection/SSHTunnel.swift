import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import SluiceSDK
import SluiceSystemC
import SluiceWire

/// An SSH tunnel to the database through a bastion for the length of one call: OpenSSH's
/// `ssh -N -L` forwarding a local port on 127.0.0.1 to the database host and port, which
/// connections then use as `hostaddr` and `port` while `host` stays the database's name, so
/// TLS works end to end and `verify-full` checks the right name
/// (``ConnectionSettings/tunnelPort``). Ready when ssh runs its `LocalCommand`, which OpenSSH
/// does after setting up the forwarding; a port someone else holds is retried with another.
///
/// `ssh` runs under a small `sh` guard whose standard input is a pipe only this process holds:
/// when the plugin closes it, or dies in any way (even SIGKILL), the guard reads end of input
/// and stops `ssh`, so no tunnel outlives its plugin. A key given in the configuration never
/// touches a disk: it lives in an anonymous memory file (`memfd_create`, mode 0600) that ssh
/// opens as `/proc/<plugin pid>/fd/<n>`, and that vanishes with the plugin however it ends,
/// SIGKILL included. Nothing ssh prints can contain it.
final class SSHTunnel: @unchecked Sendable {
    // @unchecked: the stored properties change only in `init`; `close()` may run twice harmlessly.
    /// Local ports tried before giving up when ports are taken.
    static let portAttempts = 5

    /// The private directory holding the key, known_hosts, ssh's log and its ready mark.
    let directory: URL
    /// The port on 127.0.0.1 forwarded to the database.
    private(set) var localPort = 0
    private var process: ChildProcess?
    private var guardInput = Pipe()
    /// The memory file holding the configured key, closed by ``close()`` (or with the process).
    private var keyFile: FileHandle?

    /// The guard: a background reader of the pipe, then `exec ssh` in the same process (so the
    /// ChildProcess watches ssh itself). When the pipe ends the reader SIGKILLs ssh, checking
    /// first that the pid is still ssh's.
    /// `SHELL` is set because ssh runs `LocalCommand` (the ready mark) with it, and the plugin's
    /// user may have none, or nologin.
    private static let guardScript = """
        exec 3<&0
        log="$1"; shift
        ( read -r _ <&3; [ "$(cat /proc/$$/comm 2>/dev/null)" = ssh ] && kill -9 $$ ) </dev/null >/dev/null 2>&1 &
        export SHELL=/bin/sh
        exec ssh "$@" </dev/null 2>"$log" 3<&-
        """

    /// Runs `body` with `config` reaching the server through its `ssh_tunnel`, if it has one.
    static func around<T>(_ config: PluginConfig, logger: Logger, _ body: (PluginConfig) async throws -> T) async throws -> T {
        guard let settings = config.connection.sshTunnel else { return try await body(config) }
        let tunnel = try await SSHTunnel(settings, to: config.connection.host ?? "", port: config.connection.port ?? 5432, logger: logger)
        defer { tunnel.close() }
        var tunneled = config
        tunneled.connection.tunnelPort = tunnel.localPort
        return try await body(tunneled)
    }

    /// Starts the tunnel and waits until it forwards.
    init(_ settings: SSHTunnelSettings, to host: String, port: Int, logger: Logger) async throws {
        let files = FileManager.default
        directory = files.temporaryDirectory.appendingPathComponent("sluice-ssh-\(UUID().uuidString.prefix(12))")
        try files.createDirectory(at: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        let knownHosts = directory.appendingPathComponent("known_hosts").path
        var keyPath = settings.privateKeyFile ?? ""
        if let key = settings.privateKey {
            do {
                let (handle, path) = try Self.memoryFile(key.hasSuffix("\n") ? key : key + "\n")
                keyFile = handle
                keyPath = path
            } catch {
                try? files.removeItem(at: directory)
                throw Self.failure("SSH_TUNNEL_FAILED", "could not hold the SSH key in a memory file: \(error)")
            }
        }
        let hostEntry = settings.port == 22 ? settings.host : "[\(settings.host)]:\(settings.port)"
        if let hostKey = settings.hostKey {
            _ = files.createFile(atPath: knownHosts, contents: Data("\(hostEntry) \(hostKey)\n".utf8))
        } else {
            logger.warning("ssh_tunnel: no host_key given, so the bastion's host key is accepted unverified; set ssh_tunnel.host_key")
        }
        let bastion = "\(settings.user)@\(settings.host):\(settings.port)"
        for attempt in 1...Self.portAttempts {
            let local = Int.random(in: 20_000...60_999)
            let ready = directory.appendingPathComponent("ready-\(local)").path
            let log = directory.appendingPathComponent("ssh-\(local).log").path
            let arguments = [
                "-N", "-F", "none",
                "-o", "BatchMode=yes", "-o", "ExitOnForwardFailure=yes", "-o", "IdentitiesOnly=yes",
                "-o", "IdentityFile=\"\(keyPath)\"", "-o", "UserKnownHostsFile=\"\(knownHosts)\"", "-o", "GlobalKnownHostsFile=/dev/null",
                "-o", "StrictHostKeyChecking=\(settings.hostKey == nil ? "no" : "yes")",
                "-o", "ConnectTimeout=\(settings.connectTimeout)", "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=3",
                "-o", "PermitLocalCommand=yes", "-o", "LocalCommand=touch \(Self.shellQuoted(ready))", "-o", "LogLevel=ERROR",
                "-p", String(settings.port), "-l", settings.user,
                "-L", "127.0.0.1:\(local):\(host):\(port)", "--", settings.host,
            ]
            do {
                try launch(arguments, log: log)
            } catch {
                close()
                throw Self.failure("SSH_TUNNEL_FAILED", "could not start ssh (is OpenSSH's client installed?): \(error.localizedDescription)")
            }
            let deadline = ContinuousClock.now + .seconds(settings.connectTimeout + 5)
            var exited = false
            while !files.fileExists(atPath: ready) {
                exited = hasExited()
                if exited || ContinuousClock.now > deadline { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            if files.fileExists(atPath: ready), !hasExited() {
                localPort = local
                logger.debug("ssh_tunnel: 127.0.0.1:\(local) forwards to \(host):\(port) through \(settings.host):\(settings.port)")
                return
            }
            let printed = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            try? guardInput.fileHandleForWriting.close()
            let portTaken = printed.contains("Address already in use") || printed.contains("cannot listen")
            if exited, portTaken, attempt < Self.portAttempts { continue }
            close()
            throw Self.classify(printed, bastion: bastion, timedOut: !exited)
        }
        close()
        throw Self.failure("SSH_TUNNEL_FAILED", "the SSH tunnel through \(bastion) failed: no free local port", retryable: true)
    }

    /// A memory-only file (mode 0600) holding `text`, and the path by which another process of
    /// this user opens it.
    private static func memoryFile(_ text: String) throws -> (FileHandle, String) {
        let descriptor = sluice_memfd("sluice-ssh-key")
        guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        guard fchmod(descriptor, 0o600) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        try handle.write(contentsOf: Data(text.utf8))
        return (handle, "/proc/\(getpid())/fd/\(descriptor)")
    }

    /// `text` as one single-quoted shell word.
    private static func shellQuoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// Starts ssh with `arguments` under the guard, its messages going to `log`.
    private func launch(_ arguments: [String], log: String) throws {
        guardInput = Pipe()
        guard let null = FileHandle(forWritingAtPath: "/dev/null") else { throw POSIXError(.ENOENT) }
        defer { try? null.close() }
        // The child gets only its three descriptors, so only this process holds the write end
        // and the guard sees it close.
        process = try ChildProcess(executable: "/bin/sh", arguments: ["-c", Self.guardScript, "sluice-ssh-tunnel", log] + arguments,
                                   stdin: guardInput.fileHandleForReading.fileDescriptor,
                                   stdout: null.fileDescriptor, stderr: null.fileDescriptor)
        try? guardInput.fileHandleForReading.close()
    }

    /// Whether ssh has exited.
    private func hasExited() -> Bool {
        process?.exitStatus != nil
    }

    /// Stops ssh (the guard sees its input end), drops the key's memory file and deletes
    /// known_hosts and the logs.
    func close() {
        try? guardInput.fileHandleForWriting.close()
        try? keyFile?.close()
        try? FileManager.default.removeItem(at: directory)
    }

    /// The error for what ssh printed when the tunnel did not come up.
    private static func classify(_ printed: String, bastion: String, timedOut: Bool) -> PluginError {
        let lines = printed.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let said = lines.suffix(3).joined(separator: "; ")
        let code: String
        if printed.contains("Permission denied") {
            code = "SSH_AUTH_FAILED"
        } else if printed.contains("Host key verification failed") || printed.contains("IDENTIFICATION HAS CHANGED") {
            code = "SSH_HOST_KEY_MISMATCH"
        } else if printed.contains("Could not resolve hostname") {
            code = "SSH_DNS_FAILED"
        } else {
            code = "SSH_TUNNEL_FAILED"
        }
        let why = timedOut ? "no tunnel within the connect timeout" : said.isEmpty ? "ssh exited" : said
        return failure(code, "the SSH tunnel through \(bastion) failed: \(why)", retryable: code == "SSH_TUNNEL_FAILED")
    }

    private static func failure(_ code: String, _ message: String, retryable: Bool = false) -> PluginError {
        PluginError(category: retryable ? .transient : .config, code: code, message: message, retryable: retryable)
    }
}
