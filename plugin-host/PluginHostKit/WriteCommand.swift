import ArgumentParser
import SluiceSDK
import SluiceWire
#if canImport(Glibc)
import Glibc
#endif

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

    @Option(help: ArgumentHelp("Where the JSON summary is written, on success and on failure (what was committed, the error); on a terminal it is not printed on stdout.",
                               valueName: "file"))
    var summary: String?

    func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        guard stateEvery >= 1 else { throw ValidationError("--state-every must be at least 1") }
    }

    /// What the destination committed so far: the last acknowledged state, the input line it
    /// covers, and each stream's committed records.
    private struct Committed {
        var state: UInt64?
        var line: Int?
        var records: [(stream: StreamID, records: UInt64)] = []

        var json: [(key: String, value: JSONValue)] {
            [("last_acknowledged_state", state.map(JSONValue.integer) ?? .null),
             ("input_committed_through_line", line.map(JSONValue.integer) ?? .null),
             ("streams_committed", .array(records.map { .object([("stream", .string($0.stream.description)), ("records", .integer($0.records))]) }))]
        }
    }

    func run() async throws {
        let committed = LockedBox(Committed())
        try await PluginSession.run(options, onFailure: { code, message in
            guard let summary else { return }
            SummaryFile.write(SummaryFile.failure(exitCode: code, error: message, extra: committed.withLock { $0.json }), to: summary)
        }) { session in
            let config = try await session.configJSON()
            let configured = try WriteCatalogFile.load(catalog)
            if configured.streams.contains(where: { $0.syncMode == .cdc }), !session.client.helloReply.capabilities.has(Feature.cdcApply) {
                throw HostFailure(ExitCodes.config, "the catalog has streams read with cdc, but \(session.client.helloReply.pluginName) does not apply CDC streams (no \(Feature.cdcApply) feature)")
            }
            let assembler = try BatchAssembler(catalog: configured, reader: try LineReader(path: input), client: session.client,
                                           batchSize: batchSize, stateEvery: stateEvery,
                                           maxFrameSize: Int(options.maxFrameSize ?? Hello.defaultMaxFrameSize))
            let report = ProgressReport()
            try session.startingCall()
            let summary: Summary
            let board = ProgressBoard.show()
            defer { board?.close() }
            do {
                summary = try await session.client.write(
                    WriteRequest(configJSON: config, catalog: configured, sourceName: sourceName),
                    input: WriteInput(assembler: assembler),
                    onMessage: { message in
                        switch message {
                        case .stateAck(let ack):
                            let line = assembler.line(coveredBy: ack.id)
                            committed.withLock { $0.state = ack.id; $0.line = line ?? $0.line }
                            if Diagnostics.board == nil {
                                Diagnostics.line("acknowledged state \(ack.id)\(line.map { " (input through line \($0))" } ?? ""): committed",
                                                 fields: [("state", .integer(ack.id)), ("input_line", line.map(JSONValue.integer) ?? .null)])
                            }
                        case .streamStatus(let status): report.status(status)
                        case .progress(let progress):
                            committed.withLock { book in
                                if let index = book.records.firstIndex(where: { $0.stream == progress.stream }) {
                                    book.records[index].records = progress.records
                                } else {
                                    book.records.append((progress.stream, progress.records))
                                }
                            }
                            report.progress(progress)
                        default: throw HostError.protocolViolation("unexpected \(message.name) during a Write")
                        }
                    })
            } catch {
                report.settle(failure: error)
                if let failure = assembler.failure { throw Self.stopped(failure, committed: false) }
                throw error
            }
            report.settle()
            if let failure = assembler.failure { throw Self.stopped(failure, committed: true) }
            board?.close()
            for stream in summary.streams {
                Diagnostics.line(ProgressReport.summaryLine(stream, durationMicros: summary.durationMicros, writing: true), stream: stream.stream)
            }
            if let path = self.summary { SummaryFile.write(SummaryFile.succeeded(CatalogJSON.summary(summary)), to: path) }
            // On a terminal the summary lines above say it all; the JSON is for programs.
            if !Terminal.isTerminal(STDOUT_FILENO) { Diagnostics.output(JSONWriter.pretty(CatalogJSON.summary(summary))) }
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
