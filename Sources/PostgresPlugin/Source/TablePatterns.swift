/// Include and exclude patterns with `*` and `?` globs, matched against `schema.table`
/// (or against the bare table name when a pattern has no dot). `!` marks an exclude.
struct TablePatterns: Sendable {
    private let includes: [String]
    private let excludes: [String]

    init(_ patterns: [String]) {
        includes = patterns.filter { !$0.hasPrefix("!") }
        excludes = patterns.filter { $0.hasPrefix("!") }.map { String($0.dropFirst()) }
    }

    /// Whether `schema.name` is selected.
    func matches(schema: String, name: String) -> Bool {
        let hit = { (pattern: String) in
            pattern.contains(".") ? Self.glob(pattern, "\(schema).\(name)") : Self.glob(pattern, name)
        }
        if !includes.isEmpty && !includes.contains(where: hit) { return false }
        return !excludes.contains(where: hit)
    }

    /// Matches `text` against `pattern` where `*` is any run and `?` any one character.
    static func glob(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern), t = Array(text)
        var pi = 0, ti = 0, star = -1, mark = 0
        while ti < t.count {
            if pi < p.count && (p[pi] == "?" || p[pi] == t[ti]) {
                pi += 1; ti += 1
            } else if pi < p.count && p[pi] == "*" {
                star = pi; mark = ti; pi += 1
            } else if star >= 0 {
                pi = star + 1; mark += 1; ti = mark
            } else {
                return false
            }
        }
        while pi < p.count && p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}
