import ArgumentParser
import SluiceWire

/// `plugin-host discover`: prints the source's catalog.
struct DiscoverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "discover",
        abstract: "Print the streams the source can read (Discover) as JSON.",
        discussion: """
            Each stream has namespace, name, kind, columns ({name, type, nullable, source_type}), \
            primary_key, unique_keys, cursor_candidates, sync_modes, estimated_rows, estimated_bytes, \
            readable and remedy.

            \(ExitCodes.help)
            """
    )

    @OptionGroup var options: PluginOptions

    func run() async throws {
        try await PluginSession.run(options) { session in
            let config = try await session.configJSON()
            let catalog = try await session.client.discover(DiscoverRequest(configJSON: config))
            Diagnostics.output(JSONWriter.pretty(CatalogJSON.catalog(catalog)))
            return ExitCodes.success
        }
    }
}
