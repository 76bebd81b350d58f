import Foundation
import PostgresClient

/// The position of a change data capture read, carried in global States (no stream) as JSON:
/// `{"cdc": 1, "slot": "…", "lsn": "X/Y"}`. `lsn` is the end of the last transaction whose
/// changes were sent before the State (or the slot's consistent point right after the
/// snapshot): the destination holds everything committed up to there.
struct CDCState: Sendable, Equatable {
    /// The format version.
    static let version = 1
    var slot: String
    var lsn: LSN

    /// The state's JSON bytes.
    var data: [UInt8] {
        let object: [String: Any] = ["cdc": Self.version, "slot": slot, "lsn": lsn.description]
        return Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data())
    }

    init(slot: String, lsn: LSN) {
        self.slot = slot
        self.lsn = lsn
    }

    /// Parses a state this source wrote; nil for anything else.
    init?(data: [UInt8]) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(data)) as? [String: Any],
              object["cdc"] as? Int == Self.version, let slot = object["slot"] as? String,
              let text = object["lsn"] as? String, let lsn = LSN(text) else { return nil }
        self.init(slot: slot, lsn: lsn)
    }
}
