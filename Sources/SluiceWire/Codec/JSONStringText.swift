/// A JSON string's text: the one escaper of plugin-host's JSON (JSON Lines, reports, catalogs)
/// and of the PostgreSQL plugin's (its configuration schema, its states).
///
/// Quotes, backslashes and control bytes are escaped (`\n`, `\r`, `\t`, the others `\u00XX` in
/// lowercase hex); every other byte, UTF-8 included, is written as it is, a run at a time.
public enum JSONStringText {
    /// Appends `text` as a quoted JSON string.
    @inlinable
    public static func append(_ text: String, to out: inout [UInt8]) {
        var text = text
        text.withUTF8 { append(utf8: $0, to: &out) }
    }

    /// Appends UTF-8 bytes as a quoted JSON string.
    @inlinable
    public static func append<Bytes: Collection>(utf8 bytes: Bytes, to out: inout [UInt8]) where Bytes.Element == UInt8 {
        out.append(UInt8(ascii: "\""))
        var run = bytes.startIndex, index = bytes.startIndex
        while index != bytes.endIndex {
            let byte = bytes[index]
            guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else {
                bytes.formIndex(after: &index)
                continue
            }
            out.append(contentsOf: bytes[run..<index])
            appendEscape(byte, to: &out)
            bytes.formIndex(after: &index)
            run = index
        }
        out.append(contentsOf: bytes[run..<index])
        out.append(UInt8(ascii: "\""))
    }

    /// The escape of a quote, a backslash or a control byte.
    @usableFromInline
    static func appendEscape(_ byte: UInt8, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\\"))
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(byte)
        case 0x0A: out.append(UInt8(ascii: "n"))
        case 0x0D: out.append(UInt8(ascii: "r"))
        case 0x09: out.append(UInt8(ascii: "t"))
        default:
            out.append(contentsOf: "u00".utf8)
            out.append(hexDigit(byte >> 4))
            out.append(hexDigit(byte & 0xF))
        }
    }

    /// The lowercase hex digit of a value below 16.
    @usableFromInline
    static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }
}
