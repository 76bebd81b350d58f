/// The canonical decimal text of `records.proto`: an optional `-`, digits, an optional `.` and
/// digits; or exactly `NaN`, `Infinity` or `-Infinity`. No exponent, no precision cap.
enum DecimalText {
    /// Whether `text` (ASCII bytes) is canonical decimal text.
    static func isValid<Bytes: Collection>(_ text: Bytes) -> Bool where Bytes.Element == UInt8 {
        var index = text.startIndex
        if index != text.endIndex && text[index] == UInt8(ascii: "-") { index = text.index(after: index) }
        guard skipDigits(text, &index) > 0 else {
            // Not a number: one of the three names (compared only here, off the common path).
            return text.elementsEqual("NaN".utf8) || text.elementsEqual("Infinity".utf8) || text.elementsEqual("-Infinity".utf8)
        }
        if index == text.endIndex { return true }
        guard text[index] == UInt8(ascii: ".") else { return false }
        index = text.index(after: index)
        return skipDigits(text, &index) > 0 && index == text.endIndex
    }

    private static func skipDigits<Bytes: Collection>(_ text: Bytes, _ index: inout Bytes.Index) -> Int where Bytes.Element == UInt8 {
        var count = 0
        while index != text.endIndex && (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(text[index]) {
            index = text.index(after: index)
            count += 1
        }
        return count
    }
}
