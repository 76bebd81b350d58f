import ArgumentParser
import Foundation
import SluiceSDK
import SluiceWire

/// One plugin process for the length of a command: started with the shared options, its
/// logs printed at the chosen level, closed at the end whatever happens, and every failure
/// turned into one clear stderr message and an exit code (see ``ExitCodes``).
struct PluginSession {
    /// The running plugin.
    let client: PluginClient
    let launch: PluginLaunch
    let environment: [String: String]

    /// Starts the plugin, runs `body` (which returns the exit code), and closes the session.
    static func run(_ options: PluginOptions, _ body: (PluginSession) async throws -> Int32) async throws {
        try options.requirePlugin()
        var session: PluginSession?
        var exitCode: Int32
        var interrupts: InterruptHandler?
        do {
            let started = try await start(options.launch, environment: ProcessInfo.processInfo.environment)
            session = started
            interrupts = InterruptHandler(clients: [started.client])
            defer { interrupts?.stop() }
            exitCode = try await body(started)
        } catch {
            let failure = Self.failure(for: error, stderr: session?.client.process.stderr)
            Diagnostics.line("plugin-host: \(failure.message)")
            // A call ended by SIGINT/SIGTERM (CANCELLED, or the plugin gone) is an interruption.
            exitCode = interrupts?.interrupted == true ? ExitCodes.interrupted : failure.exitCode
            // Stops a call the failure interrupted (ignored when no call is running).
            try? await session?.client.cancel()
        }
        if let session { await session.close(warn: exitCode == ExitCodes.success) }
        if exitCode != ExitCodes.success { throw ExitCode(exitCode) }
    }

    /// Spawns the plugin and performs the handshake; its in-band logs at or above the chosen
    /// level go to stderr (after the launch's label, if any).
    static func start(_ launch: PluginLaunch, environment: [String: String]) async throws(HostError) -> PluginSession {
        let level = launch.logLevel.level
        let hello = Hello(hostName: "plugin-host", hostVersion: PluginHost.version, logLevel: level,
                          maxFrameSize: launch.maxFrameSize ?? 0)
        let label = launch.label
        let client = try await PluginClient.launch(
            executable: PluginLocator.locate(launch.plugin, environment: environment), hello: hello,
            echoStderr: launch.verbose,
            onLog: { log in
                if (log.level == .unspecified ? .info : log.level) <= level { Diagnostics.log(log, from: label) }
            })
        return PluginSession(client: client, launch: launch, environment: environment)
    }

    /// Ends the session; with `warn`, says so on stderr when the plugin did not exit cleanly.
    func close(warn: Bool) async {
        let status = await client.close()
        if warn, status != .exited(0) {
            let who = launch.label.map { "the \($0) plugin" } ?? "the plugin"
            Diagnostics.line("plugin-host: warning: \(who) \(status) after the session")
        }
    }

    /// The exit code and message for a failure of a session's command.
    static func failure(for error: any Error, stderr: String?) -> HostFailure {
        switch error {
        case let failure as HostFailure:
            return failure
        case HostError.plugin(let pluginError):
            let stream = pluginError.stream.map { " (stream \($0))" } ?? ""
            return HostFailure(ExitCodes.pluginError, "the plugin reported an error\(stream): \(pluginError.description)",
                               retryable: pluginError.retryable)
        case HostError.protocolViolation(let reason):
            return HostFailure(ExitCodes.pluginCrashed, "protocol violation by the plugin: \(reason)" + tail(stderr))
        case let hostError as HostError:
            return HostFailure(ExitCodes.pluginCrashed, hostError.description)
        default:
            return HostFailure(ExitCodes.pluginError, "\(error)")
        }
    }

    private static func tail(_ stderr: String?) -> String {
        let lines = (stderr ?? "").split(separator: "\n", omittingEmptySubsequences: true).suffix(20)
        return lines.isEmpty ? "" : "; the plugin's last stderr lines:\n" + lines.joined(separator: "\n")
    }

    // MARK: - Spec and configuration

    /// The plugin's configuration schema (GetSpec).
    func configSchema() async throws -> JSONValue {
        try Self.configSchema(of: try await client.spec())
    }

    /// The configuration schema in `spec`, parsed.
    static func configSchema(of spec: SpecResponse) throws(HostFailure) -> JSONValue {
        do {
            return try JSONParser.parse(spec.configSchemaJSON)
        } catch {
            throw HostFailure(ExitCodes.pluginCrashed, "the plugin's configuration schema is not valid JSON: \(error)")
        }
    }

    /// The configuration from `--config` (or `{}` without it), expanded and validated against
    /// the plugin's schema, as the JSON text to send.
    func configJSON() async throws -> String {
        try Self.configJSON(launch, environment: environment, schema: try await configSchema())
    }

    /// The configuration of `launch` (or `{}` without one), expanded from `environment` and
    /// validated against `schema`, as the JSON text to send.
    static func configJSON(_ launch: PluginLaunch, environment: [String: String], schema: JSONValue) throws(HostFailure) -> String {
        let value: JSONValue
        let source: String
        // Where each value is in a configuration file (an inline one's positions would be those
        // of its re-serialized text, not of the pipeline file).
        var located: ConfigFile.Located?
        if let config = launch.config {
            source = config.origin
            let file = ConfigFile(path: config.origin, environment: environment, schema: schema)
            do {
                switch config {
                case .file:
                    located = try file.loadLocated()
                    value = located?.value ?? .null
                case .inline(let yaml, _): value = try file.load(text: yaml)
                }
            } catch {
                throw HostFailure.config("configuration error in \(config.origin):", error.problems)
            }
        } else {
            source = "(none given; \(launch.configOption) FILE)"
            value = .object([])
        }
        let problems = JSONSchemaValidator(schema: schema).problems(of: value)
        guard problems.isEmpty else {
            throw HostFailure.config("the configuration \(source) does not match the plugin's schema:",
                                     problems.map { located?.locate($0) ?? $0 })
        }
        return JSONWriter.compact(value)
    }
}
