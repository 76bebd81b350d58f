import SluiceWire

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
        var out: [UInt8] = []
        write(to: &out, indent: "")
        return String(decoding: out, as: UTF8.self)
    }

    /// The value as JSON text without spaces or line breaks, each object's keys in the order of
    /// their UTF-8 bytes.
    var compact: String {
        var out: [UInt8] = []
        write(to: &out, indent: nil)
        return String(decoding: out, as: UTF8.self)
    }

    /// A list of texts, nil elements as null.
    static func texts(_ values: [String?]) -> JSONValue { .array(values.map { $0.map(JSONValue.string) ?? .null }) }

    /// Writes the value; `indent` nil writes it compact.
    private func write(to out: inout [UInt8], indent: String?) {
        switch self {
        case .null: out += "null".utf8
        case .bool(let value): out += (value ? "true" : "false").utf8
        case .number(let value): out += Self.number(value).utf8
        case .string(let value): JSONStringText.append(value, to: &out)
        case .array(let items):
            guard !items.isEmpty else { return out += "[]".utf8 }
            let inner = indent.map { $0 + "  " }
            out += "[".utf8
            for (index, item) in items.enumerated() {
                if index > 0 { out += ",".utf8 }
                if let inner { out += ("\n" + inner).utf8 }
                item.write(to: &out, indent: inner)
            }
            if let indent { out += ("\n" + indent).utf8 }
            out += "]".utf8
        case .object(let members):
            guard !members.isEmpty else { return out += "{}".utf8 }
            let inner = indent.map { $0 + "  " }
            out += "{".utf8
            for (index, member) in members.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }).enumerated() {
                if index > 0 { out += ",".utf8 }
                if let inner { out += ("\n" + inner).utf8 }
                JSONStringText.append(member.key, to: &out)
                out += (indent == nil ? ":" : ": ").utf8
                member.value.write(to: &out, indent: inner)
            }
            if let indent { out += ("\n" + indent).utf8 }
            out += "}".utf8
        }
    }

    /// A whole number as its digits; any other as Swift's shortest text that reads back equal.
    /// JSON has no infinity or NaN: those (never in a schema) are written as null.
    private static func number(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        if value == value.rounded(), abs(value) < 9_007_199_254_740_992 { return String(Int64(value)) }
        return "\(value)"
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
