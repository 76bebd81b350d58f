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
        case (.number(let a), .number(let b)): a == b || (Double(a) != nil && Double(a) == Double(b))
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)):
            a.count == b.count && a.allSatisfy { pair in b.contains { $0.key == pair.key && $0.value == pair.value } }
        default: false
        }
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
        guard isInteger(text), let double = Double(text), abs(double) < 9.2e18 else { return nil }
        return Int64(double)
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
