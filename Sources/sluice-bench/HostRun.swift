import ArgumentParser
import Foundation

/// One run of `plugin-host` to its end, timed, its stdout dropped and its stderr kept in a file
/// (shown when it fails).
enum HostRun {
    /// Runs `host` with `arguments` (plus `--log-level warn`), its stderr into `log`; returns
    /// the seconds it took, or throws when it exits with a failure.
    static func seconds(host: String, _ arguments: [String], log: URL) throws -> Double {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: host)
        process.arguments = arguments + ["--log-level", "warn"]
        process.standardOutput = FileHandle.nullDevice
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: log)
        let start = Date()
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            throw ValidationError("plugin-host \(arguments.first ?? "") exited with status \(process.terminationStatus); its stderr ends:\n\(text.suffix(2000))")
        }
        return Date().timeIntervalSince(start)
    }
}
