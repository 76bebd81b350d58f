public import Logging
public import SluiceWire

/// Who a plugin is and what it can do; sent in the handshake.
public struct PluginInfo: Sendable {
    public var name: String
    public var version: String
    public var roles: [Role]
    public var capabilities: Capabilities

    public init(name: String, version: String, roles: [Role], capabilities: Capabilities) {
        self.name = name
        self.version = version
        self.roles = roles
        self.capabilities = capabilities
    }
}

/// What every plugin implements: identity, configuration schema and checks.
/// Conform to ``SourcePlugin`` and/or ``DestinationPlugin`` for the data calls.
public protocol Plugin: Sendable {
    /// Identity and capabilities for the handshake.
    var info: PluginInfo { get }
    /// The JSON Schema of the configuration.
    func spec() -> SpecResponse
    /// Checks a configuration. A failed check is a normal answer: return it, don't throw.
    func check(_ request: CheckRequest, context: CallContext) async -> CheckResponse
}

/// A plugin that reads data out of a system.
public protocol SourcePlugin: Plugin {
    /// Lists the streams the configuration can read.
    func discover(_ request: DiscoverRequest, context: CallContext) async throws -> Catalog
    /// Streams the configured streams into `output`, then returns the counts.
    /// Throw ``SluiceWire/PluginError`` for failures a user can act on; cancellation arrives
    /// as Swift task cancellation.
    func read(_ request: ReadRequest, output: ReadOutput) async throws -> Summary
}

/// A plugin that loads data into a system.
public protocol DestinationPlugin: Plugin {
    /// Loads everything `input` yields. Acknowledge each ``SluiceWire/State`` through `output`
    /// only once every row received before it is committed.
    func write(_ request: WriteRequest, input: WriteInput, output: WriteOutput) async throws -> Summary
}

/// A plugin that keeps things on its system between calls (a replication slot, committed
/// states) and can list or release them; announce ``SluiceWire/Feature/resources``.
public protocol ResourcePlugin: Plugin {
    /// Lists what is kept for the request's configuration (and pipeline), or releases it first.
    func resources(_ request: ResourcesRequest, context: CallContext) async throws -> ResourcesResponse
}

/// A destination that can say what a Write would do to its tables without running it (a dry
/// run); announce ``SluiceWire/Feature/planWrite``.
public protocol WritePlanningPlugin: DestinationPlugin {
    /// The tables the request's Write would create or change, and the statements it would run.
    func planWrite(_ request: PlanWriteRequest, context: CallContext) async throws -> PlanWriteResponse
}

/// What a call's handler gets besides its request: a logger whose messages reach the host,
/// the session's frame size limit, and the cancellation state.
public struct CallContext: Sendable {
    /// Messages at or above the host's level travel in-band as Log messages.
    public let logger: Logger
    /// The largest frame payload the host accepts (its `Hello.max_frame_size`, or the default):
    /// a source keeps every RecordBatch it sends under it, less the envelope.
    public let maxFrameSize: Int

    public init(logger: Logger, maxFrameSize: Int = Int(Hello.defaultMaxFrameSize)) {
        self.logger = logger
        self.maxFrameSize = maxFrameSize
    }

    /// True once the host (or a signal) cancelled the running call.
    public var isCancelled: Bool { Task.isCancelled }

    /// Throws `CancellationError` once the call is cancelled.
    public func checkCancellation() throws {
        try Task.checkCancellation()
    }
}
