import ArgumentParser
import SluiceWire

/// The options every command shares: which plugin, its configuration, and logging.
struct PluginOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The plugin executable (a path, or a name looked up in PATH).", valueName: "path"))
    var plugin: String

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
        if plugin.isEmpty { throw ValidationError("--plugin must name an executable") }
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
