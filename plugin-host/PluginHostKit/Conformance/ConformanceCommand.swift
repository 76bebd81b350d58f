import ArgumentParser
import Foundation

/// `plugin-host conformance`: runs a plugin through the protocol's rules, one check per rule,
/// each against a fresh plugin process with a time limit, and reports every check.
struct ConformanceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conformance",
        abstract: "Check that a plugin follows the Sluice protocol (proto/PROTOCOL.md), one line per check.",
        discussion: """
            Each check runs against a fresh plugin process and fails when the plugin takes longer \
            than --timeout (the plugin is then killed). Checks that need a working configuration \
            (check, discover, read, read-cancel, write, write-invalid-batch) are skipped without \
            --config; source checks need the source role; the destination checks also need \
            --write, because they create a table named sluice_conformance_<hex> in the \
            destination (it is left there).

            Prints "✔ name: detail", "✘ name: reason" or "- name: skipped (why)" per check and a \
            total line, or with --json {"plugin", "checks": [{"name", "result", "detail"}], \
            "passed", "failed", "skipped"}. Exits 1 when a check failed.

            \(ExitCodes.help)
            """
    )

    @OptionGroup var options: PluginOptions

    @Option(help: ArgumentHelp("The stream the read checks use (namespace.name or name; default: the first readable stream).",
                               valueName: "name"))
    var stream: String?

    @Flag(help: "Also run the destination checks, which create a table sluice_conformance_<hex> in the destination.")
    var write = false

    @Flag(help: "Print one JSON document instead of one line per check.")
    var json = false

    @Option(help: ArgumentHelp("Seconds a check's plugin session may take before the check fails.", valueName: "seconds"))
    var timeout: Double = 10

    func validate() throws {
        guard timeout > 0, timeout <= 86_400 else { throw ValidationError("--timeout must be more than 0 and at most 86400 seconds") }
    }

    func run() async throws {
        let reaper = PluginReaper()
        defer { reaper.stop() }
        try options.requirePlugin()
        let launch = options.launch
        let environment = ProcessInfo.processInfo.environment
        let target = ConformanceTarget(launch: launch, environment: environment, timeout: timeout, reaper: reaper)
        let config: ConformanceConfig
        do {
            config = try await ConformanceConfig.prepare(launch, environment: environment, target: target)
        } catch {
            Diagnostics.line("plugin-host: \(error.message)")
            throw ExitCode(error.exitCode)
        }
        let report = ConformanceReport(plugin: launch.plugin, streaming: !json)
        await ConformanceSuite(target: target, config: config, stream: stream, write: write, report: report).run()
        Diagnostics.output(json ? JSONWriter.pretty(report.json) : report.totalLine)
        if report.count(.failed) > 0 { throw ExitCode(ExitCodes.conformanceFailed) }
    }
}
