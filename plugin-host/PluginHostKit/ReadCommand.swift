import ArgumentParser
import SluiceSDK
import SluiceWire

/// `plugin-host read`: reads streams from a source into JSON Lines.
struct ReadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read",
        abstract: "Read streams from a source (Read) as JSON Lines.",
        discussion: """
            Without --catalog, every readable stream is read in full refresh. The catalog file is \
            {"streams": [{"namespace", "name", "columns": [names], "sync_mode": "full_refresh" | \
            "incremental", "cursor", "filter", "limit"}]}.

            Each output line is one row: {"_stream": "ns.name", "_op": "delete" (delete rows only), \
            "column": value, …}, in the format of PROTOCOL.md Appendix A. Decimals are exact \
            strings, bytes base64, dates YYYY-MM-DD (BC years negative), timestamps \
            YYYY-MM-DDTHH:MM:SS.ffffff (Z for timestamptz), ±infinity "infinity"/"-infinity", \
            intervals {"months","days","micros"}, json documents strings holding their exact text \
            ("null" is the JSON null, null is SQL NULL), NaN/Infinity floats as strings.

            With --state, the states in the file are sent to the source, and the latest state per \
            stream that the source emits is saved back to it (atomically) once everything read \
            before it is written out.

            \(ExitCodes.help)
            """
    )

    @OptionGroup var options: PluginOptions

    @Option(help: ArgumentHelp("The streams to read (JSON); default: every readable stream, full refresh.", valueName: "file"))
    var catalog: String?

    @Option(help: ArgumentHelp("Source states to resume from, and where the new ones are saved.", valueName: "file"))
    var state: String?

    @Option(help: ArgumentHelp("Where the JSON Lines go (default: stdout).", valueName: "file"))
    var output: String?

    func run() async throws {
        try RunLock.acquireOrExit(stateFile: state)
        try await PluginSession.run(options) { session in
            let config = try await session.configJSON()
            let discovered = try await session.client.discover(DiscoverRequest(configJSON: config))
            let chosen = try catalog.map { try ReadCatalogFile.selection(.file($0), against: discovered, for: .read) }
            for stream in chosen?.unreadable ?? [] { Diagnostics.line("plugin-host: skipping \(stream.line)") }
            let selection = chosen?.catalog ?? ReadCatalogFile.everything(in: discovered)
            guard !selection.streams.isEmpty else {
                throw HostFailure(ExitCodes.config, "nothing to read: the source has no readable streams for this configuration")
            }
            let previous = try state.map(StateFile.load) ?? []
            let sink = try OutputSink(path: output)
            var reader = ReadSession(sink: sink, states: previous)
            let outcome: Result<Summary, any Error>
            do {
                try await session.client.startRead(ReadRequest(configJSON: config, catalog: selection, states: previous))
                outcome = .success(try await reader.consume(session.client, statePath: state))
            } catch {
                outcome = .failure(error)
            }
            if let state, reader.emittedStates {
                try? sink.flush(durable: true)
                try StateFile.save(reader.latestStates, to: state)
            }
            let summary = try outcome.get()
            try sink.close()
            for stream in summary.streams {
                Diagnostics.line(ProgressReport.summaryLine(stream, durationMicros: summary.durationMicros, writing: false))
            }
            return ExitCodes.success
        }
    }
}
