import SluiceWire

/// Appends a JSON Lines value, as ``JSONLineScanner`` found it, to its column's builder: the
/// forms `read` writes (numbers, plain strings, ISO times, arrays of scalars) straight from the
/// line's bytes; anything else through ``JSONParser`` and ``ValueFromJSON``, whose rules and
/// messages hold for both.
enum ColumnTokenReader {
    /// Appends `token` (of `line`) to `builder`, a column of `type`; `scratch` is room for a
    /// string's decoded escapes.
    static func append(_ token: JSONLineScanner.Token, of line: [UInt8], elements: [JSONLineScanner.Token],
                       to builder: inout ColumnBuilder, type: LogicalType, scratch: inout [UInt8]) throws(ValueFromJSON.Mismatch) {
        if appendDirectly(token, of: line, to: &builder, kind: type.kind, scratch: &scratch) { return }
        if type.kind == .list, token.kind == .array, !token.nested {
            let elementType = LogicalType(type.elementKind)
            try builder.appendList { (children: inout ColumnBuilder) throws(ValueFromJSON.Mismatch) in
                for (position, element) in elements[token.elements].enumerated() {
                    do throws(ValueFromJSON.Mismatch) {
                        try append(element, of: line, elements: [], to: &children, type: elementType, scratch: &scratch)
                    } catch {
                        throw ValueFromJSON.Mismatch(message: "element \(position): \(error.message)")
                    }
                }
            }
            return
        }
        let json: JSONValue
        do {
            json = try JSONParser.parse(line, range: token.range)
        } catch {
            throw ValueFromJSON.Mismatch(message: "invalid JSON: \(error)")
        }
        let value = try ValueFromJSON.value(json, type: type)
        do throws(ProtocolError) {
            try builder.append(value)
        } catch {
            throw ValueFromJSON.Mismatch(message: error.message)
        }
    }

    /// Appends `token` when it has a form read without building a value; false otherwise
    /// (nothing appended).
    private static func appendDirectly(_ token: JSONLineScanner.Token, of line: [UInt8], to builder: inout ColumnBuilder,
                                       kind: TypeKind, scratch: inout [UInt8]) -> Bool {
        if token.kind == .null {
            builder.appendNull()
            return true
        }
        let plainString = token.kind == .string && !token.escaped
        switch kind {
        case .bool:
            guard token.kind == .true || token.kind == .false else { return false }
            builder.append(bool: token.kind == .true)
        case .int16:
            guard let value = integer(token, of: line, as: Int16.self) else { return false }
            builder.append(int16: value)
        case .int32:
            guard let value = integer(token, of: line, as: Int32.self) else { return false }
            builder.append(int32: value)
        case .int64:
            guard let value = integer(token, of: line, as: Int64.self) else { return false }
            builder.append(int64: value)
        case .float64:
            guard token.kind == .number, let value = FloatText.exact(line[token.range], as: Double.self)
                    ?? (try? ValueFromJSON.floating(number: String(decoding: line[token.range], as: UTF8.self))) else { return false }
            builder.append(float64: value)
        case .float32:
            guard token.kind == .number, let value = FloatText.exact(line[token.range], as: Float.self)
                    ?? (try? ValueFromJSON.floating(number: String(decoding: line[token.range], as: UTF8.self))) else { return false }
            builder.append(float32: value)
        case .decimal:
            let range = token.kind == .number ? token.range : plainString ? token.content : 0 ..< 0
            guard !range.isEmpty, DecimalNormalizer.isCanonical(line[range]) else { return false }
            builder.append(bytes: line, range)
        case .string, .json:
            guard token.kind == .string else { return false }
            if token.escaped {
                scratch.removeAll(keepingCapacity: true)
                JSONLineScanner.unescape(token, in: line, to: &scratch)
                builder.append(bytes: scratch, scratch.indices)
            } else {
                builder.append(bytes: line, token.content)
            }
        case .date:
            guard plainString, let days = TemporalText.parseDate(line[token.content]) else { return false }
            builder.append(int32: days)
        case .time:
            guard plainString, let micros = TemporalText.parseTime(line[token.content]) else { return false }
            builder.append(int64: micros)
        case .timetz:
            guard plainString, let parsed = TemporalText.parseTimeWithZone(line[token.content]) else { return false }
            builder.append(timetz: parsed.micros, offsetSeconds: parsed.offset)
        case .timestamp, .timestamptz:
            guard plainString, let micros = TemporalText.parseTimestamp(line[token.content], zoned: kind == .timestamptz) else { return false }
            builder.append(int64: micros)
        case .uuid:
            guard plainString, let bytes = ValueFromJSON.uuidBytes(line[token.content]) else { return false }
            builder.append(uuid: bytes)
        case .unspecified, .bytes, .interval, .list:
            return false
        }
        return true
    }

    /// A plain integer (`-?[0-9]+`) from a JSON number or a string, when it fits `I`.
    private static func integer<I: FixedWidthInteger>(_ token: JSONLineScanner.Token, of line: [UInt8], as: I.Type) -> I? {
        switch token.kind {
        case .number where !token.fractional: ValueFromJSON.plainInteger(line[token.range], as: I.self)
        case .string where !token.escaped: ValueFromJSON.plainInteger(line[token.content], as: I.self)
        default: nil
        }
    }

    /// An upper bound of the bytes `token` adds to a batch in a column of `type` (as
    /// ``StreamRows/encodedBytes(of:)`` counts them), or nil when its value can be longer than
    /// its text (a decimal with an exponent, a JSON document embedded as JSON).
    static func encodedBound(_ token: JSONLineScanner.Token, of line: [UInt8], elements: [JSONLineScanner.Token], type: LogicalType) -> Int? {
        let fixed = 17
        if token.kind == .null { return fixed }
        switch type.kind {
        case .string, .bytes:
            return token.range.count + 5
        case .json:
            return token.kind == .string ? token.range.count + 5 : nil
        case .decimal:
            guard !line[token.range].contains(where: { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) else { return nil }
            return token.range.count + 5
        case .list:
            guard token.kind == .array else { return fixed }
            guard !token.nested else { return nil }
            var bound = 5
            for element in elements[token.elements] {
                guard let elementBound = encodedBound(element, of: line, elements: [], type: LogicalType(type.elementKind)) else { return nil }
                bound += elementBound
            }
            return bound
        default:
            return fixed
        }
    }
}
