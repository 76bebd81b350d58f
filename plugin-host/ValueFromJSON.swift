import Foundation
import SluiceWire

/// Reads a column value from its JSON Lines form — the inverse of ``BatchJSONRenderer``:
/// decimals from strings or numbers, bytes from base64, dates and times from ISO text (BC
/// years as negative years, `infinity`), intervals from `{months, days, micros}`, JSON
/// documents embedded as JSON values.
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
        case .float32: return .float32(Float(try floating(json)))
        case .float64: return .float64(try floating(json))
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
            guard case .object = json, let months = json["months"]?.int64Value.flatMap(Int32.init(exactly:)),
                  let days = json["days"]?.int64Value.flatMap(Int32.init(exactly:)), let micros = json["micros"]?.int64Value else {
                throw expected("an object {\"months\": …, \"days\": …, \"micros\": …}", json)
            }
            return .interval(months: months, days: days, micros: micros)
        case .uuid:
            let text = try string(json, "a UUID")
            guard let bytes = uuidBytes(text) else { throw Mismatch(message: "\"\(text)\" is not a UUID") }
            return .uuid(bytes)
        case .json: return .json(JSONWriter.compact(json))
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

    /// An integer from a JSON number or its text, range-checked.
    private static func integer<I: FixedWidthInteger>(_ json: JSONValue, as: I.Type) throws(Mismatch) -> I {
        let text: String
        switch json {
        case .number(let number): text = number
        case .string(let string): text = string
        default: throw expected("an integer", json)
        }
        if let value = I(text) { return value }
        if let whole = JSONValue.number(text).int64Value, let value = I(exactly: whole) { return value }
        throw Mismatch(message: "\(text) is not an integer within \(I.min)…\(I.max)")
    }

    /// A float from a JSON number, or `"NaN"`, `"Infinity"`, `"-Infinity"`.
    private static func floating(_ json: JSONValue) throws(Mismatch) -> Double {
        switch json {
        case .number(let text):
            guard let value = Double(text) else { throw Mismatch(message: "\(text) is not a number") }
            return value
        case .string("NaN"): return .nan
        case .string("Infinity"): return .infinity
        case .string("-Infinity"): return -.infinity
        default: throw expected("a number, \"NaN\", \"Infinity\" or \"-Infinity\"", json)
        }
    }

    /// The 16 bytes of `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (hyphens optional, any case).
    static func uuidBytes(_ text: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16)
        var high: UInt8?
        for character in text.utf8 where character != UInt8(ascii: "-") {
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
