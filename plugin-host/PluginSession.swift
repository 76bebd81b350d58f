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
    let options: PluginOptions
    let environment: [String: String]

    /// Starts the plugin, runs `body` (which returns the exit code), and closes the session.
    static func run(_ options: PluginOptions, _ body: (PluginSession) async throws -> Int32) async throws {
        let environment = ProcessInfo.processInfo.environment
        let level = options.logLevel.level
        let hello = Hello(hostName: "plugin-host", hostVersion: PluginHost.version, logLevel: level,
                          maxFrameSize: options.maxFrameSize ?? 0)
        var client: PluginClient?
        var exitCode: Int32
        do {
            let launched = try await PluginClient.launch(
                executable: PluginLocator.locate(options.plugin, environment: environment), hello: hello,
                echoStderr: options.verbose,
                onLog: { log in
                    if (log.level == .unspecified ? .info : log.level) <= level { Diagnostics.log(log) }
                })
            client = launched
            let interrupts = InterruptHandler(client: launched)
            defer { interrupts.stop() }
            exitCode = try await body(PluginSession(client: launched, options: options, environment: environment))
        } catch {
            let failure = Self.failure(for: error, stderr: client?.process.stderr)
            Diagnostics.line("plugin-host: \(failure.message)")
            exitCode = failure.exitCode
            // Stops a Read or Write the failure interrupted (ignored when no call is running).
            try? await client?.cancel()
        }
        if let client {
            let status = await client.close()
            if exitCode == ExitCodes.success, status != .exited(0) {
                Diagnostics.line("plugin-host: warning: the plugin \(status) after the session")
            }
        }
        if exitCode != ExitCodes.success { throw ExitCode(exitCode) }
    }

    private static func failure(for error: any Error, stderr: String?) -> HostFailure {
        switch error {
        case let failure as HostFailure:
            return failure
        case HostError.plugin(let pluginError):
            let stream = pluginError.stream.map { " (stream \($0))" } ?? ""
            return HostFailure(ExitCodes.pluginError, "the plugin reported an error\(stream): \(pluginError.description)")
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
        let spec = try await client.spec()
        do {
            return try JSONParser.parse(spec.configSchemaJSON)
        } catch {
            throw HostFailure(ExitCodes.pluginCrashed, "the plugin's configuration schema is not valid JSON: \(error)")
        }
    }

    /// The configuration from `--config` (or `{}` without it), expanded and validated against
    /// the plugin's schema, as the JSON text to send.
    func configJSON() async throws -> String {
        let schema = try await configSchema()
        let value: JSONValue
        let source: String
        if let path = options.config {
            source = path
            do {
                value = try ConfigFile(path: path, environment: environment, schema: schema).load()
            } catch {
                throw HostFailure.config("configuration error in \(path):", error.problems)
            }
        } else {
            source = "(none given; --config FILE)"
            value = .object([])
        }
        let problems = JSONSchemaValidator(schema: schema).problems(of: value)
        guard problems.isEmpty else {
            throw HostFailure.config("the configuration \(source) does not match the plugin's schema:", problems)
        }
        return JSONWriter.compact(value)
    }
}
