import ArgumentParser
import SluiceWire

/// The options every command shares: which plugin, its configuration, and logging. `--plugin`
/// is required by every command (``PluginSession/run(_:_:)`` and `conformance` refuse its
/// absence with exit 64) but `check --pipeline`, which checks a pipeline's plugins instead.
struct PluginOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The plugin executable (a path, or a name looked up in PATH, then beside plugin-host).", valueName: "path"))
    var plugin: String?

    @Option(name: .long, help: ArgumentHelp(
        "The plugin configuration: YAML or JSON, with ${VAR} and ${VAR:-default} expanded from the environment.",
        valueName: "file"))
    var config: String?

    @Option(name: .long, help: "Print plugin logs at or above this level to stderr.")
    var logLevel: LogLevelOption = .info

    @Option(name: .long, help: ArgumentHelp("The largest protocol frame, in bytes (default 67108864).", valueName: "bytes"))
    var maxFrameSize: UInt32?

    @Flag(name: .long, help: "Also copy the plugin's raw stderr to stderr.")
    var verbose = false

    func validate() throws {
        if let maxFrameSize, maxFrameSize < 1024 {
            throw ValidationError("--max-frame-size must be at least 1024 bytes")
        }
        if plugin?.isEmpty == true { throw ValidationError("--plugin must name an executable") }
    }

    /// Ends the command with exit 64 when `--plugin` is missing.
    func requirePlugin() throws {
        guard plugin == nil else { return }
        Diagnostics.line("Error: Missing expected argument '--plugin <path>'")
        throw ExitCode(64)
    }

    /// How to start the plugin these options name (``requirePlugin()`` checked it is given).
    var launch: PluginLaunch {
        PluginLaunch(plugin: plugin ?? "", config: config.map(PluginConfigSource.file), logLevel: logLevel, maxFrameSize: maxFrameSize,
                     verbose: verbose)
    }
}

/// How to start one plugin and where its configuration comes from.
struct PluginLaunch: Sendable {
    /// The executable (a path, or a name looked up in PATH, then beside plugin-host).
    var plugin: String
    /// The configuration, if any.
    var config: PluginConfigSource?
    /// The option naming the configuration file, for messages.
    var configOption = "--config"
    var logLevel: LogLevelOption
    var maxFrameSize: UInt32?
    var verbose: Bool
    /// Printed before the plugin's logs and failures when several plugins run ("source"); nil for one.
    var label: String?
}

/// Where a plugin's configuration comes from.
enum PluginConfigSource: Sendable {
    /// A YAML or JSON file.
    case file(String)
    /// YAML text written inside another file; `origin` names where (`pipeline.yaml $.source.config`).
    case inline(yaml: String, origin: String)

    /// The file, or where the inline text was written.
    var origin: String {
        switch self {
        case .file(let path): path
        case .inline(_, let origin): origin
        }
    }
}

/// A `--log-level` value.
enum LogLevelOption: String, ExpressibleByArgument, CaseIterable, Sendable {
    case error, warn, info, debug, trace

    /// The protocol's level.
    var level: LogLevel {
        switch self {
        case .error: .error
        case .warn: .warn
        case .info: .info
        case .debug: .debug
        case .trace: .trace
        }
    }
}
