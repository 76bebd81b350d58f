import Foundation

/// Reads typed settings out of a JSON configuration object, collecting every problem with
/// its JSON path instead of stopping at the first. Never echoes a value (it may be a secret).
struct ConfigReader {
    private let object: [String: JSONValue]
    private let path: String
    /// Problems found so far, each `$.path: what is wrong`.
    private(set) var problems: [String] = []
    /// The settings read so far (see ``Setting``): the keys this object may have.
    private(set) var described: [SettingDescription] = []

    init(object: [String: JSONValue], path: String = "$") {
        self.object = object
        self.path = path
    }

    /// Parses configuration text; a non-object is one problem.
    static func parse(_ json: String) -> Result<ConfigReader, ConfigError> {
        let text = json.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { return .success(ConfigReader(object: [:])) }
        guard let value = try? JSONValue.parse(text) else {
            return .failure(ConfigError(problems: ["$: the configuration is not valid JSON"]))
        }
        guard case .object(let object) = value else {
            return .failure(ConfigError(problems: ["$: the configuration must be a JSON object"]))
        }
        return .success(ConfigReader(object: object))
    }

    /// The object being read, whole.
    var document: JSONValue { .object(object) }

    func has(_ key: String) -> Bool {
        guard let value = object[key] else { return false }
        return value != .null
    }

    mutating func string(_ key: String) -> String? {
        guard has(key) else { return nil }
        guard case .string(let value)? = object[key] else { return problem(key, "expected a string") }
        return value
    }

    mutating func string(_ key: String, default fallback: String) -> String {
        string(key) ?? fallback
    }

    /// One of `Choice`'s names or `aliases`; nil when absent or not one of them (a problem).
    mutating func choice<Choice: SettingChoice>(_ key: String, aliases: KeyValuePairs<String, Choice> = [:]) -> Choice? {
        guard let raw = string(key) else { return nil }
        if let value = Choice(rawValue: raw) ?? aliases.first(where: { $0.key == raw })?.value { return value }
        return problem(key, "must be one of \(Choice.allCases.map(\.rawValue).joined(separator: ", "))")
    }

    mutating func integer(_ key: String, default fallback: Int, range: ClosedRange<Int>? = nil) -> Int {
        guard has(key) else { return fallback }
        let number: Int?
        switch object[key] {
        case .number(let value)? where value == value.rounded() && abs(value) < 1e15:
            number = Int(value)
        case .string(let value)?:
            number = Int(value)
        default:
            number = nil
        }
        guard let number else { return problem(key, "expected an integer") ?? fallback }
        if let range, !range.contains(number) {
            return problem(key, "must be between \(range.lowerBound) and \(range.upperBound)") ?? fallback
        }
        return number
    }

    mutating func bool(_ key: String, default fallback: Bool) -> Bool {
        guard has(key) else { return fallback }
        switch object[key] {
        case .bool(let value)?: return value
        case .string(let value)? where value == "true" || value == "false": return value == "true"
        default: return problem(key, "expected true or false") ?? fallback
        }
    }

    mutating func stringArray(_ key: String) -> [String] {
        guard has(key) else { return [] }
        guard case .array(let values)? = object[key] else { return problem(key, "expected an array of strings") ?? [] }
        let strings = values.compactMap { value -> String? in
            if case .string(let text) = value { return text }
            return nil
        }
        guard strings.count == values.count else { return problem(key, "expected an array of strings") ?? [] }
        return strings
    }

    /// A nested object, read with its own reader whose problems are merged by ``merge(_:)``.
    mutating func object(_ key: String) -> ConfigReader? {
        guard has(key) else { return nil }
        guard case .object(let nested)? = object[key] else { return problem(key, "expected an object") }
        return ConfigReader(object: nested, path: "\(path).\(key)")
    }

    /// A reader of `object`, a JSON object that `key`'s value holds in another form (a file it
    /// names, a document in a string), whose problems are named under `key`.
    func child(_ key: String, object: [String: JSONValue]) -> ConfigReader {
        ConfigReader(object: object, path: "\(path).\(key)")
    }

    /// The raw value, for settings with their own shape.
    func raw(_ key: String) -> JSONValue? { object[key] }

    /// The keys present.
    var keys: [String] { Array(object.keys) }

    mutating func merge(_ other: ConfigReader) { problems += other.problems }

    /// Records `setting` as one this object may have.
    mutating func describe(_ setting: SettingDescription) {
        if !described.contains(where: { $0.key == setting.key }) { described.append(setting) }
    }

    /// An empty reader of the object `key` names, to learn what its settings are.
    func childForDescribing(_ key: String) -> ConfigReader { child(key, object: [:]) }

    /// Refuses every key present that no setting read: nothing in a configuration is ignored.
    mutating func refuseUnknownKeys() {
        let known = Set(described.map(\.key))
        for key in keys.sorted() where !known.contains(key) {
            problem(key, "unknown setting") as Void?
        }
    }

    /// Records a problem about `key`; returns nil so callers can fall back.
    @discardableResult
    mutating func problem<T>(_ key: String, _ message: String) -> T? {
        problems.append("\(path).\(key): \(message)")
        return nil
    }

    /// A duration: seconds as a number, or text such as `60s`, `500ms`, `2m`, `1h`.
    mutating func duration(_ key: String, default fallback: Double) -> Double {
        guard has(key) else { return fallback }
        if case .number(let seconds)? = object[key], seconds >= 0 { return seconds }
        guard case .string(let text)? = object[key], let seconds = Self.parseDuration(text) else {
            return problem(key, "expected a duration such as 60s, 500ms, 2m or a number of seconds") ?? fallback
        }
        return seconds
    }

    static func parseDuration(_ text: String) -> Double? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            if let value = Double(text.dropLast(suffix.count)), value >= 0 { return value * factor }
        }
        return Double(text).flatMap { $0 >= 0 ? $0 : nil }
    }
}

/// The configuration is invalid; each problem names its JSON path.
struct ConfigError: Error, Sendable {
    var problems: [String]
}
