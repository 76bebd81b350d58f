import ArgumentParser
import Foundation
import SluiceWire
#if canImport(Glibc)
import Glibc
#endif

/// `plugin-host check`: validates the configuration and asks the plugin to check it.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check the configuration: connectivity, credentials, privileges (Check).",
        discussion: """
            Prints {"passed": …, "checks": [{"name", "passed", "code", "message"}]} as JSON, or \
            one ✔/✘ line per check when stdout is a terminal (unless --json). Exits 66 when a check failed.

            With --pipeline FILE instead of --plugin, checks every plugin of the pipeline file (the \
            source in the source role, each destination in the destination role), inline \
            configurations included: {"passed", "plugins": [{"label", "plugin", "passed", \
            "checks" | "error"}]}. A configuration that cannot be used is reported for its plugin \
            and the others are still checked; the exit code is 65 if one could not be used, else \
            66 if a check failed.

            \(ExitCodes.help)
            """
    )

    @OptionGroup var options: PluginOptions

    @Option(help: "The role to check privileges for: source or destination (default: every role the plugin has).")
    var role: RoleOption?

    @Flag(help: "Print JSON even on a terminal.")
    var json = false

    @Option(help: ArgumentHelp("Check every plugin of this pipeline file (instead of --plugin and --config).", valueName: "file"))
    var pipeline: String?

    func validate() throws {
        if pipeline != nil {
            guard options.plugin == nil, options.config == nil, role == nil else {
                throw ValidationError("--pipeline names the plugins and their roles: leave out --plugin, --config and --role")
            }
        } else if options.plugin == nil {
            throw ValidationError("give --plugin (or --pipeline)")
        }
    }

    func run() async throws {
        if let pipeline {
            try await PipelineCheck(options: options, json: json || isatty(STDOUT_FILENO) == 0).run(pipeline)
            return
        }
        try await PluginSession.run(options) { session in
            let config = try await session.configJSON()
            let response = try await session.client.check(CheckRequest(configJSON: config, role: role?.role ?? .unspecified))
            if json || isatty(STDOUT_FILENO) == 0 {
                Diagnostics.output(JSONWriter.pretty(Self.json(response)))
            } else {
                Diagnostics.output(Self.readable(response))
            }
            return response.passed ? ExitCodes.success : ExitCodes.checkFailed
        }
    }

    static func json(_ response: CheckResponse) -> JSONValue {
        .object([
            ("passed", .bool(response.passed)),
            ("checks", .array(response.checks.map { check in
                .object([("name", .string(check.name)), ("passed", .bool(check.passed)),
                         ("code", .string(check.code)), ("message", .string(check.message))])
            })),
        ])
    }

    static func readable(_ response: CheckResponse) -> String {
        var lines = response.checks.map { check in
            let mark = check.passed ? "✔" : "✘"
            let code = check.passed ? "" : " [\(check.code)]"
            let message = check.message.isEmpty ? "" : ": \(check.message)"
            return "\(mark) \(check.name)\(code)\(message)"
        }
        let failed = response.checks.filter { !$0.passed }.count
        lines.append(response.passed ? "check passed" : "check failed: \(failed) of \(response.checks.count) checks did not pass")
        return lines.joined(separator: "\n")
    }
}

/// A `--role` value.
enum RoleOption: String, ExpressibleByArgument, CaseIterable, Sendable {
    case source, destination

    /// The protocol's role.
    var role: Role { self == .source ? .source : .destination }
}
