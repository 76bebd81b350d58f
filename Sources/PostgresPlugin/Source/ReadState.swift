import Foundation
import SluiceWire

/// A stream's read position, carried as JSON in ``State/data``:
/// `{"v":1,"mode":"incremental","key_columns":["updated_at","id"],"key":["2024-05-01 10:00:00+00","42"]}`.
/// Key values are the server's text rendering of the last row sent. A full refresh read by
/// `ctid` keeps one entry per block range instead (`"ranges":[{"lo":0,"hi":4096,"after":"(17,3)"}]`,
/// `hi` absent for the open last range). A full refresh that finished carries `"complete":true`
/// and the next one starts from the beginning.
struct ReadState: Sendable, Equatable {
    var mode: String
    var keyColumns: [String]
    var key: [String?]
    var complete: Bool
    var ranges: [CtidRange] = []

    static let version = 1

    var data: [UInt8] {
        let object: [String: Any] = [
            "v": Self.version, "mode": mode, "key_columns": keyColumns,
            "key": key.map { $0.map { $0 as Any } ?? NSNull() }, "complete": complete,
            "ranges": ranges.map(\.json),
        ]
        let json = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Array(json)
    }

    /// Parses state data; nil when it is not a state this source wrote.
    init?(data: [UInt8]) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(data)) as? [String: Any],
              object["v"] as? Int == Self.version, let mode = object["mode"] as? String,
              let keyColumns = object["key_columns"] as? [String], let key = object["key"] as? [Any] else { return nil }
        self.mode = mode
        self.keyColumns = keyColumns
        self.key = key.map { $0 as? String }
        self.complete = object["complete"] as? Bool ?? false
        self.ranges = (object["ranges"] as? [[String: Any]] ?? []).compactMap(CtidRange.init(json:))
        guard self.key.count == keyColumns.count || self.key.isEmpty else { return nil }
    }

    init(mode: String, keyColumns: [String], key: [String?], complete: Bool = false, ranges: [CtidRange] = []) {
        self.mode = mode
        self.keyColumns = keyColumns
        self.key = key
        self.complete = complete
        self.ranges = ranges
    }
}

/// A range of heap blocks `[lo, hi)` read by one connection, and the last row address sent from it.
struct CtidRange: Sendable, Equatable {
    var lo: Int64
    /// nil: to the end of the table.
    var hi: Int64?
    /// The ctid of the last row sent, as text such as `(17,3)`.
    var after: String?
    /// Every row of the range was sent.
    var done = false

    var json: [String: Any] {
        var object: [String: Any] = ["lo": lo]
        if let hi { object["hi"] = hi }
        if let after { object["after"] = after }
        if done { object["done"] = true }
        return object
    }

    init(lo: Int64, hi: Int64?, after: String? = nil) {
        self.lo = lo
        self.hi = hi
        self.after = after
    }

    init?(json: [String: Any]) {
        guard let lo = (json["lo"] as? NSNumber)?.int64Value else { return nil }
        self.lo = lo
        hi = (json["hi"] as? NSNumber)?.int64Value
        after = json["after"] as? String
        done = json["done"] as? Bool ?? false
    }
}
