import SluiceWire

/// One pass over a JSON Lines row: checks that the line is one JSON object (RFC 8259, the
/// grammar ``JSONParser`` reads) and records where each of its members' keys and values lie,
/// without building strings or values, so that ``JSONLinesRowReader`` can read each value
/// straight into its column. A line it refuses is left to ``JSONParser``, which says why.
struct JSONLineScanner {
    /// The JSON type of a token.
    enum Kind: UInt8 {
        case string, number, `true`, `false`, null, array, object
    }

    /// Where a value (or a key) lies in the line.
    struct Token {
        /// The token's bytes, quotes and brackets included.
        var range: Range<Int>
        var kind: Kind
        /// A string holding a backslash escape.
        var escaped = false
        /// A number with a fraction or an exponent.
        var fractional = false
        /// An array holding an array or an object.
        var nested = false
        /// An array's elements: a range of ``elements``.
        var elements: Range<Int> = 0..<0

        /// A string's text, without its quotes (escapes as written).
        var content: Range<Int> { range.lowerBound + 1 ..< range.upperBound - 1 }
    }

    /// A member of the line's object.
    struct Member {
        var key: Token
        var value: Token
    }

    /// The members of the line last scanned, in order.
    private(set) var members: [Member] = []
    /// The elements of that line's (top-level member) arrays.
    private(set) var elements: [Token] = []

    private var index = 0
    private var end = 0
    private var depth = 0

    /// Scans `bytes[range]`; false when it is not one JSON object (surrounding whitespace allowed).
    mutating func scan(_ bytes: [UInt8], _ range: Range<Int>) -> Bool {
        scan(bytes.span, range)
    }

    private mutating func scan(_ bytes: Span<UInt8>, _ range: Range<Int>) -> Bool {
        members.removeAll(keepingCapacity: true)
        elements.removeAll(keepingCapacity: true)
        index = range.lowerBound
        end = range.upperBound
        depth = 0
        skipWhitespace(bytes)
        guard index < end, bytes[index] == UInt8(ascii: "{") else { return false }
        index += 1
        skipWhitespace(bytes)
        if index < end, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return atEnd(bytes)
        }
        while true {
            skipWhitespace(bytes)
            guard index < end, bytes[index] == UInt8(ascii: "\""), let key = string(bytes) else { return false }
            skipWhitespace(bytes)
            guard index < end, bytes[index] == UInt8(ascii: ":") else { return false }
            index += 1
            skipWhitespace(bytes)
            guard let value = topLevelValue(bytes) else { return false }
            members.append(Member(key: key, value: value))
            skipWhitespace(bytes)
            guard index < end else { return false }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            guard bytes[index] == UInt8(ascii: "}") else { return false }
            index += 1
            return atEnd(bytes)
        }
    }

    /// Writes the text of the string `token` of `line` to `out`, escapes decoded (the scan
    /// checked them). The text never outgrows the token: each escape is longer than what it
    /// stands for (`\n` one byte, `\uXXXX` at most three, a surrogate pair's twelve four), so
    /// it is written into room reserved once, a byte at a time (strings are short: a copy per
    /// run between escapes cost more).
    static func unescape(_ token: Token, in line: Span<UInt8>, to out: inout [UInt8]) {
        let content = token.content
        out.append(addingCapacity: content.count) { span in
            var index = content.lowerBound
            while index < content.upperBound {
                let byte = line[index]
                guard byte == UInt8(ascii: "\\") else {
                    span.append(byte)
                    index += 1
                    continue
                }
                let escape = line[index + 1]
                index += 2
                switch escape {
                case UInt8(ascii: "b"): span.append(0x08)
                case UInt8(ascii: "f"): span.append(0x0C)
                case UInt8(ascii: "n"): span.append(0x0A)
                case UInt8(ascii: "r"): span.append(0x0D)
                case UInt8(ascii: "t"): span.append(0x09)
                case UInt8(ascii: "u"):
                    var code = hex4(line, at: index) ?? 0
                    index += 4
                    if (0xD800...0xDBFF).contains(code) {
                        code = 0x10000 + ((code - 0xD800) << 10) + ((hex4(line, at: index + 2) ?? 0xDC00) - 0xDC00)
                        index += 6
                    }
                    if let scalar = Unicode.Scalar(code), let encoded = UTF8.encode(scalar) {
                        for byte in encoded { span.append(byte) }
                    }
                default: span.append(escape)
                }
            }
        }
    }

    // MARK: - Scanning

    private mutating func atEnd(_ bytes: Span<UInt8>) -> Bool {
        skipWhitespace(bytes)
        return index == end
    }

    private mutating func skipWhitespace(_ bytes: Span<UInt8>) {
        while index < end, bytes[index] == 0x20 || bytes[index] == 0x09 || bytes[index] == 0x0A || bytes[index] == 0x0D {
            index += 1
        }
    }

    /// A member's value; an array's elements are recorded in ``elements``.
    private mutating func topLevelValue(_ bytes: Span<UInt8>) -> Token? {
        guard index < end, bytes[index] == UInt8(ascii: "[") else { return value(bytes) }
        let start = index
        index += 1
        let first = elements.count
        var nested = false
        skipWhitespace(bytes)
        if index < end, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return Token(range: start..<index, kind: .array, elements: first..<first)
        }
        while true {
            skipWhitespace(bytes)
            guard let element = value(bytes) else { return nil }
            nested = nested || element.kind == .array || element.kind == .object
            elements.append(element)
            skipWhitespace(bytes)
            guard index < end else { return nil }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            guard bytes[index] == UInt8(ascii: "]") else { return nil }
            index += 1
            return Token(range: start..<index, kind: .array, nested: nested, elements: first..<elements.count)
        }
    }

    /// Any value; arrays and objects below the top level are checked, not recorded.
    private mutating func value(_ bytes: Span<UInt8>) -> Token? {
        guard index < end else { return nil }
        let start = index
        switch bytes[index] {
        case UInt8(ascii: "\""): return string(bytes)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return number(bytes)
        case UInt8(ascii: "t"): return literal(bytes, Self.trueText, .true)
        case UInt8(ascii: "f"): return literal(bytes, Self.falseText, .false)
        case UInt8(ascii: "n"): return literal(bytes, Self.nullText, .null)
        case UInt8(ascii: "["), UInt8(ascii: "{"):
            guard container(bytes) else { return nil }
            return Token(range: start..<index, kind: bytes[start] == UInt8(ascii: "[") ? .array : .object)
        default: return nil
        }
    }

    /// An array or object, checked to its closing bracket within ``InputLimits/maxDepth`` levels.
    private mutating func container(_ bytes: Span<UInt8>) -> Bool {
        let isObject = bytes[index] == UInt8(ascii: "{")
        let close = isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")
        depth += 1
        guard depth <= InputLimits.maxDepth else { return false }
        index += 1
        skipWhitespace(bytes)
        if index < end, bytes[index] == close {
            index += 1
            depth -= 1
            return true
        }
        while true {
            skipWhitespace(bytes)
            if isObject {
                guard index < end, bytes[index] == UInt8(ascii: "\""), string(bytes) != nil else { return false }
                skipWhitespace(bytes)
                guard index < end, bytes[index] == UInt8(ascii: ":") else { return false }
                index += 1
                skipWhitespace(bytes)
            }
            guard value(bytes) != nil else { return false }
            skipWhitespace(bytes)
            guard index < end else { return false }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            guard bytes[index] == close else { return false }
            index += 1
            depth -= 1
            return true
        }
    }

    private static let trueText = Array("true".utf8), falseText = Array("false".utf8), nullText = Array("null".utf8)

    private mutating func literal(_ bytes: Span<UInt8>, _ word: [UInt8], _ kind: Kind) -> Token? {
        let start = index
        guard end - index >= word.count else { return nil }
        for offset in word.indices where bytes[index + offset] != word[offset] { return nil }
        index += word.count
        return Token(range: start..<index, kind: kind)
    }

    private mutating func number(_ bytes: Span<UInt8>) -> Token? {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        let integerStart = index
        guard digits(bytes) > 0 else { return nil }
        if bytes[integerStart] == UInt8(ascii: "0"), index - integerStart > 1 { return nil }
        var fractional = false
        if index < end, bytes[index] == UInt8(ascii: ".") {
            index += 1
            fractional = true
            guard digits(bytes) > 0 else { return nil }
        }
        if index < end, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            fractional = true
            if index < end, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits(bytes) > 0 else { return nil }
        }
        return Token(range: start..<index, kind: .number, fractional: fractional)
    }

    private mutating func digits(_ bytes: Span<UInt8>) -> Int {
        let start = index
        while index < end, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") { index += 1 }
        return index - start
    }

    /// A string: escapes and UTF-8 checked (a `\u` surrogate must be paired, as JSONParser wants).
    private mutating func string(_ bytes: Span<UInt8>) -> Token? {
        let start = index
        index += 1
        var escaped = false, ascii = true
        while index < end {
            // Eight bytes at a time while none ends the string or needs a look (a quote, a
            // backslash, a control byte): most strings hold none.
            if end - index >= 8 {
                let word = JSONSpecialBytes.word(bytes, at: index)
                let stops = JSONSpecialBytes.mask(word)
                if stops == 0 {
                    if word & 0x8080_8080_8080_8080 != 0 { ascii = false }
                    index += 8
                    continue
                }
                // Skip the plain bytes before the first that needs a look.
                let plain = stops.trailingZeroBitCount / 8
                if plain > 0 {
                    if word & (UInt64(1) << (8 * plain) - 1) & 0x8080_8080_8080_8080 != 0 { ascii = false }
                    index += plain
                }
            }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                if !ascii, (try? UTF8Span(validating: bytes.extracting(start + 1 ..< index - 1))) == nil { return nil }
                return Token(range: start..<index, kind: .string, escaped: escaped)
            }
            if byte < 0x20 { return nil }
            if byte >= 0x80 { ascii = false }
            guard byte == UInt8(ascii: "\\") else {
                index += 1
                continue
            }
            escaped = true
            guard index + 1 < end else { return nil }
            switch bytes[index + 1] {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                 UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                index += 2
            case UInt8(ascii: "u"):
                guard let code = Self.hex4(bytes, at: index + 2, end: end) else { return nil }
                index += 6
                if (0xD800...0xDBFF).contains(code) {
                    guard end - index >= 6, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u"),
                          let low = Self.hex4(bytes, at: index + 2, end: end), (0xDC00...0xDFFF).contains(low) else { return nil }
                    index += 6
                } else if (0xDC00...0xDFFF).contains(code) {
                    return nil
                }
            default:
                return nil
            }
        }
        return nil
    }

    private static func hex4(_ bytes: Span<UInt8>, at start: Int, end: Int? = nil) -> UInt32? {
        guard (end ?? bytes.count) - start >= 4 else { return nil }
        var code: UInt32 = 0
        for position in start ..< start + 4 {
            let byte = bytes[position]
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): code = code << 4 | UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): code = code << 4 | UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): code = code << 4 | UInt32(byte - UInt8(ascii: "A") + 10)
            default: return nil
            }
        }
        return code
    }
}
