import Foundation

/// Files and runs shared by the tests that drive `plugin-host` as a process.
enum HostFixtures {
    /// Writes `text` to a new file in the test's temporary folder (see ``TemporaryFolder``) and
    /// returns its path.
    static func temporaryFile(_ text: String, suffix: String = ".yaml") throws -> String {
        let url = try TemporaryFolder.url("plugin-host-\(UUID().uuidString)\(suffix)")
        try Data(text.utf8).write(to: url)
        return url.path
    }

    /// The test server's settings as YAML, taken from the PG* variables by `${VAR}` expansion,
    /// followed by `extra` lines. A state follows every batch, and every table is read resumably
    /// (`resumable_read_min_bytes` 0) unless `resumableReadMinBytes` says otherwise.
    static func serverConfig(password: String = "${PGPASSWORD:-}", port: String = "${PGPORT:-5432}", resumableReadMinBytes: Int = 0,
                             extra: String = "") -> String {
        """
        # the test server, from the environment
        host: ${PGHOST:-127.0.0.1}
        port: \(port)
        user: ${PGUSER:-postgres}
        password: \(password)
        database: ${PGDATABASE:-postgres}
        sslmode: disable
        checkpoint_interval: 0
        resumable_read_min_bytes: \(resumableReadMinBytes)
        \(extra)
        """
    }

    /// Runs `plugin-host` with `arguments` (60 s timeout).
    static func host(_ arguments: [String], environment: [String: String] = [:]) async throws -> CommandResult {
        try await CommandRun.run(Binaries.pluginHost, arguments, environment: environment, timeout: 60)
    }
}
