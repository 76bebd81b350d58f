import Foundation

/// The pipeline file of the CDC benchmarks: one table of schema sluice_bench read with sync mode
/// cdc through `slot` and `publication` into `destinationSchema`, both sides postgres-plugin on
/// the server of the PG* variables. The password stays in the environment (`${PGPASSWORD}`).
enum CDCPipelineFile {
    static func write(to file: URL, plugin: String?, table: String, slot: String, publication: String,
                      destinationSchema: String, state: URL) throws {
        let env = ProcessInfo.processInfo.environment
        func connection(_ extra: [String: Any]) -> [String: Any] {
            ["host": env["PGHOST"] ?? "127.0.0.1", "port": Int(env["PGPORT"] ?? "5432") ?? 5432, "user": env["PGUSER"] ?? "postgres",
             "password": "${PGPASSWORD}", "database": env["PGDATABASE"] ?? "postgres"].merging(extra) { $1 }
        }
        let executable = BenchEnvironment.pluginExecutable(plugin).standardizedFileURL.path
        let object: [String: Any] = [
            "source": ["plugin": executable, "config": connection(["schemas": ["sluice_bench"], "cdc_slot": slot, "cdc_publication": publication])],
            "destinations": [["plugin": executable, "config": connection(["schema": destinationSchema, "metadata_columns": false])]],
            "catalog": ["streams": [["name": table, "namespace": "sluice_bench", "sync_mode": "cdc"]]],
            "state": state.path,
        ]
        try JSONSerialization.data(withJSONObject: object).write(to: file)
    }

    /// plugin-host: `path`, or the one next to this benchmark's executable.
    static func hostExecutable(_ path: String?) -> String {
        path ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("plugin-host").path
    }
}
