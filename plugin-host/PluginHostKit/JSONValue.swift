/// A JSON document as the host reads and writes it: numbers keep their text (so decimals and
/// 64-bit integers travel exactly) and objects keep their key order.
enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// A number's text, as written in the JSON (or produced from an exact value).
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([(key: String, value: JSONValue)])

    static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.number(let a), .number(let b)): a == b || (numericKey(a).map { $0 == numericKey(b) } ?? false)
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)):
            a.count == b.count && a.allSatisfy { pair in b.contains { $0.key == pair.key && $0.value == pair.value } }
        default: false
        }
    }

    /// A number's exact value as text (`1.50`, `15e-1` and `1.5` all give `1.5`), to compare
    /// numbers without rounding them to `Double`; nil when the text is not a number.
    private static func numericKey(_ text: String) -> String? {
        guard var canonical = DecimalNormalizer.canonical(text) else { return nil }
        if canonical.contains(".") {
            while canonical.last == "0" { canonical.removeLast() }
            if canonical.last == "." { canonical.removeLast() }
            if canonical == "-0" { canonical = "0" }
        }
        return canonical
    }

    /// A number from an integer.
    static func integer<I: BinaryInteger>(_ value: I) -> JSONValue { .number(String(value)) }

    /// The member named `key` of an object (the last one, when repeated).
    subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.last { $0.key == key }?.value
    }

    /// The JSON Schema type name of this value (`integer` for numbers without a fraction).
    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number(let text): isInteger(text) ? "integer" : "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// The text, when this is a string.
    var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    /// The number as a `Double`, when this is a number.
    var doubleValue: Double? {
        if case .number(let text) = self { return Double(text) }
        return nil
    }

    /// The number as an exact `Int64`, when this is an integral number in range.
    var int64Value: Int64? {
        guard case .number(let text) = self else { return nil }
        if let exact = Int64(text) { return exact }
        // `1e3`, `12.0`: exactly, never through Double.
        guard let key = Self.numericKey(text), !key.contains(".") else { return nil }
        return Int64(key)
    }

    /// The members, when this is an object.
    var objectMembers: [(key: String, value: JSONValue)]? {
        if case .object(let members) = self { return members }
        return nil
    }

    /// The elements, when this is an array.
    var arrayElements: [JSONValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    private func isInteger(_ text: String) -> Bool {
        if Int64(text) != nil { return true }
        guard let value = Double(text), value.isFinite else { return false }
        return value == value.rounded()
    }
}
