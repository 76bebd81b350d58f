/// Verbosity of log messages, most severe first.
public enum LogLevel: Int32, Sendable, Hashable, CaseIterable, Comparable {
    case unspecified = 0
    case error = 1
    case warn = 2
    case info = 3
    case debug = 4
    case trace = 5

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A role a plugin plays.
public enum Role: Int32, Sendable, Hashable {
    case unspecified = 0
    case source = 1
    case destination = 2
}

/// How a source reads a stream.
public enum SyncMode: Int32, Sendable, Hashable {
    case unspecified = 0
    case fullRefresh = 1
    case incremental = 2
    /// Change data capture: the stream's changes as the source's log records them, with global
    /// states (PROTOCOL.md §8.2). Its batches may hold ``RowOperation/truncate`` rows and
    /// ``ColumnVector/unchanged`` values.
    case cdc = 3
}

/// How a destination applies rows.
public enum WriteMode: Int32, Sendable, Hashable {
    case unspecified = 0
    case append = 1
    case upsert = 2
    case updateOnly = 3
    case mirror = 4
    case replace = 5
}

/// The host's opening message.
public struct Hello: Sendable, Hashable {
    /// The default largest frame payload: 64 MiB.
    public static let defaultMaxFrameSize: UInt32 = 64 << 20
    /// The smallest `maxFrameSize` a plugin accepts (other than 0): 1 KiB (PROTOCOL.md §2.2).
    public static let minimumMaxFrameSize: UInt32 = 1024

    public var minProtocolVersion: UInt32
    public var maxProtocolVersion: UInt32
    public var hostName: String
    public var hostVersion: String
    public var logLevel: LogLevel
    /// 0 means ``defaultMaxFrameSize``.
    public var maxFrameSize: UInt32

    public init(minProtocolVersion: UInt32 = 1, maxProtocolVersion: UInt32 = 1, hostName: String, hostVersion: String,
                logLevel: LogLevel = .info, maxFrameSize: UInt32 = 0) {
        self.minProtocolVersion = minProtocolVersion
        self.maxProtocolVersion = maxProtocolVersion
        self.hostName = hostName
        self.hostVersion = hostVersion
        self.logLevel = logLevel
        self.maxFrameSize = maxFrameSize
    }
}

/// Feature names with a meaning in the protocol, for ``Capabilities/features`` (which may hold
/// others too).
public enum Feature {
    /// The plugin answers Cancel (PROTOCOL.md §6.1).
    public static let cancel = "cancel"
    /// A destination that stores each acknowledged state with the rows it covers and reports
    /// them at the start of a Write (PROTOCOL.md §8.1).
    public static let committedStates = "committed_states"
    /// A destination that applies CDC streams: ``RowOperation/truncate`` rows and
    /// ``ColumnVector/unchanged`` values (PROTOCOL.md §5.9). A host pipes a ``SyncMode/cdc``
    /// stream only into a destination announcing it.
    public static let cdcApply = "cdc_apply"
    /// A source that takes ``ReadAck`` during a Read (PROTOCOL.md §8.2). A host sends ReadAck
    /// only to a source announcing it.
    public static let readAcks = "read_acks"
    /// A plugin that answers ``ResourcesRequest``: lists, or releases, what it keeps on its
    /// system between calls (PROTOCOL.md §4.7).
    public static let resources = "resources"
    /// A destination that answers ``PlanWriteRequest``: the tables a Write would create or change
    /// (PROTOCOL.md §4.8).
    public static let planWrite = "plan_write"
    /// A source that can send, or a destination that can take, a stream's rows as PostgreSQL
    /// binary COPY tuples (``RecordBatch/postgresRows``, PROTOCOL.md §5.12).
    public static let postgresRows = "postgres_rows"
}

/// What a plugin can do.
public struct Capabilities: Sendable, Hashable {
    public var readModes: [SyncMode]
    public var writeModes: [WriteMode]
    public var features: [String]

    public init(readModes: [SyncMode] = [], writeModes: [WriteMode] = [], features: [String] = []) {
        self.readModes = readModes
        self.writeModes = writeModes
        self.features = features
    }

    /// Whether `feature` (a ``Feature`` name) is announced.
    public func has(_ feature: String) -> Bool { features.contains(feature) }
}

/// The plugin's answer to ``Hello``.
public struct HelloReply: Sendable, Hashable {
    public var pluginName: String
    public var pluginVersion: String
    public var protocolVersion: UInt32
    public var roles: [Role]
    public var capabilities: Capabilities

    public init(pluginName: String, pluginVersion: String, protocolVersion: UInt32, roles: [Role], capabilities: Capabilities) {
        self.pluginName = pluginName
        self.pluginVersion = pluginVersion
        self.protocolVersion = protocolVersion
        self.roles = roles
        self.capabilities = capabilities
    }
}
