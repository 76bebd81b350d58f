import ArgumentParser
import Foundation
import SluiceSDK
import SluiceWire

/// How stderr lines are written (`--log-format`).
enum LogFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// Lines for people: `[level] logger: message`, host lines as they are.
    case text
    /// One JSON object per line: `time`, `level`, `plugin`, `stream`, `message`, `fields`.
    case json
}

/// Lines on stderr, each written with a single call so that lines from the plugin's log
/// callback and the command never interleave mid-line. In the text format a live
/// ``ProgressBoard`` on a terminal is kept below them; in the JSON format every line is an
/// object. Messages never hold a secret (plugins redact their own logs; the host never
/// quotes configuration values).
enum Diagnostics {
    private struct Settings {
        var format = LogFormat.text
        var board: ProgressBoard?
    }
    private static let settings = LockedBox(Settings())

    /// The format of every later line.
    static var format: LogFormat {
        get { settings.withLock { $0.format } }
        set { settings.withLock { $0.format = newValue } }
    }

    /// The live display that host lines are printed above, while one is shown.
    static var board: ProgressBoard? {
        get { settings.withLock { $0.board } }
        set { settings.withLock { $0.board = newValue } }
    }

    /// A line of the host's: `message` as it is in the text format ("plugin-host: " prefix
    /// included); in the JSON format without that prefix, with `level`, `stream` and `fields`.
    static func line(_ message: String, level: LogLevel = .info, stream: StreamID? = nil, fields: [(key: String, value: JSONValue)] = []) {
        switch format {
        case .text:
            if let board {
                board.printAbove(message)
            } else {
                write(message)
            }
        case .json:
            let text = message.hasPrefix(hostPrefix) ? String(message.dropFirst(hostPrefix.count)) : message
            write(json(level: level, plugin: nil, stream: stream?.description, message: text, fields: fields))
        }
    }

    /// A failure or a warning of the host's (level error or warn in the JSON format).
    static func error(_ message: String) { line(message, level: .error) }
    static func warning(_ message: String) { line(message, level: .warn) }

    /// Prints an in-band plugin log as `[level] logger: message`, or `[level] origin logger:
    /// message` when several plugins run; in the JSON format `plugin` is the logger, `fields`
    /// holds the origin, and `stream` the stream a `stream ns.name: …` message is about.
    static func log(_ log: LogMessage, from origin: String? = nil) {
        let logger = log.logger.isEmpty ? "plugin" : log.logger
        switch format {
        case .text:
            let prefix = origin.map { "\($0) " } ?? ""
            let text = "[\(ProtocolNames.label(log.level))] \(prefix)\(logger): \(log.message)"
            if let board { board.printAbove(text) } else { write(text) }
        case .json:
            write(json(level: log.level, plugin: logger, stream: streamName(in: log.message), message: log.message,
                       fields: origin.map { [("origin", .string($0))] } ?? []))
        }
    }

    /// Writes `text` and a newline to stdout.
    static func output(_ text: String) {
        try? FileHandle.standardOutput.write(contentsOf: Data((text + "\n").utf8))
    }

    /// Writes `text` and a newline to stderr, as is.
    static func write(_ text: String) {
        try? FileHandle.standardError.write(contentsOf: Data((text + "\n").utf8))
    }

    private static let hostPrefix = "plugin-host: "

    /// One JSON log line.
    static func json(level: LogLevel, plugin: String?, stream: String?, message: String, fields: [(key: String, value: JSONValue)],
                     time: Date = Date()) -> String {
        JSONWriter.compact(.object([
            ("time", .string(time.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)))),
            ("level", .string(ProtocolNames.label(level))),
            ("plugin", plugin.map(JSONValue.string) ?? .null),
            ("stream", stream.map(JSONValue.string) ?? .null),
            ("message", .string(message)),
            ("fields", .object(fields)),
        ]))
    }

    /// The stream a plugin's `stream ns.name: …` message names.
    private static func streamName(in message: String) -> String? {
        guard message.hasPrefix("stream "), let end = message.range(of: ": ") else { return nil }
        let name = message[message.index(message.startIndex, offsetBy: 7) ..< end.lowerBound]
        return name.isEmpty || name.contains(" ") ? nil : String(name)
    }
}
