import Foundation
import PostgresClient
import SluiceTestSupport

/// The fixtures of a suite running `plugin-host` pipelines: schemas named after the suite's
/// `prefix`, files in its own temporary folder, both removed by ``withDatabase(_:)``.
protocol PipelineWorkspace {
    /// The prefix of every schema the suite creates.
    var prefix: String { get }
    /// The suite's temporary folder.
    var files: URL { get }
}

extension PipelineWorkspace {
    func schema(_ name: String) -> String { "\(prefix)_\(name)" }

    /// Writes `text` to the file `name` in the suite's folder and returns its path.
    func file(_ name: String, _ text: String) throws -> String {
        try FileManager.default.createDirectory(at: files, withIntermediateDirectories: true)
        let url = files.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    /// A postgres-plugin configuration writing to (or reading) `schema`, without metadata columns.
    func postgresConfig(_ schema: String, _ extra: String = "") throws -> String {
        try file("pg-\(schema)-\(UUID().uuidString.prefix(4)).yaml",
                 HostFixtures.serverConfig(extra: "schema: \(schema)\nmetadata_columns: false\n\(extra)"))
    }

    /// Runs `plugin-host` with `arguments`.
    func run(_ arguments: [String], timeout: Double = 120) async throws -> CommandResult {
        try await CommandRun.run(Binaries.pluginHost, arguments, timeout: timeout)
    }

    /// Runs `body` with a superuser connection, then drops every schema of the suite and its files.
    func withDatabase(_ body: (PostgresConnection) async throws -> Void) async throws {
        let connection = try await TestDatabase.connect()
        let outcome: Result<Void, any Error>
        do {
            try await body(connection)
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        let schemas = try? await connection.execute("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)", [.text(prefix + "_")]).rows
        for row in schemas ?? [] {
            if let name = row.first ?? nil { _ = try? await connection.execute("DROP SCHEMA \(SQL.quoteIdentifier(name)) CASCADE") }
        }
        connection.close()
        try? FileManager.default.removeItem(at: files)
        try outcome.get()
    }
}
