import ArgumentParser

/// `plugin-host spec`: prints the plugin's configuration JSON Schema.
struct SpecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spec",
        abstract: "Print the plugin's configuration JSON Schema (GetSpec).",
        discussion: ExitCodes.help
    )

    @OptionGroup var options: PluginOptions

    func run() async throws {
        try await PluginSession.run(options) { session in
            Diagnostics.output(JSONWriter.pretty(try await session.configSchema()))
            return ExitCodes.success
        }
    }
}
