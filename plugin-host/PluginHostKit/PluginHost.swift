import ArgumentParser

/// The `plugin-host` executable's entry point: parses the command line and runs the command.
public enum PluginHostMain {
    /// Runs `plugin-host` with the process's arguments; exits the process with the command's code.
    public static func run() async {
        await PluginHost.main()
    }
}

/// `plugin-host`: spawns a plugin that speaks the Sluice protocol and runs one call.
struct PluginHost: AsyncParsableCommand {
    /// The host's version, sent in Hello.
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "plugin-host",
        abstract: "Run one call (spec, check, discover, read, write) of a Sluice protocol plugin, a source into destinations (pipeline), or a plugin's conformance checks.",
        discussion: """
            The plugin is started as a child process and driven over stdin/stdout. Its in-band logs \
            are printed to stderr as "[level] logger: message"; results go to stdout (or --output).

            \(ExitCodes.help)
            """,
        version: version,
        subcommands: [SpecCommand.self, CheckCommand.self, DiscoverCommand.self, ReadCommand.self, WriteCommand.self, PipelineCommand.self,
                      ConformanceCommand.self, StateCommand.self]
    )
}
