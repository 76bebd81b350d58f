/// Checks that a stream's `filter` is one expression that stays inside the parentheses it is
/// placed in: outside string literals, quoted identifiers, dollar quotes and comments, its
/// parentheses and brackets balance (never closing one it did not open) and it holds no `;`.
/// So `true) OR (true` or `true)) TO STDOUT; …` cannot reach past the read's `WHERE (…)`.
///
/// Lexed as PostgreSQL does with `standard_conforming_strings` on (the default since 9.1):
/// `'…'` with `''`, `E'…'` with backslash escapes too, `"…"` with `""`, `$tag$…$tag$`, `--` to
/// the end of the line and nested `/* … */`.
enum FilterSyntax {
    /// Why `filter` is refused, or nil when it is one balanced expression.
    static func problem(_ filter: String) -> String? {
        let bytes = Array(filter.utf8)
        var index = 0
        var closers: [UInt8] = []
        func at(_ offset: Int) -> UInt8? { index + offset < bytes.count ? bytes[index + offset] : nil }
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "'"):
                let escapes = index > 0 && [UInt8(ascii: "E"), UInt8(ascii: "e")].contains(bytes[index - 1])
                    && (index < 2 || !isIdentifierByte(bytes[index - 2]))
                guard let end = quotedEnd(bytes, from: index, quote: byte, backslashEscapes: escapes) else {
                    return "it has a string literal that is not closed"
                }
                index = end
            case UInt8(ascii: "\""):
                guard let end = quotedEnd(bytes, from: index, quote: byte, backslashEscapes: false) else {
                    return "it has a quoted identifier that is not closed"
                }
                index = end
            case UInt8(ascii: "$") where index == 0 || !isIdentifierByte(bytes[index - 1]):
                guard let tagEnd = dollarTagEnd(bytes, from: index) else {
                    index += 1
                    continue
                }
                let tag = bytes[index..<tagEnd]
                guard let close = find(tag, in: bytes, from: tagEnd) else { return "it has a dollar-quoted string that is not closed" }
                index = close + tag.count
            case UInt8(ascii: "-") where at(1) == UInt8(ascii: "-"):
                while index < bytes.count, bytes[index] != UInt8(ascii: "\n") { index += 1 }
            case UInt8(ascii: "/") where at(1) == UInt8(ascii: "*"):
                var depth = 0
                repeat {
                    if at(0) == UInt8(ascii: "/"), at(1) == UInt8(ascii: "*") {
                        depth += 1
                        index += 2
                    } else if at(0) == UInt8(ascii: "*"), at(1) == UInt8(ascii: "/") {
                        depth -= 1
                        index += 2
                    } else if index < bytes.count {
                        index += 1
                    } else {
                        return "it has a /* comment that is not closed"
                    }
                } while depth > 0
            case UInt8(ascii: "("), UInt8(ascii: "["):
                closers.append(byte == UInt8(ascii: "(") ? UInt8(ascii: ")") : UInt8(ascii: "]"))
                index += 1
            case UInt8(ascii: ")"), UInt8(ascii: "]"):
                guard closers.popLast() == byte else {
                    return "it closes a \(byte == UInt8(ascii: ")") ? "parenthesis" : "bracket") it did not open"
                }
                index += 1
            case UInt8(ascii: ";"):
                return "it holds a ; (a filter is one condition, not statements)"
            default:
                index += 1
            }
        }
        guard closers.isEmpty else { return "it leaves a parenthesis or bracket open" }
        return nil
    }

    private static func isIdentifierByte(_ byte: UInt8) -> Bool {
        byte >= 0x80 || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "$")
            || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    /// The index after the closing quote of the literal opening at `from`, or nil.
    private static func quotedEnd(_ bytes: [UInt8], from start: Int, quote: UInt8, backslashEscapes: Bool) -> Int? {
        var index = start + 1
        while index < bytes.count {
            let byte = bytes[index]
            if backslashEscapes, byte == UInt8(ascii: "\\") {
                index += 2
            } else if byte == quote {
                if index + 1 < bytes.count, bytes[index + 1] == quote {
                    index += 2
                } else {
                    return index + 1
                }
            } else {
                index += 1
            }
        }
        return nil
    }

    /// The index after a dollar-quote tag (`$$`, `$tag$`) opening at `from`, or nil when the `$`
    /// opens none (a parameter such as `$1`).
    private static func dollarTagEnd(_ bytes: [UInt8], from start: Int) -> Int? {
        var index = start + 1
        if index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { return nil }
        while index < bytes.count, bytes[index] != UInt8(ascii: "$") {
            guard isIdentifierByte(bytes[index]) else { return nil }
            index += 1
        }
        return index < bytes.count ? index + 1 : nil
    }

    private static func find(_ needle: ArraySlice<UInt8>, in bytes: [UInt8], from start: Int) -> Int? {
        guard needle.count <= bytes.count else { return nil }
        var index = start
        while index + needle.count <= bytes.count {
            if bytes[index..<index + needle.count].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}
