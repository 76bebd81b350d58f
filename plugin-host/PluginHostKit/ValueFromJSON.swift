import Foundation
import SluiceWire

/// Reads a column value from its JSON Lines form (PROTOCOL.md Appendix A) — the inverse of
/// ``BatchJSONRenderer``: integers from numbers or strings, exactly; decimals from strings or
/// numbers; bytes from base64; dates and times from ISO text (BC years as negative years,
/// `infinity`); intervals from `{months, days, micros}`; JSON documents from strings holding
/// their text (or, for convenience, from an embedded array, object, number or boolean).
/// `null` is SQL NULL everywhere.
enum ValueFromJSON {
    /// Why a JSON value does not fit a column.
    struct Mismatch: Error, Sendable {
        var message: String
    }

    /// The value of `json` for a column of `type`.
    static func value(_ json: JSONValue, type: LogicalType) throws(Mismatch) -> Value {
        if case .null = json { return .null }
        switch type.kind {
        case .unspecified: throw Mismatch(message: "the column has no type")
        case .bool:
            guard case .bool(let flag) = json else { throw expected("true or false", json) }
            return .bool(flag)
        case .int16: return .int16(try integer(json, as: Int16.self))
        case .int32: return .int32(try integer(json, as: Int32.self))
        case .int64: return .int64(try integer(json, as: Int64.self))
        case .float32: return .float32(try floating(json, as: Float.self))
        case .float64: return .float64(try floating(json, as: Double.self))
        case .decimal:
            let text: String
            switch json {
            case .number(let number): text = number
            case .string(let string): text = string
            default: throw expected("a decimal number or its text", json)
            }
            guard let canonical = DecimalNormalizer.canonical(text) else { throw Mismatch(message: "\"\(text)\" is not a decimal number") }
            return .decimal(canonical)
        case .string: return .string(try string(json, "a string"))
        case .bytes:
            guard let data = Data(base64Encoded: try string(json, "base64 text")) else { throw Mismatch(message: "invalid base64") }
            return .bytes(Array(data))
        case .date:
            let text = try string(json, "a date such as 2024-01-31")
            guard let days = TemporalText.parseDate(text) else { throw Mismatch(message: "\"\(text)\" is not a date (YYYY-MM-DD, -YYYY-MM-DD for BC, infinity)") }
            return .date(days)
        case .time:
            let text = try string(json, "a time such as 12:34:56.789")
            guard let micros = TemporalText.parseTime(text) else { throw Mismatch(message: "\"\(text)\" is not a time (HH:MM:SS[.ffffff])") }
            return .time(micros)
        case .timetz:
            let text = try string(json, "a time with offset such as 12:34:56+02:00")
            guard let parsed = TemporalText.parseTimeWithZone(text) else {
                throw Mismatch(message: "\"\(text)\" is not a time with offset (HH:MM:SS[.ffffff]±HH:MM)")
            }
            return .timetz(micros: parsed.micros, offsetSeconds: parsed.offset)
        case .timestamp, .timestamptz:
            let zoned = type.kind == .timestamptz
            let text = try string(json, "a timestamp such as 2024-01-31T12:34:56")
            guard let micros = TemporalText.parseTimestamp(text, zoned: zoned) else {
                throw Mismatch(message: "\"\(text)\" is not a timestamp (YYYY-MM-DDTHH:MM:SS[.ffffff]\(zoned ? "[Z|±HH:MM]" : ""), infinity)")
            }
            return zoned ? .timestamptz(micros) : .timestamp(micros)
        case .interval:
            let shape = "an object {\"months\": …, \"days\": …, \"micros\": …}"
            guard let members = json.objectMembers else { throw expected(shape, json) }
            var parts: [String: JSONValue] = [:]
            for member in members {
                guard ["months", "days", "micros"].contains(member.key) else { throw Mismatch(message: "an interval has no part \"\(member.key)\"") }
                guard parts.updateValue(member.value, forKey: member.key) == nil else {
                    throw Mismatch(message: "an interval's \"\(member.key)\" appears twice")
                }
            }
            guard let months = parts["months"], let days = parts["days"], let micros = parts["micros"] else { throw expected(shape, json) }
            return .interval(months: try integer(months, as: Int32.self), days: try integer(days, as: Int32.self),
                             micros: try integer(micros, as: Int64.self))
        case .uuid:
            let text = try string(json, "a UUID")
            guard let bytes = uuidBytes(text) else { throw Mismatch(message: "\"\(text)\" is not a UUID") }
            return .uuid(bytes)
        case .json:
            switch json {
            case .string(let text): return .json(text)
            case .array, .object, .number, .bool: return .json(JSONWriter.compact(json))
            case .null: return .null
            }
        case .list:
            guard case .array(let elements) = json else { throw expected("an array", json) }
            let elementType = LogicalType(type.elementKind)
            var values: [Value] = []
            values.reserveCapacity(elements.count)
            for (position, element) in elements.enumerated() {
                do {
                    values.append(try value(element, type: elementType))
                } catch {
                    throw Mismatch(message: "element \(position): \(error.message)")
                }
            }
            return .list(values)
        }
    }

    private static func expected(_ what: String, _ json: JSONValue) -> Mismatch {
        Mismatch(message: "expected \(what), got \(json.typeName)")
    }

    private static func string(_ json: JSONValue, _ what: String) throws(Mismatch) -> String {
        guard case .string(let text) = json else { throw expected(what, json) }
        return text
    }

    /// An integer from a JSON number or its text, range-checked and exact: `1e3` and `7.0` are
    /// whole numbers, `1.5` is refused, never rounded.
    private static func integer<I: FixedWidthInteger>(_ json: JSONValue, as: I.Type) throws(Mismatch) -> I {
        let text: String
        switch json {
        case .number(let number): text = number
        case .string(let string): text = string
        default: throw expected("an integer", json)
        }
        if let value = I(text) { return value }
        // Canonical decimal text is exact; a whole number's fraction is only zeros.
        if let canonical = DecimalNormalizer.canonical(text), canonical.first != "N", !canonical.hasSuffix("Infinity") {
            let parts = canonical.split(separator: ".", maxSplits: 1)
            if parts.count == 1 || parts[1].allSatisfy({ $0 == "0" }), let value = I(parts[0]) { return value }
        }
        throw Mismatch(message: "\(text) is not an integer within \(I.min)…\(I.max)")
    }

    /// A float from a JSON number, read straight as `F` (correctly rounded, once), or `"NaN"`,
    /// `"Infinity"`, `"-Infinity"`. A finite number too large for `F` is refused, not made infinite.
    private static func floating<F: BinaryFloatingPoint & LosslessStringConvertible>(_ json: JSONValue, as: F.Type) throws(Mismatch) -> F {
        switch json {
        case .number(let text):
            return try floating(number: text)
        case .string("NaN"): return .nan
        case .string("Infinity"): return .infinity
        case .string("-Infinity"): return -.infinity
        default: throw expected("a number, \"NaN\", \"Infinity\" or \"-Infinity\"", json)
        }
    }

    /// A float from the text of a JSON number (see ``floating(_:as:)``).
    static func floating<F: BinaryFloatingPoint & LosslessStringConvertible>(number text: String) throws(Mismatch) -> F {
        guard let value = F(text) else { throw Mismatch(message: "\(text) is not a number") }
        let mantissa = text.utf8.prefix { $0 != UInt8(ascii: "e") && $0 != UInt8(ascii: "E") }
        guard value.isFinite, value != 0 || !mantissa.contains(where: { (UInt8(ascii: "1")...UInt8(ascii: "9")).contains($0) }) else {
            throw Mismatch(message: "\(text) is out of range for a \(F.self == Float.self ? "float32" : "float64")")
        }
        return value
    }

    /// The integer of UTF-8 text `-?[0-9]+` when it fits `I`; nil for any other text (which
    /// ``integer(_:as:)`` reads or refuses).
    static func plainInteger<I: FixedWidthInteger>(_ text: Span<UInt8>, as: I.Type) -> I? {
        var index = 0
        let negative = index < text.count && text[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        guard index < text.count, text.count - index <= 19 else { return nil }
        var magnitude: UInt64 = 0
        while index < text.count {
            let digit = text[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            magnitude = magnitude &* 10 &+ UInt64(digit)
            index += 1
        }
        guard negative else { return I(exactly: magnitude) }
        if magnitude <= UInt64(I.max) { return 0 - I(magnitude) }
        return magnitude == UInt64(I.max) + 1 ? I.min : nil
    }

    /// The 16 bytes of `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (hyphens optional, any case).
    static func uuidBytes(_ text: String) -> [UInt8]? { uuidBytes(text.utf8.span) }

    /// ``uuidBytes(_:)`` of UTF-8 text.
    static func uuidBytes(_ text: Span<UInt8>) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16)
        var high: UInt8?
        for index in 0 ..< text.count where text[index] != UInt8(ascii: "-") {
            let character = text[index]
            let nibble: UInt8
            switch character {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = character - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = character - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = character - UInt8(ascii: "A") + 10
            default: return nil
            }
            if let pending = high {
                bytes.append(pending << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        return bytes.count == 16 && high == nil ? bytes : nil
    }
}
