import Foundation
import PostgresClient
import SluiceWire

/// The position of a change data capture read, carried in global States (no stream) as JSON:
/// `{"cdc": 1, "slot": "…", "lsn": "X/Y", "columns": [{"namespace": …, "name": …, "columns": […]}]}`.
/// `lsn` is the end of the last transaction whose changes were sent before the State (or the
/// slot's consistent point right after the snapshot): the destination holds everything
/// committed up to there. `columns` names, per stream, the columns its last batches carried, so
/// the next Read knows which columns were added to a table in between (states without it, from
/// earlier versions, are read as naming none).
struct CDCState: Sendable, Equatable {
    /// The format version.
    static let version = 1
    var slot: String
    var lsn: LSN
    /// Per stream, the columns the destination was last sent.
    var columns: [StreamID: [String]]

    /// The state's JSON bytes.
    var data: [UInt8] {
        var object: [String: JSONValue] = ["cdc": .integer(Self.version), "slot": .string(slot), "lsn": .string(lsn.description)]
        if !columns.isEmpty {
            object["columns"] = .array(columns.sorted { ($0.key.namespace, $0.key.name) < ($1.key.namespace, $1.key.name) }
                .map { ["namespace": .string($0.key.namespace), "name": .string($0.key.name), "columns": .array($0.value.map(JSONValue.string))] })
        }
        return Array(JSONValue.object(object).compact.utf8)
    }

    init(slot: String, lsn: LSN, columns: [StreamID: [String]] = [:]) {
        self.slot = slot
        self.lsn = lsn
        self.columns = columns
    }

    /// Parses a state this source wrote; nil for anything else.
    init?(data: [UInt8]) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(data)) as? [String: Any],
              object["cdc"] as? Int == Self.version, let slot = object["slot"] as? String,
              let text = object["lsn"] as? String, let lsn = LSN(text),
              Set(object.keys).isSubset(of: ["cdc", "slot", "lsn", "columns"]) else { return nil }
        var columns: [StreamID: [String]] = [:]
        if let entries = object["columns"] {
            guard let list = entries as? [[String: Any]] else { return nil }
            for entry in list {
                guard Set(entry.keys) == ["namespace", "name", "columns"], let namespace = entry["namespace"] as? String,
                      let name = entry["name"] as? String, let names = entry["columns"] as? [String] else { return nil }
                columns[StreamID(namespace: namespace, name: name)] = names
            }
        }
        self.init(slot: slot, lsn: lsn, columns: columns)
    }
}
