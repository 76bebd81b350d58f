import Foundation
import SluiceSDK
import SluiceWire
#if canImport(Glibc)
import Glibc
#endif

/// A source and its destinations, started: validates every configuration, discovers the
/// streams, runs the Read into the Writes (``PipelineRun``) and reports the outcome.
struct Pipeline {
    let source: PluginSession
    let destinations: [PluginSession]
    /// The read catalog (`plugin-host read`'s format, with per-stream write settings), if any.
    let catalog: ReadCatalogFile.Source?
    /// The state file, if any.
    let statePath: String?
    /// Each destination's write mode for every stream; `.unspecified` leaves it to the destination's configuration.
    let writeModes: [WriteMode]
    /// The pipeline's name (its committed states' id); nil derives one (``PipelineIdentity``).
    var name: String?
    /// The states to resume from instead of the state file's (a retry's: what the failed
    /// attempt saw every destination acknowledge).
    var resume: [State]?
    /// Which attempt this run is (1 for the first), for the report.
    var attempt = 1
    /// `--follow`: the source keeps reading changes until interrupted (its `follow` setting).
    var follow = false
    /// Whether streams the source cannot read make the pipeline fail instead of being skipped.
    var strict = false
    /// Print the plan (``PipelinePlan``) once everything is validated, instead of running it.
    var dryRun = false
    /// List or release what the plugins keep for the pipeline (``PipelineResources``), instead of running it.
    var resources: PipelineResources.Action?

    /// How one run ended.
    struct Outcome {
        var exitCode: Int32
        /// Whether the failure that ended it is one a retry may get past.
        var retryable = false
        /// The states every destination acknowledged (where a retry resumes); nil when the run
        /// failed before reading any.
        var savedStates: [State]?
        /// The JSON summary (``PipelineReport/json`` on success; what was committed and the
        /// error on failure), for `--summary`.
        var summary: JSONValue?
    }

    /// Runs the pipeline. Failures before data moves are thrown.
    func run() async throws -> Outcome {
        let started = Date()
        let control = PipelineControl(clients: [source.client] + destinations.map(\.client))
        let interrupts = InterruptHandler(clients: [source.client] + destinations.map(\.client), onInterrupt: { control.interrupt() })
        defer { interrupts.stop() }

        try checkRoles()
        // The destinations answer GetSpec while the source does (a source's failure is still the
        // one reported: its error is thrown before theirs is awaited, and leaving the scope
        // cancels theirs). Every configuration is checked before the source's Discover connects,
        // so that a configuration error is not hidden behind a connection's.
        async let destinationConfigsAnswered = Self.configurations(of: destinations)
        let sourceSchema = try await labelled(source) { try await source.configSchema() }
        var sourceConfig = try await labelled(source) {
            try PluginSession.configJSON(source.launch, environment: source.environment, schema: sourceSchema)
        }
        if follow { sourceConfig = try Self.following(sourceConfig, schema: sourceSchema) }
        let destinationConfigs = try await destinationConfigsAnswered
        let discovered = try await labelled(source) { try await source.client.discover(DiscoverRequest(configJSON: sourceConfig)) }
        let chosen = try catalog.map { try ReadCatalogFile.selection($0, against: discovered, for: .pipeline) }
        let selection = chosen?.catalog ?? ReadCatalogFile.everything(in: discovered)
        let skipped = try skipUnreadable(chosen?.unreadable ?? discovered.streams.filter { !$0.readable }.map {
            SkippedStream(stream: $0.schema.stream, remedy: $0.remedy)
        })
        guard !selection.streams.isEmpty else {
            throw HostFailure(ExitCodes.config, "nothing to read: the source has no readable streams for this configuration")
        }
        let previous = try resume ?? statePath.map(StateFile.load) ?? []
        guard !control.interrupted else {
            return Outcome(exitCode: 130, savedStates: previous, summary: SummaryFile.failure(
                exitCode: ExitCodes.interrupted, error: "interrupted before the read started", extra: [("records_committed", .integer(0))]))
        }

        try checkChangeCapture(selection)
        let writeCatalogs = try destinations.indices.map { index in
            try Self.writeCatalog(selection, mode: writeModes[index], destination: destinations[index].launch.label ?? "destination")
        }
        let sourceName = source.client.helloReply.pluginName
        let streams = selection.streams.map(\.schema.stream)
        let pipelineID = PipelineIdentity.id(name: name, sourcePlugin: sourceName, sourceConfig: try JSONParser.parse(sourceConfig),
                                             schema: sourceSchema, streams: streams)
        if dryRun {
            // Each destination that can says where every stream would land and what would change.
            var tables: [[TablePlan]?] = []
            for (index, destination) in destinations.enumerated() {
                guard destination.client.helloReply.capabilities.has(Feature.planWrite) else {
                    tables.append(nil)
                    continue
                }
                let write = WriteRequest(configJSON: destinationConfigs[index], catalog: writeCatalogs[index], sourceName: sourceName, pipelineID: pipelineID)
                tables.append(try await labelled(destination) { try await destination.client.planWrite(PlanWriteRequest(write: write)).tables })
            }
            PipelinePlan(pipelineID: pipelineID, selection: selection, writeCatalogs: writeCatalogs, destinations: destinations, tables: tables,
                         resume: ResumePoints(streams: streams, saved: previous, reports: destinations.map { _ in nil }), skipped: skipped).print()
            let refused = tables.compactMap { $0 }.flatMap { $0 }.filter { $0.action == TablePlan.Action.refuse.rawValue }
            if !refused.isEmpty {
                throw HostFailure(ExitCodes.config, "the Write would be refused before any data moves: "
                                  + refused.map { "\($0.stream) → \($0.target): \($0.detail)" }.joined(separator: "; "))
            }
            return Outcome(exitCode: ExitCodes.success)
        }
        if let resources {
            try await PipelineResources(source: source, destinations: destinations, sourceConfig: sourceConfig,
                                        destinationConfigs: destinationConfigs, pipelineID: pipelineID, statePath: statePath,
                                        action: resources).run()
            return Outcome(exitCode: ExitCodes.success)
        }
        let writes = await PipelineRun.startWrites(destinations.indices.map { index in
            WriteRequest(configJSON: destinationConfigs[index], catalog: writeCatalogs[index], sourceName: sourceName, pipelineID: pipelineID)
        }, destinations: destinations, control: control)
        let resumeFrom = ResumePoints(streams: streams, saved: previous, reports: writes.committed)
        if !control.isStopped {
            announce(resumeFrom, pipelineID: pipelineID, saved: previous)
            for warning in resumeFrom.aheadWarnings(destinations: destinations.indices.map { index in
                (destinations[index].launch.label ?? "destination \(index + 1)", writeCatalogs[index])
            }) { Diagnostics.warning(warning) }
        }
        let selected = Set(streams)
        let relay = source.client.helloReply.capabilities.has(Feature.readAcks) ? ReadAckRelay() : nil
        let acks = AckTracker(path: statePath, previous: previous.filter { $0.stream.map { !selected.contains($0) } ?? false } + resumeFrom.states,
                              destinations: destinations.count, firstID: resumeFrom.firstID, onCovered: { relay?.covered($0) })
        if resumeFrom.origins.contains(where: { $0.origin == .destination }) {
            try acks.saveResumePoints(differingFrom: previous)
        }
        let postgresRows = PostgresRowsRule.streams(source: source, destinations: destinations, committed: writes.committed)
        if !postgresRows.isEmpty {
            let names = streams.filter(postgresRows.contains).map(\.description)
            Diagnostics.line("pipeline \(pipelineID): \(names.count == 1 ? "stream" : "streams") \(names.joined(separator: ", ")) may travel as PostgreSQL rows (every destination loads them as they are)")
        }
        let estimates = Dictionary(discovered.streams.map { ($0.schema.stream, $0.estimatedRows) }) { first, _ in first }
        let board = ProgressBoard.show(streams: streams.map { stream in
            (stream, estimates[stream].flatMap { $0 > 0 ? UInt64($0) : nil })
        })
        let outcome = await PipelineRun(source: source, destinations: destinations, control: control, acks: acks, readAcks: relay).run(
            read: ReadRequest(configJSON: sourceConfig, catalog: Self.readCatalog(selection, postgresRows: postgresRows),
                              states: Self.readStates(resumeFrom, writeCatalogs)),
            writing: writes.writing)
        board?.committed(acks.committedRecords)
        board?.close()

        let kept = statePath.map { path in
            acks.statesSaved == 0 ? " The state file \(path) was not changed."
                : " The state file \(path) keeps the last point every destination committed (saved \(acks.statesSaved) times in this run)."
        } ?? ""
        let failureDetails: [(key: String, value: JSONValue)] = [
            ("records_committed", .integer(acks.committedRecords)),
            ("streams", .array(outcome.forwarded.map { .object([("stream", .string($0.stream.description)), ("read", .integer($0.records))]) })),
            ("pipeline_id", .string(pipelineID)),
            ("state_file", statePath.map(JSONValue.string) ?? .null),
            ("states_saved", .integer(acks.statesSaved)),
            ("attempts", .integer(attempt)),
        ]
        if control.interrupted {
            Diagnostics.warning("plugin-host: interrupted; uncommitted data was rolled back.\(kept)")
            return Outcome(exitCode: 130, savedStates: acks.savedStates, summary: SummaryFile.failure(
                exitCode: ExitCodes.interrupted, error: "interrupted; uncommitted data was rolled back", extra: failureDetails))
        }
        if let failure = control.failure {
            Diagnostics.error("plugin-host: the pipeline failed; uncommitted data was rolled back.\(kept)")
            return Outcome(exitCode: failure.exitCode, retryable: failure.retryable, savedStates: acks.savedStates,
                           summary: SummaryFile.failure(exitCode: failure.exitCode, error: failure.message, extra: failureDetails))
        }
        guard let read = outcome.source else {
            throw HostFailure(ExitCodes.pluginCrashed, "source: the Read ended without a Summary")
        }
        let written = try destinations.indices.map { index in
            guard let summary = outcome.destinations[index] else {
                throw HostFailure(ExitCodes.pluginCrashed, "\(destinations[index].launch.label ?? "destination"): the Write ended without a Summary")
            }
            return summary
        }
        let report = PipelineReport(source: source, destinations: destinations, read: read, written: written,
                                    forwarded: outcome.forwarded, seconds: Date().timeIntervalSince(started),
                                    statePath: statePath, statesSaved: acks.statesSaved, attempts: attempt,
                                    pipelineID: pipelineID, resumed: resumeFrom.origins, skipped: skipped)
        let json = SummaryFile.succeeded(report.json)
        if Terminal.isTerminal(STDOUT_FILENO) {
            for line in report.table { Diagnostics.output(line) }
        } else {
            report.printLines()
            Diagnostics.output(JSONWriter.pretty(json))
        }
        return Outcome(exitCode: ExitCodes.success, savedStates: acks.savedStates, summary: json)
    }

    /// Says on stderr where the streams resume, and warns about saved states set aside because
    /// a destination's table was created anew.
    private func announce(_ points: ResumePoints, pipelineID: String, saved: [State]) {
        let counts = Dictionary(grouping: points.origins, by: \.origin).mapValues(\.count)
        let parts = [(ResumePoints.Origin.destination, "from the state committed in the destinations"),
                     (.saved, "from the saved state"), (.beginning, "from the beginning")]
            .compactMap { origin, words in counts[origin].map { "\($0) \(words)" } }
        Diagnostics.line("pipeline \(pipelineID): streams resume " + parts.joined(separator: ", "))
        for (stream, origin) in points.origins where origin == .beginning && saved.contains(where: { $0.stream == stream }) {
            Diagnostics.warning("pipeline: stream \(stream.map(\.description) ?? "(global)") is read from the beginning: a destination created its table anew, so the saved state is set aside")
        }
    }

    /// Streams read with cdc (PROTOCOL.md §8.2): the source must list the mode, and every
    /// destination must apply CDC streams (`cdc_apply`).
    private func checkChangeCapture(_ selection: ConfiguredCatalog) throws {
        let streams = selection.streams.filter { $0.syncMode == .cdc }.map(\.schema.stream.description)
        guard !streams.isEmpty else { return }
        var problems: [String] = []
        if !source.client.helloReply.capabilities.readModes.contains(.cdc) {
            problems.append("\(source.launch.label ?? "source"): \(source.launch.plugin) does not read with cdc")
        }
        for destination in destinations where !destination.client.helloReply.capabilities.has(Feature.cdcApply) {
            problems.append("\(destination.launch.label ?? "destination"): \(destination.launch.plugin) does not apply CDC streams (no \(Feature.cdcApply) feature): its tables would miss deletes, truncates and unchanged values")
        }
        guard problems.isEmpty else {
            throw HostFailure.config("streams read with cdc (\(streams.joined(separator: ", "))) refused:", problems)
        }
    }

    /// The source configuration with `follow` set (`--follow`), which the source's schema must offer.
    static func following(_ config: String, schema: JSONValue) throws -> String {
        let properties = schema.objectMembers?.first { $0.key == "properties" }?.value.objectMembers ?? []
        guard properties.contains(where: { $0.key == "follow" }), var members = try JSONParser.parse(config).objectMembers else {
            throw HostFailure(ExitCodes.config, "--follow: the source has no follow setting")
        }
        members.removeAll { $0.key == "follow" }
        members.append((key: "follow", value: .bool(true)))
        return JSONWriter.compact(.object(members))
    }

    /// The wanted streams the source cannot read (every discovered one without a catalog, those
    /// a catalog's globs matched), each named on stderr with what grants access; with `strict`, a
    /// configuration failure listing them instead.
    private func skipUnreadable(_ skipped: [SkippedStream]) throws -> [SkippedStream] {
        if strict, !skipped.isEmpty {
            throw HostFailure.config("the source cannot read \(skipped.count) stream(s) and the pipeline is strict (--strict, or strict: true):",
                                     skipped.map(\.line))
        }
        for stream in skipped { Diagnostics.line("pipeline: skipping \(stream.line)") }
        return skipped
    }

    /// Each plugin must have the role it plays.
    private func checkRoles() throws {
        let plugins = [(source, Role.source, "source")] + destinations.map { ($0, Role.destination, "destination") }
        for (session, role, word) in plugins where !session.client.helloReply.roles.contains(role) {
            let name = session.client.helloReply.pluginName
            throw HostFailure(ExitCodes.config, "\(session.launch.label ?? word): \(session.launch.plugin) (\(name)) is not a \(word) plugin")
        }
    }

    /// Each destination's configuration (its GetSpec, then the file validated against it), in order.
    private static func configurations(of destinations: [PluginSession]) async throws -> [String] {
        var configs: [String] = []
        for destination in destinations {
            configs.append(try await labelled(destination) { try await destination.configJSON() })
        }
        return configs
    }

    /// Runs a setup step of `session`, naming the plugin in its failure.
    private func labelled<T>(_ session: PluginSession, _ body: () async throws -> T) async throws -> T {
        try await Self.labelled(session, body)
    }

    /// `body`, its failure carrying the plugin's label and stderr.
    static func labelled<T>(_ session: PluginSession, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            var failure = PluginSession.failure(for: error, stderr: session.client.process.stderr)
            if let label = session.launch.label { failure.message = "\(label): \(failure.message)" }
            throw failure
        }
    }

    /// The source's catalog: the selection without the destinations' settings.
    /// `postgresRows`: the streams whose rows may travel as PostgreSQL rows (PROTOCOL.md §5.12).
    static func readCatalog(_ selection: ConfiguredCatalog, postgresRows: Set<StreamID> = []) -> ConfiguredCatalog {
        ConfiguredCatalog(streams: selection.streams.map { stream in
            var stream = stream
            stream.writeMode = .unspecified
            stream.keyColumns = []
            stream.postgresRows = postgresRows.contains(stream.schema.stream)
            return stream
        })
    }

    /// The states the Read resumes from. A mirrored stream resumes only from a state its
    /// destinations committed (they keep the sync's start as mirror's cut-off); from a state the
    /// host saved, mirror would delete the rows committed before it as stale, so it is read from
    /// the start instead.
    static func readStates(_ points: ResumePoints, _ writeCatalogs: [ConfiguredCatalog]) -> [State] {
        let mirrored = Set(writeCatalogs.flatMap { $0.streams.filter { $0.writeMode == .mirror }.map(\.schema.stream) })
        return points.states.filter { state in
            guard let stream = state.stream, mirrored.contains(stream), points.origin(of: stream) != .destination else { return true }
            Diagnostics.warning("plugin-host: stream \(stream) is written with mirror, so it is read from the start (its saved state is not used): mirror deletes the rows a sync did not send")
            return false
        }
    }

    /// A destination's catalog: each selected stream with the columns the source will send (its
    /// selected columns, in their order), its primary key when every key column is selected,
    /// its own `write_mode` (else `mode`) and `key_columns`, and its read's `sync_mode` and
    /// `limit` (PROTOCOL.md §4.5: a destination must not treat a partial read as the whole
    /// stream). Mirror or replace on a stream read incrementally or with a `limit` is refused:
    /// mirror's stale-row deletion would delete every row the read did not send, and replace
    /// would keep only the rows it sent.
    static func writeCatalog(_ selection: ConfiguredCatalog, mode: WriteMode, destination: String) throws -> ConfiguredCatalog {
        var problems: [String] = []
        let catalog = ConfiguredCatalog(streams: selection.streams.map { stream in
            var schema = stream.schema
            if !stream.selectedColumns.isEmpty {
                schema.columns = stream.selectedColumns.compactMap { name in stream.schema.columns.first { $0.name == name } }
                if !schema.primaryKey.allSatisfy(stream.selectedColumns.contains) { schema.primaryKey = [] }
            }
            var writeMode = stream.writeMode == .unspecified ? mode : stream.writeMode
            if stream.syncMode == .cdc {
                // Changes apply by key: upsert, which a destination's default need not be.
                if writeMode == .unspecified { writeMode = .upsert }
                if writeMode != .upsert {
                    problems.append("stream \(schema.stream) is read with cdc (changes by key), so it must be written with upsert, not \(Self.modeName(writeMode))")
                }
            }
            if writeMode == .mirror || writeMode == .replace, stream.limit > 0 || stream.syncMode == .incremental {
                let read = stream.limit > 0 ? "with a limit of \(stream.limit) rows" : "incrementally"
                problems.append(writeMode == .mirror
                    ? "stream \(schema.stream) is read \(read), so mirror would delete every row the read does not send: use upsert, or a full read without a limit"
                    : "stream \(schema.stream) is read \(read), so replace would keep only the rows the read sends: use append or upsert, or a full read without a limit")
            }
            return ConfiguredStream(schema: schema, syncMode: stream.syncMode, limit: stream.limit, writeMode: writeMode, keyColumns: stream.keyColumns)
        })
        guard problems.isEmpty else { throw HostFailure.config("\(destination): write modes refused:", problems) }
        return catalog
    }

    private static func modeName(_ mode: WriteMode) -> String {
        switch mode {
        case .append: "append"
        case .updateOnly: "update-only"
        case .mirror: "mirror"
        case .replace: "replace"
        default: "upsert"
        }
    }
}
