public import SluiceSDK
public import SluiceWire

/// The PostgreSQL plugin: a source (Discover, Read) and a destination (Write).
public struct PostgresPlugin: SourcePlugin, WritePlanningPlugin, ResourcePlugin {
    /// The version reported in the handshake and by `--version`.
    public static let version = "0.1.0"

    /// The connection a Discover leaves for the Read that follows it.
    private let discoverConnection = DiscoverConnection()

    public init() {}

    public var info: PluginInfo {
        PluginInfo(
            name: "postgres-plugin", version: Self.version, roles: [.source, .destination],
            capabilities: Capabilities(
                readModes: [.fullRefresh, .incremental, .cdc],
                writeModes: DestinationSettings.WriteModeName.allCases.map(\.mode),
                features: [Feature.cancel, "exact_types", "binary_copy", Feature.committedStates, Feature.cdcApply, Feature.readAcks,
                           Feature.resources, Feature.planWrite, Feature.postgresRows]
            )
        )
    }

    public func spec() -> SpecResponse {
        SpecResponse(configSchemaJSON: ConfigSchema.json,
                     documentation: "Sluice PostgreSQL source and destination. See README.md.")
    }

    public func check(_ request: CheckRequest, context: CallContext) async -> CheckResponse {
        await PostgresCheck(configJSON: request.configJSON, role: request.role, logger: context.logger).run()
    }

    public func discover(_ request: DiscoverRequest, context: CallContext) async throws -> Catalog {
        let config = try PluginConfig.parse(request.configJSON)
        let context = Self.context(context, config, call: "Discover")
        let handOff = handOff(config)
        return try await SSHTunnel.around(config, logger: context.logger) { config in
            try await PostgresSource(config: config, context: context, handOff: handOff).discover()
        }
    }

    public func read(_ request: ReadRequest, output: ReadOutput) async throws -> Summary {
        let config = try PluginConfig.parse(request.configJSON)
        let context = Self.context(output.context, config, call: "Read")
        let handOff = handOff(config)
        return try await SSHTunnel.around(config, logger: context.logger) { config in
            try await PostgresSource(config: config, context: context, handOff: handOff).read(request, output: output)
        }
    }

    public func write(_ request: WriteRequest, input: WriteInput, output: WriteOutput) async throws -> Summary {
        let config = try PluginConfig.parse(request.configJSON)
        let context = Self.context(output.context, config, call: "Write")
        return try await SSHTunnel.around(config, logger: context.logger) { config in
            try await PostgresDestination(config: config, context: context).write(request, input: input, output: output)
        }
    }

    public func planWrite(_ request: PlanWriteRequest, context: CallContext) async throws -> PlanWriteResponse {
        let config = try PluginConfig.parse(request.write.configJSON)
        let context = Self.context(context, config, call: "PlanWrite")
        return try await SSHTunnel.around(config, logger: context.logger) { config in
            try await PostgresDestination(config: config, context: context).plan(request.write)
        }
    }

    public func resources(_ request: ResourcesRequest, context: CallContext) async throws -> ResourcesResponse {
        let config = try PluginConfig.parse(request.configJSON)
        let context = Self.context(context, config, call: "Resources")
        return try await SSHTunnel.around(config, logger: context.logger) { config in
            try await PostgresResources(config: config, request: request).run()
        }
    }

    /// Where a source call of `config` leaves or finds Discover's connection; nil through an SSH
    /// tunnel, which closes with the call.
    private func handOff(_ config: PluginConfig) -> PostgresSource.HandOff? {
        guard config.connection.sshTunnel == nil else { return nil }
        return PostgresSource.HandOff(connections: discoverConnection, configuration: config.document)
    }

    /// The call's context with the configuration's `log_level` applied when it sets one (the
    /// host's level still caps it; without one the host's level applies), after logging where the call connects (never the password).
    private static func context(_ base: CallContext, _ config: PluginConfig, call: String) -> CallContext {
        var logger = base.logger
        if let level = config.connection.loggerLevel { logger.logLevel = level }
        logger.debug("\(call): connecting to \(config.connection.connectionConfig.redactedDescription)")
        return CallContext(logger: logger, maxFrameSize: base.maxFrameSize)
    }
}
