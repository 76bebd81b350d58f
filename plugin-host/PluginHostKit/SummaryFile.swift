import Foundation

/// `--summary FILE`: the run's JSON summary written to a file, on success and on failure.
enum SummaryFile {
    /// Writes `summary` to `path` (atomically); a failure to write is a warning, not the
    /// command's outcome.
    static func write(_ summary: JSONValue, to path: String) {
        do {
            try Data((JSONWriter.pretty(summary) + "\n").utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            Diagnostics.warning("plugin-host: warning: cannot write the summary file \(path): \(ErrorText.describe(error))")
        }
    }

    /// The summary of a failed run: `{"status": "failed" | "interrupted", "exit_code", "error", …extra}`.
    static func failure(exitCode: Int32, error: String, extra: [(key: String, value: JSONValue)]) -> JSONValue {
        .object([
            ("status", .string(exitCode == ExitCodes.interrupted ? "interrupted" : "failed")),
            ("exit_code", .integer(exitCode)),
            ("error", .string(error)),
        ] + extra)
    }

    /// `members` after `"status": "succeeded"` (a successful run's summary object).
    static func succeeded(_ summary: JSONValue) -> JSONValue {
        guard case .object(let members) = summary else { return summary }
        return .object([("status", .string("succeeded"))] + members)
    }
}
