import Foundation
import Logging
import SluiceWire
#if canImport(Glibc)
import Glibc
#endif

/// The entry point of a plugin executable: `--help` and `--version` for people; with no
/// arguments, serves the protocol on stdin/stdout.
///
/// Before serving, the process's stdout is moved to a private descriptor and descriptor 1
/// is pointed at stderr, so a stray `print` can never corrupt the frame stream. SIGTERM and
/// SIGINT cancel the running call, which reports that it was cancelled, and end the session.
public enum PluginMain {
    /// Runs `plugin` and exits the process with the session's outcome.
    public static func run(_ plugin: any Plugin, arguments: [String] = CommandLine.arguments) async -> Never {
        let info = plugin.info
        let args = Array(arguments.dropFirst())
        if args == ["--version"] {
            print("\(info.name) \(info.version) (Sluice protocol \(PluginServer.supportedVersions.lowerBound)-\(PluginServer.supportedVersions.upperBound))")
            exit(0)
        }
        if !args.isEmpty {
            let usage = """
            \(info.name) \(info.version): a Sluice plugin (roles: \(info.roles.map { "\($0)" }.joined(separator: ", "))).

            Run it with no arguments: it then speaks the Sluice protocol (length-prefixed protobuf
            frames, see proto/PROTOCOL.md) on stdin and stdout, and logs to stderr. Drive it with
            plugin-host, e.g. `plugin-host spec --plugin \(arguments.first ?? "PLUGIN")`.

            Options:
              --help      show this help
              --version   show the version

            """
            // Asked-for help goes to stdout; a usage error's usage to stderr (exit 64, §1.3).
            if args == ["--help"] || args == ["-h"] {
                print(usage, terminator: "")
                exit(0)
            }
            FileHandle.standardError.write(Data(("unknown arguments: \(args.joined(separator: " "))\n\n" + usage).utf8))
            exit(64)
        }

        LoggingSystem.bootstrap { InBandLogHandler(label: $0) }
        ProcessMemory.retainFreedMemory()
        signal(SIGPIPE, SIG_IGN)
        let protocolOutput = dup(STDOUT_FILENO)
        dup2(STDERR_FILENO, STDOUT_FILENO)
        let server = PluginServer(plugin: plugin, input: FileHandle.standardInput,
                                  output: FileHandle(fileDescriptor: protocolOutput, closeOnDealloc: false))
        let signals = await watchSignals { server.interrupt() }
        let outcome = await server.run()
        signals.forEach { $0.cancel() }
        exit(outcome.rawValue)
    }

    /// Sources calling `action` on SIGTERM and SIGINT, returned once the system has registered
    /// them. Until then the signals are ignored, and a host may send one as soon as it has the
    /// HelloReply (§6.2), so the session must not start earlier.
    private static func watchSignals(_ action: @escaping @Sendable () -> Void) async -> [any DispatchSourceSignal] {
        var sources: [any DispatchSourceSignal] = []
        for number in [SIGTERM, SIGINT] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler(handler: action)
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                source.setRegistrationHandler { continuation.resume() }
                source.resume()
            }
            sources.append(source)
        }
        return sources
    }
}
