import Foundation
import SluiceWire

/// The latest source state per stream, kept between Reads in a JSON file:
/// `{"states": [{"stream": {"namespace", "name"} | null, "id": n, "data": "<text>"}]}`
/// (`data_base64` instead of `data` when the state is not UTF-8 text), and, after a
/// `read --output FILE` that did not finish, `"output": {"path", "bytes", "complete_streams"}`:
/// the bytes of FILE that the states cover and the streams already read whole into them, which
/// the next such read keeps and continues. Saved atomically.
enum StateFile {
    /// Where an unfinished `plugin-host read --output` stopped: its file (an absolute path), how
    /// many of its first bytes hold exactly the rows before the file's states, and the streams
    /// those bytes hold whole (the continuing read leaves them out).
    struct OutputPosition: Equatable, Sendable {
        var path: String
        var bytes: UInt64
        var completeStreams: [StreamID] = []
    }

    /// The whole file: its states, and the output position an unfinished read left.
    struct Contents {
        var states: [State] = []
        var output: OutputPosition?
    }

    /// The states in the file at `path`; none when the file does not exist yet. An output
    /// position is refused: only `plugin-host read` continues its output (``read(_:)``).
    static func load(_ path: String) throws -> [State] {
        let contents = try read(path)
        guard contents.output == nil else {
            throw HostFailure.config("the state file \(path) is invalid here:", [
                "$.output: the position of an unfinished plugin-host read --output \(contents.output?.path ?? ""); run that read again to finish it, or clear the file's states (plugin-host state clear)",
            ])
        }
        return contents.states
    }

    /// The file at `path` (empty when it does not exist yet).
    static func read(_ path: String) throws -> Contents {
        guard FileManager.default.fileExists(atPath: path) else { return Contents() }
        let root = JSONFields(value: try JSONFields.load(path, what: "state"), path: .root)
        var problems: [String] = []
        root.rejectUnknownKeys(allowed: ["states", "output"], &problems)
        var output: OutputPosition?
        if let value = root.value["output"] {
            let fields = JSONFields(value: value, path: JSONPath.root.appending(key: "output"))
            if case .object = value {
                fields.rejectUnknownKeys(allowed: ["path", "bytes", "complete_streams"], &problems)
                let file = fields.requiredString("path", &problems)
                let bytes = fields.unsigned("bytes", &problems)
                if value["bytes"] == nil { problems.append("\(fields.path): missing required property \"bytes\"") }
                var complete: [StreamID] = []
                for entry in fields.objects("complete_streams", required: false, &problems) {
                    entry.rejectUnknownKeys(allowed: ["namespace", "name"], &problems)
                    if let name = entry.requiredString("name", &problems) {
                        complete.append(StreamID(namespace: entry.string("namespace", &problems) ?? "", name: name))
                    }
                }
                if let file, let bytes { output = OutputPosition(path: file, bytes: bytes, completeStreams: complete) }
            } else {
                problems.append("\(fields.path): expected an object {\"path\", \"bytes\"}, got \(value.typeName)")
            }
        }
        var states: [State] = []
        for entry in root.objects("states", required: true, &problems) {
            entry.rejectUnknownKeys(allowed: ["stream", "id", "data", "data_base64"], &problems)
            var stream: StreamID?
            if let streamValue = entry.value["stream"], streamValue != .null {
                let fields = JSONFields(value: streamValue, path: entry.path.appending(key: "stream"))
                fields.rejectUnknownKeys(allowed: ["namespace", "name"], &problems)
                if let name = fields.requiredString("name", &problems) {
                    stream = StreamID(namespace: fields.string("namespace", &problems) ?? "", name: name)
                }
            }
            let id = entry.unsigned("id", &problems) ?? 0
            var data: [UInt8]?
            if let text = entry.string("data", &problems) {
                data = Array(text.utf8)
            } else if let encoded = entry.string("data_base64", &problems) {
                data = Data(base64Encoded: encoded).map(Array.init)
                if data == nil { problems.append("\(entry.path.appending(key: "data_base64")): invalid base64") }
            } else {
                problems.append("\(entry.path): missing \"data\" or \"data_base64\"")
            }
            if let data { states.append(State(id: id, stream: stream, data: data)) }
        }
        guard problems.isEmpty else { throw HostFailure.config("the state file \(path) is invalid:", problems) }
        return Contents(states: states, output: output)
    }

    /// The file's JSON for `states` (and `output`).
    static func json(_ states: [State], output: OutputPosition? = nil) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [("states", statesJSON(states))]
        if let output {
            members.append(("output", .object([("path", .string(output.path)), ("bytes", .integer(output.bytes)),
                                               ("complete_streams", .array(output.completeStreams.map(streamJSON)))])))
        }
        return .object(members)
    }

    private static func statesJSON(_ states: [State]) -> JSONValue {
        .array(states.map { state in
            let stream: JSONValue = state.stream.map(streamJSON) ?? .null
            let data: (key: String, value: JSONValue)
            if let text = String(validating: state.data, as: UTF8.self) {
                data = ("data", .string(text))
            } else {
                data = ("data_base64", .string(Data(state.data).base64EncodedString()))
            }
            return .object([("stream", stream), ("id", .integer(state.id)), data])
        })
    }

    private static func streamJSON(_ stream: StreamID) -> JSONValue {
        .object([("namespace", .string(stream.namespace)), ("name", .string(stream.name))])
    }

    /// Writes `states` (and `output`) to `path` through a temporary file and a rename.
    static func save(_ states: [State], output: OutputPosition? = nil, to path: String) throws {
        let text = JSONWriter.pretty(json(states, output: output)) + "\n"
        // The rename that makes the write atomic would replace a device or a link target's link.
        if let type = try? FileManager.default.attributesOfItem(atPath: path)[.type] as? FileAttributeType, type != .typeRegular {
            throw HostFailure(ExitCodes.ioError, "the state file \(path) is not a regular file")
        }
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw HostFailure(ExitCodes.ioError, "cannot write the state file \(path): \(ErrorText.describe(error))")
        }
    }
}
