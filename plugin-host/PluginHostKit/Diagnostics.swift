import Foundation
import SluiceWire

/// Lines for people on stderr, each written with a single call so that lines from the
/// plugin's log callback and the command never interleave mid-line.
enum Diagnostics {
    /// Writes `line` and a newline to stderr.
    static func line(_ line: String) {
        try? FileHandle.standardError.write(contentsOf: Data((line + "\n").utf8))
    }

    /// Prints an in-band plugin log as `[level] logger: message`, or `[level] origin logger:
    /// message` when several plugins run.
    static func log(_ log: LogMessage, from origin: String? = nil) {
        let logger = log.logger.isEmpty ? "plugin" : log.logger
        let prefix = origin.map { "\($0) " } ?? ""
        line("[\(ProtocolNames.label(log.level))] \(prefix)\(logger): \(log.message)")
    }

    /// Writes `text` and a newline to stdout.
    static func output(_ text: String) {
        try? FileHandle.standardOutput.write(contentsOf: Data((text + "\n").utf8))
    }
}
