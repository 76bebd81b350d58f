import Foundation
import PostgresClient
import SluiceSDK
import SluiceWire
import Testing

/// TLS and authentication against PostgreSQL 15 (`scripts/pg15-server.sh`), through the real
/// postgres-plugin binary: every sslmode with the right CA, a wrong CA, a host-name mismatch,
/// SCRAM and md5 passwords, a TLS-only role, a client certificate, and a small Write and Read
/// over verified TLS. No password appears in any answer.
@Suite("TLS and authentication on PostgreSQL 15", .enabled(if: PG15Server.isConfigured, PG15Server.skipReason), .temporaryFolder)
struct TLSTests {
    private func check(_ config: [String: Any], role: Role = .source) async throws -> CheckResponse {
        let client = try await PluginClient.launch(executable: Binaries.postgresPlugin, hello: Hello(hostName: "tls-tests", hostVersion: "1"))
        defer { Task { await client.close() } }
        return try await client.check(CheckRequest(configJSON: PG15Server.json(config), role: role))
    }

    private func result(_ response: CheckResponse, _ name: String) -> CheckResult? {
        response.checks.first { $0.name == name }
    }

    /// Reached, authenticated, and the server is PostgreSQL 15.
    private func expectConnected(_ response: CheckResponse, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result(response, "reachable")?.passed == true, "\(response.checks)", sourceLocation: sourceLocation)
        #expect(result(response, "authenticated")?.passed == true, "\(response.checks)", sourceLocation: sourceLocation)
        #expect(result(response, "server_version")?.message.hasPrefix("PostgreSQL 15.") == true, "\(response.checks)", sourceLocation: sourceLocation)
    }

    /// No password of any role appears in `response`.
    private func expectNoSecret(_ response: CheckResponse, sourceLocation: SourceLocation = #_sourceLocation) {
        let text = "\(response)"
        for user in PG15Server.User.allCases {
            if let password = user.password { #expect(!text.contains(password), "the password of \(user.rawValue) leaked", sourceLocation: sourceLocation) }
        }
    }

    @Test("every sslmode connects with the right CA (verify-full by the certificate's host name)",
          arguments: ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"])
    func sslmodes(sslmode: String) async throws {
        let response = try await check(PG15Server.pluginConfig(.scram, [
            "host": "localhost", "sslmode": sslmode, "sslrootcert": PG15Server.tlsFile("ca.crt"),
        ]))
        expectConnected(response)
    }

    @Test("verify-full accepts the IP address in the certificate's subjectAltName")
    func verifyFullByAddress() async throws {
        let response = try await check(PG15Server.pluginConfig(.scram, ["host": "127.0.0.1", "sslmode": "verify-full", "sslrootcert": PG15Server.tlsFile("ca.crt")]))
        expectConnected(response)
    }

    @Test("a role allowed over TLS only is refused with sslmode=disable and connects with require")
    func tlsOnlyRole() async throws {
        let refused = try await check(PG15Server.pluginConfig(.tlsOnly, ["sslmode": "disable"]))
        #expect(result(refused, "authenticated")?.passed == false, "\(refused.checks)")
        expectNoSecret(refused)
        expectConnected(try await check(PG15Server.pluginConfig(.tlsOnly, ["sslmode": "require"])))
    }

    @Test("a wrong CA fails the TLS handshake with TLS_FAILED", arguments: ["verify-ca", "verify-full"])
    func wrongCA(sslmode: String) async throws {
        let response = try await check(PG15Server.pluginConfig(.scram, [
            "host": "localhost", "sslmode": sslmode, "sslrootcert": PG15Server.tlsFile("wrong-ca.crt"),
        ]))
        #expect(!response.passed)
        #expect(result(response, "reachable")?.code == "TLS_FAILED", "\(response.checks)")
        #expect(result(response, "authenticated")?.code == "SKIPPED", "\(response.checks)")
        expectNoSecret(response)
    }

    @Test("a missing CA file under verify-full fails with TLS_FAILED")
    func missingCA() async throws {
        let response = try await check(PG15Server.pluginConfig(.scram, [
            "host": "localhost", "sslmode": "verify-full", "sslrootcert": "/nonexistent/sluice-ca.crt",
        ]))
        #expect(result(response, "reachable")?.code == "TLS_FAILED", "\(response.checks)")
        expectNoSecret(response)
    }

    @Test("a host name the certificate does not name fails verify-full with TLS_FAILED; verify-ca does not check it")
    func hostNameMismatch() async throws {
        // libpq connects to hostaddr and verifies the certificate against host.
        func config(_ sslmode: String) -> [String: Any] {
            var object = PG15Server.pluginConfig(.scram, ["sslmode": sslmode, "sslrootcert": PG15Server.tlsFile("ca.crt")])
            object.removeValue(forKey: "host")
            object["connection_string"] = "host=sluice-mismatch.invalid hostaddr=127.0.0.1"
            return object
        }
        let mismatch = try await check(config("verify-full"))
        #expect(!mismatch.passed)
        #expect(result(mismatch, "reachable")?.code == "TLS_FAILED", "\(mismatch.checks)")
        #expect(result(mismatch, "reachable")?.message.contains("sluice-mismatch.invalid") == true, "\(mismatch.checks)")
        expectNoSecret(mismatch)
        expectConnected(try await check(config("verify-ca")))
    }

    @Test("SCRAM and md5 passwords both connect; a wrong one fails with AUTH_FAILED and appears nowhere",
          arguments: [PG15Server.User.scram, .md5])
    func passwords(user: PG15Server.User) async throws {
        expectConnected(try await check(PG15Server.pluginConfig(user, ["sslmode": "require"])))
        expectConnected(try await check(PG15Server.pluginConfig(user, ["sslmode": "disable"])))
        let wrong = "wrong-\(UUID().uuidString)"
        let response = try await check(PG15Server.pluginConfig(user, ["sslmode": "require", "password": wrong]))
        #expect(result(response, "authenticated")?.code == "AUTH_FAILED", "\(response.checks)")
        #expect(!"\(response)".contains(wrong))
        expectNoSecret(response)
    }

    @Test("the md5 role really has an md5 password and the SCRAM role a SCRAM one")
    func passwordKinds() async throws {
        let connection = try await PG15Server.connect()
        defer { connection.close() }
        let rows = try await connection.execute(
            "SELECT rolname, left(rolpassword, 3) FROM pg_authid WHERE rolname IN ('sluice_md5', 'sluice_scram') ORDER BY rolname").rows
        #expect(rows == [["sluice_md5", "md5"], ["sluice_scram", "SCR"]].map { $0.map(Optional.some) })
    }

    @Test("a client certificate authenticates the cert role; without one it is refused")
    func clientCertificate() async throws {
        let withCertificate = try await check(PG15Server.pluginConfig(.certificate, [
            "host": "localhost", "sslmode": "verify-full", "sslrootcert": PG15Server.tlsFile("ca.crt"),
            "sslcert": PG15Server.tlsFile("client.crt"), "sslkey": PG15Server.tlsFile("client.key"),
        ]))
        expectConnected(withCertificate)
        let without = try await check(PG15Server.pluginConfig(.certificate, [
            "host": "localhost", "sslmode": "verify-full", "sslrootcert": PG15Server.tlsFile("ca.crt"),
            "sslcert": "/nonexistent/client.crt", "sslkey": "/nonexistent/client.key",
        ]))
        #expect(!without.passed)
        #expect(result(without, "authenticated")?.passed == false, "\(without.checks)")
    }

    @Test("an empty TLS file setting is a config error naming the key")
    func emptyTLSFile() async throws {
        let response = try await check(PG15Server.pluginConfig(.scram, ["sslrootcert": ""]))
        #expect(result(response, "config")?.passed == false)
        #expect(result(response, "config")?.message.contains("sslrootcert") == true, "\(response.checks)")
    }

    @Test("a COPY TO STDOUT of 40 MB over TLS arrives whole, and the next query answers")
    func largeCopyOutOverTLS() async throws {
        let connection = try await PG15Server.connect()
        defer { connection.close() }
        var bytes = 0, rows = 0
        let copied = try await connection.copyOut("COPY (SELECT g, repeat('x', g % 400) FROM generate_series(1, 200000) g) TO STDOUT") { chunk in
            bytes += chunk.count
            rows += chunk.count { $0 == 0x0A }
        }
        #expect(copied == 200_000)
        #expect(rows == 200_000)
        let expected = try await connection.execute(
            "SELECT sum(length(g::text) + 1 + g % 400 + 1) FROM generate_series(1, 200000) g").rows.first?.first ?? nil
        #expect(expected == String(bytes))
        #expect(try await connection.execute("SELECT 8").rows == [["8"]])
    }

    @Test("plugin-host writes and reads rows as the certificate role over verify-full TLS")
    func writeAndReadOverTLS() async throws {
        let schema = "tls_rw_\(UInt32.random(in: 0...UInt32.max))"
        let config = try HostFixtures.temporaryFile("""
            host: localhost
            port: \(PG15Server.port)
            user: sluice_cert
            database: postgres
            sslmode: verify-full
            sslrootcert: \(PG15Server.tlsFile("ca.crt"))
            sslcert: \(PG15Server.tlsFile("client.crt"))
            sslkey: \(PG15Server.tlsFile("client.key"))
            schema: \(schema)
            schemas: [\(schema)]
            metadata_columns: false
            """)
        let catalog = try HostFixtures.temporaryFile(#"""
            {"streams":[{"namespace":"\#(schema)","name":"items","columns":[{"name":"id","type":"int64","nullable":false},
              {"name":"label","type":"string","nullable":true}],"primary_key":["id"],"write_mode":"upsert"}]}
            """#, suffix: ".json")
        let input = try HostFixtures.temporaryFile(
            #"{"_stream":"\#(schema).items","id":1,"label":"über TLS"}"# + "\n" + #"{"_stream":"\#(schema).items","id":2,"label":null}"# + "\n",
            suffix: ".jsonl")
        let connection = try await PG15Server.connect()
        defer { connection.close() }
        let write = try await HostFixtures.host(["write", "--plugin", Binaries.postgresPlugin.path, "--config", config,
                                                 "--catalog", catalog, "--input", input])
        #expect(write.exitCode == 0, "\(write.stderr)")
        let output = try TemporaryFolder.url("tls-\(UUID().uuidString).jsonl").path
        let read = try await HostFixtures.host(["read", "--plugin", Binaries.postgresPlugin.path, "--config", config, "--output", output])
        #expect(read.exitCode == 0, "\(read.stderr)")
        let lines = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines == [#"{"_stream":"\#(schema).items","id":1,"label":"über TLS"}"#, #"{"_stream":"\#(schema).items","id":2,"label":null}"#])
        let owner = try await connection.execute(
            "SELECT tableowner FROM pg_tables WHERE schemaname = $1 AND tablename = 'items'", [.text(schema)]).rows
        #expect(owner == [["sluice_cert"]])
        _ = try await connection.execute("DROP SCHEMA \(SQL.quoteIdentifier(schema)) CASCADE")
    }
}
