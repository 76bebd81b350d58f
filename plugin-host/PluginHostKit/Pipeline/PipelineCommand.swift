import ArgumentParser
import Foundation
import SluiceWire

/// `plugin-host pipeline`: reads a source straight into one or more destinations over the
/// protocol, with states saved only once every destination committed the data before them.
struct PipelineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Read a source into one or more destinations (Read → Write), resumably.",
        discussion: """
            Every plugin is started and its configuration validated; the source is discovered and \
            read (every readable stream in full refresh, or the streams of --catalog, in the `read` \
            command's format, where a stream may also set its destinations' write_mode and \
            key_columns), and each destination writes every stream with its discovered schema and \
            primary key, in the stream's write_mode, else --write-mode, else the destination's \
            configured default. Mirror or replace on a stream read incrementally or with a limit is refused. \
            Schemas and batches are forwarded as they arrive, to every destination at once.

            Each source State is forwarded to every destination; once all of them acknowledged \
            it (committed everything before it), it is saved to --state (atomically). A \
            destination with the committed_states feature (postgres-plugin) commits each state \
            with the rows it covers, under the pipeline's --name (default: derived from the \
            source, its configuration without secrets, and the streams), and a rerun resumes \
            each stream exactly where its destinations committed: nothing lost, nothing twice. \
            Other destinations resume from the state file: nothing is lost, and rows after the \
            last saved state may arrive twice (harmless with upsert or mirror).

            When a plugin fails, the others' calls are cancelled (they roll back what they have \
            not committed) and the state file stays at the last point every destination \
            committed. A failure the plugin marks retryable (a lost connection, a server restart) \
            is retried --retries times with fresh plugin processes, after --retry-delay seconds \
            (doubling each time), resuming from that point (kept in memory when there is no \
            --state). SIGINT/SIGTERM stop everything and exit 130; a second one kills the plugins.

            Instead of the plugin flags, --pipeline FILE describes everything in YAML or JSON: \
            source: {plugin, config}, destinations: [{plugin, config, write_mode}], catalog, state, \
            where config is a file path or an inline object (${VAR} expanded, validated like a \
            --config file), catalog a file path or an inline object, and relative paths are \
            relative to the pipeline file. --catalog, \
            --state and --write-mode override the file's.

            A stream whose catalog entry sets sync_mode: cdc is read by change data capture: \
            the source must list the mode, every destination must apply CDC streams (the \
            cdc_apply feature; postgres-plugin has it), and the stream is written with upsert. \
            A source with the read_acks feature is told which of its states every destination \
            committed (so PostgreSQL may recycle its log up to there). With --follow the source \
            keeps reading changes until SIGINT/SIGTERM.

            On success the summary is printed as JSON on stdout when stdout is not a terminal: per \
            stream, records read and written by each destination, the duration and records per \
            second; on a terminal a short table instead. --summary FILE also gets the JSON, on \
            failure too (status, exit_code, error, records_committed, per-stream records read). \
            Progress goes to stderr: on a terminal a live display redrawn in place (per stream rows, \
            rows/s, % of the discovered estimate, ETA; totals), otherwise a line every two seconds.

            \(ExitCodes.help)
            """
    )

    @Option(help: ArgumentHelp("The whole pipeline in one YAML or JSON file (instead of --source and --destination).",
                               valueName: "file"))
    var pipeline: String?

    @Option(help: ArgumentHelp("The source plugin executable (a path, or a name looked up in PATH, then beside plugin-host).", valueName: "path"))
    var source: String?

    @Option(help: ArgumentHelp("The source configuration (YAML or JSON, ${VAR} expanded).", valueName: "file"))
    var sourceConfig: String?

    @Option(help: ArgumentHelp("A destination plugin executable; repeat for several destinations.", valueName: "path"))
    var destination: [String] = []

    @Option(help: ArgumentHelp("A destination configuration, one per --destination, in the same order.", valueName: "file"))
    var destinationConfig: [String] = []

    @Option(help: ArgumentHelp("The streams to read (the `read` command's catalog); default: every readable stream, full refresh.",
                               valueName: "file"))
    var catalog: String?

    @Option(help: ArgumentHelp("Source states to resume from, and where the acknowledged ones are saved.", valueName: "file"))
    var state: String?

    @Option(help: ArgumentHelp("The pipeline's name: the id its destinations keep its committed states under (default: derived from the source plugin, its configuration without secrets, and the streams).",
                               valueName: "name"))
    var name: String?

    @Option(help: "The write mode of every stream in every destination (default: each destination's configured one).")
    var writeMode: WriteModeOption?

    @Option(help: "Print plugin logs at or above this level to stderr.")
    var logLevel: LogLevelOption = .info

    @Option(help: "How stderr lines are written: text, or json (one object per line: time, level, plugin, stream, message, fields).")
    var logFormat: LogFormat = .text

    @Option(help: ArgumentHelp("Where the JSON summary is written, on success and on failure (what was committed, what failed, the error).",
                               valueName: "file"))
    var summary: String?

    @Option(help: ArgumentHelp("The largest protocol frame, in bytes (default 67108864).", valueName: "bytes"))
    var maxFrameSize: UInt32?

    @Flag(help: "Also copy the plugins' raw stderr to stderr.")
    var verbose = false

    @Flag(help: "Streams read with cdc: keep reading changes until SIGINT/SIGTERM instead of stopping once caught up (sets the source's follow setting).")
    var follow = false

    @Flag(help: "Fail (exit 65) when the source cannot read some of its streams, instead of skipping them with a warning (without --catalog).")
    var strict = false

    @Flag(help: "Validate everything, discover the source and print the plan (streams, modes, keys, resume points) without reading or writing anything.")
    var dryRun = false

    @Flag(help: "List what the plugins keep on their systems for this pipeline between runs (a CDC source's replication slot and publication, the states the destinations committed), without reading or writing anything.")
    var resources = false

    @Flag(help: "Release what the plugins keep for this pipeline (drop the replication slot, forget the committed states) and clear the state file: the next run starts over.")
    var releaseResources = false

    @Option(help: "How many times to retry a run that failed with a retryable error.")
    var retries = 2

    @Option(help: ArgumentHelp("Seconds before the first retry; each later one waits twice as long.", valueName: "seconds"))
    var retryDelay = 5.0

    func validate() throws {
        if pipeline != nil {
            guard source == nil, sourceConfig == nil, destination.isEmpty, destinationConfig.isEmpty else {
                throw ValidationError("--pipeline describes the plugins: leave out --source, --source-config, --destination and --destination-config")
            }
        } else {
            guard let source, !source.isEmpty else { throw ValidationError("give --source (or --pipeline)") }
            guard !destination.isEmpty, !destination.contains(where: \.isEmpty) else {
                throw ValidationError("give at least one --destination (or --pipeline)")
            }
            guard destinationConfig.isEmpty || destinationConfig.count == destination.count else {
                throw ValidationError("give one --destination-config per --destination (\(destination.count) destinations, \(destinationConfig.count) configurations)")
            }
        }
        if let name, name.isEmpty { throw ValidationError("--name must not be empty") }
        if [dryRun, resources, releaseResources].filter({ $0 }).count > 1 {
            throw ValidationError("give one of --dry-run, --resources and --release-resources")
        }
        guard retries >= 0, retryDelay >= 0 else { throw ValidationError("--retries and --retry-delay cannot be negative") }
        if let maxFrameSize, maxFrameSize < 1024 {
            throw ValidationError("--max-frame-size must be at least 1024 bytes")
        }
    }

    func run() async throws {
        Diagnostics.format = logFormat
        let environment = ProcessInfo.processInfo.environment
        // The state file named in the pipeline file (a file that cannot be read fails later, in the attempt).
        let fileState = state == nil ? pipeline.flatMap { try? PipelineFile.load($0, environment: environment) }?.state : nil
        // A dry run and a listing change nothing, so they may run beside a real run.
        if !dryRun && !resources { try RunLock.acquireOrExit(pipelineFile: pipeline, stateFile: state ?? fileState) }
        var resume: [State]?
        var attempt = 1
        while true {
            let outcome = await self.attempt(attempt, resume: resume, environment: environment)
            guard outcome.retryable, attempt <= retries else {
                if let summary, let json = outcome.summary { SummaryFile.write(json, to: summary) }
                if outcome.exitCode != ExitCodes.success { throw ExitCode(outcome.exitCode) }
                return
            }
            let delay = retryDelay * Double(1 << (attempt - 1))
            Diagnostics.warning(String(format: "plugin-host: the failure is retryable; retry %d of %d in %.1f s, from the last state every destination committed",
                                    attempt, retries, delay))
            try await Task.sleep(for: .seconds(delay))
            resume = outcome.savedStates ?? resume
            attempt += 1
        }
    }

    /// Starts every plugin, runs the pipeline once, and closes the plugins.
    private func attempt(_ attempt: Int, resume: [State]?, environment: [String: String]) async -> Pipeline.Outcome {
        var sessions: [PluginSession] = []
        var outcome: Pipeline.Outcome
        do {
            let plan = try self.plan(environment: environment)
            let launches = plan.launches(logLevel: logLevel, maxFrameSize: maxFrameSize, verbose: verbose)
            // Started side by side: each start waits for its plugin's process and Hello.
            let started = await Self.start(launches, environment: environment)
            sessions = started.compactMap { try? $0.get() }
            for result in started { _ = try result.get() }
            let pipeline = Pipeline(source: sessions[0], destinations: Array(sessions.dropFirst()), catalog: catalog.map(ReadCatalogFile.Source.file) ?? plan.catalog,
                                    statePath: state ?? plan.state,
                                    writeModes: plan.destinations.map { writeMode?.mode ?? $0.writeMode },
                                    name: name ?? plan.name, resume: resume, attempt: attempt, follow: follow,
                                    strict: strict || plan.strict, dryRun: dryRun,
                                    resources: resources ? .list : releaseResources ? .release : nil)
            outcome = try await pipeline.run()
        } catch {
            let failure = PluginSession.failure(for: error, stderr: nil)
            Diagnostics.error("plugin-host: \(failure.message)")
            outcome = Pipeline.Outcome(exitCode: failure.exitCode, retryable: failure.retryable,
                                       summary: SummaryFile.failure(exitCode: failure.exitCode, error: failure.message, extra: [
                                           ("records_committed", .integer(0)), ("attempts", .integer(attempt)),
                                       ]))
        }
        let succeeded = outcome.exitCode == ExitCodes.success
        await withTaskGroup(of: Void.self) { group in
            for session in sessions { group.addTask { await session.close(warn: succeeded) } }
        }
        return outcome
    }

    /// Starts every plugin of `launches` at once; the results in their order, a failure naming
    /// the plugin's label.
    private static func start(_ launches: [PluginLaunch], environment: [String: String]) async -> [Result<PluginSession, HostFailure>] {
        await withTaskGroup(of: (Int, Result<PluginSession, HostFailure>).self) { group in
            for (index, launch) in launches.enumerated() {
                group.addTask {
                    do {
                        return (index, .success(try await PluginSession.start(launch, environment: environment)))
                    } catch {
                        let failure = PluginSession.failure(for: error, stderr: nil)
                        return (index, .failure(HostFailure(failure.exitCode, "\(launch.label ?? "plugin"): \(failure.message)")))
                    }
                }
            }
            var results: [Result<PluginSession, HostFailure>?] = Array(repeating: nil, count: launches.count)
            for await (index, result) in group { results[index] = result }
            return results.compactMap { $0 }
        }
    }

    /// The plugins, from --pipeline or from the flags.
    private func plan(environment: [String: String]) throws -> PipelineFile {
        if let pipeline { return try PipelineFile.load(pipeline, environment: environment) }
        return PipelineFile(
            source: PipelineFile.Plugin(plugin: source ?? "", config: sourceConfig.map(PluginConfigSource.file)),
            destinations: destination.enumerated().map { index, plugin in
                PipelineFile.Plugin(plugin: plugin, config: destinationConfig.isEmpty ? nil : .file(destinationConfig[index]))
            },
            catalog: nil, state: nil, name: nil)
    }
}

/// A `--write-mode` value.
struct WriteModeOption: ExpressibleByArgument, Sendable {
    /// The protocol's write mode.
    let mode: WriteMode

    init?(argument: String) {
        guard let mode = ProtocolNames.writeMode(named: argument), mode != .unspecified else { return nil }
        self.mode = mode
    }

    static var allValueStrings: [String] { ["append", "upsert", "update-only", "mirror", "replace"] }
}
