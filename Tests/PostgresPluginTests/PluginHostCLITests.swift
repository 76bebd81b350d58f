import Foundation
import Testing

/// `plugin-host` run as a process against the real `postgres-plugin` and the test server.
@Suite("plugin-host command line", .temporaryFolder)
struct PluginHostCLITests {
    private func host(_ arguments: [String], environment: [String: String] = [:]) async throws -> CommandResult {
        let result = try await HostFixtures.host(arguments, environment: environment)
        #expect(!result.timedOut, "plugin-host \(arguments.first ?? "") timed out")
        return result
    }

    private func checkJSON(_ result: CommandResult) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return try #require(object, "stdout is not a JSON object: \(result.stdout)\nstderr: \(result.stderr)")
    }

    private func code(of check: String, in json: [String: Any]) -> String? {
        (json["checks"] as? [[String: Any]])?.first { $0["name"] as? String == check }?["code"] as? String
    }

    @Test("spec prints the plugin's JSON Schema with connection_string marked secret")
    func spec() async throws {
        let result = try await host(["spec", "--plugin", Binaries.postgresPlugin.path])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let schema = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let properties = try #require(schema["properties"] as? [String: Any])
        let connectionString = try #require(properties["connection_string"] as? [String: Any])
        #expect(connectionString["secret"] as? Bool == true)
        #expect(schema["type"] as? String == "object")
    }

    @Test("an invalid configuration lists every problem with its JSON path and exits 65")
    func invalidConfig() async throws {
        let path = try HostFixtures.temporaryFile("""
            port: "5432"
            sslmode: sometimes
            no_such_setting: 1
            batch_size: 0
            """)
        let result = try await host(["check", "--plugin", Binaries.postgresPlugin.path, "--config", path])
        #expect(result.exitCode == 65)
        #expect(result.stderr.contains("$.port: expected integer, got string"), "\(result.stderr)")
        #expect(result.stderr.contains("$.sslmode: must be one of"))
        #expect(result.stderr.contains(#"$: unknown property "no_such_setting""#))
        #expect(result.stderr.contains("$.batch_size: must be at least 1"))
        #expect(result.stderr.contains(#"missing required property "connection_string""#))
        #expect(result.stdout.isEmpty)
    }

    @Test("a secret expanded into the wrong setting is not shown in the problem that names it")
    func expandedSecretIsNotQuoted() async throws {
        let path = try HostFixtures.temporaryFile("host: localhost\nsslmode: ${SLUICE_TEST_SECRET}\n")
        let result = try await HostFixtures.host(["check", "--plugin", Binaries.postgresPlugin.path, "--config", path],
                                                 environment: ["SLUICE_TEST_SECRET": "hunter2-not-a-mode"])
        #expect(result.exitCode == 65)
        #expect(result.stderr.contains("$.sslmode: must be one of"), "\(result.stderr)")
        #expect(!result.stderr.contains("hunter2"), "\(result.stderr)")
    }

    @Test("a secret's value is never echoed in configuration errors")
    func secretNotEchoed() async throws {
        let secret = "s3cret-\(UUID().uuidString)"
        let path = try HostFixtures.temporaryFile("""
            connection_string: {dsn: "\(secret)"}
            password: [\(secret)]
            """)
        let result = try await host(["check", "--plugin", Binaries.postgresPlugin.path, "--config", path])
        #expect(result.exitCode == 65)
        #expect(result.stderr.contains("$.connection_string: expected string, got object"), "\(result.stderr)")
        #expect(result.stderr.contains("$.password: expected string, got array"))
        #expect(!result.stderr.contains(secret) && !result.stdout.contains(secret))
    }

    @Test("${VAR} is expanded before validation, unquoted numbers keep their type, and ${VAR:-default} applies")
    func expansion() async throws {
        let path = try HostFixtures.temporaryFile("""
            host: ${SLUICE_TEST_HOST:-localhost}
            port: ${SLUICE_TEST_PORT}
            schema: "${SLUICE_TEST_SCHEMA}"
            """)
        let wrongType = try await host(["check", "--plugin", Binaries.postgresPlugin.path, "--config", path],
                                       environment: ["SLUICE_TEST_PORT": "not-a-port", "SLUICE_TEST_SCHEMA": "x"])
        #expect(wrongType.exitCode == 65)
        #expect(wrongType.stderr.contains("$.port: expected integer, got string"), "\(wrongType.stderr)")
        let outOfRange = try await host(["check", "--plugin", Binaries.postgresPlugin.path, "--config", path],
                                        environment: ["SLUICE_TEST_PORT": "70000", "SLUICE_TEST_SCHEMA": "x"])
        #expect(outOfRange.exitCode == 65)
        #expect(outOfRange.stderr.contains("$.port: must be at most 65535"), "\(outOfRange.stderr)")
    }

    @Test("an unset ${VAR} without a default is a configuration error naming it")
    func missingVariable() async throws {
        let path = try HostFixtures.temporaryFile("host: localhost\npassword: ${SLUICE_TEST_UNSET_PASSWORD}\n")
        let result = try await host(["check", "--plugin", Binaries.postgresPlugin.path, "--config", path])
        #expect(result.exitCode == 65)
        #expect(result.stderr.contains("$.password: environment variable SLUICE_TEST_UNSET_PASSWORD is not set"), "\(result.stderr)")
    }

    @Test("a missing configuration file exits 65")
    func missingConfigFile() async throws {
        let result = try await host(["check", "--plugin", Binaries.postgresPlugin.path, "--config", "/nonexistent/sluice.yaml"])
        #expect(result.exitCode == 65)
        #expect(result.stderr.contains("/nonexistent/sluice.yaml"))
    }

    @Test("a plugin path that does not exist exits 71")
    func missingPlugin() async throws {
        let result = try await host(["spec", "--plugin", "/nonexistent/plugin-\(UUID().uuidString)"])
        #expect(result.exitCode == 71)
        #expect(result.stderr.contains("could not start the plugin"), "\(result.stderr)")
    }

    @Test("a pipeline whose destination cannot start exits 71 naming it (its plugins start side by side)")
    func pipelineWithMissingDestination() async throws {
        let config = try HostFixtures.temporaryFile("schemas: [public]\n")
        let result = try await host(["pipeline", "--source", Binaries.postgresPlugin.path, "--source-config", config,
                                     "--destination", "/nonexistent/plugin-\(UUID().uuidString)", "--destination-config", config])
        #expect(result.exitCode == 71)
        #expect(result.stderr.contains("destination"), "\(result.stderr)")
        #expect(result.stderr.contains("could not start the plugin"), "\(result.stderr)")
    }

    @Test("a plugin that exits without answering exits 71 with its exit status")
    func crashingPlugin() async throws {
        let script = try HostFixtures.temporaryFile("#!/bin/sh\necho 'boom: the plugin gave up' >&2\nexit 3\n", suffix: ".sh")
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script)
        let result = try await host(["spec", "--plugin", script])
        #expect(result.exitCode == 71)
        #expect(result.stderr.contains("exited with code 3"), "\(result.stderr)")
        #expect(result.stderr.contains("boom: the plugin gave up"))
    }

    @Test("bad arguments exit 64")
    func usageError() async throws {
        let missing = try await host(["check"])
        #expect(missing.exitCode == 64)
        let badLevel = try await host(["spec", "--plugin", Binaries.postgresPlugin.path, "--log-level", "loud"])
        #expect(badLevel.exitCode == 64)
    }

    @Test("check against the test server passes and exits 0")
    func checkPasses() async throws {
        let path = try HostFixtures.temporaryFile(HostFixtures.serverConfig())
        let result = try await host(["check", "--plugin", Binaries.postgresPlugin.path, "--config", path])
        #expect(result.exitCode == 0, "\(result.stdout)\n\(result.stderr)")
        let json = try checkJSON(result)
        #expect(json["passed"] as? Bool == true)
        #expect(code(of: "authenticated", in: json) == "OK")
    }

    @Test("a wrong password fails with AUTH_FAILED, exits 66, and the password is printed nowhere")
    func wrongPassword() async throws {
        let password = "wrong-\(UUID().uuidString)"
        let path = try HostFixtures.temporaryFile(HostFixtures.serverConfig(password: "\"\(password)\""))
        let result = try await host(["check", "--plugin", Binaries.postgresPlugin.path, "--config", path, "--log-level", "trace"])
        #expect(result.exitCode == 66, "\(result.stderr)")
        let json = try checkJSON(result)
        #expect(json["passed"] as? Bool == false)
        #expect(code(of: "authenticated", in: json) == "AUTH_FAILED", "\(result.stdout)")
        #expect(!result.stdout.contains(password) && !result.stderr.contains(password))
    }

    @Test("an unreachable port fails with CONN_FAILED and exits 66")
    func unreachable() async throws {
        let path = try HostFixtures.temporaryFile(HostFixtures.serverConfig(port: "1"))
        let result = try await host(["check", "--plugin", Binaries.postgresPlugin.path, "--config", path])
        #expect(result.exitCode == 66, "\(result.stderr)")
        #expect(code(of: "reachable", in: try checkJSON(result)) == "CONN_FAILED", "\(result.stdout)")
    }
}
