import Foundation
import SluiceWire

/// The latest source state per stream, kept between Reads in a JSON file:
/// `{"states": [{"stream": {"namespace", "name"} | null, "id": n, "data": "<text>"}]}`
/// (`data_base64` instead of `data` when the state is not UTF-8 text). Saved atomically.
enum StateFile {
    /// The states in the file at `path`; none when the file does not exist yet.
    static func load(_ path: String) throws -> [State] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        let root = JSONFields(value: try JSONFields.load(path, what: "state"), path: .root)
        var problems: [String] = []
        root.rejectUnknownKeys(allowed: ["states"], &problems)
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
        return states
    }

    /// The file's JSON for `states`.
    static func json(_ states: [State]) -> JSONValue {
        .object([("states", .array(states.map { state in
            let stream: JSONValue = state.stream.map { .object([("namespace", .string($0.namespace)), ("name", .string($0.name))]) } ?? .null
            let data: (key: String, value: JSONValue)
            if let text = String(validating: state.data, as: UTF8.self) {
                data = ("data", .string(text))
            } else {
                data = ("data_base64", .string(Data(state.data).base64EncodedString()))
            }
            return .object([("stream", stream), ("id", .integer(state.id)), data])
        }))])
    }

    /// Writes `states` to `path` through a temporary file and a rename.
    static func save(_ states: [State], to path: String) throws {
        let text = JSONWriter.pretty(json(states)) + "\n"
        // The rename that makes the write atomic would replace a device or a link target's link.
        if let type = try? FileManager.default.attributesOfItem(atPath: path)[.type] as? FileAttributeType, type != .typeRegular {
            throw HostFailure(ExitCodes.ioError, "the state file \(path) is not a regular file")
        }
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw HostFailure(ExitCodes.ioError, "cannot write the state file \(path): \(error.localizedDescription)")
        }
    }
}
