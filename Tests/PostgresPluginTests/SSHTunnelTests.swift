import Foundation
import PostgresClient
import SluiceSDK
import SluiceWire
import Testing

/// `ssh_tunnel`: Check, Write and Read through a real OpenSSH bastion (a private sshd), clear
/// errors for a wrong key or host key that never show the key, and no tunnel left behind by a
/// plugin killed mid-call.
@Suite(.serialized, .temporaryFolder) struct SSHTunnelTests {
    let items = DestinationHarness.items

    /// The plugins' environment: a user whose shell is nologin, as service accounts often have
    /// (ssh runs its LocalCommand with SHELL; the tunnel must not depend on it).
    static let environment = ProcessInfo.processInfo.environment.merging(["SHELL": "/usr/sbin/nologin"]) { $1 }

    func tunnel(_ server: SSHServer, key: String? = nil, hostKey: String? = nil) -> [String: Any] {
        ["ssh_tunnel": ["host": "127.0.0.1", "port": server.port, "user": server.user,
                        "private_key": key ?? server.clientKey, "host_key": hostKey ?? server.hostKey] as [String: Any]]
    }

    /// The ssh processes of tunnels still running.
    func tunnels() async throws -> Int {
        try await CommandRun.run(URL(fileURLWithPath: "/usr/bin/pgrep"), ["-f", "sluice-ssh-[0-9A-F]"]).stdout.split(separator: "\n").count
    }

    /// Files in the plugins' temporary folders (`sluice-ssh-*`) that hold `server`'s client key
    /// (a key made for this server alone, so other runs' files never match).
    func keyCopies(_ server: SSHServer) -> [String] {
        let files = FileManager.default
        // The third line: the second is the same in every unencrypted ed25519 key.
        let keyLine = String(server.clientKey.split(separator: "\n")[2])
        let temporary = files.temporaryDirectory
        let folders = ((try? files.contentsOfDirectory(atPath: temporary.path)) ?? []).filter { $0.hasPrefix("sluice-ssh-") }
        return folders.flatMap { folder -> [String] in
            let path = temporary.appendingPathComponent(folder).path
            return ((try? files.contentsOfDirectory(atPath: path)) ?? []).map { "\(path)/\($0)" }
        }.filter { (try? String(contentsOfFile: $0, encoding: .utf8))?.contains(keyLine) == true }
    }

    /// The plugins' temporary folders (`sluice-ssh-*`) whose known_hosts holds `server`'s host key.
    func tunnelFolders(_ server: SSHServer) -> [URL] {
        let temporary = FileManager.default.temporaryDirectory
        let folders = ((try? FileManager.default.contentsOfDirectory(atPath: temporary.path)) ?? []).filter { $0.hasPrefix("sluice-ssh-") }
        return folders.map { temporary.appendingPathComponent($0) }.filter {
            (try? String(contentsOf: $0.appendingPathComponent("known_hosts"), encoding: .utf8))?.contains(server.hostKey) == true
        }
    }

    @Test func checkWriteAndReadGoThroughTheBastion() async throws {
        let server = try await SSHServer.start()
        defer { server.stop() }
        try await DestinationHarness.withSchema { schema, connection in
            let config = DestinationHarness.config(schema: schema, tunnel(server))
            let client = try await DestinationHarness.launch(environment: Self.environment)
            let check = try await client.check(CheckRequest(configJSON: config))
            await client.close()
            #expect(check.passed, "\(check.checks.map { "\($0.name): \($0.message)" })")
            #expect(server.log.contains("Accepted publickey for root"), "\(server.log)")

            let rows = (1...2000).map { [Value.int64(Int64($0)), .string("n\($0)")] }
            let outcome = try await DestinationHarness.write(config, streams: [ConfiguredStream(schema: items, writeMode: .upsert)],
                                                             [.schema(items), try DestinationHarness.batch(items, rows)],
                                                             environment: Self.environment)
            #expect(outcome.stream("items")?.inserted == 2000)
            #expect(try await DestinationHarness.rows(connection, "SELECT count(*) FROM \(schema).items") == [["2000"]])

            let reader = try await DestinationHarness.launch(environment: Self.environment)
            let catalog = try await reader.discover(DiscoverRequest(configJSON: SourceHarness.config(["schemas": [schema]].merging(tunnel(server)) { $1 })))
            await reader.close()
            #expect(catalog.streams.map(\.schema.stream.name) == ["items"])
            #expect(try await tunnels() == 0, "a tunnel outlived its call")
        }
    }

    @Test func wrongKeyOrHostKeyFailsClearlyWithoutShowingTheKey() async throws {
        let server = try await SSHServer.start()
        defer { server.stop() }
        let otherServer = try await SSHServer.start()
        defer { otherServer.stop() }
        let cases = [("SSH_AUTH_FAILED", tunnel(server, key: otherServer.clientKey)),
                     ("SSH_HOST_KEY_MISMATCH", tunnel(server, hostKey: otherServer.hostKey))]
        for (code, settings) in cases {
            let client = try await DestinationHarness.launch(environment: Self.environment)
            let check = try await client.check(CheckRequest(configJSON: SourceHarness.config(settings)))
            await client.close()
            let reachable = try #require(check.checks.first { $0.name == "reachable" })
            #expect(!reachable.passed)
            #expect(reachable.code == code, "\(reachable.message)")
            #expect(reachable.message.contains("127.0.0.1:\(server.port)"), "\(reachable.message)")
            let keyLine = otherServer.clientKey.split(separator: "\n")[1]
            #expect(!check.checks.contains { $0.message.contains(keyLine) })
            #expect(client.process.stderr.contains(keyLine) == false)
        }
        #expect(try await tunnels() == 0)
    }

    @Test func aKilledPluginLeavesNoTunnel() async throws {
        let server = try await SSHServer.start()
        defer { server.stop() }
        try await DestinationHarness.withSchema { schema, _ in
            let client = try await DestinationHarness.launch(environment: Self.environment)
            try await client.startWrite(WriteRequest(configJSON: DestinationHarness.config(schema: schema, tunnel(server)),
                                                     catalog: ConfiguredCatalog(streams: [ConfiguredStream(schema: items)])))
            try await client.send(.schema(items))
            var running = 0
            for _ in 0..<1500 where running == 0 {
                try await Task.sleep(for: .milliseconds(20))
                running = try await tunnels()
            }
            #expect(running > 0, "the tunnel never started")
            #expect(keyCopies(server) == [], "the key is on disk while the tunnel runs")
            client.process.send(signal: SIGKILL)
            await client.close()
            // The killed plugin could not remove its folder (known_hosts and ssh's log): the test does, once done.
            defer { for folder in tunnelFolders(server) { try? FileManager.default.removeItem(at: folder) } }
            var left = running
            for _ in 0..<1500 where left > 0 {
                try await Task.sleep(for: .milliseconds(20))
                left = try await tunnels()
            }
            #expect(left == 0, "ssh outlived the killed plugin")
            #expect(keyCopies(server) == [], "the key outlived the killed plugin")
        }
    }

    @Test func aTunnelNeedsTheDatabaseHost() async throws {
        let client = try await DestinationHarness.launch(environment: Self.environment)
        let check = try await client.check(CheckRequest(configJSON: #"{"database": "postgres", "ssh_tunnel": {"host": "bastion", "user": "u", "private_key_file": "/k"}}"#))
        await client.close()
        let config = try #require(check.checks.first { $0.name == "config" })
        #expect(!config.passed)
        #expect(config.message.contains("$.host"), "\(config.message)")
    }
}
