import Foundation
public import Logging
import SluiceWire

/// Sends log messages in-band (as Log frames) while a session is up, and to stderr before.
/// Only messages at or above the host's level are sent. Messages are never re-read for
/// secrets here: callers must not log them (the PostgreSQL client scrubs its errors).
///
/// Logs never wait for the host: behind a host that is not reading, at most
/// ``FrameWriter/maxPostedBytes`` of them wait, later ones are dropped and counted, and the
/// count is reported in a warning as soon as one can be queued again (or the session ends).
final class LogRouter: @unchecked Sendable {
    private let lock = NSLock()
    private var writer: FrameWriter?
    private var level: LogLevel = .info
    private var dropped = 0

    /// The router every handler made by ``InBandLogHandler`` uses.
    static let shared = LogRouter()

    func attach(_ writer: FrameWriter, level: LogLevel) {
        lock.withLock {
            self.writer = writer
            self.level = level == .unspecified ? .info : level
        }
    }

    var currentLevel: LogLevel { lock.withLock { level } }

    func emit(_ message: LogMessage) {
        let writer: FrameWriter? = lock.withLock {
            message.level <= level ? self.writer : nil
        }
        if let writer {
            reportDropped(to: writer)
            if !writer.post(payload: WireCodec.encode(PluginMessage.log(message))) {
                lock.withLock { dropped += 1 }
            }
        } else if !lock.withLock({ self.writer != nil }) {
            FileHandle.standardError.write(Data("[\(message.level)] \(message.logger): \(message.message)\n".utf8))
        }
    }

    /// Log messages dropped and not reported yet.
    var droppedCount: Int { lock.withLock { dropped } }

    /// Queues a warning saying how many log messages were dropped, if any were and it fits.
    func reportDropped() {
        guard let writer = lock.withLock({ self.writer }) else { return }
        reportDropped(to: writer)
    }

    private func reportDropped(to writer: FrameWriter) {
        let count = lock.withLock { dropped }
        guard count > 0 else { return }
        let notice = LogMessage(level: .warn, message: "\(count) log messages were dropped: the host was not reading them", logger: "sluice-sdk")
        if writer.post(payload: WireCodec.encode(PluginMessage.log(notice))) {
            lock.withLock { dropped -= count }
        }
    }
}

/// A swift-log handler for plugins: routes messages through the session (see ``PluginMain``).
public struct InBandLogHandler: LogHandler {
    private let label: String
    public var metadata: Logger.Metadata = [:]

    /// A handler for loggers named `label`.
    public init(label: String) {
        self.label = label
    }

    /// A level set on a logger (e.g. from the plugin's own configuration), applied on top of
    /// the host's level: the more severe of the two wins.
    private var ownLevel: Logger.Level = .trace

    public var logLevel: Logger.Level {
        get { max(ownLevel, LogRouter.shared.currentLevel.loggerLevel) }
        set { ownLevel = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var text = "\(event.message)"
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        if !merged.isEmpty {
            text += " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
        LogRouter.shared.emit(LogMessage(level: LogLevel(event.level), message: text, logger: label))
    }
}

extension LogLevel {
    init(_ level: Logger.Level) {
        switch level {
        case .trace: self = .trace
        case .debug: self = .debug
        case .info, .notice: self = .info
        case .warning: self = .warn
        case .error, .critical: self = .error
        }
    }

    var loggerLevel: Logger.Level {
        switch self {
        case .trace: .trace
        case .debug: .debug
        case .info, .unspecified: .info
        case .warn: .warning
        case .error: .error
        }
    }
}
