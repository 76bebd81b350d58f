import Foundation
import SluiceWire

/// A stream's read position, carried as JSON in ``State/data``:
/// `{"v":3,"mode":"incremental","key_columns":["updated_at","id"],"key":["2024-05-01 10:00:00+00","42"],"snapshot":"1200:1210:1203"}`.
/// Key values are the server's text rendering of the last row sent.
///
/// A full refresh of a relation with a primary key keeps one entry per key range instead
/// (`"key_ranges":[{"lower":"1","upper":"50001","after":["1200"]}]`: bounds on the first key
/// column, `after` the whole key of the last row sent); one without a primary key, read by
/// `ctid`, one entry per block range (`"ranges":[{"lo":0,"hi":4096,"after":"(17,3)"}]`, `hi`
/// absent for the open last range). A full refresh that finished carries `"complete":true` and
/// the next one starts from the beginning. Version 1 states (no `key_ranges`) are still read.
/// One cut by a `limit` also carries `"sent"`, the rows it has sent, which a resumed read counts
/// toward the limit.
///
/// Version 3 adds, for an incremental read of a relation with row versions (a table,
/// partitioned table or materialized view), `snapshot`: a `pg_snapshot` such that every row
/// version visible in it has been sent (`key` is then the last key sent, for information), and
/// `run`: a read still in progress (killed, or cut by `limit`), `{"snapshot":…,"key":[…]}`, whose
/// rows visible in its snapshot up to `key` have been sent. Without `snapshot` (versions 1 and 2,
/// views), every row up to `key` has been sent.
struct ReadState: Sendable, Equatable {
    var mode: String
    var keyColumns: [String]
    var key: [String?]
    var complete: Bool
    var ranges: [CtidRange] = []
    var keyRanges: [KeyRange] = []
    /// Incremental: every row version visible in this snapshot has been sent.
    var snapshot: String?
    /// Incremental: a read in progress.
    var run: RunPosition?
    /// A full refresh with a `limit`: the rows it has sent so far.
    var sent: UInt64?

    static let version = 3

    var data: [UInt8] {
        var object: [String: JSONValue] = [
            "v": .integer(Self.version), "mode": .string(mode), "key_columns": .array(keyColumns.map(JSONValue.string)),
            "key": .texts(key), "complete": .bool(complete),
        ]
        if !ranges.isEmpty { object["ranges"] = .array(ranges.map(\.json)) }
        if !keyRanges.isEmpty { object["key_ranges"] = .array(keyRanges.map(\.json)) }
        if let snapshot { object["snapshot"] = .string(snapshot) }
        if let run { object["run"] = run.json }
        // A count of rows: far inside a Double's exact integers.
        if let sent { object["sent"] = .number(Double(sent)) }
        return Array(JSONValue.object(object).compact.utf8)
    }

    /// Parses state data; nil when it is not a state this source wrote.
    init?(data: [UInt8]) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(data)) as? [String: Any],
              let version = object["v"] as? Int, (1 ... Self.version).contains(version), let mode = object["mode"] as? String,
              let keyColumns = object["key_columns"] as? [String], let key = object["key"] as? [Any] else { return nil }
        self.mode = mode
        self.keyColumns = keyColumns
        self.key = key.map { $0 as? String }
        self.complete = object["complete"] as? Bool ?? false
        self.ranges = (object["ranges"] as? [[String: Any]] ?? []).compactMap(CtidRange.init(json:))
        self.keyRanges = (object["key_ranges"] as? [[String: Any]] ?? []).compactMap(KeyRange.init(json:))
        if let snapshot = object["snapshot"] {
            guard let text = snapshot as? String, SnapshotText.isValid(text) else { return nil }
            self.snapshot = text
        }
        if let sent = object["sent"] {
            guard let count = sent as? NSNumber, count.int64Value >= 0 else { return nil }
            self.sent = UInt64(count.int64Value)
        }
        if let run = object["run"] {
            guard let run = (run as? [String: Any]).flatMap(RunPosition.init(json:)), run.key.count == keyColumns.count else { return nil }
            self.run = run
        }
        guard self.key.count == keyColumns.count || self.key.isEmpty,
              keyRanges.allSatisfy({ $0.after.map { $0.count == keyColumns.count } ?? true }) else { return nil }
    }

    init(mode: String, keyColumns: [String], key: [String?], complete: Bool = false,
         ranges: [CtidRange] = [], keyRanges: [KeyRange] = [], snapshot: String? = nil, run: RunPosition? = nil, sent: UInt64? = nil) {
        self.mode = mode
        self.keyColumns = keyColumns
        self.key = key
        self.complete = complete
        self.ranges = ranges
        self.keyRanges = keyRanges
        self.snapshot = snapshot
        self.run = run
        self.sent = sent
    }
}

/// An incremental read in progress: its snapshot (as ``ReadSnapshot`` captured it) and the
/// key of the last row sent; the rows visible in the snapshot after that key remain.
struct RunPosition: Sendable, Equatable {
    var snapshot: String
    var key: [String?]

    var json: JSONValue {
        ["snapshot": .string(snapshot), "key": .texts(key)]
    }

    init(snapshot: String, key: [String?]) {
        self.snapshot = snapshot
        self.key = key
    }

    init?(json: [String: Any]) {
        guard let snapshot = json["snapshot"] as? String, SnapshotText.isValid(snapshot),
              let key = json["key"] as? [Any] else { return nil }
        self.snapshot = snapshot
        self.key = key.map { $0 as? String }
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

    /// Block numbers: below 2^32, exact as JSON numbers.
    var json: JSONValue {
        var object: [String: JSONValue] = ["lo": .number(Double(lo))]
        if let hi { object["hi"] = .number(Double(hi)) }
        if let after { object["after"] = .string(after) }
        if done { object["done"] = true }
        return .object(object)
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

/// A range of primary-key values read by one connection in key order: rows whose first key
/// column is in `[lower, upper)`, and the whole key of the last row sent from it.
struct KeyRange: Sendable, Equatable {
    /// The first key column's lowest value, as text; nil: from the start.
    var lower: String?
    /// The first key column's first value past the range, as text; nil: to the end.
    var upper: String?
    /// The key of the last row sent, as text; nil: nothing sent yet.
    var after: [String?]?
    /// Every row of the range was sent.
    var done = false

    var json: JSONValue {
        var object: [String: JSONValue] = [:]
        if let lower { object["lower"] = .string(lower) }
        if let upper { object["upper"] = .string(upper) }
        if let after { object["after"] = .texts(after) }
        if done { object["done"] = true }
        return .object(object)
    }

    init(lower: String?, upper: String?, after: [String?]? = nil) {
        self.lower = lower
        self.upper = upper
        self.after = after
    }

    init?(json: [String: Any]) {
        lower = json["lower"] as? String
        upper = json["upper"] as? String
        after = (json["after"] as? [Any]).map { $0.map { $0 as? String } }
        done = json["done"] as? Bool ?? false
    }
}
