import ArgumentParser
import Foundation
import SluiceWire

/// `plugin-host state list|show|set|clear`: reads and edits a state file (``StateFile``) so that
/// no one edits its escaped JSON by hand. `set` and `clear` hold the state file's lock
/// (``RunLock``): they fail with "already running" while a run uses the file.
struct StateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "state",
        abstract: "List, show, set or clear the saved source states of a state file.",
        discussion: """
            A stream is named namespace.name (as `list` prints it) or by its name alone when that \
            is unique in the file; `set` of a stream not in the file splits at the first dot.

            A pipeline into a destination that commits its states (postgres-plugin) resumes from \
            what the destination committed, not from this file: to re-sync such a stream, drop its \
            table or delete its row from _sluice_state.

            \(ExitCodes.help)
            """,
        subcommands: [List.self, Show.self, Set.self, Clear.self]
    )

    /// `--state` and `--stream`, shared by the verbs.
    struct Target: ParsableArguments {
        @Option(help: ArgumentHelp("The state file.", valueName: "file"))
        var state: String

        @Option(help: ArgumentHelp("One stream: namespace.name, or name when it is unique.", valueName: "name"))
        var stream: String?

        @Option(help: "How stderr lines are written: text, or json (one object per line: time, level, plugin, stream, message, fields).")
        var logFormat: LogFormat = .text

        /// The file's states (none when it does not exist); a broken file exits 65.
        func load() throws -> [State] { try contents().states }

        /// The whole file: its states, and the output position an unfinished read left (which
        /// `set` and `clear` drop: the states they save no longer match that output).
        func contents() throws -> StateFile.Contents {
            do {
                return try StateFile.read(state)
            } catch let failure as HostFailure {
                throw StateCommand.exit(failure)
            }
        }

        /// The index of `--stream` in `states`; a stream that is not there exits 65.
        func index(in states: [State], _ name: String) throws -> Int {
            let exact = states.indices.filter { states[$0].stream?.description == name }
            let byName = states.indices.filter { states[$0].stream?.name == name }
            if exact.count == 1 { return exact[0] }
            if byName.count == 1 { return byName[0] }
            let listed = states.map { $0.stream?.description ?? "(global)" }.joined(separator: ", ")
            throw StateCommand.exit(HostFailure(ExitCodes.config, byName.count > 1
                ? "stream \(name) is ambiguous in \(state); give namespace.name (\(listed))"
                : "the state file \(state) has no state for stream \(name)\(states.isEmpty ? "" : " (it has: \(listed))")"))
        }

        /// Saves `states` under the file's lock.
        func save(_ states: [State]) throws {
            try RunLock.acquireOrExit(stateFile: state)
            do {
                try StateFile.save(states, to: state)
            } catch let failure as HostFailure {
                throw StateCommand.exit(failure)
            }
        }
    }

    /// Prints a failure and ends with its exit code.
    static func exit(_ failure: HostFailure) -> ExitCode {
        Diagnostics.error("plugin-host: \(failure.message)")
        return ExitCode(failure.exitCode)
    }

    /// A state's data as text (base64 with a `base64:` prefix when it is not UTF-8).
    static func text(_ state: State) -> String {
        String(validating: state.data, as: UTF8.self) ?? "base64:" + Data(state.data).base64EncodedString()
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One line per saved state: the stream (or (global)), its id and its data.")

        @OptionGroup var target: Target

        func run() throws {
            Diagnostics.format = target.logFormat
            var states = try target.load()
            if let stream = target.stream { states = [states[try target.index(in: states, stream)]] }
            for state in states {
                Diagnostics.output("\(state.stream?.description ?? "(global)")\tid \(state.id)\t\(StateCommand.text(state))")
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print one stream's state data (--stream), or the whole file as JSON.")

        @OptionGroup var target: Target

        func run() throws {
            Diagnostics.format = target.logFormat
            let contents = try target.contents()
            let states = contents.states
            guard let stream = target.stream else {
                Diagnostics.output(JSONWriter.pretty(StateFile.json(states, output: contents.output)))
                return
            }
            Diagnostics.output(StateCommand.text(states[try target.index(in: states, stream)]))
        }
    }

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set a stream's state data (kept as it is: for postgres-plugin, the JSON it saved, e.g. a cursor value).")

        @OptionGroup var target: Target

        @Option(help: ArgumentHelp("The state data (text, e.g. JSON).", valueName: "text"))
        var data: String

        func validate() throws {
            guard target.stream != nil else { throw ValidationError("give --stream") }
        }

        func run() throws {
            Diagnostics.format = target.logFormat
            var states = try target.load()
            let name = target.stream ?? ""
            let known = states.contains { $0.stream?.description == name || $0.stream?.name == name }
            if known {
                let index = try target.index(in: states, name)
                states[index].data = Array(data.utf8)
            } else {
                let parts = name.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
                let stream = parts.count == 2 ? StreamID(namespace: String(parts[0]), name: String(parts[1])) : StreamID(name: name)
                states.append(State(id: (states.map(\.id).max() ?? 0) + 1, stream: stream, data: Array(data.utf8)))
            }
            try target.save(states)
        }
    }

    struct Clear: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove one stream's state (--stream), or every state: the next run reads it (them) from the beginning.")

        @OptionGroup var target: Target

        func run() throws {
            Diagnostics.format = target.logFormat
            var states = try target.load()
            if let stream = target.stream {
                states.remove(at: try target.index(in: states, stream))
            } else {
                states = []
            }
            try target.save(states)
        }
    }
}
