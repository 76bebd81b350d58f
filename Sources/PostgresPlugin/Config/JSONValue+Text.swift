/// JSON text of a ``JSONValue``: the configuration schema that GetSpec returns, a source's state
/// data, a Google service account's signed assertion.
///
/// Hand-written because `JSONSerialization`'s `.sortedKeys` compares keys as localized strings
/// through ICU, whose set-up is about 5 ms of a plugin process's first use (every plugin-host
/// call waits for GetSpec's, a Read for its first state's), where ordering keys by their bytes
/// needs nothing of the kind.
extension JSONValue {
    /// A whole number (the schema's lengths, bounds and defaults: far inside a Double's exact
    /// integers, 2^53).
    static func integer(_ value: Int) -> JSONValue { .number(Double(value)) }

    /// The value as JSON text, indented by two spaces, each object's keys in the order of their
    /// UTF-8 bytes, so the same value always gives the same text.
    var prettyPrinted: String {
        var text = ""
        write(to: &text, indent: "")
        return text
    }

    /// The value as JSON text without spaces or line breaks, each object's keys in the order of
    /// their UTF-8 bytes.
    var compact: String {
        var text = ""
        write(to: &text, indent: nil)
        return text
    }

    /// A list of texts, nil elements as null.
    static func texts(_ values: [String?]) -> JSONValue { .array(values.map { $0.map(JSONValue.string) ?? .null }) }

    /// Writes the value; `indent` nil writes it compact.
    private func write(to text: inout String, indent: String?) {
        switch self {
        case .null: text += "null"
        case .bool(let value): text += value ? "true" : "false"
        case .number(let value): text += Self.number(value)
        case .string(let value): Self.quote(value, to: &text)
        case .array(let items):
            guard !items.isEmpty else { return text += "[]" }
            let inner = indent.map { $0 + "  " }
            text += "["
            for (index, item) in items.enumerated() {
                if index > 0 { text += "," }
                if let inner { text += "\n" + inner }
                item.write(to: &text, indent: inner)
            }
            if let indent { text += "\n" + indent }
            text += "]"
        case .object(let members):
            guard !members.isEmpty else { return text += "{}" }
            let inner = indent.map { $0 + "  " }
            text += "{"
            for (index, member) in members.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }).enumerated() {
                if index > 0 { text += "," }
                if let inner { text += "\n" + inner }
                Self.quote(member.key, to: &text)
                text += indent == nil ? ":" : ": "
                member.value.write(to: &text, indent: inner)
            }
            if let indent { text += "\n" + indent }
            text += "}"
        }
    }

    /// A whole number as its digits; any other as Swift's shortest text that reads back equal.
    /// JSON has no infinity or NaN: those (never in a schema) are written as null.
    private static func number(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        if value == value.rounded(), abs(value) < 9_007_199_254_740_992 { return String(Int64(value)) }
        return "\(value)"
    }

    /// `value` as a JSON string: quotes, backslashes and control characters escaped, the rest
    /// as it is (UTF-8).
    private static func quote(_ value: String, to text: inout String) {
        text += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: text.unicodeScalars.append(scalar)
            }
        }
        text += "\""
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral {
    init(stringLiteral value: String) { self = .string(value) }
    init(booleanLiteral value: Bool) { self = .bool(value) }
    init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements) { first, _ in first })
    }
}
