import Foundation

/// Expands `${NAME}` and `${NAME:-default}` in configuration text from the environment;
/// `$${` stands for a literal `${`.
struct EnvironmentExpansion {
    /// Why a text could not be expanded.
    enum Problem: Error, Equatable {
        /// `${NAME}` names a variable that is not set and has no default.
        case unset(String)
        /// A `${` without its `}`, or an empty or invalid name.
        case malformed(String)
    }

    let environment: [String: String]

    /// `text` with every reference replaced, in one pass over its UTF-8 bytes (the markers are
    /// ASCII, so every cut falls between characters).
    func expand(_ text: String) throws(Problem) -> String {
        let dollar = UInt8(ascii: "$"), open = UInt8(ascii: "{"), close = UInt8(ascii: "}")
        let bytes = Array(text.utf8)
        guard bytes.contains(dollar) else { return text }
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            let next = index + 1 < bytes.count ? bytes[index + 1] : nil
            if byte != dollar {
                result.append(byte)
                index += 1
            } else if next == dollar, index + 2 < bytes.count, bytes[index + 2] == open {
                result += [dollar, open]
                index += 3
            } else if next != open {
                result.append(dollar)
                index += 1
            } else {
                guard let end = bytes[(index + 2)...].firstIndex(of: close) else { throw .malformed("\"${\" without a closing \"}\"") }
                let reference = String(decoding: bytes[(index + 2)..<end], as: UTF8.self)
                result += try value(of: Substring(reference)).utf8
                index = end + 1
            }
        }
        return String(decoding: result, as: UTF8.self)
    }

    private func value(of reference: Substring) throws(Problem) -> String {
        let name: Substring, fallback: Substring?
        if let separator = reference.range(of: ":-") {
            name = reference[..<separator.lowerBound]
            fallback = reference[separator.upperBound...]
        } else {
            name = reference
            fallback = nil
        }
        guard let first = name.first, first == "_" || first.isLetter,
              name.allSatisfy({ $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }) else {
            throw .malformed("\"${\(name)}\" is not a valid environment variable reference")
        }
        if let value = environment[String(name)], !(value.isEmpty && fallback != nil) { return value }
        if let fallback { return String(fallback) }
        throw .unset(String(name))
    }
}
