import SluiceWire

/// A catalog entry's `match`: a glob over stream names, where `*` stands for any run of
/// characters (dots included) and `?` for one; every other character stands for itself, compared
/// by Unicode scalars (as names are compared byte for byte). A pattern with a `.` is matched
/// against `namespace.name`, one without against the name alone (`orders_*` matches
/// `billing.orders_2024`).
struct StreamGlob: Sendable {
    private let pattern: [Unicode.Scalar]
    private let qualified: Bool

    init(_ pattern: String) {
        self.pattern = Array(pattern.unicodeScalars)
        qualified = pattern.unicodeScalars.contains(".")
    }

    /// Whether `stream` matches.
    func matches(_ stream: StreamID) -> Bool {
        let text = qualified && !stream.namespace.isEmpty ? stream.namespace + "." + stream.name : stream.name
        return Self.matches(pattern[...], Array(text.unicodeScalars)[...])
    }

    /// Iterative glob matching with backtracking to the last `*` (linear in practice, quadratic at worst).
    private static func matches(_ pattern: ArraySlice<Unicode.Scalar>, _ text: ArraySlice<Unicode.Scalar>) -> Bool {
        var p = pattern.startIndex, t = text.startIndex
        var star: (pattern: Int, text: Int)?
        while t < text.endIndex {
            if p < pattern.endIndex, pattern[p] == "*" {
                star = (p, t)
                p += 1
            } else if p < pattern.endIndex, pattern[p] == "?" || pattern[p] == text[t] {
                p += 1
                t += 1
            } else if let last = star {
                p = last.pattern + 1
                t = last.text + 1
                star = (last.pattern, last.text + 1)
            } else {
                return false
            }
        }
        while p < pattern.endIndex, pattern[p] == "*" { p += 1 }
        return p == pattern.endIndex
    }
}
