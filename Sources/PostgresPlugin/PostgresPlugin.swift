public import SluiceSDK
public import SluiceWire

/// The PostgreSQL plugin: a source (Discover, Read) and a destination (Write).
public struct PostgresPlugin: SourcePlugin, DestinationPlugin {
    /// The version reported in the handshake and by `--version`.
    public static let version = "0.1.0"

    public init() {}

    public var info: PluginInfo {
        PluginInfo(
            name: "postgres-plugin", version: Self.version, roles: [.source, .destination],
            capabilities: Capabilities(
                readModes: [.fullRefresh, .incremental],
                writeModes: [.append, .upsert, .updateOnly, .mirror, .replace],
                features: ["cancel", "exact_types", "binary_copy"]
            )
        )
    }

    public func spec() -> SpecResponse {
        SpecResponse(configSchemaJSON: ConfigSchema.json,
                     documentation: "Sluice PostgreSQL source and destination. See README.md.")
    }

    public func check(_ request: CheckRequest, context: CallContext) async -> CheckResponse {
        await PostgresCheck(configJSON: request.configJSON, role: request.role).run()
    }

    public func discover(_ request: DiscoverRequest, context: CallContext) async throws -> Catalog {
        try await PostgresSource(config: PluginConfig.parse(request.configJSON), context: context).discover()
    }

    public func read(_ request: ReadRequest, output: ReadOutput) async throws -> Summary {
        try await PostgresSource(config: PluginConfig.parse(request.configJSON), context: output.context).read(request, output: output)
    }

    public func write(_ request: WriteRequest, input: WriteInput, output: WriteOutput) async throws -> Summary {
        try await PostgresDestination(config: PluginConfig.parse(request.configJSON), context: output.context)
            .write(request, input: input, output: output)
    }
}
