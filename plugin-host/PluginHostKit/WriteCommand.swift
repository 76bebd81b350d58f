import ArgumentParser
import SluiceSDK
import SluiceWire

/// `plugin-host write`: loads JSON Lines into a destination.
struct WriteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "write",
        abstract: "Write JSON Lines to a destination (Write); print the summary as JSON.",
        discussion: """
            The catalog file is {"streams": [{"namespace", "name", "columns": [{"name", "type", \
            "nullable", "source_type", "user_type", "user_types"}], "primary_key", "write_mode", "key_columns"}]} \
            (discover's output as it is) with types bool, \
            int16, int32, int64, float32, float64, decimal, string, bytes, date, time, timetz, timestamp, \
            timestamptz, interval, uuid, json, list<type>, and write modes append, upsert, update-only, \
            mirror, replace.

            Each input line is a row: {"_stream": "ns.name", "_op": "delete" (optional), "column": value, …} \
            in the form `read` prints (PROTOCOL.md Appendix A: decimals as strings or numbers, bytes \
            base64, ISO dates and times, intervals {"months","days","micros"}, json documents as \
            strings holding their text). A missing column is NULL. Rows are sent in batches per stream (at most \
            --batch-size rows, fewer when needed to fit --max-frame-size), with a State after every \
            --state-every batches; the destination's acknowledgements are reported on stderr.

            \(ExitCodes.help)
            """
    )

    @OptionGroup var options: PluginOptions

    @Option(help: ArgumentHelp("The streams to write and their schemas (JSON).", valueName: "file"))
    var catalog: String

    @Option(help: ArgumentHelp("The JSON Lines to write (default: stdin).", valueName: "file"))
    var input: String?

    @Option(help: "Rows per record batch.")
    var batchSize = 10_000

    @Option(help: "Send a State (and expect its acknowledgement) after this many batches.")
    var stateEvery = 10

    @Option(help: "The source name the destination records in its metadata.")
    var sourceName = "plugin-host"

    func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        guard stateEvery >= 1 else { throw ValidationError("--state-every must be at least 1") }
    }

    func run() async throws {
        try await PluginSession.run(options) { session in
            let config = try await session.configJSON()
            let configured = try WriteCatalogFile.load(catalog)
            if configured.streams.contains(where: { $0.syncMode == .cdc }), !session.client.helloReply.capabilities.has(Feature.cdcApply) {
                throw HostFailure(ExitCodes.config, "the catalog has streams read with cdc, but \(session.client.helloReply.pluginName) does not apply CDC streams (no \(Feature.cdcApply) feature)")
            }
            let assembler = try BatchAssembler(catalog: configured, reader: try LineReader(path: input), client: session.client,
                                           batchSize: batchSize, stateEvery: stateEvery,
                                           maxFrameSize: Int(options.maxFrameSize ?? Hello.defaultMaxFrameSize))
            let report = ProgressReport()
            let summary: Summary
            do {
                summary = try await session.client.write(
                    WriteRequest(configJSON: config, catalog: configured, sourceName: sourceName),
                    input: WriteInput(assembler: assembler),
                    onMessage: { message in
                        switch message {
                        case .stateAck(let ack):
                            let covered = assembler.line(coveredBy: ack.id).map { " (input through line \($0))" } ?? ""
                            Diagnostics.line("acknowledged state \(ack.id)\(covered): committed")
                        case .streamStatus(let status): report.status(status)
                        case .progress(let progress): report.progress(progress)
                        default: throw HostError.protocolViolation("unexpected \(message.name) during a Write")
                        }
                    })
            } catch {
                if let failure = assembler.failure { throw Self.stopped(failure, committed: false) }
                throw error
            }
            if let failure = assembler.failure { throw Self.stopped(failure, committed: true) }
            for stream in summary.streams {
                Diagnostics.line(ProgressReport.summaryLine(stream, durationMicros: summary.durationMicros, writing: true))
            }
            Diagnostics.output(JSONWriter.pretty(CatalogJSON.summary(summary)))
            return ExitCodes.success
        }
    }

    /// An input failure, saying what became of the rows before it.
    private static func stopped(_ failure: HostFailure, committed: Bool) -> HostFailure {
        let outcome = committed ? "the destination had already committed the rows before it"
                                : "the write was cancelled; rows not acknowledged were rolled back"
        return HostFailure(failure.exitCode, "\(failure.message) (\(outcome))")
    }
}
