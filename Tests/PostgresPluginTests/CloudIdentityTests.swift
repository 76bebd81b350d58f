import Foundation
import PostgresClient
import SluiceTestSupport
import SluiceSDK
import SluiceWire
import Testing
@testable import PostgresPlugin

/// `auth` with cloud identities, end to end: the real plugin gets a token from a local token
/// endpoint (`scripts/token-server.py`, which verifies the service account JWT with the key's
/// public half, or the Entra client credentials) and logs in to the test server as a role whose
/// password is that token.
@Suite("Cloud identity: service account and Entra ID tokens against a local endpoint", .temporaryFolder)
struct CloudIdentityTests {
    /// Check as a destination (a source's Check would also audit the schemas other tests create
    /// meanwhile).
    private func check(_ configJSON: String) async throws -> CheckResponse {
        let client = try await SourceHarness.launch()
        defer { Task { await client.close() } }
        return try await client.check(CheckRequest(configJSON: configJSON, role: .destination))
    }

    private func result(_ response: CheckResponse, _ name: String) -> CheckResult? {
        response.checks.first { $0.name == name }
    }

    /// The test configuration without user and password, authenticating with `auth`, writing to
    /// a schema that does not exist (Check then audits CREATE on the database, which the test
    /// roles have, and no table another test makes meanwhile).
    private func overrides(_ auth: [String: Any], _ more: [String: Any] = [:]) -> [String: Any] {
        ["user": NSNull(), "password": NSNull(), "auth": auth, "schema": Self.unusedSchema].merging(more) { $1 }
    }

    /// A schema name no test creates.
    static let unusedSchema = "cloud_identity_\(UInt32.random(in: 0...UInt32.max))"

    /// Runs `body` while role `name` exists with `password` and may connect and create schemas.
    private func withRole<T>(_ name: String, password: String, _ body: () async throws -> T) async throws -> T {
        let admin = try await TestDatabase.connect()
        defer { admin.close() }
        let role = SQL.quoteIdentifier(name)
        let database = try await admin.execute("SELECT current_database()").rows.first?.first ?? nil
        let dropRole = "DO $$BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = '\(name)') THEN DROP OWNED BY \(role); DROP ROLE \(role); END IF; END$$"
        try await changeACL(admin, dropRole)
        // The token has only [a-z0-9-]: safe as a literal here.
        _ = try await admin.execute("CREATE ROLE \(role) LOGIN PASSWORD '\(password)'")
        try await changeACL(admin, "GRANT CONNECT, CREATE, TEMPORARY ON DATABASE \(SQL.quoteIdentifier(database ?? "postgres")) TO \(role)")
        do {
            let value = try await body()
            try? await changeACL(admin, dropRole)
            return value
        } catch {
            try? await changeACL(admin, dropRole)
            throw error
        }
    }

    /// A GRANT on the database and DROP OWNED BY both rewrite the database's ACL: of two at once
    /// (this suite's tests run in parallel), PostgreSQL fails one with "tuple concurrently
    /// updated". They take turns through an advisory lock.
    private func changeACL(_ admin: PostgresConnection, _ statement: String) async throws {
        do {
            try await admin.executeScript("BEGIN; SELECT pg_advisory_xact_lock(75310001); \(statement); COMMIT")
        } catch {
            _ = try? await admin.execute("ROLLBACK")
            throw error
        }
    }

    /// Pieces of the private key's PEM body: none may appear in any output.
    private func keyPieces(_ server: TokenServer) -> [String] {
        let pem = server.key["private_key"] as? String ?? ""
        let lines = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.map(String.init)
        return [lines[2], lines[lines.count / 2], lines[lines.count - 2]]
    }

    @Test("a service account key authenticates Check, a Write and a Read as its Cloud SQL IAM user")
    func serviceAccountEndToEnd() async throws {
        let server = try await TokenServer.start()
        defer { server.stop() }
        try await withRole(server.databaseUser, password: server.token) {
            let auth = overrides(["method": "gcp_service_account", "service_account_key": server.keyJSON])
            let response = try await check(SourceHarness.config(auth))
            #expect(response.passed, "\(response.checks)")
            #expect(result(response, "authenticated")?.passed == true)
            #expect(result(response, "reachable")?.message.contains("user=\(server.databaseUser)") == true)

            try await DestinationHarness.withSchema { schema, admin in
                let fromFile = overrides(["method": "gcp_service_account", "service_account_key_file": server.keyFile.path], ["schema": schema])
                let stream = ConfiguredStream(schema: DestinationHarness.items)
                let outcome = try await DestinationHarness.write(SourceHarness.config(fromFile), streams: [stream],
                                                                 [try DestinationHarness.items(1...250)])
                #expect(outcome.stream("items")?.records == 250)
                let owner = try await DestinationHarness.rows(admin, """
                    SELECT tableowner, count(*) FROM pg_tables JOIN \(SQL.quoteIdentifier(schema)).items ON true
                    WHERE schemaname = '\(schema)' AND tablename = 'items' GROUP BY tableowner
                    """)
                #expect(owner == [[server.databaseUser, "250"]])

                let read = try await SourceHarness.read([SourceHarness.stream(schema, "items")], overrides: fromFile)
                #expect(try read.rows("items").count == 250)
            }
            let stats = try await server.stats()
            // One token per call (Check, Write, Read): parallel connections share it.
            #expect(stats["issued"] == 3, "\(stats)")
        }
    }

    @Test("the issue's example: service_account_key: ${GCP_SA_KEY} through plugin-host, nothing secret in any output")
    func serviceAccountThroughHost() async throws {
        let server = try await TokenServer.start()
        defer { server.stop() }
        try await withRole(server.databaseUser, password: server.token) {
            let env = ProcessInfo.processInfo.environment
            let config = try HostFixtures.temporaryFile("""
                host: \(env["PGHOST"] ?? "127.0.0.1")
                port: \(env["PGPORT"] ?? "5432")
                database: \(env["PGDATABASE"] ?? "postgres")
                log_level: trace
                schema: \(Self.unusedSchema)
                auth:
                  method: gcp_service_account
                  service_account_key: ${GCP_SA_KEY}
                """)
            defer { try? FileManager.default.removeItem(atPath: config) }
            let run = try await HostFixtures.host(["check", "--plugin", Binaries.postgresPlugin.path, "--config", config, "--json", "--role", "destination",
                                                   "--log-level", "trace", "--verbose"], environment: ["GCP_SA_KEY": server.keyJSON])
            #expect(run.exitCode == 0, "\(run.stdout)\n\(run.stderr)")
            let output = run.stdout + run.stderr
            #expect(!output.contains(server.token))
            for piece in keyPieces(server) { #expect(!output.contains(piece)) }
            #expect(!output.contains("eyJ"), "a JWT (base64url of {\") appears in the output")
        }
    }

    @Test("plugin-host pipeline reads and writes as the service account (key file and ${GCP_SA_KEY}), nothing secret in any output")
    func serviceAccountPipeline() async throws {
        let server = try await TokenServer.start()
        defer { server.stop() }
        let files = FileManager.default.temporaryDirectory.appendingPathComponent("cloud-identity-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: files, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: files) }
        let source = "gcp_src_\(UUID().uuidString.prefix(8).lowercased())", target = "gcp_dst_\(UUID().uuidString.prefix(8).lowercased())"
        try await withRole(server.databaseUser, password: server.token) {
            let admin = try await TestDatabase.connect()
            defer { admin.close() }
            let role = SQL.quoteIdentifier(server.databaseUser)
            do {
                _ = try await admin.execute("CREATE SCHEMA \(source)")
                _ = try await admin.execute("CREATE TABLE \(source).notes (id bigint PRIMARY KEY, body text)")
                _ = try await admin.execute("INSERT INTO \(source).notes SELECT g, 'note ' || g FROM generate_series(1, 1500) g")
                _ = try await admin.execute("GRANT USAGE ON SCHEMA \(source) TO \(role)")
                _ = try await admin.execute("GRANT SELECT ON ALL TABLES IN SCHEMA \(source) TO \(role)")
                try await pipeline(server, files: files, source: source, target: target, admin: admin)
            } catch {
                _ = try? await admin.execute("DROP SCHEMA IF EXISTS \(source), \(target) CASCADE")
                throw error
            }
            _ = try await admin.execute("DROP SCHEMA IF EXISTS \(source), \(target) CASCADE")
        }
    }

    /// Copies `source` into `target` with `plugin-host pipeline`, both sides authenticating
    /// with `server`'s service account, and checks the copy and every output.
    private func pipeline(_ server: TokenServer, files: URL, source: String, target: String, admin: PostgresConnection) async throws {
        let env = ProcessInfo.processInfo.environment
        let connection = "host: \(env["PGHOST"] ?? "127.0.0.1")\nport: \(env["PGPORT"] ?? "5432")\ndatabase: \(env["PGDATABASE"] ?? "postgres")\n"
        let sourceConfig = files.appendingPathComponent("source.yaml")
        try Data((connection + "schemas: [\(source)]\nauth: {method: gcp_service_account, service_account_key_file: \(server.keyFile.path)}\n").utf8)
            .write(to: sourceConfig)
        let destinationConfig = files.appendingPathComponent("destination.yaml")
        try Data((connection + "schema: \(target)\nauth:\n  method: gcp_service_account\n  service_account_key: ${GCP_SA_KEY}\n").utf8)
            .write(to: destinationConfig)
        let run = try await HostFixtures.host(["pipeline", "--source", Binaries.postgresPlugin.path, "--source-config", sourceConfig.path,
                                               "--destination", Binaries.postgresPlugin.path, "--destination-config", destinationConfig.path,
                                               "--log-level", "trace", "--verbose"],
                                              environment: ["GCP_SA_KEY": server.keyJSON])
        #expect(run.exitCode == 0, "\(run.stdout)\n\(run.stderr)")
        let copied = try await DestinationHarness.rows(admin, "SELECT count(*), sum(id), max(body) FROM \(target).notes")
        #expect(copied == [["1500", "1125750", "note 999"]])
        let owner = try await DestinationHarness.rows(admin, "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = '\(target)'")
        #expect(owner == [[server.databaseUser]])
        let output = run.stdout + run.stderr
        #expect(!output.contains(server.token))
        for piece in keyPieces(server) { #expect(!output.contains(piece)) }
        #expect(!output.contains("eyJ"))
    }

    @Test("a key the endpoint refuses (expired, or not its own) fails with AUTH_TOKEN_REFUSED, naming the account, leaking nothing")
    func refusedKey() async throws {
        let server = try await TokenServer.start(["--expired-key"])
        defer { server.stop() }
        let auth = overrides(["method": "gcp_service_account", "service_account_key": server.keyJSON])
        let response = try await check(SourceHarness.config(auth))
        let authenticated = try #require(result(response, "authenticated"))
        #expect(authenticated.code == "AUTH_TOKEN_REFUSED")
        #expect(authenticated.message.contains(server.email))
        #expect(authenticated.message.contains("invalid_grant"))
        #expect(authenticated.message.contains("\(server.baseURL)/token"))
        #expect(result(response, "reachable")?.code == "SKIPPED")
        #expect(result(response, "server_version")?.code == "SKIPPED")
        for piece in keyPieces(server) { #expect(!"\(response)".contains(piece)) }

        // A Read fails the same way, as a CONFIG error that is not retryable.
        do {
            _ = try await SourceHarness.discover(auth)
            Issue.record("Discover succeeded with a refused key")
        } catch HostError.plugin(let error) {
            #expect(error.code == "AUTH_TOKEN_REFUSED")
            #expect(error.category == .config)
            #expect(!error.retryable)
            for piece in keyPieces(server) { #expect(!"\(error)".contains(piece)) }
            #expect(!"\(error)".contains("eyJ"))
        }

        // So does a Write.
        do {
            _ = try await DestinationHarness.write(SourceHarness.config(auth), streams: [ConfiguredStream(schema: DestinationHarness.items)],
                                                   [try DestinationHarness.items(1...3)])
            Issue.record("Write succeeded with a refused key")
        } catch HostError.plugin(let error) {
            #expect(error.code == "AUTH_TOKEN_REFUSED")
            for piece in keyPieces(server) { #expect(!"\(error)".contains(piece)) }
        }

        // Another key of the same account: the endpoint cannot verify its signature.
        let other = try await TokenServer.start()
        defer { other.stop() }
        var key = other.key
        key["token_uri"] = "\(server.baseURL)/token"
        key["private_key_id"] = "unknown"
        let text = String(decoding: try JSONSerialization.data(withJSONObject: key), as: UTF8.self)
        let wrongKey = try await check(SourceHarness.config(overrides(["method": "gcp_service_account", "service_account_key": text])))
        #expect(result(wrongKey, "authenticated")?.code == "AUTH_TOKEN_REFUSED")
        for piece in keyPieces(other) { #expect(!"\(wrongKey)".contains(piece)) }
    }

    @Test("an unreachable or failing token endpoint fails with AUTH_TOKEN_UNAVAILABLE (retryable)")
    func unavailableEndpoint() async throws {
        let server = try await TokenServer.start(["--status", "503"])
        defer { server.stop() }
        let failing = try await check(SourceHarness.config(overrides(["method": "gcp_service_account", "service_account_key": server.keyJSON])))
        #expect(result(failing, "authenticated")?.code == "AUTH_TOKEN_UNAVAILABLE")
        #expect(result(failing, "authenticated")?.message.contains("HTTP 503") == true)
        #expect(try await server.stats()["requests"] == TokenEndpoint.maxAttempts)

        // A port nobody listens on: the key's own token_uri, after its server has stopped.
        let gone = try await TokenServer.start()
        let keyJSON = gone.keyJSON
        gone.stop()
        try await Task.sleep(for: .milliseconds(200))
        do {
            _ = try await SourceHarness.discover(overrides(["method": "gcp_service_account", "service_account_key": keyJSON]))
            Issue.record("Discover succeeded without a token endpoint")
        } catch HostError.plugin(let error) {
            #expect(error.code == "AUTH_TOKEN_UNAVAILABLE")
            #expect(error.category == .transient)
            #expect(error.retryable)
            #expect(error.message.contains("could not be reached"))
            #expect(!"\(error)".contains("BEGIN PRIVATE KEY"))
        }
    }

    @Test("malformed keys are INVALID_CONFIG problems named by path, never quoting the key")
    func malformedKeys() async throws {
        let server = try await TokenServer.start()
        defer { server.stop() }
        var noKey = server.key
        noKey.removeValue(forKey: "private_key")
        noKey["surprise"] = true
        var badPEM = server.key
        let pem = badPEM["private_key"] as? String ?? ""
        badPEM["private_key"] = String(pem.prefix(200)) + "\n-----END PRIVATE KEY-----\n"
        badPEM["token_uri"] = "http://tokens.example.com/token"
        badPEM["type"] = "authorized_user"
        func text(_ object: [String: Any]) -> String { String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self) }
        let cases: [([String: Any], [String])] = [
            (["method": "gcp_service_account", "service_account_key": text(noKey)],
             ["$.auth.service_account_key.private_key: required", "$.auth.service_account_key.surprise: unknown key"]),
            (["method": "gcp_service_account", "service_account_key": text(badPEM)],
             ["$.auth.service_account_key.private_key: not an RSA private key", "$.auth.service_account_key.token_uri: must be an https URL",
              "$.auth.service_account_key.type: must be \"service_account\""]),
            (["method": "gcp_service_account", "service_account_key": String(server.keyJSON.dropLast(5))],
             ["$.auth.service_account_key: not a service account key"]),
            (["method": "gcp_service_account", "service_account_key_file": "/no/such/key.json"],
             ["$.auth.service_account_key_file: cannot read /no/such/key.json"]),
            (["method": "gcp_service_account"], ["$.auth.service_account_key: give exactly one of"]),
            (["method": "gcp_service_account", "service_account_key": server.keyJSON, "region": "eu-west-1", "colour": "blue"],
             ["$.auth.region: not used with method gcp_service_account", "$.auth.colour: unknown setting"]),
            (["method": "kerberos"], ["$.auth.method: must be one of password, gcp_service_account, aws_rds_iam, azure_entra"]),
        ]
        for (auth, expected) in cases {
            let response = try await check(SourceHarness.config(overrides(auth)))
            let config = try #require(result(response, "config"))
            #expect(config.code == "INVALID_CONFIG")
            for problem in expected { #expect(config.message.contains(problem), "\(config.message)") }
            for piece in keyPieces(server) { #expect(!config.message.contains(piece)) }
        }
        // A password beside a cloud identity is a mistake, not a fallback.
        let both = try await check(SourceHarness.config(["auth": ["method": "gcp_service_account", "service_account_key": server.keyJSON]]))
        #expect(result(both, "config")?.message.contains("$.password: not used with auth.method gcp_service_account") == true)
    }

    @Test("Entra ID client credentials authenticate Check as the application's role; a wrong secret is refused")
    func entraEndToEnd() async throws {
        let secret = "entra-secret-\(UUID().uuidString)"
        let server = try await TokenServer.start(["--tenant", "contoso", "--client-id", "app-123", "--client-secret", secret])
        defer { server.stop() }
        let user = "sluice-entra-\(UUID().uuidString.prefix(8).lowercased())"
        try await withRole(user, password: server.token) {
            let auth: [String: Any] = ["method": "azure_entra", "tenant_id": "contoso", "client_id": "app-123",
                                       "client_secret": secret, "authority_host": server.baseURL]
            let response = try await check(SourceHarness.config(overrides(auth, ["user": user])))
            #expect(response.passed, "\(response.checks)")

            var wrong = auth
            wrong["client_secret"] = "not-the-secret-\(UUID().uuidString)"
            let refused = try await check(SourceHarness.config(overrides(wrong, ["user": user])))
            #expect(result(refused, "authenticated")?.code == "AUTH_TOKEN_REFUSED")
            #expect(result(refused, "authenticated")?.message.contains("invalid_client") == true)
            #expect(!"\(refused)".contains(wrong["client_secret"] as? String ?? "?"))
            #expect(!"\(refused)".contains(server.token))

            let noUser = try await check(SourceHarness.config(overrides(auth)))
            #expect(result(noUser, "config")?.message.contains("$.user: azure_entra needs the database role") == true)
        }
    }

    @Test("the server refusing a token names the identity's set-up in AUTH_FAILED")
    func serverRefusesToken() async throws {
        let server = try await TokenServer.start()
        defer { server.stop() }
        // No such role: the server refuses the login.
        let response = try await check(SourceHarness.config(overrides(["method": "gcp_service_account", "service_account_key": server.keyJSON])))
        let authenticated = try #require(result(response, "authenticated"))
        #expect(authenticated.code == "AUTH_FAILED")
        #expect(authenticated.message.contains("Cloud SQL IAM user"))
        #expect(!authenticated.message.contains(server.token))
    }
}
