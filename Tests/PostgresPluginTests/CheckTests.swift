import Foundation
import Testing
import PostgresClient
import SluiceTestSupport
import SluiceSDK
import SluiceWire

/// Check against the real server, through the real plugin binary over the protocol.
@Suite("postgres-plugin Check")
struct CheckTests {
    let env = ProcessInfo.processInfo.environment

    private func config(_ overrides: [String: Any] = [:]) -> String {
        SourceHarness.config(overrides)
    }

    private func check(_ configJSON: String, role: Role = .unspecified) async throws -> CheckResponse {
        let client = try await PluginClient.launch(executable: Binaries.postgresPlugin,
                                                   hello: Hello(hostName: "check-tests", hostVersion: "1"))
        defer { Task { await client.close() } }
        return try await client.check(CheckRequest(configJSON: configJSON, role: role))
    }

    private func result(_ response: CheckResponse, _ name: String) -> CheckResult? {
        response.checks.first { $0.name == name }
    }

    @Test("good credentials pass every check and report the server version")
    func passes() async throws {
        let response = try await check(config())
        #expect(response.passed, "\(response.checks)")
        #expect(result(response, "server_version")?.message.hasPrefix("PostgreSQL ") == true)
        #expect(result(response, "source_privileges")?.passed == true)
        #expect(result(response, "destination_privileges")?.passed == true)
    }

    @Test("a connection string works like the discrete fields")
    func connectionString() async throws {
        let url = "postgresql://\(env["PGUSER"] ?? "postgres"):\(env["PGPASSWORD"] ?? "")@\(env["PGHOST"] ?? "127.0.0.1"):\(env["PGPORT"] ?? "5432")/\(env["PGDATABASE"] ?? "postgres")?sslmode=disable"
        let response = try await check(#"{"connection_string": "\#(url)"}"#)
        #expect(response.passed, "\(response.checks)")
    }

    @Test("a wrong password fails with AUTH_FAILED and the password appears nowhere")
    func wrongPassword() async throws {
        let secret = "not-the-password-\(UUID().uuidString)"
        let response = try await check(config(["password": secret]))
        #expect(!response.passed)
        #expect(result(response, "reachable")?.passed == true)
        #expect(result(response, "authenticated")?.code == "AUTH_FAILED")
        #expect(!"\(response)".contains(secret))
    }

    @Test("an unreachable port fails with CONN_FAILED")
    func unreachable() async throws {
        let response = try await check(config(["port": 1]))
        #expect(result(response, "reachable")?.code == "CONN_FAILED")
        #expect(result(response, "source_privileges")?.code == "SKIPPED")
        #expect(result(response, "server_version")?.code == "SKIPPED")
    }

    @Test("an unknown host name fails with DNS_FAILED")
    func unknownHost() async throws {
        let response = try await check(config(["host": "no-such-host.invalid"]))
        #expect(result(response, "reachable")?.code == "DNS_FAILED")
    }

    @Test("a missing database fails with UNKNOWN_DATABASE")
    func missingDatabase() async throws {
        let response = try await check(config(["database": "no_such_database_\(Int.random(in: 1000...9999))"]))
        #expect(result(response, "authenticated")?.code == "UNKNOWN_DATABASE")
    }

    @Test("an invalid configuration lists every problem with its path")
    func invalidConfig() async throws {
        let response = try await check(#"{"port": "abc", "sslmode": "sometimes", "surprise": 1}"#)
        let config = try #require(result(response, "config"))
        #expect(config.code == "INVALID_CONFIG")
        #expect(config.message.contains("$.port"))
        #expect(config.message.contains("$.sslmode"))
        #expect(config.message.contains("$.surprise"))
        #expect(config.message.contains("$.connection_string"))
    }

    @Test("missing privileges are reported per role with the GRANT that fixes each")
    func missingPrivileges() async throws {
        let admin = try await TestDatabase.connect()
        let suffix = Int.random(in: 100_000...999_999)
        let role = "sluice_limited_\(suffix)", schema = "sluice_priv_\(suffix)", database = "sluice_priv_db_\(suffix)"
        let password = "limited-\(suffix)"
        // A database of its own, so revoking TEMPORARY from PUBLIC touches no other test.
        _ = try await admin.execute("CREATE ROLE \(role) LOGIN PASSWORD '\(password)'")
        _ = try await admin.execute("CREATE DATABASE \(database)")
        var limitedDatabase = TestDatabase.config()
        limitedDatabase.database = database
        let owner = try await PostgresConnection.connect(limitedDatabase)
        try await owner.executeScript("""
            REVOKE TEMPORARY ON DATABASE \(database) FROM PUBLIC;
            CREATE SCHEMA \(schema);
            CREATE TABLE \(schema).secret_table (id int);
            """)
        owner.close()
        defer {
            Task {
                _ = try? await admin.execute("DROP DATABASE \(database) WITH (FORCE)")
                _ = try? await admin.execute("DROP ROLE \(role)")
                admin.close()
            }
        }
        let response = try await check(config(["user": role, "password": password, "database": database,
                                               "schema": schema, "schemas": [schema]]))
        #expect(!response.passed)
        let source = try #require(result(response, "source_privileges"))
        #expect(source.code == "PERMISSION_DENIED")
        #expect(source.message.contains("GRANT USAGE ON SCHEMA \"\(schema)\" TO \"\(role)\";"))
        #expect(source.message.contains("GRANT SELECT ON \"\(schema)\".\"secret_table\" TO \"\(role)\";"))
        let destination = try #require(result(response, "destination_privileges"))
        #expect(destination.code == "PERMISSION_DENIED")
        #expect(destination.message.contains("GRANT CREATE ON SCHEMA \"\(schema)\" TO \"\(role)\";"))
        #expect(destination.message.contains("TEMPORARY"))
        #expect(!"\(response)".contains(password))
    }

    @Test("log_level trace logs where a call connects, and never the password")
    func traceLogsHaveNoSecrets() async throws {
        let logs = LogCollector()
        let client = try await PluginClient.launch(executable: Binaries.postgresPlugin,
                                                   hello: Hello(hostName: "check-tests", hostVersion: "1", logLevel: .trace),
                                                   onLog: { logs.append($0.message) })
        defer { Task { await client.close() } }
        let password = env["PGPASSWORD"] ?? ""
        _ = try await client.discover(DiscoverRequest(configJSON: config(["log_level": "trace", "schemas": ["pg_catalog_none"]])))
        let wrong = "wrong-\(UUID().uuidString)"
        var failure = ""
        do {
            _ = try await client.discover(DiscoverRequest(configJSON: config(["log_level": "trace", "password": wrong])))
        } catch {
            failure = "\(error)"
        }
        try await Task.sleep(nanoseconds: 100_000_000)
        let all = logs.messages.joined(separator: "\n")
        #expect(all.contains("connecting to host="), "expected the debug line about the connection: \(all)")
        #expect(!password.isEmpty && !all.contains(password))
        #expect(!all.contains(wrong))
        #expect(failure.contains("AUTH") || failure.contains("authentication"), "\(failure)")
        #expect(!failure.contains(wrong))
    }
}

/// Collects in-band log messages from any thread.
final class LogCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    func append(_ message: String) { lock.withLock { stored.append(message) } }
    var messages: [String] { lock.withLock { stored } }
}
