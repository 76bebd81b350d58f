import Foundation

/// One configuration key, described once: its JSON type, allowed values, range, default and
/// description. ``ConfigReader/read(_:)`` reads a value with it (and so knows the key), and
/// the JSON Schema that GetSpec returns is made of the same descriptions, so the two cannot
/// disagree.
struct Setting<Value>: Sendable {
    let description: SettingDescription
    /// Reads the value of `key` (present or not), recording problems on the reader.
    fileprivate let parse: @Sendable (inout ConfigReader, String) -> Value

    var key: String { description.key }
}

/// A closed set of names a setting takes (`table_layout`'s `typed` and `raw`, …): the enum's
/// raw values are the names, declared once.
protocol SettingChoice: RawRepresentable<String>, CaseIterable, Sendable {}

/// What a setting is, for the schema: key, JSON type and constraints, default, description.
struct SettingDescription: Sendable {
    var key: String
    var kind: SettingKind
    var text: String

    /// The setting's JSON Schema.
    var schema: JSONValue {
        var schema: [String: JSONValue] = ["description": .string(text)]
        switch kind {
        case .string(let secret, let minLength, let maxLength, let fallback):
            schema["type"] = "string"
            if secret { schema["secret"] = true; schema["writeOnly"] = true }
            if let minLength { schema["minLength"] = .integer(minLength) }
            if let maxLength { schema["maxLength"] = .integer(maxLength) }
            if let fallback { schema["default"] = .string(fallback) }
        case .integer(let range, let fallback):
            schema["type"] = "integer"
            schema["minimum"] = .integer(range.lowerBound)
            schema["maximum"] = .integer(range.upperBound)
            if let fallback { schema["default"] = .integer(fallback) }
        case .boolean(let fallback):
            schema["type"] = "boolean"
            schema["default"] = .bool(fallback)
        case .duration(let fallback):
            schema["type"] = ["string", "number"]
            schema["default"] = .string(fallback)
        case .choice(let names, let fallback):
            schema["type"] = "string"
            schema["enum"] = .array(names.map(JSONValue.string))
            if let fallback { schema["default"] = .string(fallback) }
        case .strings:
            schema["type"] = "array"
            schema["items"] = ["type": "string"]
        case .stringLists:
            schema["type"] = "object"
            schema["additionalProperties"] = ["type": "array", "items": ["type": "string"]]
        case .object(let properties, let required):
            schema.merge(Self.objectSchema(properties, required: required)) { _, new in new }
        case .objects(let properties, let required):
            schema["type"] = "array"
            schema["items"] = .object(Self.objectSchema(properties, required: required))
        }
        return .object(schema)
    }

    /// The schema of an object with `properties`, nothing else allowed.
    static func objectSchema(_ properties: [SettingDescription], required: [String]) -> [String: JSONValue] {
        var schema: [String: JSONValue] = [
            "type": "object",
            "additionalProperties": false,
            "properties": .object(Dictionary(properties.map { ($0.key, $0.schema) }) { first, _ in first }),
        ]
        if !required.isEmpty { schema["required"] = .array(required.map(JSONValue.string)) }
        return schema
    }
}

/// The JSON shape of a setting and its constraints (defaults as the schema shows them).
enum SettingKind: Sendable {
    case string(secret: Bool, minLength: Int?, maxLength: Int?, default: String?)
    case integer(ClosedRange<Int>, default: Int?)
    case boolean(default: Bool)
    /// Seconds as a number, or text such as `60s`.
    case duration(default: String)
    case choice([String], default: String?)
    /// An array of strings.
    case strings
    /// An object whose values are arrays of strings.
    case stringLists
    /// A nested object of settings.
    case object([SettingDescription], required: [String])
    /// An array of objects of settings.
    case objects([SettingDescription], required: [String])
}

extension Setting where Value == String? {
    /// A string; nil when absent. `minLength` 1 refuses an empty one.
    static func string(_ key: String, secret: Bool = false, minLength: Int? = nil, maxLength: Int? = nil,
                       _ text: String) -> Setting {
        Setting(description: SettingDescription(key: key, kind: .string(secret: secret, minLength: minLength, maxLength: maxLength, default: nil), text: text)) { reader, key in
            guard let value = reader.string(key) else { return nil }
            if let minLength, value.utf8.count < minLength {
                return reader.problem(key, minLength == 1 ? "must not be empty" : "must be at least \(minLength) bytes")
            }
            if let maxLength, value.utf8.count > maxLength { return reader.problem(key, "must be at most \(maxLength) bytes") }
            return value
        }
    }
}

extension Setting where Value == String {
    /// A string with a default.
    static func string(_ key: String, secret: Bool = false, default fallback: String, _ text: String) -> Setting {
        Setting(description: SettingDescription(key: key, kind: .string(secret: secret, minLength: nil, maxLength: nil, default: fallback), text: text)) { reader, key in
            reader.string(key) ?? fallback
        }
    }
}

extension Setting where Value == Int {
    /// An integer within `range`, with a default.
    static func integer(_ key: String, default fallback: Int, range: ClosedRange<Int>, _ text: String) -> Setting {
        Setting(description: SettingDescription(key: key, kind: .integer(range, default: fallback), text: text)) { reader, key in
            reader.integer(key, default: fallback, range: range)
        }
    }
}

extension Setting where Value == Int? {
    /// An integer within `range`; nil when absent (`shownDefault` is what applies then).
    static func integer(_ key: String, shownDefault: Int, range: ClosedRange<Int>, _ text: String) -> Setting {
        Setting(description: SettingDescription(key: key, kind: .integer(range, default: shownDefault), text: text)) { reader, key in
            reader.has(key) ? reader.integer(key, default: shownDefault, range: range) : nil
        }
    }
}

extension Setting where Value == Bool {
    static func bool(_ key: String, default fallback: Bool, _ text: String) -> Setting {
        Setting(description: SettingDescription(key: key, kind: .boolean(default: fallback), text: text)) { reader, key in
            reader.bool(key, default: fallback)
        }
    }
}

extension Setting where Value == Double {
    /// A duration in seconds (a number, or text such as `60s`, `500ms`, `2m`).
    static func duration(_ key: String, default fallback: Double, _ text: String) -> Setting {
        let shown = fallback == 0 ? "0" : fallback == fallback.rounded() ? "\(Int(fallback))s" : "\(Int((fallback * 1000).rounded()))ms"
        return Setting(description: SettingDescription(key: key, kind: .duration(default: shown), text: text)) { reader, key in
            reader.duration(key, default: fallback)
        }
    }
}

extension Setting where Value == [String] {
    /// An array of strings; empty when absent.
    static func strings(_ key: String, _ text: String) -> Setting {
        Setting(description: SettingDescription(key: key, kind: .strings, text: text)) { reader, key in
            reader.stringArray(key)
        }
    }
}

extension Setting where Value == [String: [String]] {
    /// An object of string arrays; empty when absent.
    static func stringLists(_ key: String, _ text: String) -> Setting {
        Setting(description: SettingDescription(key: key, kind: .stringLists, text: text)) { reader, key in
            guard var map = reader.object(key) else { return [:] }
            var lists: [String: [String]] = [:]
            for name in map.keys.sorted() { lists[name] = map.stringArray(name) }
            reader.merge(map)
            return lists
        }
    }
}

extension Setting {
    /// One of `Value`'s names (after mapping `aliases`, which the schema lists too).
    static func choice(_ key: String, default fallback: Value, aliases: KeyValuePairs<String, Value> = [:], _ text: String) -> Setting
    where Value: SettingChoice {
        let names = Value.allCases.map(\.rawValue) + aliases.map(\.key)
        return Setting(description: SettingDescription(key: key, kind: .choice(names, default: fallback.rawValue), text: text)) { reader, key in
            reader.choice(key, aliases: aliases) ?? fallback
        }
    }

    /// One of `Choice`'s names, or nil when absent (`shownDefault` is what applies then).
    static func choice<Choice: SettingChoice>(_ key: String, shownDefault: Choice?, aliases: KeyValuePairs<String, Choice> = [:], _ text: String) -> Setting
    where Value == Choice? {
        let names = Choice.allCases.map(\.rawValue) + aliases.map(\.key)
        return Setting(description: SettingDescription(key: key, kind: .choice(names, default: shownDefault?.rawValue), text: text)) { reader, key in
            reader.choice(key, aliases: aliases)
        }
    }
}

extension ConfigReader {
    /// The value of `setting`; its key becomes known (so not refused as unknown) and its
    /// description part of ``described``.
    mutating func read<Value>(_ setting: Setting<Value>) -> Value {
        describe(setting.description)
        return setting.parse(&self, setting.key)
    }

    /// The value of `setting`, which must be present.
    mutating func readRequired<Value>(_ setting: Setting<Value?>) -> Value? {
        let value = read(setting)
        return value == nil && !has(setting.key) ? problem(setting.key, "required") : value
    }

    /// A nested object of settings read by `body` (which gets a reader of it), described as
    /// `key` with what `body` read; nil when absent. Its unknown keys are refused.
    mutating func readObject<Value>(_ key: String, required: [String] = [], _ text: String,
                                    _ body: (inout ConfigReader) -> Value) -> Value? {
        var value: Value?
        if var nested = object(key) {
            value = body(&nested)
            nested.refuseUnknownKeys()
            merge(nested)
        }
        var outline = childForDescribing(key)
        _ = body(&outline)
        describe(SettingDescription(key: key, kind: .object(outline.described, required: required), text: text))
        return value
    }

    /// An array of objects of settings, each read by `body` (a reader of the element); `[]`
    /// when absent. Unknown keys of each element are refused.
    mutating func readObjects<Value>(_ key: String, required: [String] = [], _ text: String,
                                     _ body: (inout ConfigReader) -> Value?) -> [Value] {
        var outline = childForDescribing(key)
        _ = body(&outline)
        describe(SettingDescription(key: key, kind: .objects(outline.described, required: required), text: text))
        guard has(key) else { return [] }
        guard case .array(let items)? = raw(key) else { return problem(key, "expected an array of objects") ?? [] }
        var values: [Value] = []
        for (index, item) in items.enumerated() {
            guard case .object(let object) = item else {
                problem("\(key)[\(index)]", "expected an object") as Void?
                continue
            }
            var element = child("\(key)[\(index)]", object: object)
            if let value = body(&element) { values.append(value) }
            element.refuseUnknownKeys()
            merge(element)
        }
        return values
    }
}
