import SluiceWire

/// Appends a JSON Lines value, as ``JSONLineScanner`` found it, to its column's builder: the
/// forms `read` writes (numbers, plain strings, ISO times, arrays of scalars) straight from the
/// line's bytes; anything else through ``JSONParser`` and ``ValueFromJSON``, whose rules and
/// messages hold for both.
enum ColumnTokenReader {
    /// Appends `token` (of `line`, whose arrays' elements are `elements`) to `builder`, a column
    /// of `type`.
    static func append(_ token: JSONLineScanner.Token, of line: [UInt8], elements: [JSONLineScanner.Token],
                       to builder: inout ColumnBuilder, type: LogicalType) throws(ValueFromJSON.Mismatch) {
        if appendDirectly(token, of: line.span, to: &builder, kind: type.kind) { return }
        if type.kind == .list, token.kind == .array, !token.nested {
            let elementType = LogicalType(type.elementKind)
            try builder.appendList { (children: inout ColumnBuilder) throws(ValueFromJSON.Mismatch) in
                for position in token.elements {
                    let element = elements[position]
                    if appendDirectly(element, of: line.span, to: &children, kind: elementType.kind) { continue }
                    do throws(ValueFromJSON.Mismatch) {
                        try appendParsed(element, of: line, to: &children, type: elementType)
                    } catch {
                        throw ValueFromJSON.Mismatch(message: "element \(position - token.elements.lowerBound): \(error.message)")
                    }
                }
            }
            return
        }
        try appendParsed(token, of: line, to: &builder, type: type)
    }

    /// Appends `token` parsed by ``JSONParser`` and read by ``ValueFromJSON``, which says why
    /// a value does not fit.
    private static func appendParsed(_ token: JSONLineScanner.Token, of line: [UInt8], to builder: inout ColumnBuilder,
                                     type: LogicalType) throws(ValueFromJSON.Mismatch) {
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
    private static func appendDirectly(_ token: JSONLineScanner.Token, of line: Span<UInt8>, to builder: inout ColumnBuilder,
                                       kind: TypeKind) -> Bool {
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
            guard token.kind == .number, let value = FloatText.exact(line.extracting(token.range), as: Double.self)
                    ?? (try? ValueFromJSON.floating(number: text(line, token.range))) else { return false }
            builder.append(float64: value)
        case .float32:
            guard token.kind == .number, let value = FloatText.exact(line.extracting(token.range), as: Float.self)
                    ?? (try? ValueFromJSON.floating(number: text(line, token.range))) else { return false }
            builder.append(float32: value)
        case .decimal:
            let range = token.kind == .number ? token.range : plainString ? token.content : 0 ..< 0
            guard !range.isEmpty, DecimalNormalizer.isCanonical(line.extracting(range)) else { return false }
            builder.append(bytes: line.extracting(range))
        case .string, .json:
            guard token.kind == .string else { return false }
            if token.escaped {
                builder.appendBytes { JSONLineScanner.unescape(token, in: line, to: &$0) }
            } else {
                builder.append(bytes: line.extracting(token.content))
            }
        case .date:
            guard plainString, let days = TemporalText.parseDate(line.extracting(token.content)) else { return false }
            builder.append(int32: days)
        case .time:
            guard plainString, let micros = TemporalText.parseTime(line.extracting(token.content)) else { return false }
            builder.append(int64: micros)
        case .timetz:
            guard plainString, let parsed = TemporalText.parseTimeWithZone(line.extracting(token.content)) else { return false }
            builder.append(timetz: parsed.micros, offsetSeconds: parsed.offset)
        case .timestamp, .timestamptz:
            guard plainString, let micros = TemporalText.parseTimestamp(line.extracting(token.content), zoned: kind == .timestamptz) else { return false }
            builder.append(int64: micros)
        case .uuid:
            guard plainString, let bytes = ValueFromJSON.uuidBytes(line.extracting(token.content)) else { return false }
            builder.append(uuid: bytes)
        case .unspecified, .bytes, .interval, .list:
            return false
        }
        return true
    }

    /// The UTF-8 text of `line[range]` as a string (for a number read by `Double(String)`).
    private static func text(_ line: Span<UInt8>, _ range: Range<Int>) -> String {
        var bytes: [UInt8] = []
        ByteCopy.append(line.extracting(range), to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A plain integer (`-?[0-9]+`) from a JSON number or a string, when it fits `I`.
    private static func integer<I: FixedWidthInteger>(_ token: JSONLineScanner.Token, of line: Span<UInt8>, as: I.Type) -> I? {
        switch token.kind {
        case .number where !token.fractional: ValueFromJSON.plainInteger(line.extracting(token.range), as: I.self)
        case .string where !token.escaped: ValueFromJSON.plainInteger(line.extracting(token.content), as: I.self)
        default: nil
        }
    }

    /// An upper bound of the bytes `token` adds to a batch in a column of `type` (as
    /// ``StreamRows/encodedBytes(of:)`` counts them), or nil when its value can be longer than
    /// its text (a decimal with an exponent, a JSON document embedded as JSON).
    static func encodedBound(_ token: JSONLineScanner.Token, of line: Span<UInt8>, elements: [JSONLineScanner.Token], type: LogicalType) -> Int? {
        guard type.kind == .list, token.kind == .array else { return scalarBound(token, of: line, kind: type.kind) }
        guard !token.nested else { return nil }
        var bound = 5
        for position in token.elements {
            guard let elementBound = scalarBound(elements[position], of: line, kind: type.elementKind) else { return nil }
            bound += elementBound
        }
        return bound
    }

    /// ``encodedBound(_:of:elements:type:)`` of a value that is not a list's array.
    private static func scalarBound(_ token: JSONLineScanner.Token, of line: Span<UInt8>, kind: TypeKind) -> Int? {
        let fixed = 17
        if token.kind == .null { return fixed }
        switch kind {
        case .string, .bytes:
            return token.range.count + 5
        case .json:
            return token.kind == .string ? token.range.count + 5 : nil
        case .decimal:
            for index in token.range where line[index] | 0x20 == UInt8(ascii: "e") { return nil }
            return token.range.count + 5
        default:
            return fixed
        }
    }
}
