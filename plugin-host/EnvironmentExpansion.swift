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

    /// `text` with every reference replaced.
    func expand(_ text: String) throws(Problem) -> String {
        guard text.contains("$") else { return text }
        var result = ""
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            result += rest[..<dollar]
            let afterDollar = rest[rest.index(after: dollar)...]
            if afterDollar.hasPrefix("${") {
                result += "${"
                rest = afterDollar.dropFirst(2)
                continue
            }
            guard afterDollar.hasPrefix("{") else {
                result += "$"
                rest = afterDollar
                continue
            }
            guard let close = afterDollar.firstIndex(of: "}") else { throw .malformed("\"${\" without a closing \"}\"") }
            let reference = afterDollar[afterDollar.index(after: afterDollar.startIndex)..<close]
            result += try value(of: reference)
            rest = afterDollar[afterDollar.index(after: close)...]
        }
        return result + rest
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
