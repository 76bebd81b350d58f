/// Where a stream is in a call.
public enum StreamStatusKind: Int32, Sendable, Hashable {
    case unspecified = 0
    case started = 1
    case complete = 2
    case incomplete = 3
}

/// A stream's status change.
public struct StreamStatus: Sendable, Hashable {
    public var stream: StreamID
    public var status: StreamStatusKind
    public var message: String
    public init(stream: StreamID, status: StreamStatusKind, message: String = "") {
        self.stream = stream
        self.status = status
        self.message = message
    }
}

/// An in-band log message.
public struct LogMessage: Sendable, Hashable {
    public var level: LogLevel
    public var message: String
    public var logger: String
    public init(level: LogLevel, message: String, logger: String = "") {
        self.level = level
        self.message = message
        self.logger = logger
    }
}

/// Progress of a stream within a call.
public struct StreamProgress: Sendable, Hashable {
    public var stream: StreamID
    public var records: UInt64
    public var bytes: UInt64
    /// -1 when unknown.
    public var estimatedRecords: Int64
    /// Change data capture: bytes of the server's change log the source holds back (0 otherwise).
    public var lagBytes: UInt64
    public init(stream: StreamID, records: UInt64, bytes: UInt64, estimatedRecords: Int64 = -1, lagBytes: UInt64 = 0) {
        self.stream = stream
        self.records = records
        self.bytes = bytes
        self.estimatedRecords = estimatedRecords
        self.lagBytes = lagBytes
    }
}

/// Counts for one stream at the end of a Read or Write.
public struct StreamSummary: Sendable, Hashable {
    public var stream: StreamID
    public var records: UInt64 = 0
    public var bytes: UInt64 = 0
    public var inserted: UInt64 = 0
    public var updated: UInt64 = 0
    public var deleted: UInt64 = 0
    public var unmatched: UInt64 = 0
    public var nulBytesStripped: UInt64 = 0
    /// Change data capture: the source's lag (see ``StreamProgress/lagBytes``) at the end of the Read.
    public var lagBytes: UInt64 = 0
    public init(stream: StreamID) { self.stream = stream }
}

/// Ends a successful Read or Write.
public struct Summary: Sendable, Hashable {
    public var streams: [StreamSummary]
    public var durationMicros: UInt64
    public init(streams: [StreamSummary], durationMicros: UInt64) {
        self.streams = streams
        self.durationMicros = durationMicros
    }
}

/// The kind of a failure, which tells a host what to do next.
public enum ErrorCategory: Int32, Sendable, Hashable {
    case unspecified = 0
    case config = 1
    case transient = 2
    case system = 3
    case data = 4
    case `protocol` = 5
    case cancelled = 6
}

/// A failure as it travels on the wire. Never contains a secret.
public struct PluginError: Error, Sendable, Hashable, CustomStringConvertible {
    public var category: ErrorCategory
    public var retryable: Bool
    /// For people: what went wrong and what to do.
    public var message: String
    /// For developers: codes, offsets, context.
    public var detail: String
    /// A stable machine code such as `TRUNCATED_FRAME`.
    public var code: String
    public var stream: StreamID?

    public init(category: ErrorCategory, code: String, message: String, detail: String = "", retryable: Bool = false, stream: StreamID? = nil) {
        self.category = category
        self.retryable = retryable
        self.message = message
        self.detail = detail
        self.code = code
        self.stream = stream
    }

    public var description: String { "\(code): \(message)" + (detail.isEmpty ? "" : " (\(detail))") }
}
