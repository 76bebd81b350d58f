import ArgumentParser
import Foundation
import SluiceSDK
import SluiceWire
#if canImport(Glibc)
import Glibc
#endif

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
            before it is written out. A read into a file that does not finish (killed, failed) also \
            saves how many bytes of the file its states cover and which streams they hold whole; \
            the next read with the same state file and --output keeps those bytes, leaves those \
            streams out and writes the rest after them, so the file ends with every row once. A \
            finished read's file is replaced by the next read.

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

    @Option(help: ArgumentHelp("Where the JSON summary is written, on success and on failure (records written out, the state file, the error).",
                               valueName: "file"))
    var summary: String?

    func run() async throws {
        try RunLock.acquireOrExit(stateFile: state)
        let written = LockedBox<UInt64>(0)
        try await PluginSession.run(options, onFailure: { code, message in
            guard let summary else { return }
            SummaryFile.write(SummaryFile.failure(exitCode: code, error: message, extra: [
                ("records_written", .integer(written.withLock { $0 })), ("state_file", state.map(JSONValue.string) ?? .null),
            ]), to: summary)
        }) { session in
            let config = try await session.configJSON()
            try session.startingCall()
            let discovered = try await session.client.discover(DiscoverRequest(configJSON: config))
            let chosen = try catalog.map { try ReadCatalogFile.selection(.file($0), against: discovered, for: .read) }
            for stream in chosen?.unreadable ?? [] { Diagnostics.line("plugin-host: skipping \(stream.line)") }
            var selection = chosen?.catalog ?? ReadCatalogFile.everything(in: discovered)
            guard !selection.streams.isEmpty else {
                throw HostFailure(ExitCodes.config, "nothing to read: the source has no readable streams for this configuration")
            }
            let saved = try state.map(StateFile.read) ?? StateFile.Contents()
            let previous = saved.states
            let outputPath = output.flatMap { $0 == "-" ? nil : URL(fileURLWithPath: $0).standardizedFileURL.resolvingSymlinksInPath().path }
            // An unfinished read into the same file is continued: its bytes up to the states stay,
            // and the streams it wrote whole there are not read again.
            let continued = saved.output.flatMap { $0.path == outputPath ? $0 : nil }
            if let earlier = saved.output, continued == nil {
                Diagnostics.line("plugin-host: the state file's states cover the first \(earlier.bytes) bytes of \(earlier.path), an unfinished read's output; this read writes the rows after them to \(outputPath ?? "stdout")")
            }
            let done = continued?.completeStreams ?? []
            selection.streams.removeAll { done.contains($0.schema.stream) }
            let sink = try OutputSink(path: output, continuing: continued?.bytes)
            var reader = ReadSession(sink: sink, states: previous, outputPath: outputPath, complete: done)
            if selection.streams.isEmpty, let state {
                // The unfinished read had written every stream whole: it is finished now.
                try sink.close()
                try StateFile.save(previous, to: state)
                Diagnostics.line("plugin-host: \(outputPath ?? "") already holds every stream whole (an unfinished read had written them); nothing left to read")
                if let path = self.summary {
                    SummaryFile.write(SummaryFile.succeeded(CatalogJSON.summary(Summary(streams: [], durationMicros: 0))), to: path)
                }
                return ExitCodes.success
            }
            let outcome: Result<Summary, any Error>
            let board = ProgressBoard.show(unlessStdoutIsTerminal: output == nil || output == "-")
            do {
                try session.startingCall()
                try await session.client.startRead(ReadRequest(configJSON: config, catalog: selection, states: previous))
                outcome = .success(try await reader.consume(session.client, statePath: state))
            } catch {
                outcome = .failure(error)
            }
            board?.close()
            written.withLock { $0 = reader.records }
            if let state {
                try? sink.flush(durable: true)
                switch outcome {
                case .success:
                    // Finished: the next read starts a new output.
                    if reader.emittedStates || saved.output != nil { try StateFile.save(reader.latestStates, to: state) }
                case .failure:
                    if reader.emittedStates { try StateFile.save(reader.cut.states, output: reader.cutOutput, to: state) }
                }
            }
            let summary = try outcome.get()
            try sink.close()
            for stream in summary.streams {
                Diagnostics.line(ProgressReport.summaryLine(stream, durationMicros: summary.durationMicros, writing: false), stream: stream.stream)
            }
            if let path = self.summary { SummaryFile.write(SummaryFile.succeeded(CatalogJSON.summary(summary)), to: path) }
            return ExitCodes.success
        }
    }
}
